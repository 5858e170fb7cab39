"""The decision letter in the dashboard: the Decision card's link for declined and counter-offered clients, the
dashboard's /letter page (the API's HTML under a strict policy; a customer's own only), and in headless Chromium a
customer and a manager opening the letter in a new tab, axe-core clean."""

from __future__ import annotations

import pytest
import requests
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import app as dash_app
from dashboard.components import decision_card
from dashboard.i18n import t
from scoring import users
from scoring.store import open_store
from tests import browser, test_dashboard
from tests.api_fixtures import copy_store
from tests.servers import api_and_dashboard
from tests.test_dashboard import ARTIFACTS, PASSWORD, _api_token, _axe
from tests.test_dashboard_helpers import OUTCOMES, _by_id, _decision_answer, _walk_all

driver = test_dashboard.driver  # a fresh browser per test, failing on any console error

STRICT = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


@pytest.mark.parametrize("outcome", list(OUTCOMES))
@pytest.mark.parametrize("role", ["manager", "customer"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_decision_card_links_the_letter_of_a_declined_or_counter_offered_client(outcome, role, lang):
    answer = _decision_answer(outcome, lang, role)
    panel = decision_card.CARD.render({"decision": answer, "offer": None}, lang, role)
    links = [c for c in _walk_all(panel) if getattr(c, "id", None) == "decision-letter"]
    if outcome not in ("decline", "counter_offer"):
        assert links == []
        return
    link = _by_id(panel, "decision-letter")
    assert link.href == f"/letter/{answer['client_id']}?lang={lang}" and link.children == t("letter_link", lang)
    assert link.target == "_blank" and "noopener" in link.rel


@pytest.fixture(scope="module")
def stack(store_path, trained_models, tmp_path_factory):
    """The API and the dashboard on gunicorn; customers owning a declined (dora), a counter-offered (cleo) and an
    approved (ann) client."""
    work = tmp_path_factory.mktemp("dash-letter")
    store = copy_store(store_path, work / "store.sqlite")
    reader = open_store(store)
    ids = {}
    for item in reader.list_clients(limit=200)["items"]:
        ids.setdefault(reader.get_decision(item["client_id"])["outcome"], item["client_id"])
    users.add_user(store, "manager", PASSWORD, "manager")
    for name, outcome in (("dora", "decline"), ("cleo", "counter_offer"), ("ann", "approve")):
        users.add_user(store, name, PASSWORD, "customer", client_id=ids[outcome])
    ARTIFACTS.mkdir(exist_ok=True)
    with api_and_dashboard(store, trained_models, work) as servers:
        yield {"api": servers["api"], "dash": servers["dash"], **ids}


def _signed_in(stack, username: str | None):
    """A test client of a dashboard app on the stack's API whose session holds `username`'s API token."""
    client = dash_app.create_app({"DASHBOARD_API_URL": stack["api"], "DASHBOARD_SECRET_KEY": "x"}).server
    client = client.test_client()
    if username:
        token = _api_token(stack["api"], username)["Authorization"].split(" ", 1)[1]
        role, own = ("manager", None) if username == "manager" else ("customer", _own(stack, username))
        with client.session_transaction() as session:
            session.update(token=token, role=role, client_id=own, username=username, lang="en", expires_at=2e9)
    return client


def _own(stack, username: str) -> int:
    return stack[{"dora": "decline", "cleo": "counter_offer", "ann": "approve"}[username]]


def test_the_letter_page_serves_the_apis_letter_under_a_strict_policy(stack):
    dora = _signed_in(stack, "dora")
    response = dora.get(f"/letter/{stack['decline']}?lang=fr")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == STRICT
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    assert "Demande refusée" in page and f"Client numéro {stack['decline']}" in page and "<script" not in page
    api = requests.get(
        f"{stack['api']}/api/v1/clients/{stack['decline']}/letter",
        headers=_api_token(stack["api"], "dora"),
        params={"lang": "fr"},
        timeout=20,
    )
    assert page == api.text  # the API's letter as it came
    # the dashboard's own pages keep theirs
    assert "script-src" in dora.get("/").headers["Content-Security-Policy"]


def test_a_customer_gets_only_their_own_letter(stack):
    dora = _signed_in(stack, "dora")
    for other in (stack["counter_offer"], stack["approve"], "abc", "-1"):
        response = dora.get(f"/letter/{other}")
        assert response.status_code == 404 and t("not_found", "en") in response.get_data(as_text=True)
        assert "Client number" not in response.get_data(as_text=True)
    ann = _signed_in(stack, "ann")
    response = ann.get(f"/letter/{stack['approve']}")
    assert response.status_code == 409 and t("letter_none", "en") in response.get_data(as_text=True)
    manager = _signed_in(stack, "manager")
    assert "Counter-offer" in manager.get(f"/letter/{stack['counter_offer']}").get_data(as_text=True)
    assert manager.get("/letter/999999999").status_code == 404
    anonymous = _signed_in(stack, None).get(f"/letter/{stack['decline']}")
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/"


def _open_letter(driver) -> str:
    """Click the Decision card's letter link; the new tab's text, once the letter is there."""
    first = driver.current_window_handle
    browser.click_when_settled(driver, "id", "decision-letter")
    WebDriverWait(driver, 30).until(lambda d: len(d.window_handles) == 2)
    driver.switch_to.window(next(h for h in driver.window_handles if h != first))
    browser.wait_css(driver, "main", timeout=30)
    return driver.find_element("tag name", "body").text


@pytest.mark.browser
@pytest.mark.skipif(not browser.available(), reason="chromium and chromedriver are not installed")
def test_a_customer_opens_their_letter_in_a_new_tab(stack, driver):
    browser.sign_in(driver, stack["dash"], "dora", PASSWORD)
    browser.wait_css(driver, "#decision-outcome", timeout=60)
    text = _open_letter(driver)
    assert "Application declined" in text and f"Client number {stack['decline']}" in text
    assert "Your right to a human review" in text and "Synthetic demo data" in text
    assert driver.current_url.endswith(f"/letter/{stack['decline']}?lang=en")
    driver.save_screenshot(str(ARTIFACTS / "letter_customer.png"))
    assert _axe(driver, impacts=None) == [], "letter page"


@pytest.mark.browser
@pytest.mark.skipif(not browser.available(), reason="chromium and chromedriver are not installed")
def test_a_manager_opens_a_counter_offered_clients_letter_in_french(stack, driver):
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    browser.click_when_settled(driver, "id", "lang-switch")
    browser.wait_css(driver, "table.results a")
    driver.get(f"{stack['dash']}/client/{stack['counter_offer']}")
    browser.wait_css(driver, "#decision-outcome", timeout=60, text="Contre-proposition")
    text = _open_letter(driver)
    assert "Contre-proposition : un prêt plus petit" in text and "Notre offre" in text
    assert f"Client numéro {stack['counter_offer']}" in text
    assert _axe(driver, impacts=None) == [], "letter page (fr)"


@pytest.mark.browser
@pytest.mark.skipif(not browser.available(), reason="chromium and chromedriver are not installed")
def test_an_approved_customer_has_no_letter_link(stack, driver):
    browser.sign_in(driver, stack["dash"], "ann", PASSWORD)
    browser.wait_css(driver, "#decision-outcome", timeout=60)
    browser.wait_css(driver, "#gauge-summary")
    assert not driver.find_elements("id", "decision-letter")
