"""Explanations people can read, in headless Chromium against a real API and dashboard: a customer's PD-point
waterfall and "you" sentences in English and French, a manager's unit switch and "the client" sentences, and the
small page fixes (the gauge's end labels inside the figure, sign-in fields not red before typing, no stray box in a
dropdown, a customer's URL naming another client sent back to their own). axe-core clean on every page."""

from __future__ import annotations

import math

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

from scoring import users
from tests import browser, test_dashboard
from tests.api_fixtures import copy_store
from tests.servers import api_and_dashboard
from tests.test_dashboard import ARTIFACTS, PASSWORD, _api_token, _axe, _shot

driver = test_dashboard.driver  # a fresh browser per test, failing on any console error

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not browser.available(), reason="chromium and chromedriver are not installed"),
]


@pytest.fixture(scope="module")
def stack(store_path, trained_models, tmp_path_factory):
    from scoring.store import open_store

    work = tmp_path_factory.mktemp("dash-explanations")
    store = copy_store(store_path, work / "store.sqlite")
    ids = [c["client_id"] for c in open_store(store).list_clients(limit=5)["items"]]
    users.add_user(store, "manager", PASSWORD, "manager")
    users.add_user(store, "carla", PASSWORD, "customer", client_id=ids[1])
    ARTIFACTS.mkdir(exist_ok=True)
    with api_and_dashboard(store, trained_models, work) as servers:
        yield {"api": servers["api"], "dash": servers["dash"], "own": ids[1], "other": ids[2], "work": work}


def _api(stack, path: str, username: str = "manager", **params):
    response = requests.get(
        f"{stack['api']}{path}", headers=_api_token(stack["api"], username), params=params, timeout=20
    )
    assert response.status_code == 200, response.text
    return response.json()


def _waterfall_x(driver) -> list[float]:
    """The drawn bars' values, read afresh (the chart is redrawn when the units change)."""
    return WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.execute_script(
            "const p = document.querySelector('#waterfall .js-plotly-plot'); return p && p.data && p.data[0].x"
        )
    )


def _words(sentences) -> list[str]:
    """The sentences as the browser's text reads them (WebDriver turns no-break spaces into spaces)."""
    return [s.replace("\u00a0", " ") for s in sentences]


def _reasons(driver) -> list[str]:
    return WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: [li.text.lstrip("▲▼ ") for li in d.find_elements("css selector", "#reasons-list li")] or None
    )


def _check_pd_bars(driver, exp: dict) -> None:
    bars = _waterfall_x(driver)
    assert bars[0] == pytest.approx(100 * exp["base_pd"]) and bars[-1] == pytest.approx(100 * exp["final_pd"])
    assert math.fsum(bars[:-1]) == pytest.approx(bars[-1], abs=1e-9)  # the steps add up to the client's PD
    assert bars[1:-1][: len(exp["contributions"])] == pytest.approx(
        [100 * c["pd_points"] for c in exp["contributions"]]
    )


def test_a_customer_reads_pd_points_and_you_sentences_in_english_then_french(stack, driver):
    driver.set_script_timeout(60)
    browser.sign_in(driver, stack["dash"], "carla", PASSWORD)
    path = f"/api/v1/clients/{stack['own']}/explanation"
    exp = _api(stack, path, "carla", top=8, lang="en")
    assert exp["units"] == "pd"  # a customer's default
    label = browser.wait_css(driver, "#waterfall-label", timeout=60, text="to your").text
    assert label == (
        "In percentage points of probability of default, from the average client's "
        f"{100 * exp['base_pd']:.1f}\u202f% to your {100 * exp['final_pd']:.1f}\u202f%."
    )
    assert "SHAP's base value" in driver.find_element("id", "waterfall-panel").text
    assert not driver.find_elements("id", "waterfall-units")  # no switch: a customer reads PD points
    _check_pd_bars(driver, exp)
    reasons = _reasons(driver)
    assert reasons == _words(r["sentence"] for r in exp["reasons"])
    assert all("your" in r.lower() and "the client" not in r for r in reasons)
    assert _axe(driver) == [], "customer's client page"
    _shot(driver, "waterfall_pd_customer")

    browser.click_when_settled(driver, "id", "lang-switch")
    browser.wait_css(driver, "#waterfall-label", timeout=60, text="pour vous")
    exp_fr = _api(stack, path, "carla", top=8, lang="fr")
    assert WebDriverWait(driver, 30).until(lambda d: _reasons(d) == _words(r["sentence"] for r in exp_fr["reasons"]))
    assert all("votre" in r and "du client" not in r for r in _reasons(driver))
    _check_pd_bars(driver, exp_fr)
    assert _axe(driver) == [], "customer's client page in French"
    _shot(driver, "waterfall_pd_customer_fr")


def test_a_manager_switches_units_and_reads_the_client_sentences(stack, driver):
    driver.set_script_timeout(60)
    cid = stack["other"]
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    driver.get(f"{stack['dash']}/client/{cid}")
    exp = _api(stack, f"/api/v1/clients/{cid}/explanation", top=8, lang="en", units="pd")
    browser.wait_css(driver, "#waterfall-units", timeout=60)
    bars = _waterfall_x(driver)  # log-odds first, the exact SHAP
    assert bars[0] == pytest.approx(exp["base_value"]) and bars[-1] == pytest.approx(exp["raw_score"])
    reasons = _reasons(driver)
    assert reasons == _words(r["sentence"] for r in exp["reasons"])
    assert all("the client's" in r and "your" not in r.lower() for r in reasons)
    browser.click_when_settled(driver, "css selector", "#waterfall-units label:nth-of-type(2) input")
    browser.wait_css(driver, "#waterfall-label", text="to the client's")
    _check_pd_bars(driver, exp)
    assert _axe(driver) == [], "manager's client page in PD points"
    _shot(driver, "waterfall_pd_manager")
    browser.click_when_settled(driver, "css selector", "#waterfall-units label:nth-of-type(1) input")
    WebDriverWait(driver, 30).until(lambda d: not d.find_elements("id", "waterfall-label"))
    assert _waterfall_x(driver)[0] == pytest.approx(exp["base_value"])

    browser.click_when_settled(driver, "id", "lang-switch")
    browser.wait_css(driver, "#waterfall-panel legend", timeout=60, text="Unités")
    exp_fr = _api(stack, f"/api/v1/clients/{cid}/explanation", top=8, lang="fr")
    assert WebDriverWait(driver, 30).until(lambda d: _reasons(d) == _words(r["sentence"] for r in exp_fr["reasons"]))
    assert all("du client" in r and "votre" not in r for r in _reasons(driver))
    browser.click_when_settled(driver, "css selector", "#waterfall-units label:nth-of-type(2) input")
    browser.wait_css(driver, "#waterfall-label", text="pour le client")
    assert _axe(driver) == [], "manager's client page in French"


def test_the_gauge_labels_fit_and_dropdowns_show_no_stray_box(stack, driver):
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    for width in (1280, 900, 700):
        driver.set_window_size(width, 900)
        driver.get(f"{stack['dash']}/client/{stack['other']}")
        browser.wait_css(driver, "#gauge .main-svg", timeout=60)
        browser.wait_css(driver, "#dist-feature")
        overflow = WebDriverWait(driver, 30).until(
            lambda d: d.execute_script(
                "const svg = document.querySelector('#gauge .main-svg');"
                "const texts = [...document.querySelectorAll('#gauge text')].filter(t => t.textContent.trim());"
                "if (texts.length < 3) return null;"  # not drawn yet
                "const box = svg.getBoundingClientRect();"
                "return texts.map(t => { const r = t.getBoundingClientRect();"
                "  return [t.textContent, r.left - box.left, box.right - r.right, r.top - box.top]; });"
            )
        )
        cut = [(text, left, right, top) for text, left, right, top in overflow if min(left, right, top) < 0]
        assert not cut, f"gauge labels outside the figure at {width} px: {cut}"
        boxes = driver.execute_script(
            "return [...document.querySelectorAll('.dash-dropdown input')].map(i => { const s = getComputedStyle(i);"
            " return [s.borderTopWidth, s.borderLeftWidth, s.paddingLeft, i.getBoundingClientRect().height]; });"
        )
        assert boxes and all(b[:3] == ["0px", "0px", "0px"] for b in boxes), boxes
    _shot(driver, "client_manager_narrow")
    assert _axe(driver) == [], "client page at 700 px"


def test_sign_in_fields_are_not_red_before_anyone_types(stack, driver):
    driver.get(stack["dash"] + "/")
    browser.wait_css(driver, "#username")
    styles = driver.execute_script(
        "return ['username', 'password'].map(id => { const s = getComputedStyle(document.getElementById(id));"
        " return [s.outlineStyle, s.outlineColor, s.borderTopColor]; });"
    )
    for outline, colour, border in styles:
        assert outline == "none" and "255, 0, 0" not in colour + border, styles
    assert driver.execute_script("return document.getElementById('username').matches(':invalid')")  # still required
    assert _axe(driver) == [], "sign-in page"
    _shot(driver, "login_untouched")
    browser.click_when_settled(driver, "id", "sign-in")  # sent empty: now the browser and the page say what is missing
    marked = WebDriverWait(driver, 10).until(
        lambda d: d.execute_script(
            "const u = document.getElementById('username');"
            "return u.matches(':user-invalid') && getComputedStyle(u).outlineStyle !== 'none';"
        )
    )
    assert marked


def test_a_customer_editing_the_url_is_sent_to_their_own_file(stack, driver):
    browser.sign_in(driver, stack["dash"], "carla", PASSWORD)
    browser.wait_css(driver, "#client-title", timeout=60)
    driver.get(f"{stack['dash']}/client/{stack['other']}")
    WebDriverWait(driver, 30).until(lambda d: d.current_url.endswith(f"/client/{stack['own']}"))
    browser.wait_css(driver, "#client-title", text=str(stack["own"]))
    assert str(stack["other"]) not in driver.page_source
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    for path in (f"/client/{stack['other']}", "/client/abc", f"/client/{stack['own']}/x"):
        answer = requests.get(stack["dash"] + path, cookies=cookies, allow_redirects=False, timeout=10)
        assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/client/{stack['own']}")
    own = requests.get(f"{stack['dash']}/client/{stack['own']}", cookies=cookies, allow_redirects=False, timeout=10)
    assert own.status_code == 200
    # a manager may open any client's URL
    driver.get(f"{stack['dash']}/logout")
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    driver.get(f"{stack['dash']}/client/{stack['other']}")
    browser.wait_css(driver, "#client-title", timeout=60, text=str(stack["other"]))
    assert driver.current_url.endswith(f"/client/{stack['other']}")
    assert _axe(driver) == [], "manager's client page"


def _declined_with_an_approving_option(stack) -> tuple[int, dict, int]:
    """A declined client, its counterfactual answer, and the position of an option that gets it approved."""
    listing = _api(stack, "/api/v1/clients", decision="decline", limit=60)["items"]
    for item in listing:
        answer = _api(stack, f"/api/v1/clients/{item['client_id']}/counterfactuals", lang="en")
        if answer["current"]["outcome"] != "decline" or answer["status"] != "options":
            continue
        for position, option in enumerate(answer["options"]):
            if option["outcome"] == "approve" and option["what_if"]:
                return item["client_id"], answer, position
    pytest.fail("no declined client has an option that approves")


def test_a_manager_loads_an_option_into_the_what_if_and_sees_it_approve(stack, driver):
    driver.set_script_timeout(60)
    cid, answer, position = _declined_with_an_approving_option(stack)
    option = answer["options"][position]
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    driver.get(f"{stack['dash']}/client/{cid}")
    browser.wait_css(driver, "#cf-options", timeout=60)
    panel = driver.find_element("id", "counterfactual-panel")
    assert "What would change the decision" in driver.find_element("id", "main").text
    assert driver.find_element("id", "cf-message").text == answer["message"]
    items = driver.find_elements("css selector", "#cf-options > li")
    assert len(items) == len(answer["options"])
    for item, shown in zip(items, answer["options"], strict=True):
        assert shown["summary"].replace("\u00a0", " ") in item.text and f"{100 * shown['pd']:.1f}" in item.text
    assert len(panel.find_elements("tag name", "button")) == sum(1 for o in answer["options"] if o["what_if"])
    browser.wait_css(driver, "#wi-AMT_CREDIT")
    browser.click_when_settled(driver, "css selector", f"#cf-options > li:nth-of-type({position + 1}) button")
    outcome = browser.wait_css(driver, "#wi-simulated-outcome", timeout=60, text="Approved").text
    assert outcome.endswith("Approved")
    assert driver.find_element("id", "wi-simulated-pd").text == f"{100 * option['pd']:.1f}\u202f%"
    assert option["summary"].replace("\u00a0", " ") in driver.find_element("id", "wi-loaded-option").text
    if "AMT_CREDIT" in option["what_if"]:  # the form shows what the option changed
        shown = float(driver.find_element("id", "wi-AMT_CREDIT").get_attribute("value"))
        assert shown == pytest.approx(option["what_if"]["AMT_CREDIT"])
    assert _axe(driver) == [], "counterfactual card and loaded what-if"
    driver.execute_script("document.getElementById('counterfactual-panel').scrollIntoView()")
    _shot(driver, "counterfactual_manager")
    # the stored score did not move
    assert _api(stack, f"/api/v1/clients/{cid}/score")["pd"] == pytest.approx(answer["current"]["pd"])


def test_a_customer_reads_what_would_change_the_decision_without_a_button(stack, driver):
    path = f"/api/v1/clients/{stack['own']}/counterfactuals"
    browser.sign_in(driver, stack["dash"], "carla", PASSWORD)
    for lang in ("en", "fr"):
        if lang == "fr":
            browser.click_when_settled(driver, "id", "lang-switch")
            browser.wait_css(driver, "#main", timeout=60, text="Ce qui changerait la décision")
        answer = _api(stack, path, "carla", lang=lang)
        message = answer["message"].replace("\u00a0", " ")
        browser.wait_css(driver, "#cf-message", timeout=60, text=message)
        panel = driver.find_element("id", "counterfactual-panel")
        assert not panel.find_elements("tag name", "button")
        assert len(panel.find_elements("css selector", "#cf-options > li")) == len(answer["options"])
        assert _axe(driver) == [], f"customer's counterfactual card ({lang})"
    driver.execute_script("document.getElementById('counterfactual-panel').scrollIntoView()")
    _shot(driver, "counterfactual_customer_fr")
