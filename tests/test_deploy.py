"""The deployment as shipped, run for real: deploy/nginx-scoring.conf under `nginx -t` and in front of the dashboard
and two gunicorn API nodes over one store (HTTPS with a throwaway certificate, headless Chromium signing in),
and the systemd units under `systemd-analyze verify`.

Only what must differ on a test machine is templated (ports, log and certificate paths, the IPv6 listens); each
templated string must be found in the shipped file, so a site that drifts from the test fails it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests import browser
from tests.api_fixtures import PASSWORD, USERNAMES, copy_store
from tests.servers import NGINX, free_port, gunicorn, nginx

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx-scoring.conf"
DEBIAN_MAIN_CONF = Path("/etc/nginx/nginx.conf")
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
SIGNIN_MAX_PER_ADDRESS = 4  # the nodes' SCORING_SIGNIN_MAX_PER_ADDRESS: a flood is refused after this many


def _require(tool: str) -> None:
    """`make system-deps` installs nginx, openssl and chromium: a missing one is a set-up to fix, not a skip."""
    if not (Path(NGINX).exists() if tool == "nginx" else shutil.which(tool)):
        pytest.fail(f"{tool} is not installed: run `make system-deps`")


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"the shipped nginx site no longer has {old!r}: update tests/test_deploy.py with it"
    return text.replace(old, new)


def site_for_test(work: Path, ports: dict, cert: Path, key: Path) -> Path:
    """The shipped site with this machine's ports, certificate and log paths; ports: http, https, internal,
    api (two), dashboard."""
    text = SITE.read_text()
    for old, new in (
        ("listen 80 default_server;", f"listen 127.0.0.1:{ports['http']} default_server;"),
        ("listen [::]:80 default_server;", ""),
        ("listen 443 ssl http2 default_server;", f"listen 127.0.0.1:{ports['https']} ssl http2 default_server;"),
        ("listen [::]:443 ssl http2 default_server;", ""),
        ("listen 127.0.0.1:5080;", f"listen 127.0.0.1:{ports['internal']};"),
        ("server 127.0.0.1:5000 ", f"server 127.0.0.1:{ports['api'][0]} "),
        ("server 127.0.0.1:5001 ", f"server 127.0.0.1:{ports['api'][1]} "),
        ("server 127.0.0.1:8050 ", f"server 127.0.0.1:{ports['dashboard']} "),
        ("/etc/ssl/scoring/fullchain.pem", str(cert)),
        ("/etc/ssl/scoring/privkey.pem", str(key)),
        ("/var/log/nginx/scoring-access.log", str(work / "access.log")),
        ("/var/log/nginx/scoring-error.log", str(work / "scoring-error.log")),
        ("/var/www/html", str(work / "www")),
    ):
        text = _replace(text, old, new)
    directives = re.sub(r"#[^\n]*", "", text)  # comments may name the production paths
    leftover = re.findall(r"(?:/etc/|/var/|\[::\]|127\.0\.0\.1:(?:5000|5001|5080|8050)\b)", directives)
    assert not leftover, f"untemplated machine paths or ports in the site: {leftover}"
    site = work / "scoring.conf"
    site.write_text(text)
    return site


def main_conf(work: Path, site: Path) -> Path:
    """Debian's nginx.conf, the http block the site is installed in, with its pid, logs and temp files in `work`
    and the site as its only server; a minimal one where nginx is not Debian's."""
    temp = " ".join(
        f"{name}_temp_path {work / 'temp' / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;" if os.geteuid() == 0 else ""  # workers as root can reach the 0700 pytest folders
    if DEBIAN_MAIN_CONF.exists():
        text = DEBIAN_MAIN_CONF.read_text()
        text = re.sub(r"(?m)^user [^;]+;", user, text)
        text = re.sub(r"(?m)^pid [^;]+;", f"pid {work / 'nginx.pid'};", text)
        text = re.sub(r"(?m)^(\s*)error_log [^;]+;", rf"\1error_log {work / 'error.log'};", text)
        text = re.sub(r"(?m)^(\s*)access_log [^;]+;", rf"\1access_log {work / 'other-access.log'};", text)
        text = re.sub(r"(?m)^\s*include /etc/nginx/conf\.d/[^;]+;", "", text)
        text = _replace(text, "include /etc/nginx/sites-enabled/*;", f"include {site}; {temp}")
    else:
        text = (
            f"{user} pid {work / 'nginx.pid'}; error_log {work / 'error.log'};\nevents {{}}\n"
            f"http {{ default_type application/octet-stream; access_log off; include {site}; {temp} }}\n"
        )
    (work / "temp").mkdir(exist_ok=True)
    (work / "www").mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(text)
    return conf


def self_signed_pair(work: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (also what requests verifies the site's TLS against)."""
    _require("openssl")
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def nginx_t(conf: Path, work: Path) -> subprocess.CompletedProcess:
    _require("nginx")
    return subprocess.run(
        [NGINX, "-t", "-p", str(work), "-c", str(conf), "-e", str(work / "error.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _ports(**known) -> dict:
    ports = {"http": free_port(), "https": free_port(), "internal": free_port(), "dashboard": free_port()}
    ports["api"] = [free_port(), free_port()]
    return {**ports, **known}


def test_shipped_site_passes_nginx_t_and_a_broken_one_fails(tmp_path):
    cert, key = self_signed_pair(tmp_path)
    conf = main_conf(tmp_path, site_for_test(tmp_path, _ports(), cert, key))
    result = nginx_t(conf, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "test is successful" in output and "[warn]" not in output and "[emerg]" not in output, output
    # the same check fails on a broken site: it is not a check that always passes
    site = tmp_path / "scoring.conf"
    site.write_text(site.read_text().replace("proxy_next_upstream_tries 3;", "proxy_next_upstream_tries;", 1))
    broken = nginx_t(conf, tmp_path)
    assert broken.returncode != 0 and "proxy_next_upstream_tries" in broken.stderr, broken.stderr


class DroppingNode:
    """A listening socket standing for an API node that dies mid-request: it reads each request's head, notes the
    method and closes the connection without an answer."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.methods: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(10)
                head = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in head:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                if head:
                    self.methods.append(head.split(b" ", 1)[0].decode())

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=10)
        self.sock.close()


def test_a_get_is_retried_on_the_next_node_a_post_never_and_no_answer_is_a_json_503(tmp_path):
    """nginx alone before two nodes that drop every request: a GET goes to both, a POST that reached one is not
    passed on (a score or a review is never made twice); the caller gets the API's 503 shape, not nginx's 502."""
    cert, key = self_signed_pair(tmp_path)
    nodes = [DroppingNode(), DroppingNode()]
    try:
        ports = _ports(api=[node.port for node in nodes])  # the dashboard's port: nothing listens there
        conf = main_conf(tmp_path, site_for_test(tmp_path, ports, cert, key))
        base = f"https://127.0.0.1:{ports['https']}"
        with nginx(conf, tmp_path, base + "/metrics", verify=str(cert)):  # answered by nginx itself
            sent = []
            for method, path in (("POST", "/api/v1/auth/token"), ("GET", "/api/v1/clients/1/score")):
                response = requests.request(method, base + path, json={}, verify=str(cert), timeout=30)
                sent.append(sorted(m for node in nodes for m in node.methods))
                assert response.status_code == 503, (path, response.text)
                assert response.json()["error"]["code"] == "unavailable"
                assert response.headers["Retry-After"] == "5" and response.headers["Cache-Control"] == "no-store"
                for name, value in SECURITY_HEADERS.items():
                    assert response.headers[name] == value
            assert sent == [["POST"], ["GET", "GET", "POST"]]
            assert sorted(len(node.methods) for node in nodes) == [1, 2]  # the GET was tried on each node
            assert requests.get(base + "/", verify=str(cert), timeout=30).status_code == 503  # no dashboard
    finally:
        for node in nodes:
            node.close()


# --- end to end: nginx in front of two API nodes and the dashboard --------------------------------------------


@pytest.fixture(scope="module")
def deployment(api_template, tmp_path_factory):
    """nginx (HTTPS) -> dashboard, and -> two API nodes (one worker each) over one copy of the session store; the
    dashboard reaches the nodes through nginx's loopback balancer. `stop_node(1)` kills node 1 for good (SIGKILL
    to its master and worker, as a crash: requests in flight there are cut)."""
    _require("nginx")
    work = tmp_path_factory.mktemp("deploy")
    store = copy_store(api_template["store"], work / "store.sqlite")
    cert, key = self_signed_pair(work)
    ports = _ports()
    conf = main_conf(work, site_for_test(work, ports, cert, key))
    base = f"https://127.0.0.1:{ports['https']}"
    api_env = {
        "SCORING_STORE": str(store),
        "SCORING_MODELS": str(api_template["models"]),
        "SCORING_SECRET_KEY": "deploy-tests",  # shared by the nodes: a token of one is valid on the other
        "SCORING_SIGNIN_TARPIT": "0",
        "SCORING_SIGNIN_MAX_PER_ADDRESS": str(SIGNIN_MAX_PER_ADDRESS),
    }
    dash_env = {
        "DASHBOARD_API_URL": f"http://127.0.0.1:{ports['internal']}",
        "DASHBOARD_SECRET_KEY": "deploy-tests-dash",
        "DASHBOARD_SECURE_COOKIE": "1",
    }
    servers = {
        "node0": gunicorn(
            "api:create_app()", api_env, port=ports["api"][0], ready_path="/ready", log_path=work / "node0.log"
        ),
        "node1": gunicorn(
            "api:create_app()",
            api_env,
            port=ports["api"][1],
            ready_path="/ready",
            log_path=work / "node1.log",
            stop_signal=signal.SIGKILL,
        ),  # stopped as by a crash
        "dash": gunicorn("dashboard.app:server", dash_env, port=ports["dashboard"], log_path=work / "dash.log"),
    }
    with contextlib.ExitStack() as stack:
        nodes = {}
        with ThreadPoolExecutor(len(servers)) as pool:  # the three start side by side: about a third of the wait
            started = {name: pool.submit(server.__enter__) for name, server in servers.items()}
        for name, future in started.items():
            if future.exception() is None:
                nodes[name] = stack.enter_context(contextlib.ExitStack())
                nodes[name].push(servers[name])
        for future in started.values():
            future.result()  # the first failure to start, after every started server is in the stack to stop
        # stopped first: the servers behind it then hold no idle connection of nginx's open while they stop
        stack.enter_context(nginx(conf, work, base + "/health", verify=str(cert)))

        def stop_node(i: int) -> None:
            nodes[f"node{i}"].close()

        yield {
            "base": base,
            "cert": str(cert),
            "work": work,
            "store": store,
            "nodes": [f"http://127.0.0.1:{port}" for port in ports["api"]],
            "ports": ports,
            "stop_node": stop_node,
            "own": api_template["own"],
            "other": api_template["other"],
        }


def _token(deployment, role: str = "manager") -> dict:
    response = requests.post(
        deployment["base"] + "/api/v1/auth/token",
        json={"username": USERNAMES[role], "password": PASSWORD},
        verify=deployment["cert"],
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


SCORE_ROUTE = "/api/v1/clients/<client_id>/score"


def _wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _served(node: str, route: str = SCORE_ROUTE) -> int:
    """Requests of `route` answered 200 by this node (its one worker's /metrics, read on the node's own port)."""
    text = requests.get(node + "/metrics", timeout=30).text
    pattern = re.compile(r'^api_requests_total\{[^}]*route="' + re.escape(route) + r'",status="200"\} (\d+)$', re.M)
    return sum(int(n) for n in pattern.findall(text))


@pytest.mark.slow
def test_gets_spread_over_both_nodes_and_a_stopped_node_fails_no_get(deployment):
    base, cert = deployment["base"], deployment["cert"]
    head = _token(deployment)
    url = f"{base}/api/v1/clients/{deployment['own']}/score"
    before = [_served(node) for node in deployment["nodes"]]
    with requests.Session() as session:
        answers = [session.get(url, headers=head, verify=cert, timeout=30).status_code for _ in range(20)]
    assert answers == [200] * 20
    gained = [_served(node) - b for node, b in zip(deployment["nodes"], before, strict=True)]
    assert sum(gained) == 20 and min(gained) > 0, f"requests served by each node: {gained}"  # and one token for both

    # node 1 killed while GETs keep coming: every GET is answered, by node 0 once node 1 is gone
    statuses, failures, done = [], [], threading.Event()

    def keep_reading():
        with requests.Session() as session:
            while not done.is_set():
                try:
                    statuses.append(session.get(url, headers=head, verify=cert, timeout=30).status_code)
                except requests.RequestException as exc:
                    failures.append(repr(exc))

    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        _wait_until(lambda: len(statuses) >= 5)
        deployment["stop_node"](1)
        stopped_at = len(statuses)
        _wait_until(lambda: len(statuses) >= stopped_at + 20 or failures)
    finally:
        done.set()
        reader.join(timeout=60)
    assert not failures and set(statuses) == {200}, (failures, sorted(set(statuses)))
    with pytest.raises(requests.ConnectionError):
        requests.get(deployment["nodes"][1] + "/health", timeout=5)
    alone = _served(deployment["nodes"][0])
    with requests.Session() as session:
        assert [session.get(url, headers=head, verify=cert, timeout=30).status_code for _ in range(10)] == [200] * 10
    assert _served(deployment["nodes"][0]) - alone == 10

    # nginx's log says which node answered and which failed, and holds no client id, address, token or password
    log = (deployment["work"] / "access.log").read_text()
    upstreams = re.findall(r"upstream=(.+?) (?:\d{3}|-)", log)
    for port in deployment["ports"]["api"]:
        assert any(f"127.0.0.1:{port}" in u for u in upstreams), (port, set(upstreams))
    assert any("," in u for u in upstreams), "no request that went to the next node after a failure"
    assert "/api/v1/clients/:n/score" in log
    errors = (deployment["work"] / "scoring-error.log").read_text()
    for secret in (str(deployment["own"]), head["Authorization"].split()[1], PASSWORD, "Bearer", "client:"):
        assert secret not in log and secret not in errors


@pytest.mark.slow
def test_security_headers_https_only_and_limits_through_nginx(deployment):
    base, cert = deployment["base"], deployment["cert"]
    page = requests.get(base + "/", verify=cert, timeout=30)
    api = requests.get(
        f"{base}/api/v1/clients/{deployment['own']}", headers=_token(deployment), verify=cert, timeout=30
    )
    assert page.status_code == 200 and api.status_code == 200
    for response in (page, api):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.url, name, response.headers.get(name))
        assert response.headers["Server"] == "nginx"  # no version
        assert "camera=()" in response.headers["Permissions-Policy"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]  # the dashboard's own passes through
    assert api.headers["Cache-Control"] == "no-store"  # a client's file is kept by no cache
    plain = requests.get(f"http://127.0.0.1:{deployment['ports']['http']}/client/1", allow_redirects=False, timeout=30)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://127.0.0.1")
    assert requests.get(base + "/metrics", verify=cert, timeout=30).status_code == 404  # each node's own port only
    too_big = requests.post(
        base + "/api/v1/score",
        data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
        verify=cert,
        timeout=30,
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "body_too_large"
    assert too_big.headers["X-Frame-Options"] == "DENY"


@pytest.mark.slow
def test_a_forged_forwarded_for_does_not_escape_the_sign_in_limit_per_address(deployment):
    """nginx replaces the client's X-Forwarded-For with the address it sees: a flood that names a new address in
    each request is still counted against its own one, and refused once over the limit."""
    base, cert = deployment["base"], deployment["cert"]
    try:
        codes = [
            requests.post(
                base + "/api/v1/auth/token",
                json={"username": f"nobody{i}", "password": "wrong"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
                verify=cert,
                timeout=30,
            ).status_code
            for i in range(SIGNIN_MAX_PER_ADDRESS + 1)
        ]
        assert codes == [401] * SIGNIN_MAX_PER_ADDRESS + [429]
        with contextlib.closing(sqlite3.connect(deployment["store"])) as con:
            counted = {key for (key,) in con.execute("SELECT key FROM signin_attempts WHERE scope = 'address'")}
        assert counted == {"127.0.0.1"}
    finally:  # the other tests sign in from the same address
        with contextlib.closing(sqlite3.connect(deployment["store"], timeout=30)) as con, con:
            con.execute("DELETE FROM signin_attempts WHERE scope IN ('address', 'user')")


@pytest.mark.slow
@pytest.mark.browser
def test_customer_signs_in_through_nginx_and_reads_their_file(deployment):
    _require("chromium")
    _require("chromedriver")
    driver = browser.start(("--ignore-certificate-errors",))
    try:
        browser.sign_in(driver, deployment["base"], USERNAMES["customer"], PASSWORD)
        own = str(deployment["own"])
        browser.wait_css(driver, "#client-title", timeout=60, text=own)
        for css in ("#gauge-summary", "#reasons-list li", "#file-panel details"):
            browser.wait_css(driver, css, timeout=60)
        WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: "%" in d.find_element(By.ID, "gauge-summary").text  # found again if Dash re-rendered it
        )
        assert driver.current_url.startswith(deployment["base"] + "/")
        cookie = next(c for c in driver.get_cookies() if c.get("httpOnly"))
        assert cookie["secure"]  # DASHBOARD_SECURE_COOKIE=1 behind TLS, as in production
        assert str(deployment["other"]) not in driver.page_source
        errors = browser.console_errors(driver)
        assert not errors, "errors in the browser console:\n" + "\n".join(errors)
    finally:
        driver.quit()


# --- systemd units -------------------------------------------------------------------------------------------


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    """The units with the repository's paths for /opt/scoring (ExecStart's binary must exist for verify); the
    template is checked through an instance. Any remark on one of our units fails, as does a broken copy."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is absent: Debian's systemd package is not installed on this machine")
    venv_bin = Path(sys.executable).parent
    for unit in ("scoring-api.service", "scoring-api@.service", "scoring-dashboard.service"):
        text = _replace((DEPLOY / unit).read_text(), "/opt/scoring/.venv/bin/gunicorn", str(venv_bin / "gunicorn"))
        (tmp_path / unit).write_text(text.replace("/opt/scoring", str(ROOT)))
    assert (venv_bin / "gunicorn").exists()

    def verify(*units: str) -> tuple[int, str]:
        result = subprocess.run(
            ["systemd-analyze", "verify", *(str(tmp_path / u) for u in units)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
        )
        return result.returncode, result.stdout + result.stderr

    code, output = verify("scoring-api.service", "scoring-api@5000.service", "scoring-dashboard.service")
    remarks = [line for line in output.splitlines() if "scoring-" in line]
    assert code == 0 and not remarks, output
    broken = tmp_path / "scoring-api@.service"
    broken.write_text(broken.read_text().replace(str(venv_bin / "gunicorn"), str(tmp_path / "no-gunicorn")))
    code, output = verify("scoring-api@5001.service")
    assert code != 0 and "no-gunicorn" in output, output
