"""GET /api/v1/clients/{id}/letter: the decision letter as HTML under a strict policy, for managers and the
client's own customer token; 409 when there is nothing adverse to explain; every read and refusal audited."""

from __future__ import annotations

import html
import sqlite3
from contextlib import closing

import pytest

from api.counterfactuals import stored_counterfactuals
from api.letter import CSP
from scoring import audit, users
from scoring.letter import LetterFileError
from scoring.store import open_store
from tests.api_fixtures import PASSWORD, assert_error, create_test_app, env_on_copy, headers_by_role, sign_in

ROUTE = "GET /api/v1/clients/<client_id>/letter"


def _url(cid, lang: str | None = None) -> str:
    return f"/api/v1/clients/{cid}/letter" + (f"?lang={lang}" if lang else "")


@pytest.fixture(scope="module")
def letter_env(api_template, tmp_path_factory):
    """A store copy with a customer owning a declined client (dora) and one owning a counter-offered one (cleo)."""
    env = env_on_copy(api_template, tmp_path_factory.mktemp("api-letter"))
    store = open_store(env["store"])
    outcomes = {}
    for item in store.list_clients(limit=200)["items"]:
        outcomes.setdefault(store.get_decision(item["client_id"])["outcome"], item["client_id"])
    users.add_user(env["store"], "dora", PASSWORD, "customer", client_id=outcomes["decline"])
    users.add_user(env["store"], "cleo", PASSWORD, "customer", client_id=outcomes["counter_offer"])
    return {**env, **outcomes}


@pytest.fixture(scope="module")
def client(letter_env):
    return create_test_app(letter_env).test_client()


@pytest.fixture(scope="module")
def heads(client):
    return {**headers_by_role(client), "dora": sign_in(client, "dora"), "cleo": sign_in(client, "cleo")}


def _assert_letter(response, lang: str) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Security-Policy"] == CSP
    assert "default-src 'none'" in CSP and "style-src 'unsafe-inline'" in CSP and "script" not in CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>") and f'<html lang="{lang}">' in page and "<script" not in page.lower()
    return page


def test_a_manager_reads_the_letter_of_a_declined_and_of_a_counter_offered_client(client, heads, letter_env):
    declined = _assert_letter(client.get(_url(letter_env["decline"]), headers=heads["manager"]), "en")
    assert "Application declined" in declined and f"Client number {letter_env['decline']}" in declined
    offered = _assert_letter(client.get(_url(letter_env["counter_offer"], "fr"), headers=heads["manager"]), "fr")
    assert "Contre-proposition" in offered and "Notre offre" in offered and "Votre droit à un réexamen" in offered
    with client.application.app_context():  # what could change: the search's answer, in the customer's words
        changes = stored_counterfactuals(letter_env["counter_offer"], "fr", "customer")
    section = html.unescape(offered.split('id="letter-changes"', 1)[1].split("</section>", 1)[0])
    assert changes["status"] == "options" and changes["message"] in section
    assert all(option["summary"] in section for option in changes["options"][:3])


def test_a_customer_reads_their_own_letter_and_no_one_elses(client, heads, letter_env):
    page = _assert_letter(client.get(_url(letter_env["decline"], "fr"), headers=heads["dora"]), "fr")
    assert "Demande refusée" in page
    assert_error(client.get(_url(letter_env["counter_offer"]), headers=heads["dora"]), 404)  # not told it exists
    assert_error(client.get(_url(letter_env["decline"]), headers=heads["cleo"]), 404)
    _assert_letter(client.get(_url(letter_env["counter_offer"]), headers=heads["cleo"]), "en")
    assert_error(client.get(_url(letter_env["decline"]), headers=heads["service"]), 403)
    assert_error(client.get(_url(letter_env["decline"])), 401)


def test_no_letter_for_an_approved_client(client, heads, letter_env):
    response = client.get(_url(letter_env["approve"]), headers=heads["manager"])
    assert_error(response, 409, "no_letter")
    assert "approve" in response.json["error"]["message"]


def test_bad_language_unknown_parameter_and_bad_ids(client, heads, letter_env):
    h = heads["manager"]
    for query in ("?lang=de", "?lang=", "?lang=en&lang=fr", "?format=pdf"):
        assert_error(client.get(_url(letter_env["decline"]) + query, headers=h), 422, "invalid_query")
    assert_error(client.get(_url(999_999_999), headers=h), 404)
    for bad in ("abc", "-1", "1e3", "9" * 30, "%20100002"):
        response = client.get(_url(bad), headers=h)
        assert 400 <= response.status_code < 500 and response.is_json, bad


def test_reads_and_refusals_are_audited(letter_env, tmp_path):
    env = env_on_copy(letter_env, tmp_path)
    client = create_test_app(env).test_client()
    dora, manager = sign_in(client, "dora"), sign_in(client, "manager")
    before = len(audit.read_audit(env["store"]))
    client.get(_url(env["decline"]), headers=dora)
    client.get(_url(env["counter_offer"]), headers=dora)
    client.get(_url(env["approve"]), headers=manager)
    client.get(_url(999_999_999), headers=manager)
    entries = audit.read_audit(env["store"])[before:]
    assert [(e["username"], e["client_id"], e["outcome"], e["route"]) for e in entries] == [
        ("dora", env["decline"], "ok", ROUTE),
        ("dora", env["counter_offer"], "denied", ROUTE),
        ("manager", env["approve"], "refused 409 no_letter", ROUTE),
        ("manager", 999_999_999, "not_found", ROUTE),
    ]


def test_a_store_without_decisions_has_no_letter(letter_env, tmp_path):
    env = env_on_copy(letter_env, tmp_path)
    with closing(sqlite3.connect(env["store"])) as con:
        con.execute("DROP TABLE decisions")
        con.commit()
    client = create_test_app(env).test_client()
    heads = headers_by_role(client)
    assert_error(client.get(_url(env["decline"]), headers=heads["manager"]), 409, "decisions_missing")


def test_a_bad_letter_file_stops_the_app_from_starting(letter_env, tmp_path):
    from api import create_app

    bad = tmp_path / "letter.yaml"
    bad.write_text("name: Lender\n", encoding="utf-8")
    with pytest.raises(LetterFileError, match="missing field"):
        create_app(
            {
                "STORE_PATH": letter_env["store"],
                "MODELS_DIR": letter_env["models"],
                "SECRET_KEY": "t",
                "LETTER_PATH": bad,
            }
        )
