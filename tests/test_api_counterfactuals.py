"""The counterfactual routes: a stored client (managers, the customer's own id) and a posted applicant; every
answer re-scored through the what-if; refusals audited; bad input a 4xx JSON error."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from tests.api_fixtures import assert_error

KEYS = {"client_id", "current", "status", "message", "blocking", "options", "model_version", "policy"}
OPTION_KEYS = {"rank", "kind", "summary", "changes", "what_if", "size", "pd", "grade", "outcome", "offer"}


def _ids_by_outcome(store_path, outcome: str, limit: int = 40) -> list[int]:
    with closing(sqlite3.connect(store_path)) as con:
        rows = con.execute("SELECT client_id FROM decisions WHERE outcome = ? LIMIT ?", (outcome, limit))
        return [row[0] for row in rows]


def _audit_rows(store_path, route_part: str) -> list[tuple]:
    with closing(sqlite3.connect(store_path)) as con:
        return con.execute(
            "SELECT client_id, outcome FROM audit WHERE route LIKE ? ORDER BY rowid", (f"%{route_part}%",)
        ).fetchall()


def test_manager_reads_options_that_the_what_if_confirms(api_client, api_heads, api_env):
    manager, with_options = api_heads["manager"], 0
    for cid in _ids_by_outcome(api_env["store"], "counter_offer", 6) + _ids_by_outcome(api_env["store"], "decline", 6):
        answer = api_client.get(f"/api/v1/clients/{cid}/counterfactuals", headers=manager)
        assert answer.status_code == 200, answer.json
        out = answer.json
        assert set(out) == KEYS and out["client_id"] == cid and out["current"]["outcome"] != "approve"
        assert out["status"] in ("options", "none") and out["message"]
        if out["status"] == "none":
            assert out["options"] == [] and out["blocking"]
            continue
        with_options += 1
        assert [o["rank"] for o in out["options"]] == list(range(1, len(out["options"]) + 1))
        assert [o["size"] for o in out["options"]] == sorted(o["size"] for o in out["options"])
        assert len({o["kind"] for o in out["options"]}) == len(out["options"])
        for option in out["options"]:
            assert set(option) == OPTION_KEYS and option["outcome"] == "approve" and option["summary"]
            assert "client" in option["summary"].lower()
            simulated = api_client.post(
                f"/api/v1/clients/{cid}/what-if", json={"changes": option["what_if"]}, headers=manager
            )
            assert simulated.status_code == 200, simulated.json
            assert simulated.json["simulated"]["decision_record"]["outcome"] == "approve"
            assert simulated.json["simulated"]["pd"] == pytest.approx(option["pd"], rel=1e-9)
    assert with_options >= 3


def test_customer_reads_their_own_in_their_words_and_never_another(fresh_api_client, fresh_api_env):
    from tests.api_fixtures import sign_in

    client, env = fresh_api_client, fresh_api_env
    alice = sign_in(client, "alice")
    own = client.get(f"/api/v1/clients/{env['own']}/counterfactuals?lang=fr", headers=alice)
    assert own.status_code == 200 and set(own.json) == KEYS
    text = " ".join([own.json["message"], *(o["summary"] for o in own.json["options"])])
    assert "client" not in text.lower()
    other = client.get(f"/api/v1/clients/{env['other']}/counterfactuals", headers=alice)
    unknown = client.get("/api/v1/clients/1/counterfactuals", headers=alice)
    assert_error(other, 404, "not_found")
    assert_error(unknown, 404, "not_found")
    assert other.json == unknown.json
    rows = _audit_rows(env["store"], "/counterfactuals")
    assert rows[0][0] == env["own"] and rows[0][1].startswith("counterfactuals ")
    assert (env["other"], "denied") in rows


def test_bad_input_is_a_4xx_json_error(api_client, api_heads, api_env):
    manager, service = api_heads["manager"], api_heads["service"]
    assert_error(api_client.get("/api/v1/clients/1/counterfactuals", headers=manager), 404)
    assert_error(api_client.get("/api/v1/clients/abc/counterfactuals", headers=manager), 404)
    assert_error(api_client.get(f"/api/v1/clients/{api_env['own']}/counterfactuals?lang=de", headers=manager), 422)
    assert_error(api_client.get(f"/api/v1/clients/{api_env['own']}/counterfactuals", headers=service), 403)
    assert_error(api_client.get(f"/api/v1/clients/{api_env['own']}/counterfactuals"), 401)
    url = "/api/v1/score/counterfactuals"
    assert_error(api_client.post(url, data="{", content_type="application/json", headers=manager), 400)
    assert_error(api_client.post(url, json={"application": {"AMT_CREDIT": -5}}, headers=manager), 422)
    assert_error(api_client.post(url, json={"application": {}}, headers=service), 422)
    assert_error(api_client.post(url, json=[], headers=manager), 422)
    assert_error(api_client.post(url, json={"application": {"AMT_CREDIT": 1.0}}, headers=api_heads["customer"]), 403)


def test_a_posted_applicant_gets_the_same_answer_shape_and_an_unliftable_stop_factor_says_so(api_client, api_heads):
    from tests.decision_fixtures import BASE

    application = {k: v for k, v in BASE.items() if k != "SK_ID_CURR"}
    url, service = "/api/v1/score/counterfactuals", api_heads["service"]
    plain = api_client.post(url, json={"application": application}, headers=service)
    assert plain.status_code == 200, plain.json
    assert set(plain.json) == KEYS and plain.json["client_id"] is None
    assert plain.json["status"] in ("already_approved", "options", "none")
    late = {
        "bureau": [{"SK_ID_BUREAU": 5, "CREDIT_ACTIVE": "Active", "AMT_CREDIT_SUM": 90000.0, "DAYS_CREDIT": -300}],
        "bureau_balance": [{"SK_ID_BUREAU": 5, "MONTHS_BALANCE": -2, "STATUS": "5"}],
    }
    blocked = api_client.post(url + "?lang=fr", json={"application": application, "history": late}, headers=service)
    assert blocked.status_code == 200, blocked.json
    out = blocked.json
    assert out["status"] == "none" and out["options"] == [] and out["current"]["outcome"] == "decline"
    assert "BUREAU_90_DAYS_LATE_12M" in [b["code"] for b in out["blocking"]]
    assert "client" in out["message"] and "Aucun" in out["message"]


def test_the_what_if_takes_the_new_changes_and_refuses_bad_ones(api_client, api_heads, api_app, api_env):
    manager, cid = api_heads["manager"], api_env["other"]
    url = f"/api/v1/clients/{cid}/what-if"
    stored = api_app.config["STORE"]
    credit = stored.get_client(cid)["application"]["AMT_CREDIT"]
    debt = stored.get_client(cid)["features"].get("BUREAU_ACTIVE_DEBT") or 0.0
    for changes in ({"TERM_MONTHS": 24}, {"DOWN_PAYMENT": credit / 2, "TERM_MONTHS": 36}, {"AMT_CREDIT": credit}):
        answer = api_client.post(url, json={"changes": changes}, headers=manager)
        assert answer.status_code == 200, answer.json
        assert answer.json["changes"] == changes and answer.json["simulated"]["decision_record"]["outcome"]
    longer = api_client.post(url, json={"changes": {"TERM_MONTHS": 120}}, headers=manager).json["simulated"]
    assert longer["decision_record"]["affordability"]["term_months"] == 120
    bad = [
        {"TERM_MONTHS": 0},
        {"TERM_MONTHS": 12.5},
        {"TERM_MONTHS": 24, "AMT_ANNUITY": 1000.0},
        {"DOWN_PAYMENT": credit},
        {"DOWN_PAYMENT": 100.0, "AMT_CREDIT": 1000.0},
        {"BUREAU_DEBT_PAYDOWN": debt + 1000.0},
        {"DAYS_BIRTH": -20000},
        {"EXT_SOURCE_2": 0.9},
    ]
    for changes in bad:
        answer = api_client.post(url, json={"changes": changes}, headers=manager)
        assert_error(answer, 422, "invalid_what_if")
        assert answer.json["error"]["fields"][0]["field"].startswith("changes."), changes
