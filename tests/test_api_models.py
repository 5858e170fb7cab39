"""GET /api/v1/models, and API workers following a promotion without restart (api/models_state.py)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest
from flask import current_app

from scoring import registry
from scoring.bundle import ModelBundle
from scoring.registry import promotion
from tests.api_fixtures import assert_error, create_test_app, headers_by_role, registry_app
from tests.test_registry import second_bundle  # noqa: F401 - the fixture


def _routes(store) -> list[tuple]:
    with closing(sqlite3.connect(store)) as con:
        return con.execute("SELECT role, route, outcome FROM audit WHERE route LIKE '%/models'").fetchall()


def test_models_by_role_on_a_legacy_folder(fresh_api_client, fresh_api_env, trained_models):
    heads = headers_by_role(fresh_api_client)
    body = fresh_api_client.get("/api/v1/models", headers=heads["manager"]).json
    version = ModelBundle.load(trained_models).version
    assert body["registry"] is False and body["serving"] == body["champion"] == version
    (row,) = body["versions"]
    assert row["aliases"] == ["champion"] and row["kind"] == "lightgbm" and 0.5 < row["auc"] < 1
    assert set(row) == {"version", "aliases", "verified", "kind", "trained_at", "auc", "ece", "threshold"}
    for role in ("customer", "service"):
        assert_error(fresh_api_client.get("/api/v1/models", headers=heads[role]), 403, "forbidden")
    assert_error(fresh_api_client.get("/api/v1/models"), 401)
    assert _routes(fresh_api_env["store"]) == [
        ("manager", "GET /api/v1/models", "ok"),
        ("customer", "GET /api/v1/models", "refused 403 forbidden"),
        ("service", "GET /api/v1/models", "refused 403 forbidden"),
        (None, "GET /api/v1/models", "refused 401 missing_token"),
    ]


@pytest.fixture()
def served(fresh_api_env, second_bundle, tmp_path):  # noqa: F811 - the imported fixture
    """The API on a registry of two versions (A champion, its store) and the manager's and service's headers."""
    return registry_app(fresh_api_env, second_bundle, tmp_path)


def _versions(s) -> dict:
    client, heads, cid = s["client"], s["heads"]["manager"], s["cid"]
    application = s["app"].config["STORE"].get_client(cid)["application"]
    application = {k: v for k, v in application.items() if v is not None and k != "SK_ID_CURR"}
    posted = client.post("/api/v1/score", json={"application": application}, headers=s["heads"]["service"])
    assert posted.status_code == 200, posted.json
    return {
        "stored": client.get(f"/api/v1/clients/{cid}/score", headers=heads).json["model_version"],
        "explained": client.get(f"/api/v1/clients/{cid}/explanation", headers=heads).json["model_version"],
        "posted": posted.json["model_version"],
        "ready": client.get("/ready").json["model_version"],
    }


def test_worker_follows_a_promotion_and_a_rollback(served):
    s = served
    assert set(_versions(s).values()) == {s["a"]}
    promotion.promote(s["models"], s["store"], s["b"], user="tester")
    assert set(_versions(s).values()) == {s["b"]}
    body = s["client"].get("/api/v1/models", headers=s["heads"]["manager"]).json
    assert body["registry"] and body["serving"] == body["champion"] == s["b"] and body["challenger"] is None
    assert {v["version"]: v["aliases"] for v in body["versions"]} == {s["a"]: [], s["b"]: ["champion"]}
    registry.set_challenger(s["models"], s["a"], "tester")
    assert s["client"].get("/api/v1/models", headers=s["heads"]["manager"]).json["challenger"] == s["a"]
    promotion.rollback(s["models"], s["store"], user="tester")
    assert set(_versions(s).values()) == {s["a"]}


def test_old_pair_kept_until_the_store_generation_matches(served):
    s = served
    registry.set_champion(s["models"], s["b"], "tester", "promote")  # alias switched, store not yet swapped
    assert set(_versions(s).values()) == {s["a"]}  # never bundle B with a store scored by A


def test_a_request_in_flight_finishes_with_its_bundle(served):
    s = served
    with s["app"].test_request_context("/api/v1/model"):
        s["app"].preprocess_request()  # this request pins its pair
        promotion.promote(s["models"], s["store"], s["b"], user="tester")
        assert s["client"].get("/ready").json["model_version"] == s["b"]  # another request switched the worker
        assert current_app.config["BUNDLE"].version == s["a"]
        assert current_app.config.get("BUNDLE").version == s["a"]
    assert s["app"].config["BUNDLE"].version == s["b"]


def test_a_tampered_alias_file_or_bundle_is_never_followed(served):
    s = served
    path = registry.alias_path(s["models"])
    doc = json.loads(path.read_text())
    doc["registry"]["champion"] = s["b"]
    path.write_text(json.dumps(doc))
    assert set(_versions(s).values()) == {s["a"]}
    assert_error(s["client"].get("/api/v1/models", headers=s["heads"]["manager"]), 503, "registry_unverified")
    with pytest.raises(registry.RegistryIntegrityError):
        create_test_app({"store": s["store"], "models": s["models"]})  # a new worker refuses to start
