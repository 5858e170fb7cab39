"""Dash dashboard: talks to the scoring API over HTTP only (dashboard.api_client); imports nothing from scoring/ or api/."""
