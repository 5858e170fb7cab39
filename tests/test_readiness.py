"""Issue #9 item 5: with the store file gone or broken, /ready says so (503) and every route answers a JSON 503
store_unavailable, never a 500; under real gunicorn too, where also a chunked body over the limit gets 413 and
neither a password nor a token reaches the logs."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import sqlite3
import time
from urllib.parse import urlsplit

import pytest
import requests

from scoring import users
from tests.servers import gunicorn

PASSWORD = secrets.token_urlsafe(18)
APPLICANT = {
    "application": {"AMT_INCOME_TOTAL": 1.2e5, "AMT_CREDIT": 3e5, "AMT_ANNUITY": 15000.0, "DAYS_BIRTH": -12000}
}


@pytest.fixture()
def env(store_path, trained_models, tmp_path):
    """A fresh app on its own store copy per test: each test breaks its store."""
    from api import create_app
    from scoring.store import open_store

    path = tmp_path / "store.sqlite"
    shutil.copy(store_path, path)
    users.add_user(path, "boss", PASSWORD, "manager")
    app = create_app({"STORE_PATH": path, "MODELS_DIR": trained_models, "SECRET_KEY": "readiness"})
    client = app.test_client()
    token = _sign_in(client)
    assert token.status_code == 200
    own = open_store(path).list_clients(limit=1)["items"][0]["client_id"]
    return {"client": client, "path": path, "own": own, "h": {"Authorization": f"Bearer {token.json['access_token']}"}}


def _sign_in(client):
    return client.post("/api/v1/auth/token", json={"username": "boss", "password": PASSWORD})


def _assert_unavailable(env):
    """/ready 503, and every kind of route a JSON 503 store_unavailable; liveness stays up."""
    client, h, own = env["client"], env["h"], env["own"]
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json["status"] == "not_ready" and ready.json["reason"]
    answers = [
        _sign_in(client),
        client.get(f"/api/v1/clients/{own}", headers=h),
        client.get(f"/api/v1/clients/{own}/explanation", headers=h),
        client.get("/api/v1/clients", headers=h),
        client.get("/api/v1/features", headers=h),
        client.get("/api/v1/model", headers=h),
        client.post("/api/v1/score", json=APPLICANT, headers=h),
    ]
    for response in answers:
        assert response.status_code == 503, (response.request.path, response.get_data(as_text=True))
        assert response.json["error"]["code"] == "store_unavailable"
    assert client.get("/health").status_code == 200


def _assert_serving(env):
    assert env["client"].get("/ready").status_code == 200
    assert _sign_in(env["client"]).status_code == 200
    assert env["client"].get(f"/api/v1/clients/{env['own']}", headers=env["h"]).status_code == 200


def test_store_file_deleted_then_restored(env):
    _assert_serving(env)
    kept = env["path"].with_suffix(".kept")
    os.rename(env["path"], kept)  # the worker's open connections still read the old file: not enough to serve
    _assert_unavailable(env)
    os.rename(kept, env["path"])
    _assert_serving(env)


def test_store_replaced_by_a_file_that_is_not_a_store(env):
    env["path"].unlink()
    env["path"].write_bytes(b"this is not an SQLite database" * 100)
    _assert_unavailable(env)


def test_store_replaced_by_an_empty_sqlite_file(env):
    env["path"].unlink()
    sqlite3.connect(env["path"]).execute("CREATE TABLE other (x)").connection.close()
    _assert_unavailable(env)


def test_store_generation_unreadable(env):
    """Written through SQLite (the WAL): seen by the periodic probe, within a second."""
    con = sqlite3.connect(env["path"])
    with con:
        con.execute("DELETE FROM meta WHERE key = 'generation'")
    con.close()
    time.sleep(1.1)
    _assert_unavailable(env)


def test_store_path_replaced_by_a_directory(env):
    env["path"].unlink()
    env["path"].mkdir()
    _assert_unavailable(env)


# --- real gunicorn --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(store_path, trained_models, tmp_path_factory):
    work = tmp_path_factory.mktemp("ready-gunicorn")
    path = work / "store.sqlite"
    shutil.copy(store_path, path)
    users.add_user(path, "boss", PASSWORD, "manager")
    env = {
        "SCORING_STORE": str(path),
        "SCORING_MODELS": str(trained_models),
        "SCORING_SECRET_KEY": "ready-test",
        "SCORING_MAX_BODY": str(64 * 1024),
        "LOG_LEVEL": "DEBUG",
        # gunicorn's own access log (default format) and error log, both in the captured output
        "GUNICORN_CMD_ARGS": "--access-logfile - --error-logfile -",
    }
    log = work / "api.log"
    with gunicorn("api:create_app()", env, workers=2, ready_path="/ready", log_path=log) as base:
        yield {"base": base, "path": path, "log": log}


def _chunked_post(base: str, path: str, body: bytes, token: str) -> tuple[int, dict]:
    """POST with Transfer-Encoding: chunked and no Content-Length, as a streaming client sends it."""
    url = urlsplit(base)
    con = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        con.putrequest("POST", path)
        con.putheader("Content-Type", "application/json")
        con.putheader("Authorization", f"Bearer {token}")
        con.putheader("Transfer-Encoding", "chunked")
        con.endheaders()
        for start in range(0, len(body), 8192):
            piece = body[start : start + 8192]
            con.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        con.send(b"0\r\n\r\n")
        response = con.getresponse()
        return response.status, json.loads(response.read())
    finally:
        con.close()


def test_gunicorn_chunked_body_over_the_limit_is_413_and_logs_hold_no_secret(served):
    base = served["base"]
    signed = requests.post(f"{base}/api/v1/auth/token", json={"username": "boss", "password": PASSWORD}, timeout=30)
    assert signed.status_code == 200
    token = signed.json()["access_token"]
    big = json.dumps({"application": {**APPLICANT["application"], "NAME_TYPE_SUITE": "x" * 200_000}}).encode()
    status, body = _chunked_post(base, "/api/v1/score", big, token)
    assert status == 413 and body["error"]["code"] == "body_too_large", body
    status, body = _chunked_post(base, "/api/v1/score", json.dumps(APPLICANT).encode(), token)
    assert status == 200 and 0 < body["pd"] < 1, body
    bad = requests.get(f"{base}/api/v1/clients?limit=5", headers={"Authorization": f"Bearer {token}x"}, timeout=30)
    assert bad.status_code == 401
    # a double slash: JSON 404 whatever the Host header says
    slash = requests.get(
        f"{base}/api/v1//clients/1",
        headers={"Host": "attacker.example", "Authorization": f"Bearer {token}"},
        allow_redirects=False,
        timeout=30,
    )
    assert slash.status_code == 404 and "Location" not in slash.headers and slash.json()["error"]["code"]
    log = served["log"].read_text(errors="replace")
    assert '"POST /api/v1/auth/token' in log and '"POST /api/v1/score' in log  # the access log is on
    assert PASSWORD not in log and token not in log and token.split(".")[0] not in log


def test_gunicorn_store_deleted_every_route_503_never_500(served):
    base = served["base"]
    token = requests.post(
        f"{base}/api/v1/auth/token", json={"username": "boss", "password": PASSWORD}, timeout=30
    ).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    served["path"].rename(served["path"].with_suffix(".gone"))
    for _ in range(4):  # both workers, whichever answers
        ready = requests.get(f"{base}/ready", timeout=30)
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        for response in (
            requests.post(f"{base}/api/v1/auth/token", json={"username": "boss", "password": PASSWORD}, timeout=30),
            requests.get(f"{base}/api/v1/clients?limit=3", headers=h, timeout=30),
            requests.post(f"{base}/api/v1/score", json=APPLICANT, headers=h, timeout=30),
        ):
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "store_unavailable"
    assert requests.get(f"{base}/health", timeout=30).status_code == 200
    assert "Traceback" not in served["log"].read_text(errors="replace")
