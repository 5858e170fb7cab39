"""The reviews blueprint: a customer asks for a human review and reads the answer, managers work the queue, record
outcomes and read the override rate; roles, cross-client attempts, bad input, and the audit entry of every step."""

from __future__ import annotations

import pytest

from api.reviews import CUSTOMER_FIELDS
from scoring import audit, users
from tests.api_fixtures import PASSWORD, assert_error, create_test_app, sign_in


@pytest.fixture()
def api(fresh_api_env) -> dict:
    """An app on its own store copy: alice (customer of `own`), bruno (customer of `other`), the manager, svc."""
    env = fresh_api_env
    users.add_user(env["store"], "bruno", PASSWORD, "customer", client_id=env["other"])
    client = create_test_app(env).test_client()
    heads = {name: sign_in(client, name) for name in ("manager", "alice", "bruno", "svc")}
    return {**env, "client": client, "heads": heads}


def _post(api, path, who, body):
    return api["client"].post(path, json=body, headers=api["heads"][who])


def _get(api, path, who, **params):
    return api["client"].get(path, query_string=params, headers=api["heads"][who])


def _ask(api, who="alice", cid=None, comment="My income went up last month."):
    return _post(api, f"/api/v1/clients/{cid or api['own']}/reviews", who, {"comment": comment})


def _other_outcome(review: dict) -> str:
    return "approve" if review["decision_outcome"] != "approve" else "decline"


def _audit_since(api, before: int) -> list[tuple]:
    return [(e["client_id"], e["route"], e["outcome"]) for e in audit.read_audit(api["store"])[before:]]


def test_a_customer_asks_a_manager_changes_the_decision_and_the_customer_reads_why(api):
    asked = _ask(api)
    assert asked.status_code == 201, asked.json
    review = asked.json
    assert tuple(review) == CUSTOMER_FIELDS and review["status"] == "open" and review["client_id"] == api["own"]
    assert review["comment"] == "My income went up last month." and review["result"] is None
    decision = _get(api, f"/api/v1/clients/{api['own']}/decision", "manager").json["decision"]
    assert review["decision_outcome"] == decision["outcome"]

    queue = _get(api, "/api/v1/reviews", "manager").json
    assert queue["status"] == "open" and queue["total"] == 1 and queue["items"][0]["id"] == review["id"]
    filed = queue["items"][0]
    assert filed["requested_by"] == "alice" and filed["model_version"] == decision["model_version"]
    assert filed["policy_version"] == decision["policy"]["version"]
    assert _get(api, f"/api/v1/reviews/{review['id']}", "manager").json == filed

    new = _other_outcome(review)
    body = {"result": "changed", "new_outcome": new, "reason": "Payslip checked: the income is higher."}
    closed = _post(api, f"/api/v1/reviews/{review['id']}/outcome", "manager", body)
    assert closed.status_code == 200, closed.json
    assert closed.json["status"] == "closed" and closed.json["reviewer"] == "manager"
    assert closed.json["result"] == "changed" and closed.json["new_outcome"] == new

    seen = _get(api, f"/api/v1/reviews/{review['id']}", "alice").json
    assert tuple(seen) == CUSTOMER_FIELDS and seen["result"] == "changed" and seen["new_outcome"] == new
    assert seen["reason"] == "Payslip checked: the income is higher." and seen["reviewed_at"]
    listed = _get(api, f"/api/v1/clients/{api['own']}/reviews", "alice").json
    assert listed == {"client_id": api["own"], "items": [seen]}
    for answer in (seen, listed, asked.json):  # never who reviewed (nor who filed)
        assert '"manager"' not in str(answer).replace("'", '"') and "reviewer" not in str(answer)

    assert _get(api, "/api/v1/reviews", "manager").json["total"] == 0
    assert _get(api, "/api/v1/reviews", "manager", status="closed").json["items"][0]["id"] == review["id"]
    stats = _get(api, "/api/v1/reviews/stats", "manager").json
    assert {k: stats[k] for k in ("open", "closed", "upheld", "changed", "override_rate")} == {
        "open": 0,
        "closed": 1,
        "upheld": 0,
        "changed": 1,
        "override_rate": 1.0,
    }
    assert stats["months"] == [
        {"month": seen["reviewed_at"][:7], "closed": 1, "upheld": 0, "changed": 1, "override_rate": 1.0}
    ]


def test_one_open_request_per_client_and_one_outcome_per_request(api):
    first = _ask(api).json
    again = _ask(api, comment="second")
    assert_error(again, 409, "review_open")
    assert f"#{first['id']}" in again.json["error"]["message"]
    assert_error(_ask(api, "manager"), 409, "review_open")  # on the customer's behalf: the same rule
    path = f"/api/v1/reviews/{first['id']}/outcome"
    assert _post(api, path, "manager", {"result": "upheld", "reason": "The file is right."}).status_code == 200
    assert_error(_post(api, path, "manager", {"result": "upheld", "reason": "twice"}), 409, "review_closed")
    assert _get(api, f"/api/v1/reviews/{first['id']}", "alice").json["reason"] == "The file is right."
    assert _ask(api, comment="a new request").status_code == 201  # after the answer, another may be asked


def test_a_manager_files_on_behalf_of_a_client_and_the_queue_is_oldest_first_and_paged(api):
    other = _ask(api, "manager", api["other"], "Asked by phone.").json
    own = _ask(api).json
    assert other["requested_by"] == "manager"  # a manager sees who filed it
    page = _get(api, "/api/v1/reviews", "manager", limit=1, offset=1).json
    assert page["total"] == 2 and [r["id"] for r in page["items"]] == [own["id"]] and page["limit"] == 1
    assert [r["id"] for r in _get(api, "/api/v1/reviews", "manager").json["items"]] == [other["id"], own["id"]]
    bruno = _get(api, f"/api/v1/clients/{api['other']}/reviews", "bruno").json["items"]
    assert [r["comment"] for r in bruno] == ["Asked by phone."] and "requested_by" not in bruno[0]
    assert_error(_ask(api, "manager", 1), 404, "not_found")  # no such client
    assert_error(_get(api, "/api/v1/clients/1/reviews", "manager"), 404, "not_found")


def test_a_customer_reaching_for_another_clients_review_gets_the_unknown_ids_404_and_is_audited(api):
    theirs = _ask(api, "bruno", api["other"]).json
    unknown = _get(api, "/api/v1/reviews/987654", "alice")
    assert_error(unknown, 404, "not_found")
    before = len(audit.read_audit(api["store"]))
    attempts = [
        _get(api, f"/api/v1/reviews/{theirs['id']}", "alice"),
        _get(api, f"/api/v1/clients/{api['other']}/reviews", "alice"),
        _ask(api, "alice", api["other"]),
    ]
    for response in attempts:
        assert_error(response, 404, "not_found")
    assert attempts[0].json == unknown.json  # nothing tells an existing review from an unknown one
    entries = _audit_since(api, before)
    assert [(cid, outcome) for cid, _, outcome in entries] == [
        (api["other"], f"denied review {theirs['id']}"),
        (api["other"], "denied"),
        (api["other"], "denied"),
    ]
    assert _get(api, f"/api/v1/reviews/{theirs['id']}", "bruno").status_code == 200
    assert _get(api, "/api/v1/reviews", "manager").json["total"] == 1  # alice's attempt filed nothing


def test_roles_are_enforced_on_every_route(api):
    mine = _ask(api).json
    outcome = {"result": "upheld", "reason": "r"}
    for who in ("alice", "svc"):
        assert_error(_get(api, "/api/v1/reviews", who), 403, "forbidden")
        assert_error(_get(api, "/api/v1/reviews/stats", who), 403, "forbidden")
        assert_error(_post(api, f"/api/v1/reviews/{mine['id']}/outcome", who, outcome), 403, "forbidden")
    assert_error(_ask(api, "svc"), 403, "forbidden")
    assert_error(_get(api, f"/api/v1/reviews/{mine['id']}", "svc"), 403, "forbidden")
    assert_error(api["client"].get("/api/v1/reviews"), 401, "missing_token")
    assert_error(api["client"].post(f"/api/v1/clients/{api['own']}/reviews", json={"comment": "x"}), 401)
    assert _get(api, f"/api/v1/reviews/{mine['id']}", "alice").json["status"] == "open"  # nothing closed


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"comment": "ring \x07"}, "comment", "control characters"),
        ({"comment": "esc \x1b[2J"}, "comment", "control characters"),
        ({"comment": "x" * 2001}, "comment", "at most 2000"),
        ({"comment": 5}, "comment", "must be a string"),
        ({"comment": None}, "comment", "must be a string"),
        ({"comment": ["a"]}, "comment", "must be a string"),
        ({}, "comment", "required"),
        ({"comment": "ok", "status": "closed"}, "status", "unknown field"),
        (["comment"], "body", "JSON object"),
    ],
)
def test_a_bad_request_is_422_naming_the_field_and_files_nothing(api, body, field, message):
    before = len(audit.read_audit(api["store"]))
    response = _post(api, f"/api/v1/clients/{api['own']}/reviews", "alice", body)
    assert_error(response, 422, "invalid_review")
    assert [f["field"] for f in response.json["error"]["fields"]] == [field]
    assert message in response.json["error"]["fields"][0]["message"]
    assert _audit_since(api, before) == [
        (api["own"], "POST /api/v1/clients/<client_id>/reviews", "refused 422 invalid_review")
    ]
    assert _get(api, "/api/v1/reviews", "manager").json["total"] == 0


def test_text_with_newlines_tabs_and_accents_and_the_longest_comment_are_taken(api):
    text = "Ligne 1\r\n\tLigne 2 : revenus révisés — ✓"
    assert _ask(api, comment=text).json["comment"] == text
    assert _ask(api, "manager", api["other"], "y" * 2000).status_code == 201


def test_bodies_that_are_not_json_are_refused(api):
    path = f"/api/v1/clients/{api['own']}/reviews"
    heads = api["heads"]["alice"]
    assert_error(api["client"].post(path, data="comment=hi", headers=heads), 415, "unsupported_media_type")
    raw = {**heads, "Content-Type": "application/json"}
    assert_error(api["client"].post(path, data='{"comment": "x"', headers=raw), 400, "invalid_json")
    assert_error(api["client"].post(path, data='{"comment": NaN}', headers=raw), 400, "invalid_json")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"result": "maybe", "reason": "r"}, "result"),
        ({"reason": "r"}, "result"),
        ({"result": "upheld"}, "reason"),
        ({"result": "upheld", "reason": " \n\t "}, "reason"),
        ({"result": "upheld", "reason": "bell \x07"}, "reason"),
        ({"result": "upheld", "reason": "z" * 2001}, "reason"),
        ({"result": "upheld", "reason": 3}, "reason"),
        ({"result": "changed", "reason": "r"}, "new_outcome"),
        ({"result": "changed", "reason": "r", "new_outcome": "technical_refusal"}, "new_outcome"),
        ({"result": "changed", "reason": "r", "new_outcome": "same"}, "new_outcome"),
        ({"result": "upheld", "reason": "r", "new_outcome": "approve"}, "new_outcome"),
        ({"result": "upheld", "reason": "r", "reviewer": "someone"}, "reviewer"),
    ],
)
def test_a_bad_outcome_is_422_naming_the_field_and_the_review_stays_open(api, body, field):
    review = _ask(api).json
    if body.get("new_outcome") == "same":
        body = {**body, "new_outcome": review["decision_outcome"]}
    response = _post(api, f"/api/v1/reviews/{review['id']}/outcome", "manager", body)
    assert_error(response, 422, "invalid_review")
    assert field in [f["field"] for f in response.json["error"]["fields"]]
    again = _get(api, f"/api/v1/reviews/{review['id']}", "manager").json
    assert again["status"] == "open" and again["reviewer"] is None and again["reason"] is None


@pytest.mark.parametrize("review_id", ["abc", "-1", "1.5", "%201", "١", "99999999999999999999", "0"])
def test_a_review_id_that_cannot_exist_is_404(api, review_id):
    assert_error(_get(api, f"/api/v1/reviews/{review_id}", "manager"), 404, "not_found")
    body = {"result": "upheld", "reason": "r"}
    assert_error(_post(api, f"/api/v1/reviews/{review_id}/outcome", "manager", body), 404, "not_found")


def test_bad_queue_queries_are_422(api):
    for params in ({"status": "pending"}, {"limit": 0}, {"limit": 201}, {"offset": -1}, {"page": 2}):
        assert_error(_get(api, "/api/v1/reviews", "manager", **params), 422, "invalid_query")


def test_every_step_is_audited(api):
    before = len(audit.read_audit(api["store"]))
    review = _ask(api).json
    rid, own = review["id"], api["own"]
    _get(api, "/api/v1/reviews", "manager")
    _get(api, f"/api/v1/reviews/{rid}", "manager")
    _post(api, f"/api/v1/reviews/{rid}/outcome", "manager", {"result": "upheld", "reason": "checked"})
    _get(api, f"/api/v1/reviews/{rid}", "alice")
    _get(api, f"/api/v1/clients/{own}/reviews", "alice")
    _get(api, "/api/v1/reviews/stats", "manager")
    _ask(api)  # a new one is fine; closing the closed one is refused
    _post(api, f"/api/v1/reviews/{rid}/outcome", "manager", {"result": "upheld", "reason": "again"})
    assert _audit_since(api, before) == [
        (own, "POST /api/v1/clients/<client_id>/reviews", f"review {rid} requested"),
        (None, "GET /api/v1/reviews", "listed 1 open reviews"),
        (own, "GET /api/v1/reviews/<review_id>", f"read review {rid}"),
        (own, "POST /api/v1/reviews/<review_id>/outcome", f"review {rid} closed upheld"),
        (own, "GET /api/v1/reviews/<review_id>", f"read review {rid}"),
        (own, "GET /api/v1/clients/<client_id>/reviews", "read 1 reviews"),
        (None, "GET /api/v1/reviews/stats", "read review stats"),
        (own, "POST /api/v1/clients/<client_id>/reviews", f"review {rid + 1} requested"),
        (own, "POST /api/v1/reviews/<review_id>/outcome", "refused 409 review_closed"),
    ]
    users_of = {e["username"] for e in audit.read_audit(api["store"])[before:]}
    assert users_of == {"alice", "manager"}
