"""Start real gunicorn servers on loopback for tests and benchmarks, and always stop them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"  # the settings every served set-up uses
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian's, outside a non-root user's PATH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        try:
            response = requests.get(url, timeout=2)
            if response.status_code < 500:
                return
            last = response.status_code
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s (last: {last})")


def worker_counters(base: str, names: tuple[str, ...], workers: int = 1) -> dict[str, int]:
    """Counters of /metrics (each answer one worker's lines, `name{worker="pid"} value`) summed over `workers`
    workers: asked on new connections, which any worker may take, until each has answered."""
    seen: dict[str, dict[str, int]] = {}
    for _ in range(50 * workers):
        text = requests.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=30).text
        for line in text.splitlines():
            name, _, rest = line.partition("{")
            if name in names:
                worker = rest.split('worker="', 1)[1].split('"', 1)[0]
                seen.setdefault(worker, {})[name] = int(rest.rsplit(" ", 1)[1])
        if len(seen) == workers:
            break
    return {name: sum(counts.get(name, 0) for counts in seen.values()) for name in names}


@contextlib.contextmanager
def gunicorn(
    app: str,
    env: dict[str, str],
    *,
    port: int | None = None,
    workers: int = 1,
    ready_path: str = "/",
    timeout: float = 90.0,
    log_path: Path | None = None,
    stop_signal: int = signal.SIGTERM,
):
    """Run `gunicorn app` (e.g. 'api:create_app()') on 127.0.0.1:port with deploy/gunicorn.conf.py; yield the URL."""
    port = port or free_port()
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(GUNICORN_CONF),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "120",
        app,
    ]
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + ready_path, timeout=timeout, proc=proc)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, stop_signal)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log_path:
            log.close()


@contextlib.contextmanager
def api_and_dashboard(store: Path, models: Path, work: Path):
    """The API (one worker) over `store` and `models`, and the dashboard (two workers) in front of it, each logging
    into `work`; yields {"api": url, "dash": url, "env": the API's environment}. The browser tests' servers."""
    env = {"SCORING_STORE": str(store), "SCORING_MODELS": str(models), "SCORING_SECRET_KEY": "browser-tests"}
    with gunicorn("api:create_app()", env, ready_path="/ready", log_path=work / "api.log") as api:
        dash_env = {"DASHBOARD_API_URL": api, "DASHBOARD_SECRET_KEY": "dash-tests"}
        with gunicorn("dashboard.app:server", dash_env, workers=2, log_path=work / "dash.log") as dash:
            yield {"api": api, "dash": dash, "env": env}


@contextlib.contextmanager
def nginx(conf: Path, prefix: Path, ready_url: str, *, verify: str | bool = True, timeout: float = 30.0):
    """Run a real nginx in the foreground on `conf` (its pid file and logs under `prefix`) until `ready_url`
    answers; stop it (and its workers) on exit. `verify`: the CA file (or False) requests checks TLS with."""
    cmd = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"), "-g", "daemon off;"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
                raise RuntimeError(f"nginx exited with code {proc.returncode}:\n{log}")
            try:
                requests.get(ready_url, timeout=2, verify=verify)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # fast shutdown of the master and its workers
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
