"""The monitoring routes and gauges on the monitored store (two recorded cohorts, outcomes of the first), and the
recording of what POST /score and /score/batch answer."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing

import pytest

from scoring.bundle import ModelBundle
from scoring.monitoring.levels import load_levels
from scoring.monitoring.performance import performance
from scoring.monitoring.stability import stability
from scoring.store import open_store
from tests.api_fixtures import assert_error, create_test_app, env_on_copy, headers_by_role

APP = {"AMT_INCOME_TOTAL": 1.2e5, "AMT_CREDIT": 3e5, "AMT_ANNUITY": 15000.0, "DAYS_BIRTH": -12000}
PERIOD_KEYS = {"period", "start", "end", "n", "score_psi", "feature_psi", "level"}
PERF_KEYS = {"period", "start", "end", "n_scored", "n_outcomes", "approval_rate", "predicted_default_rate"} | {
    "observed_default_rate",
    "auc",
    "gini",
}


@pytest.fixture(scope="module")
def mon(monitored_store, tmp_path_factory) -> dict:
    env = env_on_copy(monitored_store, tmp_path_factory.mktemp("monitoring-api"))
    app = create_test_app(env)
    client = app.test_client()
    return {"env": env, "client": client, "heads": headers_by_role(client)}


def _rows(store, sql: str, params=()) -> list:
    with closing(sqlite3.connect(store)) as con:
        return con.execute(sql, params).fetchall()


def test_stability_answers_managers_in_the_dashboards_shape(mon):
    response = mon["client"].get("/api/v1/monitoring/stability?period=month&top=5", headers=mon["heads"]["manager"])
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"period", "levels", "reference", "features", "periods", "data_source"}
    assert body["period"] == "month" and body["levels"] == {"watch": 0.10, "act": 0.25}
    assert body["data_source"] == "synthetic" and len(body["features"]) == 5
    assert set(body["reference"]) == {"model_version", "source", "n"} and body["reference"]["source"] == "bundle"
    assert [p["period"] for p in body["periods"]] == ["2026-10", "2026-11"]
    assert all(set(p) == PERIOD_KEYS and set(p["feature_psi"]) == set(body["features"]) for p in body["periods"])
    env = mon["env"]
    direct = stability(
        env["store"], open_store(env["store"]), ModelBundle.load(env["models"]), "month", 5, load_levels()
    )
    assert body["periods"] == direct["periods"]
    assert [p["level"] for p in body["periods"]] == ["stable", "act"]
    weeks = mon["client"].get("/api/v1/monitoring/stability?period=week", headers=mon["heads"]["manager"]).json
    assert [p["period"] for p in weeks["periods"]] == ["2026-W41", "2026-W46"] and len(weeks["features"]) == 10


def test_performance_answers_managers_in_the_dashboards_shape(mon):
    response = mon["client"].get("/api/v1/monitoring/performance?period=month", headers=mon["heads"]["manager"])
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"period", "periods", "by_grade", "override_rate", "data_source"}
    assert all(set(p) == PERF_KEYS for p in body["periods"])
    assert all(set(g) == {"grade", "n", "predicted_pd", "observed_rate"} for g in body["by_grade"])
    env = mon["env"]
    assert body["periods"] == performance(env["store"], open_store(env["store"]), "month", load_levels())["periods"]
    assert body["periods"][0]["auc"] > 0.6 and body["periods"][1]["auc"] is None


@pytest.mark.parametrize("route", ["stability", "performance"])
def test_customers_and_services_are_refused_and_audited(mon, route):
    for role in ("customer", "service"):
        assert_error(mon["client"].get(f"/api/v1/monitoring/{route}", headers=mon["heads"][role]), 403, "forbidden")
    rows = _rows(
        mon["env"]["store"], "SELECT role, outcome FROM audit WHERE route = ?", (f"GET /api/v1/monitoring/{route}",)
    )
    assert ("customer", "refused 403 forbidden") in rows and ("service", "refused 403 forbidden") in rows
    assert_error(mon["client"].get(f"/api/v1/monitoring/{route}"), 401)


@pytest.mark.parametrize("query", ["period=year", "period=", "top=0", "top=51", "top=ten", "colour=red"])
def test_bad_queries_are_422_naming_the_parameter(mon, query):
    response = mon["client"].get(f"/api/v1/monitoring/stability?{query}", headers=mon["heads"]["manager"])
    assert_error(response, 422, "invalid_query")
    assert response.json["error"]["fields"][0]["field"] == query.split("=")[0]


def test_metrics_publish_the_drift_gauges(mon):
    text = mon["client"].get("/metrics").get_data(as_text=True)
    env = mon["env"]
    bundle = ModelBundle.load(env["models"])
    for period, key in (("month", "2026-11"), ("week", "2026-W46"), ("day", "2026-11-12")):
        direct = stability(env["store"], open_store(env["store"]), bundle, period, 10, load_levels())
        latest = next(p for p in direct["periods"] if p["period"] == key)
        assert f'scoring_score_psi{{period="{period}"}} {latest["score_psi"]:.6f}' in text
        assert f'scoring_monitored_applications{{period="{period}"}} {latest["n"]}' in text
    features = re.findall(r'^scoring_feature_psi\{feature="([A-Z0-9_]+)",period="month"\} [0-9.]+$', text, re.M)
    assert features == direct["features"] and len(features) == 10


def test_scoring_records_each_answer_once_with_its_request(fresh_api_env):
    app = create_test_app(fresh_api_env)
    client = app.test_client()
    heads = headers_by_role(client)
    store = fresh_api_env["store"]
    one = client.post("/api/v1/score", json={"application": {**APP, "SK_ID_CURR": 4242}}, headers=heads["service"])
    assert one.status_code == 200
    batch = client.post(
        "/api/v1/score/batch",
        json={"applicants": [{"application": APP}] * 3},
        headers={**heads["manager"], "X-Request-ID": "batch-test-0001"},
    )
    assert batch.status_code == 200
    rows = _rows(store, "SELECT source, request_id, client_id, pd, outcome, model_version FROM scored_applications")
    assert len(rows) == 4 and {r[0] for r in rows} == {"api"}
    assert rows[0][2] == 4242 and rows[0][3] == pytest.approx(one.json["pd"])
    assert rows[0][4] == one.json["decision"]["outcome"] and rows[0][5] == one.json["model_version"]
    assert [r[1] for r in rows[1:]] == ["batch-test-0001"] * 3 and rows[0][1] != "batch-test-0001"
    refused = client.post("/api/v1/score", json={"application": {**APP, "AMT_ANNUITY": 4e5}}, headers=heads["service"])
    assert refused.json["decision"]["outcome"] == "technical_refusal"
    assert len(_rows(store, "SELECT id FROM scored_applications")) == 4  # no PD given: not recorded


def test_a_record_that_cannot_be_written_never_fails_the_answer(fresh_api_env, caplog):
    app = create_test_app(fresh_api_env)
    client = app.test_client()
    heads = headers_by_role(client)
    with closing(sqlite3.connect(fresh_api_env["store"])) as con:
        con.execute("CREATE TRIGGER refuse BEFORE INSERT ON scored_applications BEGIN SELECT RAISE(ABORT, 'no'); END")
        con.commit()
    response = client.post("/api/v1/score", json={"application": APP}, headers=heads["service"])
    assert response.status_code == 200 and 0 < response.json["pd"] < 1
    assert _rows(fresh_api_env["store"], "SELECT count(*) FROM scored_applications") == [(0,)]
    assert "scored applications not recorded (IntegrityError)" in caplog.text
    assert "120000" not in caplog.text  # no applicant value in the log
