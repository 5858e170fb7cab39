"""The openapi blueprint: the spec and its docs page, and a spec that lists exactly the app's routes."""

from __future__ import annotations

import re


def test_spec_and_docs_are_served(api_client):
    spec = api_client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.") and "/api/v1/clients/{client_id}/explanation" in spec["paths"]
    assert "Credit scoring API" in api_client.get("/api/v1/docs").get_data(as_text=True)


def test_spec_lists_every_route(api_app):
    from api.openapi import SPEC

    rules = {re.sub(r"<([a-z_]+)>", r"{\1}", r.rule) for r in api_app.url_map.iter_rules() if r.endpoint != "static"}
    assert rules - {"/api/v1/openapi.json", "/api/v1/docs"} == set(SPEC["paths"])
