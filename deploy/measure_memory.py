#!/usr/bin/env python
"""Memory of one API worker and one dashboard worker after warm-up: the figures behind deploy/README.md's budget.

Run in the repository after `make demo` (it needs the model, the store and data/processed/demo_credentials.json):
    .venv/bin/python deploy/measure_memory.py [--api-port 5390] [--dashboard-port 8390]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.config import settings  # noqa: E402


def _start(app: str, port: int, env: dict) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        app,
    ]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _wait(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server for {url} exited with code {proc.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def _warm_up(api: str, dash: str | None, username: str, password: str, n_clients: int) -> int:
    """Exercise the routes a dashboard session uses, so caches and lazy imports are loaded before measuring."""
    token = requests.post(
        f"{api}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    calls = 0
    items = requests.get(f"{api}/api/v1/clients?limit={n_clients}", headers=auth, timeout=10).json()["items"]
    top = requests.get(f"{api}/api/v1/model/importance?top=3", headers=auth, timeout=10).json()
    features = [row["feature"] for row in top["items"]][:2]
    for item in items:
        cid = item["client_id"]
        for path in (f"/api/v1/clients/{cid}", f"/api/v1/clients/{cid}/score", f"/api/v1/clients/{cid}/explanation"):
            requests.get(api + path, headers=auth, timeout=10)
            calls += 1
        for feature in features:
            requests.get(
                f"{api}/api/v1/features/{feature}/distribution?bins=30&client_id={cid}", headers=auth, timeout=10
            )
            calls += 1
    applicant = {
        "application": {
            "AMT_INCOME_TOTAL": 180000,
            "AMT_CREDIT": 450000,
            "AMT_ANNUITY": 22500,
            "AMT_GOODS_PRICE": 405000,
            "DAYS_BIRTH": -12000,
            "DAYS_EMPLOYED": -2000,
            "CODE_GENDER": "F",
            "NAME_CONTRACT_TYPE": "Cash loans",
            "EXT_SOURCE_2": 0.6,
        }
    }
    for _ in range(20):  # new applicants: features from records and online TreeSHAP
        requests.post(f"{api}/api/v1/score", json=applicant, headers=auth, timeout=10).raise_for_status()
        calls += 1
    for path in ("/", "/_dash-layout", "/_dash-dependencies") if dash else ():
        requests.get(dash + path, timeout=10)
        calls += 1
    return calls


def _memory(proc: subprocess.Popen) -> dict:
    master = psutil.Process(proc.pid)
    workers = master.children(recursive=True)

    def mb(value: int) -> float:
        return round(value / 2**20, 1)

    out = {"master_rss_mb": mb(master.memory_info().rss)}
    infos = [w.memory_full_info() for w in workers]
    out["worker_rss_mb"] = [mb(i.rss) for i in infos]
    out["worker_uss_mb"] = [mb(i.uss) for i in infos]
    out["worker_pss_mb"] = [mb(i.pss) for i in infos]
    return out


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-port", type=int, default=5390)
    parser.add_argument("--dashboard-port", type=int, default=8390)
    parser.add_argument("--clients", type=int, default=50, help="clients read during warm-up")
    parser.add_argument("--api-only", action="store_true", help="measure the API alone (no dashboard)")
    args = parser.parse_args()
    s = settings()
    creds_path = ROOT / s.store_path.parent / "demo_credentials.json"
    if not creds_path.exists():
        raise SystemExit(f"{creds_path} is missing: run `make demo` once first")
    manager = next(u for u in json.loads(creds_path.read_text())["users"] if u["role"] == "manager")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    api_url, dash_url = f"http://127.0.0.1:{args.api_port}", f"http://127.0.0.1:{args.dashboard_port}"
    api = _start("api:create_app()", args.api_port, env)
    dash = (
        None
        if args.api_only
        else _start("dashboard.app:server", args.dashboard_port, {**env, "DASHBOARD_API_URL": api_url})
    )
    try:
        _wait(f"{api_url}/ready", api)
        if dash:
            _wait(f"{dash_url}/", dash)
        calls = _warm_up(api_url, dash_url if dash else None, manager["username"], manager["password"], args.clients)
        meta = requests.get(f"{api_url}/ready", timeout=5).json()
        result = {
            "store": str(s.store_path),
            "warm_up_requests": calls,
            "ready": meta,
            "api": _memory(api),
            "dashboard": _memory(dash) if dash else None,
        }
        print(json.dumps(result, indent=2))
    finally:
        _stop(api)
        if dash:
            _stop(dash)
    return 0


if __name__ == "__main__":
    sys.exit(main())
