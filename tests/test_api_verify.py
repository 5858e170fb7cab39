"""POST /api/v1/verify and /verify/batch: our decision and the discrepancies, for managers and services only,
every bad field named with a 422, all or nothing."""

from __future__ import annotations

from tests.api_fixtures import assert_error

APP = {"AMT_INCOME_TOTAL": 1.2e5, "AMT_CREDIT": 3e5, "AMT_ANNUITY": 15000.0, "DAYS_BIRTH": -12000}


def _ours(client, heads):
    return client.post("/api/v1/score", json={"application": APP}, headers=heads["service"]).json


def test_own_figures_match_and_changed_ones_are_reported(api_client, api_heads):
    scored = _ours(api_client, api_heads)
    decision = scored["decision"]
    fired = [f["code"] for f in decision["stop_factors"] if f["result"] == "fired"]
    theirs = {
        "factors": {"AMT_CREDIT": 3e5, "AGE_YEARS": 12000 / 365.25},
        "stop_factors": fired,
        "pd": scored["pd"],
        "outcome": decision["outcome"],
    }
    for role in ("manager", "service"):
        report = api_client.post(
            "/api/v1/verify", json={"application": APP, "theirs": theirs}, headers=api_heads[role]
        ).json
        assert report["status"] == "match" and report["discrepancies"] == [], report["discrepancies"]
        assert report["decision"] == decision
    wrong = {**theirs, "factors": {"AMT_CREDIT": 2e5}, "stop_factors": [*fired, "REFUSED_RECENTLY"], "pd": 0.9}
    report = api_client.post("/api/v1/verify", json={"application": APP, "theirs": wrong}, headers=api_heads["service"])
    assert report.status_code == 200
    assert [(d["kind"], d["name"]) for d in report.json["discrepancies"]] == [
        ("factor", "AMT_CREDIT"),
        ("stop_factor", "REFUSED_RECENTLY"),
        ("score", "pd"),
    ]
    assert report.json["status"] == "discrepancies"
    batch = api_client.post(
        "/api/v1/verify/batch",
        json={"items": [{"application": APP, "theirs": theirs}, {"application": APP, "theirs": wrong}]},
        headers=api_heads["manager"],
    ).json
    assert [r["status"] for r in batch["results"]] == ["match", "discrepancies"]
    assert batch["summary"]["checked"] == 2 and batch["summary"]["with_discrepancies"] == 1


def test_customers_may_not_verify(api_client, api_heads):
    body = {"application": APP, "theirs": {}}
    assert_error(api_client.post("/api/v1/verify", json=body, headers=api_heads["customer"]), 403)
    assert_error(api_client.post("/api/v1/verify", json=body), 401)


def test_bad_requests_name_the_field(api_client, api_heads):
    h = api_heads["manager"]
    cases = [
        ({"application": APP}, "theirs"),
        ({"application": APP, "theirs": {"pd": 2}}, "theirs.pd"),
        ({"application": APP, "theirs": {"factors": {"NOPE": 1}}}, "theirs.factors.NOPE"),
        ({"application": {**APP, "AMT_CREDIT": -1}, "theirs": {}}, "application.AMT_CREDIT"),
        ({"application": APP, "theirs": {}, "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = api_client.post("/api/v1/verify", json=body, headers=h)
        assert_error(response, 422, "invalid_verification")
        assert field in [p["field"] for p in response.json["error"]["fields"]], (field, response.json)
    assert_error(api_client.post("/api/v1/verify", data="{", content_type="application/json", headers=h), 400)
    batch = {"items": [{"application": APP, "theirs": {}}, {"application": APP, "theirs": {"outcome": "x"}}]}
    response = api_client.post("/api/v1/verify/batch", json=batch, headers=h)
    assert_error(response, 422)
    assert response.json["error"]["fields"][0]["field"] == "items.1.theirs.outcome"
    assert_error(api_client.post("/api/v1/verify/batch", json={"items": []}, headers=h), 422)
    too_many = {"items": [{"application": APP, "theirs": {}}] * 1001}
    assert_error(api_client.post("/api/v1/verify/batch", json=too_many, headers=h), 413)
