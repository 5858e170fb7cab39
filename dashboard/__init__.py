"""Dash dashboard: talks to the scoring API over HTTP only (dashboard.api_client); never imports scoring/ or api/."""
