"""Dashboard security (issue #9 item 3): encrypted session, sign-out that revokes, login CSRF, headers, API paths."""

from __future__ import annotations

import ast
import base64
import binascii
import re
from pathlib import Path

import pytest
import requests
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import api_client
from dashboard.session import _FernetSerializer
from tests import browser
from tests import test_dashboard as dashboard_tests
from tests.test_dashboard import PASSWORD, _api_token, _client_view_loaded, pytestmark_browser

stack, driver = dashboard_tests.stack, dashboard_tests.driver  # the same servers and browser fixtures, reused

ROOT = Path(__file__).resolve().parents[1]
DASH_KEY = "dash-tests"  # the stack fixture's DASHBOARD_SECRET_KEY
HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")
# recorded from the first script of every document on, before Dash's own scripts run
CSP_RECORDER = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation', "
    "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));"
)


def _login_form(dash: str) -> tuple[requests.Session, str]:
    """A browser-like session that fetched the sign-in page, and the CSRF token its form carries."""
    http = requests.Session()
    http.get(dash + "/", timeout=30)
    layout = http.get(dash + "/_dash-layout", timeout=30).json()
    return http, next(p for p in _walk(layout) if p.get("name") == "csrf_token")["value"]


def _walk(node):
    if isinstance(node, dict):
        if isinstance(node.get("props"), dict):
            yield node["props"]
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _signed_in(http: requests.Session, dash: str) -> bool:
    return '"sign-out"' in http.get(dash + "/_dash-layout", timeout=30).text


# ---------------------------------------------------------------- API paths


def test_no_component_writes_an_api_path():
    for path in [*(ROOT / "dashboard" / "components").glob("*.py"), ROOT / "dashboard" / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert "/api/" not in node.value, f"{path.name} builds an API path: {node.value!r}"


@pytest.mark.slow
def test_a_feature_name_never_reaches_another_route(stack, monkeypatch):
    monkeypatch.setenv("DASHBOARD_API_URL", stack["api"])
    manager = _api_token(stack["api"], "manager")
    other = stack["other"]
    # what the old unencoded path did: the "feature" climbed to the client file route
    climbed = requests.get(
        f"{stack['api']}/api/v1/features/../clients/{other}#/distribution", headers=manager, timeout=10
    )
    assert climbed.status_code == 200 and climbed.json()["client_id"] == other
    token = manager["Authorization"].split()[1]
    for evil in (
        f"../clients/{other}#",
        f"../clients/{other}?x=",
        f"../../clients/{other}",
        f"../../clients/{other}?x=",
        f"../../clients/{other}#",
        "..",
        ".",
        "a?b=1",
        "a#b",
        "bivariate/../../clients",
        "%2e%2e",
    ):
        path = api_client.distribution_path(evil)
        assert path.startswith("/api/v1/features/") and path.endswith("/distribution") and path.count("/") == 5
        with pytest.raises(api_client.ApiRefused) as refused:
            api_client.get(path, token, client_id=stack["own"])
        assert refused.value.status == 404, evil
    assert api_client.client_score_path("1/../2") == "/api/v1/clients/1%2F%2E%2E%2F2/score"


# ---------------------------------------------------------------- sign-in form and session cookie


@pytest.mark.slow
def test_sign_in_post_without_the_csrf_token_or_from_another_site_is_refused(stack):
    dash = stack["dash"]
    creds = {"username": "carla", "password": PASSWORD}
    http, csrf = _login_form(dash)
    forged = http.post(dash + "/auth/login", data=creds, allow_redirects=False, timeout=30)
    assert forged.status_code == 403 and not _signed_in(http, dash)
    wrong = http.post(dash + "/auth/login", data={**creds, "csrf_token": "guess"}, allow_redirects=False, timeout=30)
    assert wrong.status_code == 403 and not _signed_in(http, dash)
    cross = http.post(
        dash + "/auth/login",
        data={**creds, "csrf_token": csrf},
        allow_redirects=False,
        timeout=30,
        headers={"Origin": "http://attacker.example"},
    )
    assert cross.status_code == 403 and not _signed_in(http, dash)
    ok = http.post(
        dash + "/auth/login",
        data={**creds, "csrf_token": csrf},
        allow_redirects=False,
        timeout=30,
        headers={"Origin": dash},
    )
    assert ok.status_code == 302 and _signed_in(http, dash)


@pytest.mark.slow
def test_failed_sign_ins_through_the_dashboard_count_per_browser_not_per_dashboard(stack):
    """The API sees the dashboard's address for every user: the dashboard forwards each browser's."""
    dash = stack["dash"]
    attacker, csrf = _login_form(dash)
    notices = []
    for i in range(25):  # a password spray from one browser (address 10.8.0.1 behind a proxy on this host)
        attacker.post(
            dash + "/auth/login",
            data={"username": f"ghost{i}", "password": "wrong guess", "csrf_token": csrf},
            headers={"X-Forwarded-For": "10.8.0.1"},
            allow_redirects=False,
            timeout=30,
        )
        notices.append(attacker.get(dash + "/_dash-layout", timeout=30).text)
    assert "Too many sign-in attempts" in notices[-1] and "Too many" not in notices[0]
    other, csrf = _login_form(dash)  # another person, signing in meanwhile through the same dashboard
    other.post(
        dash + "/auth/login",
        data={"username": "carla", "password": PASSWORD, "csrf_token": csrf},
        headers={"X-Forwarded-For": "10.8.0.2"},
        timeout=30,
    )
    assert _signed_in(other, dash)


@pytest.mark.slow
def test_the_session_cookie_does_not_show_the_token(stack):
    dash = stack["dash"]
    http, csrf = _login_form(dash)
    http.post(dash + "/auth/login", data={"username": "carla", "password": PASSWORD, "csrf_token": csrf}, timeout=30)
    cookie = http.cookies["session"]
    assert _signed_in(http, dash)
    readable = b""
    for part in re.split(r"[.]", cookie.lstrip(".")):
        try:
            readable += base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
    for secret in (b"token", b"carla", b"customer", b"eyJ"):  # a signed-only Flask cookie shows all of these
        assert secret not in readable
    token = _FernetSerializer(DASH_KEY).loads(cookie)["token"]  # only the dashboard's key opens it
    assert (
        requests.get(
            f"{stack['api']}/api/v1/model", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).status_code
        == 200
    )


@pytestmark_browser
@pytest.mark.browser
def test_a_cookie_replayed_after_sign_out_serves_no_client_data(stack, driver):
    dash = stack["dash"]
    browser.sign_in(driver, dash, "carla", PASSWORD)
    _client_view_loaded(driver)
    stolen = driver.get_cookie("session")
    browser.click_when_settled(driver, "id", "sign-out")
    browser.wait_css(driver, ".notice", text="signed out")
    driver.delete_all_cookies()
    driver.add_cookie({"name": "session", "value": stolen["value"], "path": "/"})
    driver.get(dash + "/")
    browser.wait_css(driver, "#username")  # back to the sign-in page
    assert not driver.find_elements("id", "gauge-summary") and not driver.find_elements("id", "client-title")
    # the API refuses the token that cookie carried: sign-out revoked it
    token = _FernetSerializer(DASH_KEY).loads(stolen["value"])["token"]
    refused = requests.get(f"{stack['api']}/api/v1/model", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"


# ---------------------------------------------------------------- headers


@pytest.mark.slow
def test_security_headers_on_every_dashboard_response_and_nosniff_on_the_api(stack):
    dash = stack["dash"]
    http, _ = _login_form(dash)
    for response in (
        http.get(dash + "/", timeout=30),
        http.get(dash + "/_dash-layout", timeout=30),
        http.get(dash + "/assets/style.css", timeout=30),
        http.post(dash + "/auth/login", data={}, timeout=30),
        http.get(dash + "/no-such-page", timeout=30),
    ):
        for header in HEADERS:
            assert header in response.headers, (response.url, header)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/health", "/api/v1/model", "/api/v1/nowhere"):
        assert requests.get(stack["api"] + path, timeout=10).headers["X-Content-Type-Options"] == "nosniff"


@pytestmark_browser
@pytest.mark.browser
def test_no_content_security_policy_violation_on_sign_in_and_client_views(stack, driver):
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_RECORDER})
    dash = stack["dash"]
    driver.get(dash + "/")
    browser.wait_css(driver, "#username")
    assert driver.execute_script("return window.__csp") == []
    browser.sign_in(driver, dash, "manager", PASSWORD)
    browser.wait_css(driver, "table.results a")
    driver.get(f"{dash}/client/{stack['other']}")
    _client_view_loaded(driver)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return !!document.querySelector('#dist-graph svg')"))
    assert driver.execute_script("return window.__csp") == []
    browser.click_when_settled(driver, "id", "sign-out")
    browser.wait_css(driver, ".notice", text="signed out")
    browser.sign_in(driver, dash, "carla", PASSWORD)
    _client_view_loaded(driver)
    assert driver.execute_script("return window.__csp") == []
    # the recorder works and the policy bites: an injected inline script is blocked and reported
    driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.__ran = 1';document.body.appendChild(s);"
    )
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.__csp.length") > 0)
    assert driver.execute_script("return window.__ran") is None
    # the console reports that refusal (and the driver fixture fails a test on any other console error)
    refused = browser.console_errors(driver)
    assert len(refused) == 1 and "Content Security Policy" in refused[0]
