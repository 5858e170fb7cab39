"""The human review in the dashboard: the card and the managers' page rendered from API answers, then the whole
story in headless Chromium against a real API and dashboard: a customer asks for a review in English, a manager
finds it in the queue and records "changed" in French, the customer reads the answer; axe-core clean on each page."""

from __future__ import annotations

import pytest
import requests
from dash import dcc, html
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.components import review_queue, reviews
from scoring import users
from tests import browser, test_dashboard
from tests.api_fixtures import copy_store
from tests.servers import api_and_dashboard
from tests.test_dashboard import ARTIFACTS, PASSWORD, _api_token, _axe
from tests.test_dashboard_helpers import _text, _walk

driver = test_dashboard.driver  # a fresh browser per test, failing on any console error

CID = 100042
OPEN = {
    "id": 7,
    "client_id": CID,
    "status": "open",
    "requested_at": "2026-11-21T09:30:00.000+00:00",
    "requested_by": "rita",
    "comment": "My income rose in October.",
    "decision_outcome": "decline",
    "reviewed_at": None,
    "result": None,
    "new_outcome": None,
    "reason": None,
    "reviewer": None,
}
CHANGED = {
    **OPEN,
    "id": 5,
    "status": "closed",
    "reviewed_at": "2026-11-25T14:00:00.000+00:00",
    "result": "changed",
    "new_outcome": "approve",
    "reason": "The new payslip shows the higher income.",
    "reviewer": "manager",
}
CUSTOMER_CHANGED = {k: v for k, v in CHANGED.items() if k not in ("reviewer", "requested_by")}


def _roots(node) -> list:
    return list(node) if isinstance(node, list | tuple) else [node]


def _all(node, kind) -> list:
    return [c for root in _roots(node) for c in _walk(root) if isinstance(c, kind)]


def _by_id(node, element_id):
    found = [c for root in _roots(node) for c in _walk(root) if getattr(c, "id", None) == element_id]
    assert len(found) == 1, f"{element_id}: {len(found)} elements"
    return found[0]


def _card(items, role, lang="en"):
    return reviews.CARD.render({"reviews": {"client_id": CID, "items": items}}, lang, role)


# ---------------------------------------------------------------- the card and the page, without a browser


def test_a_customer_without_a_request_gets_the_right_explained_and_a_labelled_form():
    card = _card([], "customer")
    assert "ask a person to review the decision" in _text(card)
    (area,) = _all(card, dcc.Textarea)
    labels = [label for label in _all(card, html.Label) if label.htmlFor == area.id]
    assert area.id == "review-comment" and area.maxLength == 2000 and len(labels) == 1
    assert _by_id(card, "review-send").children == "Ask for a human review"


def test_a_customer_with_an_open_request_sees_it_and_no_second_form():
    card = _card([{k: v for k, v in OPEN.items() if k not in ("reviewer", "requested_by")}], "customer", "fr")
    assert "Votre demande du 2026-11-21 est en cours de réexamen" in _text(_by_id(card, "review-status"))
    assert _text(_by_id(card, "review-open-comment")) == "My income rose in October."
    assert not _all(card, dcc.Textarea) and not _all(card, html.Button)


def test_a_customer_reads_the_answer_and_its_reason():
    card = _card([CUSTOMER_CHANGED], "customer")
    assert _text(_by_id(card, "review-answer")) == "Reviewed on 2026-11-25: the decision is changed to: Approved."
    history = _text(_by_id(card, "review-history"))
    assert "The new payslip shows the higher income." in history and "My income rose in October." in history
    assert _by_id(card, "review-send")  # answered: another request may be made
    assert "Reviewed by" not in _text(card)


def test_a_manager_gets_the_open_request_with_the_outcome_form_and_the_past_reviews():
    card = _card([OPEN, CHANGED], "manager", "fr")
    status = _text(_by_id(card, "review-status"))
    assert "déposée par rita" in status and "Refusé" in status and "2026-11-21" in status
    assert _by_id(card, "review-open-id").data == 7
    result = _by_id(card, "review-result")
    assert [o["value"] for o in result.options] == ["upheld", "changed"] and result.value == "upheld"
    # the outcome reviewed is not a change
    assert [o["value"] for o in _by_id(card, "review-new-outcome").options] == ["approve", "counter_offer", "refer"]
    assert _by_id(card, "review-record").children == "Enregistrer le résultat"
    assert "Réexaminée par manager" in _text(_by_id(card, "review-history"))
    assert [legend.children for legend in _all(card, html.Legend)] == [
        "Résultat du réexamen",
        "Nouvelle décision, si modifiée",
    ]


def test_a_manager_on_a_file_without_an_open_request_is_told_so():
    card = _card([CHANGED], "manager")
    assert _text(_by_id(card, "review-status")) == "No open review request."
    assert not _all(card, html.Button)


def test_the_queue_links_each_request_and_the_page_says_the_override_rate():
    page = {"total": 41, "items": [OPEN], "limit": 20, "offset": 20}
    count, table = review_queue.table(page, 20, "en")
    assert count.children == "Open requests: 41; 21–21 shown"
    (link,) = _all(table, dcc.Link)
    assert link.href == f"/client/{CID}" and link.children == str(CID)
    assert [_text(td) for td in _all(table, html.Td)[1:]] == ["2026-11-21", "Declined", "My income rose in October."]
    assert _text(review_queue.table({"total": 0, "items": []}, 0, "fr")) == "Aucune demande ouverte."
    stats = {
        "open": 3,
        "closed": 4,
        "upheld": 3,
        "changed": 1,
        "override_rate": 0.25,
        "months": [{"month": "2026-11", "closed": 4, "upheld": 3, "changed": 1, "override_rate": 0.25}],
    }
    line, months = review_queue.summary(stats, "fr")
    assert _text(line) == (
        "Ouvertes : 3. Traitées : 4 (maintenues : 3, modifiées : 1). Taux de modification : 25,0\u202f%."
    )
    assert [_text(td) for td in _all(months, html.Td)] == ["2026-11", "4", "3", "1", "25,0\u202f%"]
    empty = review_queue.summary({**stats, "closed": 0, "override_rate": None, "months": []}, "en")
    assert "Override rate: —." in _text(empty) and len(empty) == 1


# ---------------------------------------------------------------- the story in a browser


@pytest.fixture(scope="module")
def stack(store_path, trained_models, tmp_path_factory):
    from scoring.store import open_store

    work = tmp_path_factory.mktemp("dash-reviews")
    store = copy_store(store_path, work / "store.sqlite")
    cid = open_store(store).list_clients(limit=3)["items"][2]["client_id"]
    users.add_user(store, "manager", PASSWORD, "manager")
    users.add_user(store, "rita", PASSWORD, "customer", client_id=cid)
    ARTIFACTS.mkdir(exist_ok=True)
    with api_and_dashboard(store, trained_models, work) as servers:
        yield {"api": servers["api"], "dash": servers["dash"], "cid": cid}


def _reviews_api(stack, username="manager"):
    response = requests.get(
        f"{stack['api']}/api/v1/clients/{stack['cid']}/reviews", headers=_api_token(stack["api"], username), timeout=20
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _clean(driver, page: str):
    assert _axe(driver) == [], page
    driver.save_screenshot(str(ARTIFACTS / f"reviews_{page}.png"))


def _sign_out(driver, stack):
    driver.get(stack["dash"] + "/logout")
    browser.wait_css(driver, "#username")


def _click_label(driver, group: str, text: str):
    browser.click_when_settled(driver, By.XPATH, f"//*[@id='{group}']//label[normalize-space()='{text}']")


@pytest.mark.browser
@pytest.mark.skipif(not browser.available(), reason="chromium and chromedriver are not installed")
def test_a_customer_asks_a_manager_changes_the_decision_in_french_and_the_customer_reads_why(stack, driver):
    driver.set_script_timeout(60)
    cid, comment = stack["cid"], "My income rose in October: I can send the new payslip."
    reviewed = requests.get(
        f"{stack['api']}/api/v1/clients/{cid}/decision", headers=_api_token(stack["api"], "manager"), timeout=20
    ).json()["decision"]["outcome"]
    new_outcome = "approve" if reviewed != "approve" else "decline"

    # the customer, in English: the right explained, the form, then the request pending
    browser.sign_in(driver, stack["dash"], "rita", PASSWORD)
    browser.wait_css(driver, "#review-comment", timeout=60)
    browser.wait_css(driver, "#gauge-summary")
    assert "ask a person to review the decision" in driver.find_element(By.ID, "reviews-panel").text
    _clean(driver, "customer_form")
    driver.find_element(By.ID, "review-comment").send_keys(comment)
    browser.click_when_settled(driver, By.ID, "review-send")
    browser.wait_css(driver, "#review-status", timeout=60, text="is being reviewed by a person")
    assert browser.wait_css(driver, "#review-open-comment").text == comment
    assert not driver.find_elements(By.ID, "review-send")
    (filed,) = _reviews_api(stack)
    assert filed["status"] == "open" and filed["comment"] == comment and filed["requested_by"] == "rita"
    _clean(driver, "customer_pending")
    _sign_out(driver, stack)

    # the manager, in French: the queue with its figures, the file, the outcome
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "#lang-switch")
    browser.click_when_settled(driver, "css selector", "#lang-switch")
    browser.wait_css(driver, "#reviews-link", text="Réexamens")
    browser.click_when_settled(driver, By.ID, "reviews-link")
    browser.wait_css(driver, "#queue-count", timeout=60, text="Demandes ouvertes : 1 ;")
    row = driver.find_element(By.CSS_SELECTOR, "#queue-table tbody tr").text
    assert str(cid) in row and comment in row
    assert "Taux de modification : —" in driver.find_element(By.ID, "queue-override").text
    _clean(driver, "queue_fr")
    browser.click_when_settled(driver, By.CSS_SELECTOR, f"#queue-table a[href='/client/{cid}']")
    browser.wait_css(driver, "#review-open-comment", timeout=60, text=comment)
    browser.wait_css(driver, "#gauge-summary")
    _clean(driver, "manager_open_fr")
    _click_label(driver, "review-result", "Modifiée")
    labels = {"approve": "Accordé", "decline": "Refusé"}
    _click_label(driver, "review-new-outcome", labels[new_outcome])
    reason = "Le nouveau bulletin de salaire montre un revenu plus élevé."
    driver.find_element(By.ID, "review-reason").send_keys(reason)
    browser.click_when_settled(driver, By.ID, "review-record")
    browser.wait_css(driver, "#review-history", timeout=60, text="la décision devient")
    assert "Aucune demande de réexamen ouverte." in driver.find_element(By.ID, "review-status").text
    (closed,) = _reviews_api(stack)
    assert (closed["status"], closed["result"], closed["new_outcome"]) == ("closed", "changed", new_outcome)
    assert closed["reason"] == reason and closed["reviewer"] == "manager"
    browser.click_when_settled(driver, By.ID, "reviews-link")
    browser.wait_css(driver, "#queue-count", timeout=60, text="Aucune demande ouverte")
    assert "Taux de modification : 100,0" in browser.wait_css(driver, "#queue-override").text
    _sign_out(driver, stack)

    # the customer reads the answer, in French (the language chosen stays) and then in English
    browser.sign_in(driver, stack["dash"], "rita", PASSWORD)
    answer = browser.wait_css(driver, "#review-answer", timeout=60, text="la décision devient").text
    assert labels[new_outcome] in answer
    card = driver.find_element(By.ID, "reviews-panel").text
    assert reason in card and "manager" not in card  # never who reviewed
    _clean(driver, "customer_answer_fr")
    browser.click_when_settled(driver, By.ID, "lang-switch")
    english = {"approve": "Approved", "decline": "Declined"}[new_outcome]
    browser.wait_css(driver, "#review-answer", timeout=60, text=f"the decision is changed to: {english}")
    WebDriverWait(driver, 30).until(lambda d: reason in d.find_element(By.ID, "review-history").text)
    assert driver.find_element(By.ID, "review-send")  # answered: another request may be made
