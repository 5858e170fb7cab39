"""GET /api/v1/clients/{id}/decision: the stored decision rebuilt under the served policy, for managers in full and
for the customer in their own words; audited; clear errors on an old store, another policy, a bad id."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from scoring import audit
from scoring.decision import PolicyError
from scoring.store import open_store
from tests.api_fixtures import USERNAMES, assert_error, create_test_app, headers_by_role, sign_in
from tests.decision_fixtures import EXAMPLE


def _url(cid) -> str:
    return f"/api/v1/clients/{cid}/decision"


def test_manager_reads_the_full_record_equal_to_what_the_store_decided(api_client, api_heads, api_env):
    store = open_store(api_env["store"])
    ids = [c["client_id"] for c in store.list_clients(limit=40)["items"]]
    outcomes = set()
    for cid in ids:
        body = api_client.get(_url(cid), headers=api_heads["manager"]).json
        record, stored = body["decision"], store.get_decision(cid)
        assert body["client_id"] == cid and record["outcome"] == stored["outcome"]
        assert [f["code"] for f in record["stop_factors"] if f["result"] == "fired"] == stored["fired"]
        assert record["score"]["pd"] == stored["pd"] and record["policy"]["sha256"] == stored["policy"]["sha256"]
        offer = record["offer"]
        assert (offer or {}).get("amount") == stored["offer_amount"]
        assert all(set(f["message"]) == {"en", "fr"} for f in record["stop_factors"] if f["message"])
        outcomes.add(record["outcome"])
    assert len(outcomes) >= 2  # the synthetic portfolio is not decided one way only


def test_customer_reads_their_own_decision_in_their_language(api_client, api_heads, api_env):
    body = api_client.get(_url(api_env["own"]) + "?lang=fr", headers=api_heads["customer"]).json
    view = body["decision"]
    assert "stop_factors" not in view and "threshold" not in view["score"]
    full = api_client.get(_url(api_env["own"]) + "?lang=fr", headers=api_heads["manager"]).json["decision"]
    assert view["outcome"] == full["outcome"]
    assert [r["message"] for r in view["reasons"]] == [r["message"]["fr"] for r in full["reasons"]]
    assert_error(api_client.get(_url(api_env["other"]), headers=api_heads["customer"]), 404)  # not told it exists
    assert_error(api_client.get(_url(api_env["own"]), headers=api_heads["service"]), 403)


def test_unknown_and_bad_ids(api_client, api_heads):
    h = api_heads["manager"]
    assert_error(api_client.get(_url(999_999_999), headers=h), 404)
    for bad in ("abc", "-1", "1e3", "9" * 30):
        response = api_client.get(_url(bad), headers=h)
        assert 400 <= response.status_code < 500 and response.is_json, bad
    assert_error(api_client.get(_url(100002) + "?lang=de", headers=h), 422)


def test_reads_are_audited(fresh_api_client, fresh_api_env):
    client, env = fresh_api_client, fresh_api_env
    customer = sign_in(client, USERNAMES["customer"])
    before = len(audit.read_audit(env["store"]))
    client.get(_url(env["own"]), headers=customer)
    client.get(_url(env["other"]), headers=customer)
    entries = audit.read_audit(env["store"])[before:]
    assert [(e["client_id"], e["outcome"], e["route"]) for e in entries] == [
        (env["own"], "ok", "GET /api/v1/clients/<client_id>/decision"),
        (env["other"], "denied", "GET /api/v1/clients/<client_id>/decision"),
    ]


def test_a_store_built_before_decisions_serves_everything_else(fresh_api_env):
    with closing(sqlite3.connect(fresh_api_env["store"])) as con:
        con.execute("DROP TABLE decisions")
        con.commit()
    client = create_test_app(fresh_api_env).test_client()
    heads = headers_by_role(client)
    cid = fresh_api_env["own"]
    assert_error(client.get(_url(cid), headers=heads["manager"]), 409, "decisions_missing")
    message = client.get(_url(cid), headers=heads["customer"]).json["error"]["message"]
    assert "build-store" in message
    for path in (f"/api/v1/clients/{cid}", f"/api/v1/clients/{cid}/score", f"/api/v1/clients/{cid}/explanation"):
        assert client.get(path, headers=heads["manager"]).status_code == 200, path
    what_if = client.post(
        f"/api/v1/clients/{cid}/what-if", json={"changes": {"AMT_CREDIT": 100000}}, headers=heads["manager"]
    )
    assert what_if.status_code == 200 and what_if.json["simulated"]["decision_record"] is None


def test_decisions_of_another_policy_are_refused_as_stale(fresh_api_env, tmp_path):
    edited = tmp_path / "policy.yaml"
    edited.write_text(EXAMPLE.read_text().replace('version: "example-2025.1"', 'version: "other"'))
    from api import create_app

    app = create_app(
        {"STORE_PATH": fresh_api_env["store"], "MODELS_DIR": fresh_api_env["models"], "POLICY_PATH": edited}
    )
    client = app.test_client()
    response = client.get(_url(fresh_api_env["own"]), headers=sign_in(client, USERNAMES["manager"]))
    assert_error(response, 409, "decisions_stale")
    assert "explain-all" in response.json["error"]["message"]


def test_the_app_refuses_to_start_on_a_bad_policy(api_env, tmp_path):
    from api import create_app

    bad = tmp_path / "policy.yaml"
    bad.write_text(EXAMPLE.read_text().replace("threshold: 21", "threshold: twenty-one"))
    with pytest.raises(PolicyError) as refused:
        create_app({"STORE_PATH": api_env["store"], "MODELS_DIR": api_env["models"], "POLICY_PATH": bad})
    assert str(bad) in str(refused.value) and "AGE_BELOW_21" in str(refused.value)
