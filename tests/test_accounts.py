"""Accounts and sessions (issue #9 item 3): revocation on every worker, sign-in limits, password policy, CLI."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from itsdangerous import URLSafeTimedSerializer

from scoring import users
from tests.servers import gunicorn

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "accounts test phrase"
NEW_PASSWORD = "another quiet harbour"
SECRET = "accounts-tests"
WINDOW, PER_ADDRESS, PER_USER, MAX_BACKOFF = 8, 20, 5, 3


@pytest.fixture(scope="module")
def api(store_path, trained_models, tmp_path_factory):
    """Two gunicorn servers of two workers on one store: one trusting no proxy, one trusting the loopback's."""
    from scoring.store import open_store

    work = tmp_path_factory.mktemp("accounts")
    store = work / "store.sqlite"
    shutil.copy(store_path, store)
    cid = open_store(store).list_clients(limit=1)["items"][0]["client_id"]
    for name in ("manager", "pat", "remy", "lou", "ivy"):
        users.add_user(store, name, PASSWORD, "manager")
    users.add_user(store, "carla", PASSWORD, "customer", client_id=cid)
    env = {
        "SCORING_STORE": str(store),
        "SCORING_MODELS": str(trained_models),
        "SCORING_SECRET_KEY": SECRET,
        "SCORING_SIGNIN_WINDOW": str(WINDOW),
        "SCORING_SIGNIN_MAX_PER_ADDRESS": str(PER_ADDRESS),
        "SCORING_SIGNIN_MAX_PER_USER": str(PER_USER),
        "SCORING_SIGNIN_MAX_BACKOFF": str(MAX_BACKOFF),
        "SCORING_SIGNIN_TARPIT": "0.01",  # refusals held briefly (1 s by default): the 400-guess run stays short
    }
    with (
        gunicorn(
            "api:create_app()",
            {**env, "SCORING_TRUSTED_PROXIES": "none"},
            workers=2,
            ready_path="/ready",
            log_path=work / "api.log",
        ) as direct,
        gunicorn("api:create_app()", env, workers=2, ready_path="/ready", log_path=work / "proxied.log") as proxied,
    ):
        yield {"direct": direct, "proxied": proxied, "store": store, "client_id": cid}


def _sign_in(base, username, password=PASSWORD, address=None):
    headers = {"X-Forwarded-For": address} if address else {}
    # a new connection per request: gunicorn hands each to whichever worker accepts it first
    return requests.post(
        f"{base}/api/v1/auth/token", json={"username": username, "password": password}, headers=headers, timeout=30
    )


def _token(base, username, password=PASSWORD, address=None) -> str:
    response = _sign_in(base, username, password, address)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _answers(base, token, n=10) -> set:
    """Status codes of n requests, each on a new connection, so both workers answer some (and cache the token)."""
    codes = set()
    for _ in range(n):
        response = requests.get(f"{base}/api/v1/model", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        codes.add((response.status_code, response.json().get("error", {}).get("code")))
    return codes


def _cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "scoring", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


# ---------------------------------------------------------------- revocation


def test_passwd_revokes_old_tokens_on_every_worker(api):
    base = api["direct"]
    old = _token(base, "pat")
    assert _answers(base, old) == {(200, None)}
    result = _cli(
        "users",
        "passwd",
        "--username",
        "pat",
        "--password-stdin",
        "--store",
        str(api["store"]),
        stdin=NEW_PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert _answers(base, old) == {(401, "token_revoked")}
    assert _sign_in(base, "pat").status_code == 401  # the old password is gone too
    new = _token(base, "pat", NEW_PASSWORD)
    assert _answers(base, new) == {(200, None)}


def test_remove_then_add_does_not_revive_old_tokens(api):
    base = api["direct"]
    old = _token(base, "remy")
    assert _answers(base, old) == {(200, None)}
    users.remove_user(api["store"], "remy")
    assert {code for code, _ in _answers(base, old)} == {401}
    users.add_user(api["store"], "remy", PASSWORD, "manager")  # same name, role and password
    assert {code for code, _ in _answers(base, old)} == {401}
    assert _answers(base, _token(base, "remy")) == {(200, None)}


def test_logout_revokes_the_token_on_every_worker(api):
    base = api["direct"]
    token = _token(base, "lou")
    assert _answers(base, token) == {(200, None)}
    assert requests.post(f"{base}/api/v1/auth/logout", timeout=10).status_code == 401  # needs the token
    response = requests.post(f"{base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200 and response.json()["revoked"] is True
    assert _answers(base, token) == {(401, "token_revoked")}
    logout_again = requests.post(f"{base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert logout_again.status_code == 401
    assert _answers(base, _token(base, "lou")) == {(200, None)}


def test_a_token_without_the_epoch_is_refused(api):
    """Tokens signed before revocation existed (no epoch claim) no longer work, even with the right key."""
    forged = URLSafeTimedSerializer(SECRET, salt="scoring-api-token").dumps({"u": "ivy", "r": "manager", "c": None})
    assert {code for code, _ in _answers(api["direct"], forged, n=3)} == {401}


# ---------------------------------------------------------------- brute force


def _wait_until_allowed(base, username, password, address, deadline_s=60):
    """Retry as the server says (Retry-After) until the sign-in is no longer refused with 429."""
    deadline = time.monotonic() + deadline_s
    while True:
        response = _sign_in(base, username, password, address)
        if response.status_code != 429 or time.monotonic() > deadline:
            return response
        time.sleep(int(response.headers["Retry-After"]))


def test_400_wrong_passwords_get_429_with_retry_after(api):
    base, address = api["proxied"], "10.1.0.1"
    codes, retry_after = [], set()
    for i in range(400):
        response = _sign_in(base, "manager", f"wrong guess number {i}", address)
        codes.append(response.status_code)
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "too_many_attempts"
            retry_after.add(int(response.headers["Retry-After"]))
    assert set(codes) <= {401, 429}
    assert codes.index(429) <= PER_ADDRESS
    assert codes.count(401) <= PER_ADDRESS  # the 380 others never reached the password check
    assert all(0 < s <= WINDOW for s in retry_after)
    # once the window has passed, the right password works from that address
    assert _wait_until_allowed(base, "manager", PASSWORD, address).status_code == 200


def test_the_address_limit_is_one_count_for_both_workers(api):
    base, address = api["proxied"], "10.4.0.1"
    # a password spray: a new username each time, so only the address limit applies
    codes = [_sign_in(base, f"spray{i}", "wrong guess", address).status_code for i in range(PER_ADDRESS + 20)]
    # one shared count: with a count per worker, up to 2 x PER_ADDRESS attempts would be checked
    assert codes.index(429) == PER_ADDRESS and codes.count(401) == PER_ADDRESS
    assert _sign_in(base, "ivy", PASSWORD, "10.4.0.2").status_code == 200  # another address is not affected
    # a client cannot escape by prepending addresses: the proxy's own entry (the rightmost) is the one counted
    assert _sign_in(base, "spray-x", "wrong guess", f"6.6.6.6, {address}").status_code == 429


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(api):
    base = api["direct"]
    codes = [_sign_in(base, f"nobody{i}", "wrong guess", f"10.7.{i}.1").status_code for i in range(PER_ADDRESS + 5)]
    # every request counted against 127.0.0.1 whatever the header said (believed, no address would reach the limit)
    assert 429 in codes and codes.count(401) <= PER_ADDRESS
    assert _wait_until_allowed(base, "ivy", PASSWORD, None).status_code == 200


def test_an_attacker_elsewhere_cannot_keep_the_owner_out(api):
    base = api["proxied"]
    assert _sign_in(base, "carla", PASSWORD, "10.2.0.1").status_code == 200  # the owner's usual address
    codes = [_sign_in(base, "carla", f"guess {i}", f"10.3.{i}.9").status_code for i in range(PER_USER + 6)]
    assert codes[:PER_USER] == [401] * PER_USER
    assert set(codes[PER_USER:]) == {429}  # each new address is refused: the username is backing off
    refused = _sign_in(base, "carla", PASSWORD, "10.9.9.9")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= MAX_BACKOFF  # short, capped
    assert _sign_in(base, "carla", PASSWORD, "10.2.0.1").status_code == 200  # known address: not locked out
    assert _wait_until_allowed(base, "carla", PASSWORD, "10.9.9.9").status_code == 200


# ---------------------------------------------------------------- password policy and CLI


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", "12 to 1024 characters"),
        ("password1234", "common password"),
        ("qwertyuiop12", "password refused"),
        ("my name is policy-user!", "must not contain the username"),
    ],
)
def test_password_policy_refuses_short_common_and_username_passwords(api, password, message):
    with pytest.raises(ValueError, match=message):
        users.add_user(api["store"], "policy-user", password, "manager")
    with pytest.raises(ValueError, match=message):
        users.set_password(api["store"], "manager", password.replace("policy-user", "manager"))
    assert users.get_user(api["store"], "policy-user") is None


def test_cli_never_takes_a_password_argument_and_applies_the_policy(api, tmp_path):
    store = str(api["store"])
    result = _cli("users", "add", "--username", "zed", "--password", PASSWORD, "--role", "manager", "--store", store)
    assert result.returncode == 2 and "--password is not accepted" in result.stderr
    assert users.get_user(store, "zed") is None
    result = _cli(
        "users",
        "add",
        "--username",
        "zed",
        "--password-stdin",
        "--role",
        "manager",
        "--store",
        store,
        stdin="password1234\n",
    )
    assert result.returncode == 2 and "password refused" in result.stderr and "Traceback" not in result.stderr
    secret = tmp_path / "pw.txt"
    secret.write_text(PASSWORD + "\n")
    result = _cli(
        "users", "add", "--username", "zed", "--password-file", str(secret), "--role", "manager", "--store", store
    )
    assert result.returncode == 0, result.stderr
    assert users.authenticate(store, "zed", PASSWORD) is not None
    result = _cli("users", "passwd", "--username", "nobody", "--password-file", str(secret), "--store", store)
    assert result.returncode == 2 and "no user named 'nobody'" in result.stderr


def test_a_store_from_before_revocation_gets_the_epoch_column(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL, "
        "client_id INTEGER, created_at TEXT NOT NULL)"
    )
    con.execute("INSERT INTO users VALUES ('old', ?, 'manager', NULL, '2026-01-01')", (users._encode(PASSWORD),))
    con.commit()
    con.close()
    assert users.authenticate(path, "old", PASSWORD)["epoch"] == 0
    users.revoke_tokens(path, "old")
    assert users.get_user(path, "old")["epoch"] not in (0, None)
