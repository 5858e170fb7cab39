"""The score blueprint: scoring posted applicants one by one or in batches, never storing, and refusing bad bodies."""

from __future__ import annotations

import pytest

from scoring.tables import SCHEMAS
from tests.api_fixtures import assert_error
from tests.api_fixtures import posted_history as _history


def _application(app, cid):
    """The stored client's application fields, as a caller would post them."""
    raw = app.config["STORE"].get_client(cid)["application"]
    return {
        k: (int(v) if SCHEMAS["application_test"][k] == "int" else v)
        for k, v in raw.items()
        if v is not None and k != "SK_ID_CURR"
    }


@pytest.mark.parametrize("role", ["manager", "service"])
def test_posted_stored_client_gets_the_stored_pd(api_client, api_heads, api_app, api_env, synth_dir, role):
    for cid in (api_env["own"], api_env["other"]):
        body = {"application": _application(api_app, cid), "history": _history(synth_dir, cid)}
        posted = api_client.post("/api/v1/score", json=body, headers=api_heads[role])
        assert posted.status_code == 200, posted.json
        stored = api_client.get(f"/api/v1/clients/{cid}/score", headers=api_heads["manager"]).json
        assert posted.json["pd"] == pytest.approx(stored["pd"], rel=1e-9)
        assert posted.json["grade"] == stored["grade"]
        decided = api_client.get(f"/api/v1/clients/{cid}/decision", headers=api_heads["manager"]).json["decision"]
        assert posted.json["decision"]["outcome"] == decided["outcome"]
        assert posted.json["decision"]["stop_factors"] == decided["stop_factors"]
        assert posted.json["decision"]["offer"] == decided["offer"]
        result = posted.json
        assert result["base_value"] + sum(c["shap"] for c in result["contributions"]) + result["others"][
            "shap"
        ] == pytest.approx(result["raw_score"], abs=1e-6)


def test_posting_changes_nothing_stored(api_client, api_heads, api_app, api_env):
    cid, h = api_env["own"], api_heads["manager"]
    before = api_client.get(f"/api/v1/clients/{cid}/score", headers=h).json
    body = {"application": {**_application(api_app, cid), "AMT_CREDIT": 5_000_000.0}}
    assert api_client.post("/api/v1/score", json=body, headers=h).status_code == 200
    assert api_client.get(f"/api/v1/clients/{cid}/score", headers=h).json == before


@pytest.mark.parametrize(
    "application, field",
    [
        ({"AMT_INCOME_TOTAL": -1.0, "AMT_CREDIT": 1e5, "DAYS_BIRTH": -12000}, "application.AMT_INCOME_TOTAL"),
        ({"AMT_INCOME_TOTAL": 1e5, "AMT_CREDIT": 1e5, "DAYS_BIRTH": -50000}, "application.DAYS_BIRTH"),
        (
            {"AMT_INCOME_TOTAL": 1e5, "AMT_CREDIT": 1e5, "DAYS_BIRTH": -12000, "DAYS_EMPLOYED": -13000},
            "application.DAYS_EMPLOYED",
        ),
        ({"AMT_INCOME_TOTAL": "lots", "AMT_CREDIT": 1e5, "DAYS_BIRTH": -12000}, "application.AMT_INCOME_TOTAL"),
        ({"AMT_INCOME_TOTAL": 1e5, "AMT_CREDIT": 1e5, "DAYS_BIRTH": -12000, "SALARY": 3}, "application.SALARY"),
        ({"AMT_INCOME_TOTAL": 1e5, "DAYS_BIRTH": -12000}, "application.AMT_CREDIT"),
        (
            {"AMT_INCOME_TOTAL": 1e5, "AMT_CREDIT": 1e5, "DAYS_BIRTH": -12000, "EXT_SOURCE_2": 3.0},
            "application.EXT_SOURCE_2",
        ),
    ],
)
def test_bad_applicants_are_422_naming_the_field(api_client, api_heads, application, field):
    response = api_client.post("/api/v1/score", json={"application": application}, headers=api_heads["manager"])
    assert_error(response, 422, "invalid_applicant")
    assert field in [f["field"] for f in response.json["error"]["fields"]]


def test_bad_history_names_the_record(api_client, api_heads):
    h = api_heads["manager"]
    app = {"AMT_INCOME_TOTAL": 1e5, "AMT_CREDIT": 2e5, "DAYS_BIRTH": -12000}
    response = api_client.post(
        "/api/v1/score", json={"application": app, "history": {"bureau": [{"DAYS_CREDIT": "old"}]}}, headers=h
    )
    assert_error(response, 422)
    assert response.json["error"]["fields"][0]["field"] == "history.bureau.0.DAYS_CREDIT"
    assert_error(api_client.post("/api/v1/score", json={"application": app, "history": {"loans": []}}, headers=h), 422)


def test_minimal_applicant_scores(api_client, api_heads):
    app = {"AMT_INCOME_TOTAL": 1.2e5, "AMT_CREDIT": 3e5, "AMT_ANNUITY": 15000.0, "DAYS_BIRTH": -12000}
    result = api_client.post("/api/v1/score", json={"application": app}, headers=api_heads["service"]).json
    assert 0 < result["pd"] < 1 and result["reasons"]
    assert result["decision"]["outcome"] in ("approve", "counter_offer", "refer", "decline")
    assert result["decision"]["score"]["pd"] == result["pd"] and result["decision"]["policy"]["sha256"]


@pytest.mark.parametrize(
    "change, code, field",
    [
        ({"AMT_ANNUITY": None}, "MISSING_VALUE", "AMT_ANNUITY"),
        ({"AMT_ANNUITY": 4e5}, "ANNUITY_ABOVE_CREDIT", "AMT_ANNUITY"),
        ({"AMT_GOODS_PRICE": 1e7}, "GOODS_PRICE_FAR_ABOVE_CREDIT", "AMT_GOODS_PRICE"),
    ],
)
def test_technical_refusals_carry_no_score(api_client, api_heads, change, code, field):
    app = {"AMT_INCOME_TOTAL": 1.2e5, "AMT_CREDIT": 3e5, "AMT_ANNUITY": 15000.0, "DAYS_BIRTH": -12000}
    app = {k: v for k, v in {**app, **change}.items() if v is not None}
    response = api_client.post("/api/v1/score", json={"application": app}, headers=api_heads["service"])
    assert response.status_code == 200
    result = response.json
    assert result["decision"]["outcome"] == "technical_refusal"
    assert {"code": code, "field": field} in [
        {k: i[k] for k in ("code", "field")} for i in result["decision"]["technical_issues"]
    ]
    assert result["pd"] is None and result["grade"] is None and "contributions" not in result
    assert result["decision"]["score"]["pd"] is None
    batch = api_client.post(
        "/api/v1/score/batch", json={"applicants": [{"application": app}] * 2}, headers=api_heads["service"]
    ).json
    assert [r["decision"]["outcome"] for r in batch["results"]] == ["technical_refusal"] * 2


def test_batch_all_or_nothing_and_limits(api_client, api_heads):
    h = api_heads["service"]
    good = {"application": {"AMT_INCOME_TOTAL": 1.2e5, "AMT_CREDIT": 3e5, "AMT_ANNUITY": 15000.0, "DAYS_BIRTH": -12000}}
    bad = {"application": {"AMT_INCOME_TOTAL": -5.0, "AMT_CREDIT": 3e5, "DAYS_BIRTH": -12000}}
    ok = api_client.post("/api/v1/score/batch", json={"applicants": [good, good]}, headers=h).json
    assert ok["count"] == 2 and ok["results"][0]["pd"] == pytest.approx(ok["results"][1]["pd"])
    assert ok["results"][0]["decision"] == ok["results"][1]["decision"]
    response = api_client.post("/api/v1/score/batch", json={"applicants": [good, bad]}, headers=h)
    assert_error(response, 422)
    assert response.json["error"]["fields"][0]["field"].startswith("applicants.1.")
    assert_error(api_client.post("/api/v1/score/batch", json={"applicants": [good] * 1001}, headers=h), 413)
    assert_error(api_client.post("/api/v1/score/batch", json={"applicants": []}, headers=h), 422)


def test_bad_bodies(api_client, api_heads):
    h = api_heads["manager"]
    assert_error(
        api_client.post("/api/v1/score", data="{not json", content_type="application/json", headers=h),
        400,
        "invalid_json",
    )
    assert_error(
        api_client.post("/api/v1/score", data=b"x" * (300 * 1024), content_type="application/json", headers=h), 413
    )
    assert_error(api_client.post("/api/v1/score", json=[1, 2], headers=h), 422)
