"""Slow clients (issue #9, item 6): sockets trickling their headers cannot stall the served processes."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.servers import GUNICORN_CONF, ROOT, gunicorn

pytestmark = pytest.mark.slow

SLOW_SOCKETS = 20
PROBE_SECONDS = 12.0
PROBE_TIMEOUT = 2.0
HEADER_TIMEOUT = 4  # SCORING_HEADER_TIMEOUT given to the server under test


@pytest.fixture(scope="module")
def api(store_path, trained_models, tmp_path_factory):
    """The API as every served set-up starts it (deploy/gunicorn.conf.py), 2 workers like the Procfile's default."""
    work = tmp_path_factory.mktemp("slow")
    store = work / "store.sqlite"
    shutil.copy(store_path, store)
    env = {
        "SCORING_STORE": str(store),
        "SCORING_MODELS": str(trained_models),
        "SCORING_SECRET_KEY": "slow-test",
        "SCORING_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
    }
    with gunicorn("api:create_app()", env, workers=2, ready_path="/ready", log_path=work / "api.log") as base:
        yield base


class _Trickler:
    """Sockets that send a request line, then one header line per second, never finishing their headers."""

    def __init__(self, base: str, n: int):
        host, port = base.removeprefix("http://").split(":")
        self.address, self.n = (host, int(port)), n
        self.stop = threading.Event()
        self.sockets: list[socket.socket] = []
        self.closed_by_server: list[float] = []
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]

    def _run(self) -> None:
        started = time.monotonic()
        sock = socket.create_connection(self.address, timeout=5)
        self.sockets.append(sock)
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            i = 0
            while not self.stop.wait(1.0):
                sock.sendall(b"X-Slow-%d: a\r\n" % i)
                i += 1
        except OSError:  # the server cut us off: reconnect, as an attacker would
            self.closed_by_server.append(time.monotonic() - started)
            if not self.stop.is_set():
                self._run()

    def __enter__(self) -> _Trickler:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for sock in list(self.sockets):
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5)


def test_health_keeps_answering_under_20_slow_header_sockets(api):
    with _Trickler(api, SLOW_SOCKETS) as trickler:
        time.sleep(1.5)  # every slow socket connected and holding its request open
        assert len(trickler.sockets) >= SLOW_SOCKETS
        slowest, probes, end = 0.0, 0, time.monotonic() + PROBE_SECONDS
        while time.monotonic() < end:
            t0 = time.monotonic()
            try:
                response = requests.get(f"{api}/health", timeout=PROBE_TIMEOUT)
            except requests.RequestException as exc:
                pytest.fail(f"/health did not answer within {PROBE_TIMEOUT} s after {probes} probes: {exc!r}")
            assert response.status_code == 200
            slowest, probes = max(slowest, time.monotonic() - t0), probes + 1
            time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
        assert probes >= 10
        assert slowest < PROBE_TIMEOUT


def test_a_trickling_client_is_cut_off_after_the_header_timeout(api):
    with _Trickler(api, 1) as trickler:
        deadline = time.monotonic() + HEADER_TIMEOUT + 6
        while not trickler.closed_by_server and time.monotonic() < deadline:
            time.sleep(0.2)
    assert trickler.closed_by_server, (
        f"a client sending a header line per second was still served after {HEADER_TIMEOUT + 6} s"
    )
    assert trickler.closed_by_server[0] < HEADER_TIMEOUT + 3


def test_too_many_headers_are_refused(api):
    headers = {f"X-Filler-{i}": "a" for i in range(80)}
    response = requests.get(f"{api}/health", headers=headers, timeout=10)
    assert response.status_code == 431  # Request Header Fields Too Large (gunicorn's default limit is 100)


def test_every_served_setup_uses_the_shared_gunicorn_config():
    procfile = (ROOT / "Procfile").read_text().splitlines()
    assert procfile and all("--config deploy/gunicorn.conf.py" in line for line in procfile if line.strip())
    for unit in ("scoring-api.service", "scoring-dashboard.service"):
        assert "--config /opt/scoring/deploy/gunicorn.conf.py" in (ROOT / "deploy" / unit).read_text()
    demo = (ROOT / "scripts" / "demo.py").read_text()
    assert re.search(r'"--config",\s*str\(ROOT / "deploy" / "gunicorn.conf.py"\)', demo)  # however it is wrapped
    assert Path(GUNICORN_CONF).exists()
