"""The Decision card and the campaign in headless Chromium, against a real API and dashboard on a store where a
campaign ran: a manager's card and campaign page (filters, CSV export), a customer's card and pre-approved offer."""

from __future__ import annotations

import time

import pytest
import requests

from scoring import users
from tests import browser, test_dashboard
from tests.api_fixtures import copy_store
from tests.servers import api_and_dashboard
from tests.test_dashboard import ARTIFACTS, PASSWORD, _api_token

driver = test_dashboard.driver  # a fresh browser per test, failing on any console error

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not browser.available(), reason="chromium and chromedriver are not installed"),
]


@pytest.fixture(scope="module")
def stack(store_path, synth_dir, trained_models, tmp_path_factory):
    from scoring.decision.campaign import run_campaign
    from scoring.store import open_store, save_offers
    from tests.decision_fixtures import example_policy

    work = tmp_path_factory.mktemp("dash-decision")
    store = copy_store(store_path, work / "store.sqlite")
    campaign = run_campaign(synth_dir, trained_models, example_policy(), all_clients=True)
    save_offers(store, campaign.offers, campaign.meta())
    offered = set(campaign.offers["client_id"].tolist())
    listed = [c["client_id"] for c in open_store(store).list_clients(limit=200)["items"]]
    with_offer = int(campaign.offers["client_id"].iloc[0])
    without = next(cid for cid in listed if cid not in offered)
    users.add_user(store, "manager", PASSWORD, "manager")
    users.add_user(store, "olga", PASSWORD, "customer", client_id=with_offer)
    users.add_user(store, "nina", PASSWORD, "customer", client_id=without)
    ARTIFACTS.mkdir(exist_ok=True)
    with api_and_dashboard(store, trained_models, work) as servers:
        yield {
            "api": servers["api"],
            "dash": servers["dash"],
            "with_offer": with_offer,
            "without": without,
            "work": work,
        }


def _api(stack, path: str, username: str = "manager", **params):
    response = requests.get(
        f"{stack['api']}{path}", headers=_api_token(stack["api"], username), params=params, timeout=20
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_manager_reads_the_decision_card_and_the_pre_approved_offer(stack, driver):
    cid = stack["with_offer"]
    decision = _api(stack, f"/api/v1/clients/{cid}/decision")["decision"]
    offer = _api(stack, f"/api/v1/clients/{cid}/offer")
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    driver.get(f"{stack['dash']}/client/{cid}")
    labels = {"approve": "Approved", "counter_offer": "Counter-offer", "refer": "Referred", "decline": "Declined"}
    browser.wait_css(driver, "#decision-outcome", timeout=60, text=labels[decision["outcome"]])
    rules = browser.wait_css(driver, "#decision-rules").text
    fired = [f["code"] for f in decision["stop_factors"] if f["result"] == "fired"]
    assert all(code in rules for code in fired) and (fired or "No rule fired" in rules)
    if decision["affordability"]["result"] != "not_evaluated":
        figures = driver.find_element("id", "decision-affordability").text
        assert "DSTI" in figures and "Largest affordable amount" in figures
    pre_approved = browser.wait_css(driver, "#pre-approved-offer").text
    assert f"€{offer['amount']:,.0f}" in pre_approved and f"{offer['term_months']} months" in pre_approved
    assert f"Rank {offer['rank']} of" in pre_approved
    driver.save_screenshot(str(ARTIFACTS / "decision_manager.png"))


def test_a_customer_sees_their_decision_and_offer_in_their_words(stack, driver):
    cid = stack["with_offer"]
    browser.sign_in(driver, stack["dash"], "olga", PASSWORD)
    offer = browser.wait_css(driver, "#pre-approved-offer", timeout=60, text="You are pre-approved").text
    amount = _api(stack, f"/api/v1/clients/{cid}/offer", username="olga")["amount"]
    assert f"€{amount:,.0f}" in offer and "Rank" not in offer
    browser.wait_css(driver, "#decision-outcome")
    assert not driver.find_elements("id", "decision-rules")  # thresholds are for reviewers only
    customer = _api(stack, f"/api/v1/clients/{cid}/decision", username="olga", lang="fr")["decision"]
    browser.click_when_settled(driver, "id", "lang-switch")
    browser.wait_css(driver, "#pre-approved-offer", timeout=60, text="Offre pré-accordée")
    card = driver.find_element("id", "decision-panel").text
    assert all(reason["message"] in card for reason in customer["reasons"])
    driver.save_screenshot(str(ARTIFACTS / "decision_customer_fr.png"))


def test_a_customer_without_an_offer_sees_the_decision_only(stack, driver):
    browser.sign_in(driver, stack["dash"], "nina", PASSWORD)
    browser.wait_css(driver, "#decision-outcome", timeout=60)
    browser.wait_css(driver, "#gauge-summary")
    assert not driver.find_elements("id", "pre-approved-offer")
    assert "could not be loaded" not in driver.find_element("id", "decision-panel").text


def test_a_manager_filters_the_campaign_and_exports_it(stack, driver, tmp_path):
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "#campaign-link")
    browser.click_when_settled(driver, "css selector", "#campaign-link")
    total = _api(stack, "/api/v1/campaign/offers", limit=1)["total"]
    browser.wait_css(driver, "#campaign-count", timeout=60, text=f"{total:,} offers")
    assert "Synthetic demo data" in driver.find_element("id", "campaign-notice").text
    grade = _api(stack, "/api/v1/campaign/offers", limit=1)["items"][0]["grade"]
    floor = 100000
    expected = _api(stack, "/api/v1/campaign/offers", grade=grade, min_amount=floor, limit=200)
    browser.click_when_settled(driver, "xpath", f"//*[@id='campaign-grade']//label[normalize-space()='{grade}']")
    browser.type_into(driver, "#campaign-min", str(floor))
    browser.wait_css(driver, "#campaign-count", timeout=60, text=f"{expected['total']:,} offers")
    shown = [a.text for a in driver.find_elements("css selector", "#campaign-table a")]
    assert shown == [str(o["client_id"]) for o in expected["items"][:20]]
    driver.save_screenshot(str(ARTIFACTS / "campaign.png"))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.click_when_settled(driver, "id", "campaign-download-button")
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob("*.csv")) and time.monotonic() < deadline:
        time.sleep(0.2)
    (csv_file,) = tmp_path.glob("*.csv")
    lines = csv_file.read_text().splitlines()
    assert csv_file.name == f"offers-{grade}.csv" and lines[0].startswith("rank,client_id,pd,grade,amount")
    assert len(lines) == 1 + expected["total"]
