"""Two API nodes over one PostgreSQL store: two real gunicorn servers on different ports standing for two machines,
each with its own working folder and environment, sharing only the database URL and the model folder (no token
secret given: the store's own is shared through the database). A token signed on one is valid on the other, a
sign-out or password change on one is seen by the other at once, sign-in limits count the attempts made on both,
their audit entries form one chain that `audit verify` accepts, and a review filed on one is closed on the other.
"""

from __future__ import annotations

import threading

import psycopg
import pytest
import requests

from scoring import audit, users
from scoring.cli import main
from scoring.store import postgres_schema as pg
from tests.api_fixtures import PASSWORD
from tests.servers import gunicorn

ATTACKER = "203.0.113.9"  # a documentation address, sent through the trusted loopback proxy's X-Forwarded-For
PER_ADDRESS = 4


@pytest.fixture(scope="module")
def nodes(postgres_cluster, postgres_api_template, tmp_path_factory):
    """Node a and node b (one gunicorn worker each) on a fresh copy of the API template store."""
    url = postgres_cluster.database(template=postgres_api_template["store"])
    with pytest.MonkeyPatch.context() as patch:  # no shared secret but the database's
        patch.delenv("SCORING_SECRET_KEY", raising=False)
        patch.delenv("SCORING_AUDIT_KEY", raising=False)
        with _node("a", url, postgres_api_template, tmp_path_factory) as a:
            with _node("b", url, postgres_api_template, tmp_path_factory) as b:
                yield {**postgres_api_template, "store": url, "a": a, "b": b}


def _node(name, url, template, tmp_path_factory):
    work = tmp_path_factory.mktemp(f"node-{name}")
    env = {
        "SCORING_STORE": url,
        "SCORING_MODELS": str(template["models"]),
        "SCORING_DATA": str(work / "raw"),
        "SCORING_SIGNIN_MAX_PER_ADDRESS": str(PER_ADDRESS),
        "TMPDIR": str(work),
        "HOME": str(work),
    }
    return gunicorn("api:create_app()", env, ready_path="/ready", log_path=work / "api.log")


def _token(base: str, username: str, password: str = PASSWORD) -> dict:
    answer = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": password}, timeout=30)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_token_signed_on_one_node_works_on_the_other(nodes):
    head = _token(nodes["a"], "manager")
    for base in (nodes["a"], nodes["b"]):
        answer = requests.get(f"{base}/api/v1/clients/{nodes['own']}/explanation", headers=head, timeout=30)
        assert answer.status_code == 200 and answer.json()["client_id"] == nodes["own"]


def test_a_sign_out_and_a_password_change_are_seen_by_the_other_node_at_once(nodes, tmp_path):
    users.add_user(nodes["store"], "carol", PASSWORD, "manager")  # from outside both nodes: both see her at once
    head = _token(nodes["b"], "carol")
    assert requests.get(f"{nodes['a']}/api/v1/model", headers=head, timeout=30).status_code == 200
    assert requests.post(f"{nodes['a']}/api/v1/auth/logout", headers=head, timeout=30).status_code == 200
    refused = requests.get(f"{nodes['b']}/api/v1/model", headers=head, timeout=30)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"

    head = _token(nodes["a"], "carol")
    new_password = "another quite long passphrase 7"
    password_file = tmp_path / "password"
    password_file.write_text(new_password + "\n")
    argv = ["users", "passwd", "--username", "carol", "--password-file", str(password_file), "--store", nodes["store"]]
    assert main(argv) == 0
    for base in (nodes["a"], nodes["b"]):
        refused = requests.get(f"{base}/api/v1/model", headers=head, timeout=30)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"
    answer = requests.get(f"{nodes['b']}/api/v1/model", headers=_token(nodes["a"], "carol", new_password), timeout=30)
    assert answer.status_code == 200


def test_sign_in_limits_count_the_attempts_on_both_nodes(nodes):
    forwarded = {"X-Forwarded-For": ATTACKER}
    body = {"username": "manager", "password": "not the password at all"}
    for i in range(PER_ADDRESS):  # alternating: each node alone has seen half the limit
        base = nodes["a"] if i % 2 == 0 else nodes["b"]
        answer = requests.post(f"{base}/api/v1/auth/token", json=body, headers=forwarded, timeout=30)
        assert answer.status_code == 401, answer.text
    for base in (nodes["a"], nodes["b"]):
        answer = requests.post(f"{base}/api/v1/auth/token", json=body, headers=forwarded, timeout=30)
        assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
    assert requests.post(  # the real user, from their own address, is not locked out
        f"{nodes['b']}/api/v1/auth/token", json={"username": "manager", "password": PASSWORD}, timeout=30
    ).ok


def test_both_nodes_append_to_one_audit_chain(nodes):
    heads = {base: _token(base, "manager") for base in (nodes["a"], nodes["b"])}
    with psycopg.connect(nodes["store"]) as con:
        (before,) = con.execute(f"SELECT count(*) FROM {pg.KEPT_SCHEMA}.audit").fetchone()
    failures, per_thread = [], 15

    def read(base: str) -> None:
        with requests.Session() as session:
            for _ in range(per_thread):
                answer = session.get(f"{base}/api/v1/clients/{nodes['own']}", headers=heads[base], timeout=60)
                if answer.status_code != 200:
                    failures.append(answer.status_code)

    threads = [threading.Thread(target=read, args=(base,)) for base in (nodes["a"], nodes["b"]) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with psycopg.connect(nodes["store"]) as con:
        (after,) = con.execute(f"SELECT count(*) FROM {pg.KEPT_SCHEMA}.audit").fetchone()
    assert after - before >= len(threads) * per_thread  # one entry per read, none lost
    report = audit.verify_audit(nodes["store"])
    assert report["ok"], report["problem"]
    assert report["chained"] == after and report["last_id"] == after
    assert main(["audit", "verify", "--store", nodes["store"]]) == 0


def test_a_review_filed_on_one_node_is_closed_on_the_other(nodes):
    customer, manager = _token(nodes["a"], "alice"), _token(nodes["b"], "manager")
    filed = requests.post(
        f"{nodes['a']}/api/v1/clients/{nodes['own']}/reviews",
        json={"comment": "Please look again."},
        headers=customer,
        timeout=30,
    )
    assert filed.status_code == 201, filed.text
    review = filed.json()
    again = requests.post(
        f"{nodes['b']}/api/v1/clients/{nodes['own']}/reviews", json={"comment": "Again."}, headers=customer, timeout=30
    )
    assert again.status_code == 409  # one open request per client, whichever node is asked
    closed = requests.post(
        f"{nodes['b']}/api/v1/reviews/{review['id']}/outcome",
        json={"result": "upheld", "reason": "The documents confirm the decision."},
        headers=manager,
        timeout=30,
    )
    assert closed.status_code == 200, closed.text
    mine = requests.get(f"{nodes['a']}/api/v1/clients/{nodes['own']}/reviews", headers=customer, timeout=30).json()
    answered = next(r for r in mine["items"] if r["id"] == review["id"])
    assert answered["status"] == "closed" and answered["result"] == "upheld"
