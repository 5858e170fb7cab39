"""The dashboard in real headless Chromium against a real gunicorn API and dashboard on loopback."""

from __future__ import annotations

import ast
import json
import shutil
import signal
import time
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.keys import Keys

from scoring import users
from tests import browser
from tests.servers import api_and_dashboard, gunicorn

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
AXE = (Path(__file__).with_name("vendor") / "axe.min.js").read_text()
PASSWORD = "dashboard password"


def test_dashboard_imports_only_its_own_package_and_libraries():
    for path in (ROOT / "dashboard").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in ("scoring", "api"), f"{path.name} imports {name}"
    http = [p.name for p in (ROOT / "dashboard").rglob("*.py") if "import requests" in p.read_text()]
    assert http == ["api_client.py"]


pytestmark_browser = pytest.mark.skipif(not browser.available(), reason="chromium and chromedriver are not installed")


@pytest.fixture(scope="module")
def stack(store_path, trained_models, tmp_path_factory):
    from scoring.store import open_store

    work = tmp_path_factory.mktemp("dash")
    store = work / "store.sqlite"
    shutil.copy(store_path, store)
    ids = [c["client_id"] for c in open_store(store).list_clients(limit=5)["items"]]
    users.add_user(store, "manager", PASSWORD, "manager")
    users.add_user(store, "carla", PASSWORD, "customer", client_id=ids[1])
    ARTIFACTS.mkdir(exist_ok=True)
    with api_and_dashboard(store, trained_models, work) as servers:
        yield {**servers, "own": ids[1], "other": ids[2], "store": store, "work": work}


@pytest.fixture()
def driver():
    """A fresh browser; the test fails on any console error it did not read itself (browser.console_errors)."""
    drv = browser.start()
    yield drv
    try:
        errors = browser.console_errors(drv)
    finally:
        drv.quit()
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)


def _api_token(api, username):
    return {
        "Authorization": "Bearer "
        + requests.post(
            f"{api}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10
        ).json()["access_token"]
    }


def _axe(driver, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations on the page of these impacts (None: every impact)."""
    driver.execute_script(AXE)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations)))"
        ".catch(e => done(JSON.stringify([{id: 'axe-error', impact: 'critical', help: String(e)}])));"
    )
    return [v for v in json.loads(result) if impacts is None or v.get("impact") in impacts]


def _shot(driver, name):
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _client_view_loaded(driver):
    for css in (
        "#gauge-summary",
        "#reasons-list",
        "#waterfall",
        "#dist-summary",
        "#biv-summary",
        "#file-panel details",
    ):
        browser.wait_css(driver, css)


@pytestmark_browser
@pytest.mark.browser
def test_manager_search_and_client_view_show_the_api_values(stack, driver):
    driver.set_script_timeout(60)
    driver.get(stack["dash"] + "/")
    assert _axe(driver) == [], "login page"
    _shot(driver, "login")
    browser.sign_in(driver, stack["dash"], "manager", "not the password")
    browser.wait_css(driver, ".notice", text="Wrong username or password")
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    assert _axe(driver) == [], "search page"
    _shot(driver, "search")
    browser.type_into(driver, "#search-input", str(stack["other"]))
    browser.wait_css(driver, "#search-results", text="1 clients, 1–1 shown")  # the whole id typed, not a prefix
    browser.click_when_settled(driver, "link text", str(stack["other"]))
    _client_view_loaded(driver)
    head = _api_token(stack["api"], "manager")
    score = requests.get(f"{stack['api']}/api/v1/clients/{stack['other']}/score", headers=head, timeout=10).json()
    exp = requests.get(
        f"{stack['api']}/api/v1/clients/{stack['other']}/explanation?top=8", headers=head, timeout=10
    ).json()
    summary = driver.find_element("id", "gauge-summary").text
    assert f"{100 * score['pd']:.1f}" in summary and score["grade"] in summary
    assert driver.find_element("id", "grade-value").text == score["grade"]
    reasons = [li.text for li in driver.find_elements("css selector", "#reasons-list li")]
    assert [r.lstrip("▲▼ ") for r in reasons] == [r["sentence"] for r in exp["reasons"]]
    bars = driver.execute_script(
        "return document.getElementById('waterfall').querySelector('.js-plotly-plot').data[0].x"
    )
    assert bars[-1] == pytest.approx(exp["raw_score"]) and bars[0] == pytest.approx(exp["base_value"])
    assert "Synthetic demo data" in driver.page_source
    assert _axe(driver) == [], "client page"
    _shot(driver, "client_manager")


@pytestmark_browser
@pytest.mark.browser
def test_pickers_offer_every_model_feature_and_redraw_the_chart(stack, driver):
    """The pickers start with their default only (fast first view), then list every model feature; a pick redraws."""
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    driver.get(f"{stack['dash']}/client/{stack['other']}")
    _client_view_loaded(driver)
    items = requests.get(
        f"{stack['api']}/api/v1/features", headers=_api_token(stack["api"], "manager"), timeout=10
    ).json()["items"]
    in_model = [i for i in items if i["in_model"]]
    # the menu is virtualised: its scroll height says how many options it holds (35 px each)
    options = (
        "const grid = document.querySelector('#{} .ReactVirtualized__Grid__innerScrollContainer');"
        "return grid ? Math.round(grid.offsetHeight / 35) : 0;"
    )
    for picker in ("dist-feature", "biv-x", "biv-y"):
        deadline = time.monotonic() + 20
        while True:
            browser.click_when_settled(driver, "css selector", f"#{picker} .Select-control")
            shown = driver.execute_script(options.format(picker))
            driver.switch_to.active_element.send_keys(Keys.ESCAPE)
            if shown >= 0.8 * len(in_model) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert shown >= 0.8 * len(in_model), f"{picker} lists {shown} of {len(in_model)} features"
    before = driver.find_element("id", "dist-summary").text
    target = next(i for i in in_model if i["type"] == "numeric" and i["label"] not in before)
    browser.click_when_settled(driver, "css selector", "#dist-feature .Select-control")
    driver.switch_to.active_element.send_keys(target["label"])
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    browser.wait_css(driver, "#dist-summary", text=target["label"])


@pytestmark_browser
@pytest.mark.browser
def test_what_if_changes_the_shown_pd_not_the_stored_one(stack, driver):
    head = _api_token(stack["api"], "manager")
    # a client whose PD visibly moves when the loan triples and the annuity quadruples (trees can be flat)
    listing = requests.get(f"{stack['api']}/api/v1/clients?limit=20", headers=head, timeout=10).json()["items"]
    for item in listing:
        file = requests.get(f"{stack['api']}/api/v1/clients/{item['client_id']}", headers=head, timeout=10).json()
        fields = {f["name"]: f["value"] for g in file["groups"] for f in g["fields"]}
        if not fields.get("AMT_ANNUITY"):
            continue
        sim = requests.post(
            f"{stack['api']}/api/v1/clients/{item['client_id']}/what-if",
            headers=head,
            timeout=10,
            json={"changes": {"AMT_CREDIT": fields["AMT_CREDIT"] * 3, "AMT_ANNUITY": fields["AMT_ANNUITY"] * 4}},
        ).json()
        if abs(sim["simulated"]["pd"] - sim["current"]["pd"]) > 0.002:
            cid = item["client_id"]
            break
    else:
        pytest.fail("no client's PD moves with a much larger loan")
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    driver.get(f"{stack['dash']}/client/{cid}")
    _client_view_loaded(driver)
    url = f"{stack['api']}/api/v1/clients/{cid}/score"
    before = requests.get(url, headers=head, timeout=10).json()
    browser.wait_value(driver, "#wi-AMT_CREDIT")  # prefilled from the API
    browser.type_into(driver, "#wi-AMT_CREDIT", str(fields["AMT_CREDIT"] * 3))
    browser.type_into(driver, "#wi-AMT_ANNUITY", str(fields["AMT_ANNUITY"] * 4))
    browser.click_when_settled(driver, "id", "wi-run")
    simulated = browser.wait_css(driver, "#wi-simulated-pd").text
    current = driver.find_element("id", "wi-current-pd").text
    assert simulated != current and "nothing is stored" in driver.page_source
    _shot(driver, "what_if")
    assert requests.get(url, headers=head, timeout=10).json() == before


@pytestmark_browser
@pytest.mark.browser
def test_customer_sees_only_their_own_file(stack, driver):
    browser.sign_in(driver, stack["dash"], "carla", PASSWORD)
    _client_view_loaded(driver)
    assert str(stack["own"]) in driver.find_element("id", "client-title").text
    assert not driver.find_elements("id", "wi-run") and not driver.find_elements("id", "search-input")
    assert (
        "Clients" in driver.find_element("id", "biv-summary").text
        or "groups" in driver.find_element("id", "biv-summary").text
    )
    _shot(driver, "client_customer")
    driver.get(f"{stack['dash']}/client/{stack['other']}")  # URL manipulation
    _client_view_loaded(driver)
    assert str(stack["own"]) in driver.find_element("id", "client-title").text
    assert str(stack["other"]) not in driver.page_source
    # a crafted callback asking for another client's file, with the customer's own session cookie
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    body = {
        "output": "..score-panel.children...reasons-panel.children...waterfall-panel.children..."
        "importance-panel.children...file-panel.children...client-notice.children..."
        "api-banner.children@" + "0" * 32 + "..",
        "outputs": [
            {"id": i, "property": "children"}
            for i in (
                "score-panel",
                "reasons-panel",
                "waterfall-panel",
                "importance-panel",
                "file-panel",
                "client-notice",
            )
        ]
        + [{"id": "api-banner", "property": "children@" + "0" * 32}],
        "inputs": [{"id": "client-id", "property": "data", "value": stack["other"]}],
        "changedPropIds": ["client-id.data"],
        "state": [],
    }
    layout = requests.get(f"{stack['dash']}/_dash-dependencies", cookies=cookies, timeout=10).json()
    load = next(d for d in layout if "score-panel.children" in d["output"])
    body["output"] = load["output"]
    body["outputs"] = [
        {"id": o.split(".")[0], "property": o.split(".", 1)[1]} for o in load["output"].strip(".").split("...")
    ]
    answer = requests.post(f"{stack['dash']}/_dash-update-component", json=body, cookies=cookies, timeout=30)
    assert answer.status_code == 200
    assert str(stack["other"]) not in answer.text
    head = _api_token(stack["api"], "manager")
    own_grade = requests.get(f"{stack['api']}/api/v1/clients/{stack['own']}/score", headers=head, timeout=10).json()[
        "grade"
    ]
    assert own_grade in answer.text


@pytestmark_browser
@pytest.mark.browser
def test_language_switch(stack, driver):
    browser.sign_in(driver, stack["dash"], "carla", PASSWORD)
    _client_view_loaded(driver)
    assert driver.find_element("tag name", "html").get_attribute("lang") == "en"
    browser.click_when_settled(driver, "id", "lang-switch")
    browser.wait_css(driver, "#reasons-list")
    assert driver.find_element("tag name", "html").get_attribute("lang") == "fr"
    browser.wait_css(driver, "#gauge-summary", text="Probabilité de défaut")
    assert "Pourquoi cette décision" in driver.page_source
    assert "risque" in driver.find_element("id", "reasons-list").text
    _shot(driver, "client_customer_fr")


@pytestmark_browser
@pytest.mark.browser
def test_expired_token_and_api_down(stack, driver):
    ttl = 10  # outlives the second sign-in, the API's stop and a page load (up to ~7 s on a busy 2-core machine)
    env = {**stack["env"], "SCORING_TOKEN_TTL": str(ttl)}
    # stopped at once when it goes down (SIGINT): a graceful stop waits for the dashboard's kept-alive connections
    # (about 5 s), longer than this test's token lifetime
    api_server = gunicorn("api:create_app()", env, ready_path="/ready", stop_signal=signal.SIGINT)
    api = api_server.__enter__()
    try:
        dash_env = {"DASHBOARD_API_URL": api, "DASHBOARD_SECRET_KEY": "dash-tests-2", "DASHBOARD_API_TIMEOUT": "2"}
        with gunicorn("dashboard.app:server", dash_env) as dash:
            browser.sign_in(driver, dash, "carla", PASSWORD)
            _client_view_loaded(driver)
            time.sleep(ttl + 1)
            driver.get(dash + "/")
            browser.wait_css(driver, ".notice", text="expired")
            browser.sign_in(driver, dash, "carla", PASSWORD)
            browser.wait_css(driver, "#client-title")
            api_server.__exit__(None, None, None)  # the API goes down under a signed-in user
            api_server = None
            driver.get(dash + "/")
            browser.wait_css(driver, ".banner", text="not answering")
            assert driver.find_elements("css selector", ".failed") and "Traceback" not in driver.page_source
            _shot(driver, "api_down")
            driver.get(dash + "/logout")
            browser.sign_in(driver, dash, "carla", PASSWORD)
            browser.wait_css(driver, ".notice", text="not answering")
    finally:
        if api_server is not None:
            api_server.__exit__(None, None, None)
