"""The auth blueprint and its rules: sign-in, signed expiring tokens, roles, and a customer seeing only their own file.

Sign-out and revocation across gunicorn workers, and the sign-in limits, are in tests/test_accounts.py.
"""

from __future__ import annotations

import time

import pytest

from scoring import users
from tests.api_fixtures import PASSWORD, assert_error, sign_in


def test_sign_in_failures(fresh_api_client):
    client = fresh_api_client
    assert_error(
        client.post("/api/v1/auth/token", json={"username": "manager", "password": "wrong password"}),
        401,
        "bad_credentials",
    )
    assert_error(
        client.post("/api/v1/auth/token", json={"username": "nobody", "password": PASSWORD}), 401, "bad_credentials"
    )
    assert_error(client.post("/api/v1/auth/token", json={"username": "manager"}), 422)
    assert_error(client.post("/api/v1/auth/token", data="{", content_type="application/json"), 400, "invalid_json")
    assert_error(
        client.post("/api/v1/auth/token", data="username=x", content_type="application/x-www-form-urlencoded"), 415
    )


def test_missing_forged_and_expired_tokens(fresh_api_client, fresh_api_app, fresh_api_env):
    from itsdangerous import URLSafeTimedSerializer

    client = fresh_api_client
    url = f"/api/v1/clients/{fresh_api_env['own']}/score"
    assert_error(client.get(url), 401, "missing_token")
    assert_error(client.get(url, headers={"Authorization": "Basic abc"}), 401, "invalid_token")
    assert_error(client.get(url, headers={"Authorization": "Bearer not.a.token"}), 401, "invalid_token")
    forged = URLSafeTimedSerializer("another-secret", salt="scoring-api-token").dumps(
        {"u": "manager", "r": "manager", "c": None}
    )
    assert_error(client.get(url, headers={"Authorization": f"Bearer {forged}"}), 401, "invalid_token")
    good, unused = sign_in(client, "manager"), sign_in(client, "manager")
    assert client.get(url, headers=good).status_code == 200  # its signature check is now cached
    fresh_api_app.config["TOKEN_TTL"] = 1  # this test's own app: no other test sees the shorter lifetime
    time.sleep(2.1)
    assert_error(client.get(url, headers=good), 401, "token_expired")
    assert_error(client.get(url, headers=unused), 401, "token_expired")


def test_removed_user_loses_access_at_once(fresh_api_client, fresh_api_env):
    client = fresh_api_client
    users.add_user(fresh_api_env["store"], "temp", PASSWORD, "manager")
    head = sign_in(client, "temp")
    assert client.get("/api/v1/model", headers=head).status_code == 200
    users.remove_user(fresh_api_env["store"], "temp")
    assert_error(client.get("/api/v1/model", headers=head), 401, "invalid_token")


CLIENT_ROUTES = [
    "/api/v1/clients/{id}",
    "/api/v1/clients/{id}/score",
    "/api/v1/clients/{id}/explanation",
    "/api/v1/features/EXT_SOURCE_2/distribution?client_id={id}",
    "/api/v1/features/bivariate?x={x}&y={y}&client_id={id}",
]


@pytest.mark.parametrize("route", CLIENT_ROUTES)
def test_customer_sees_own_file_only(api_client, api_heads, api_env, route):
    h = api_heads["customer"]
    pair = {"x": api_env["x"], "y": api_env["y"]}
    assert api_client.get(route.format(id=api_env["own"], **pair), headers=h).status_code == 200
    other = api_client.get(route.format(id=api_env["other"], **pair), headers=h)
    unknown = api_client.get(route.format(id=999_999_999, **pair), headers=api_heads["manager"])
    assert_error(other, 404, "not_found")
    assert str(api_env["other"]) not in other.get_data(as_text=True)
    if "features" not in route:  # an unknown id and a forbidden one look the same
        assert other.json == unknown.json


def test_customer_may_not_list_clients_or_score_applicants(api_client, api_heads):
    h = api_heads["customer"]
    assert_error(api_client.get("/api/v1/clients", headers=h), 403, "forbidden")
    assert_error(api_client.post("/api/v1/score", json={"application": {}}, headers=h), 403, "forbidden")


def test_service_only_scores(api_client, api_heads, api_env):
    h = api_heads["service"]
    for route in ("/api/v1/clients", f"/api/v1/clients/{api_env['own']}", "/api/v1/model", "/api/v1/features"):
        assert_error(api_client.get(route, headers=h), 403, "forbidden")
