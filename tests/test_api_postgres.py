"""The API on a PostgreSQL store: representative tests of the SQLite suite collected again here, where the
`api_env` and `fresh_api_env` fixtures are PostgreSQL databases (the session's API template store migrated once,
then copied per module or test), plus what only PostgreSQL shows: audit rows in the database and `audit verify`
on them, the shared token secret, readiness, and the API served by real gunicorn.
"""

from __future__ import annotations

import psycopg
import pytest
import requests

from scoring import audit
from scoring.cli import main
from scoring.store import postgres_schema as pg
from tests.api_fixtures import PASSWORD, USERNAMES, assert_error, create_test_app, sign_in

# the SQLite suite's tests, collected again in this module: their fixtures resolve to the PostgreSQL ones below
from tests.test_api_audit import test_reads_and_refusals_are_audited  # noqa: F401
from tests.test_api_auth import (  # noqa: F401
    test_customer_sees_own_file_only,
    test_missing_forged_and_expired_tokens,
    test_removed_user_loses_access_at_once,
    test_sign_in_failures,
)
from tests.test_api_clients import (  # noqa: F401
    test_bad_client_queries,
    test_manager_lists_searches_and_filters_clients,
    test_manager_reads_a_clients_file_score_and_explanation,
)
from tests.test_api_decision import (  # noqa: F401
    test_manager_reads_the_full_record_equal_to_what_the_store_decided,
    test_unknown_and_bad_ids,
)
from tests.test_api_reviews import (  # noqa: F401
    api,
    test_a_bad_request_is_422_naming_the_field_and_files_nothing,
    test_a_customer_asks_a_manager_changes_the_decision_and_the_customer_reads_why,
    test_every_step_is_audited,
    test_one_open_request_per_client_and_one_outcome_per_request,
)
from tests.test_api_score import (  # noqa: F401
    test_bad_applicants_are_422_naming_the_field,
    test_minimal_applicant_scores,
)


@pytest.fixture(scope="module")
def api_env(postgres_cluster, postgres_api_template) -> dict:
    return {**postgres_api_template, "store": postgres_cluster.database(template=postgres_api_template["store"])}


@pytest.fixture()
def fresh_api_env(postgres_cluster, postgres_api_template) -> dict:
    return {**postgres_api_template, "store": postgres_cluster.database(template=postgres_api_template["store"])}


def _audit_rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as con:
        sql = f"SELECT username, client_id, route, outcome FROM {pg.KEPT_SCHEMA}.audit ORDER BY id"
        return con.execute(sql).fetchall()


def test_the_audit_rows_land_in_the_database_and_verify(fresh_api_env, capsys):
    env = fresh_api_env
    client = create_test_app(env).test_client()
    heads = {role: sign_in(client, name) for role, name in USERNAMES.items()}
    assert client.get(f"/api/v1/clients/{env['own']}/explanation", headers=heads["manager"]).status_code == 200
    assert client.get(f"/api/v1/clients/{env['other']}", headers=heads["customer"]).status_code == 404
    rows = _audit_rows(env["store"])
    assert ("manager", env["own"], "GET /api/v1/clients/<client_id>/explanation", "ok") in rows
    assert ("alice", env["other"], "GET /api/v1/clients/<client_id>", "denied") in rows
    report = audit.verify_audit(env["store"])
    assert report["ok"] and report["chained"] == len(rows) >= 2
    assert main(["audit", "verify", "--store", env["store"]]) == 0
    out = capsys.readouterr()
    assert "audit log intact" in out.out and env["store"] not in out.out + out.err


def test_bad_input_is_a_4xx_and_writes_nothing(api_client, api_heads, api_env):
    before = len(_audit_rows(api_env["store"]))
    response = api_client.post("/api/v1/score", json={"application": "nope"}, headers=api_heads["manager"])
    assert_error(response, 422)
    response = api_client.post(
        f"/api/v1/clients/{api_env['own']}/reviews", json={"comment": 7}, headers=api_heads["customer"]
    )
    assert_error(response, 422)
    assert_error(api_client.get("/api/v1/clients/12x", headers=api_heads["manager"]), 404)
    with psycopg.connect(api_env["store"]) as con:
        assert con.execute(f"SELECT count(*) FROM {pg.KEPT_SCHEMA}.reviews").fetchone()[0] == 0
    routes = [row[2] for row in _audit_rows(api_env["store"])[before:]]  # the refused review and the 404
    assert routes == ["POST /api/v1/clients/<client_id>/reviews", "GET /api/v1/clients/<client_id>"]


def test_the_token_secret_is_the_stores_and_the_url_is_nowhere(fresh_api_env, monkeypatch):
    """Without SCORING_SECRET_KEY the app signs with the store's own secret, made once in the database."""
    monkeypatch.delenv("SCORING_SECRET_KEY", raising=False)
    from api import create_app

    env = fresh_api_env
    config = {"STORE_PATH": env["store"], "MODELS_DIR": env["models"]}
    first, second = create_app(config), create_app(config)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) >= 48
    with psycopg.connect(env["store"]) as con:
        (stored,) = con.execute(f"SELECT value FROM {pg.KEPT_SCHEMA}.secrets WHERE name = 'token'").fetchone()
    assert stored == first.config["SECRET_KEY"]
    token = sign_in(first.test_client(), "manager")
    assert second.test_client().get("/api/v1/model", headers=token).status_code == 200
    ready = second.test_client().get("/ready")
    assert ready.status_code == 200 and env["store"] not in ready.get_data(as_text=True)


def test_readiness_says_503_when_the_database_is_not_a_store(postgres_cluster, api_env):
    from api.availability import store_problem

    assert store_problem(api_env["store"]) is None
    empty = postgres_cluster.database()
    assert "no client store" in store_problem(empty)
    gone = api_env["store"].replace("scoring_test_", "scoring_absent_")
    reason = store_problem(gone)
    assert "database" in reason and "scoring_absent_" not in reason


def test_the_api_served_by_gunicorn_on_postgresql(fresh_api_env, tmp_path, monkeypatch):
    from tests.servers import gunicorn

    env = fresh_api_env
    served = {"SCORING_STORE": env["store"], "SCORING_MODELS": str(env["models"]), "SCORING_SECRET_KEY": "pg-tests"}
    with gunicorn("api:create_app()", served, workers=2, ready_path="/ready", log_path=tmp_path / "api.log") as base:
        token = requests.post(
            f"{base}/api/v1/auth/token", json={"username": "manager", "password": PASSWORD}, timeout=30
        ).json()["access_token"]
        head = {"Authorization": f"Bearer {token}"}
        for _ in range(20):  # both workers, each with its own pool
            answer = requests.get(f"{base}/api/v1/clients/{env['own']}/explanation", headers=head, timeout=30)
            assert answer.status_code == 200 and answer.json()["client_id"] == env["own"]
        bad = requests.post(f"{base}/api/v1/score", json=[], headers=head, timeout=30)
        assert bad.status_code == 422 and bad.json()["error"]["message"]
    log = (tmp_path / "api.log").read_text()
    assert env["store"] not in log and "Traceback" not in log
    monkeypatch.setenv("SCORING_SECRET_KEY", "pg-tests")  # the audit key the server derived
    report = audit.verify_audit(env["store"])
    with psycopg.connect(env["store"]) as con:  # both workers' reads in one chain
        rows = con.execute(f"SELECT route, outcome, count(*) FROM {pg.KEPT_SCHEMA}.audit GROUP BY 1, 2").fetchall()
    assert rows == [("GET /api/v1/clients/<client_id>/explanation", "ok", 20)]
    assert report["ok"] and report["chained"] == 20
