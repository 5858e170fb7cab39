"""Dashboard parts: each module owns its layout and its callbacks and asks the API (via api_client) for data."""
