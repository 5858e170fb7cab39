"""The dashboard's settings and its app factory: from the environment or a mapping, bad values named, no browser."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dashboard import api_client
from dashboard.app import create_app
from dashboard.settings import SETTINGS, DashboardSettings


class _FakeApi(BaseHTTPRequestHandler):
    """A stand-in scoring API on loopback: records each request, answers a token or an echo of the path."""

    requests: list[dict] = []
    delay = 0.0

    def _answer(self, body: dict) -> None:
        time.sleep(self.delay)
        data = json.dumps(body).encode()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a timed-out client has hung up
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
        self._answer({"path": self.path})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body})
        self._answer({"access_token": "t0ken", "role": "manager", "username": body.get("username"), "expires_in": 60})

    def log_message(self, *args):
        pass


@pytest.fixture()
def fake_api():
    _FakeApi.requests, _FakeApi.delay = [], 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _FakeApi
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------- the settings


def test_each_setting_is_declared_once_with_its_variable_default_and_meaning():
    assert [s.attr for s in SETTINGS] == [f.name for f in dataclasses.fields(DashboardSettings)]
    assert len({s.env for s in SETTINGS}) == len(SETTINGS)
    for spec in SETTINGS:
        assert spec.env.startswith("DASHBOARD_") and spec.default and len(spec.description) > 10, spec
    assert DashboardSettings.from_mapping({}) == DashboardSettings(
        api_url="http://127.0.0.1:5000",
        api_timeout=5.0,
        secret_key=None,
        secret_file=Path("data/processed/.dashboard_secret"),
        secure_cookie=False,
    )


def test_settings_are_read_from_the_environment_when_asked_not_on_import(monkeypatch):
    monkeypatch.setenv("DASHBOARD_API_URL", "https://api.example:8443/")
    monkeypatch.setenv("DASHBOARD_API_TIMEOUT", "2.5")
    monkeypatch.setenv("DASHBOARD_SECURE_COOKIE", "1")
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "  from env  ")
    conf = DashboardSettings.from_env()
    assert (conf.api_url, conf.api_timeout, conf.secure_cookie, conf.secret_key) == (
        "https://api.example:8443",
        2.5,
        True,
        "from env",
    )
    monkeypatch.setenv("DASHBOARD_API_TIMEOUT", "9")
    assert DashboardSettings.from_env().api_timeout == 9.0


def test_a_blank_value_takes_the_default():
    blank = {"DASHBOARD_API_TIMEOUT": " ", "DASHBOARD_SECRET_KEY": "", "DASHBOARD_API_URL": ""}
    conf = DashboardSettings.from_mapping(blank)
    assert (conf.api_timeout, conf.secret_key, conf.api_url) == (5.0, None, "http://127.0.0.1:5000")


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("DASHBOARD_API_TIMEOUT", "0"),
        ("DASHBOARD_API_TIMEOUT", "-1"),
        ("DASHBOARD_API_TIMEOUT", "five"),
        ("DASHBOARD_API_TIMEOUT", "nan"),
        ("DASHBOARD_API_TIMEOUT", "inf"),
        ("DASHBOARD_SECURE_COOKIE", "yes"),
        ("DASHBOARD_SECURE_COOKIE", "true"),
        ("DASHBOARD_API_URL", "127.0.0.1:5000"),
        ("DASHBOARD_API_URL", "ftp://127.0.0.1"),
    ],
)
def test_a_bad_value_is_refused_with_the_variable_named(env, value):
    with pytest.raises(ValueError, match=env) as refused:
        DashboardSettings.from_mapping({env: value})
    assert repr(value) in str(refused.value)


# ---------------------------------------------------------------- the app factory


def test_the_app_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "env key")
    monkeypatch.setenv("DASHBOARD_SECURE_COOKIE", "1")
    monkeypatch.setenv("DASHBOARD_SECRET_FILE", str(tmp_path / "unused"))
    server = create_app().server
    assert server.secret_key == "env key" and server.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "unused").exists()  # a set key makes no file
    monkeypatch.setenv("DASHBOARD_SECURE_COOKIE", "yes")
    with pytest.raises(ValueError, match="DASHBOARD_SECURE_COOKIE"):
        create_app()


def test_the_app_from_a_mapping_ignores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "env key")
    monkeypatch.setenv("DASHBOARD_SECURE_COOKIE", "1")
    secret = tmp_path / "dash" / ".secret"
    server = create_app({"DASHBOARD_SECRET_FILE": str(secret)}).server
    assert server.config["SESSION_COOKIE_SECURE"] is False
    assert server.secret_key == secret.read_text().strip() and len(server.secret_key) >= 40
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert create_app({"DASHBOARD_SECRET_FILE": str(secret)}).server.secret_key == server.secret_key  # shared


def test_two_apps_in_one_process_each_have_every_callback():
    outputs = []
    for key in ("one", "two"):
        client = create_app({"DASHBOARD_SECRET_KEY": key}).server.test_client()
        outputs.append(sorted(d["output"] for d in client.get("/_dash-dependencies").json))
    assert outputs[0] == outputs[1]
    for component in (
        "main.children",
        "search-results.children",
        "score-panel.children",
        "wi-result.children",
        "dist-panel.children",
    ):
        assert any(component in output for output in outputs[0]), component


def _csrf(node):
    """The sign-in form's anti-forgery token, found in the layout's component tree."""
    if isinstance(node, dict):
        if isinstance(node.get("props"), dict) and node["props"].get("name") == "csrf_token":
            return node["props"]["value"]
        node = list(node.values())
    if isinstance(node, list):
        return next((found for found in map(_csrf, node) if found), None)
    return None


def _sign_in(client, username: str):
    client.get("/")
    csrf = _csrf(client.get("/_dash-layout").json)
    return client.post(
        "/auth/login",
        data={"username": username, "password": "pw", "csrf_token": csrf},
        headers={"X-Forwarded-For": "10.1.2.3"},
    )


def test_the_app_calls_the_api_it_was_built_with(fake_api):
    url, api = fake_api
    app = create_app({"DASHBOARD_API_URL": url + "/", "DASHBOARD_SECRET_KEY": "k"})
    client = app.server.test_client()
    assert _sign_in(client, "maria").status_code == 302
    token_call = api.requests[-1]
    assert token_call["path"] == "/api/v1/auth/token" and token_call["body"]["username"] == "maria"
    assert token_call["headers"]["X-Forwarded-For"] == "10.1.2.3, 127.0.0.1"
    assert '"sign-out"' in client.get("/_dash-layout").text
    with app.server.test_request_context("/"):  # the parallel calls run in other threads: same API still
        answers = api_client.get_many("t0ken", {"model": (api_client.model_path(), {}), "x": ("/api/v1/x", {"a": 1})})
    assert answers == {"model": {"path": "/api/v1/model"}, "x": {"path": "/api/v1/x?a=1"}}
    assert api.requests[-1]["headers"]["Authorization"] == "Bearer t0ken"


def test_the_timeout_of_the_app_counts_a_slow_api_as_down(fake_api):
    url, api = fake_api
    api.delay = 1.0
    app = create_app({"DASHBOARD_API_URL": url, "DASHBOARD_API_TIMEOUT": "0.2", "DASHBOARD_SECRET_KEY": "k"})
    started = time.monotonic()
    with app.server.test_request_context("/"), pytest.raises(api_client.ApiUnavailable, match="Timeout"):
        api_client.get(api_client.model_path(), "t0ken")
    assert time.monotonic() - started < 0.9


def test_outside_an_app_the_client_reads_the_environment_at_call_time(fake_api, monkeypatch):
    url, _ = fake_api
    monkeypatch.setenv("DASHBOARD_API_URL", url)
    assert api_client.get(api_client.features_path(), "t0ken") == {"path": "/api/v1/features"}
    monkeypatch.setenv("DASHBOARD_API_URL", "http://127.0.0.1:9")  # discard port: nothing answers
    with pytest.raises(api_client.ApiUnavailable):
        api_client.get(api_client.features_path(), "t0ken")
