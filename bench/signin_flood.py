"""Sign-in flood: wrong passwords on 8 connections while another user reads stored scores; both medians printed.

Usage: python bench/signin_flood.py [--store PATH --models DIR] [--clients N] [--seconds S] [--connections C]
Without --store/--models it builds a small synthetic portfolio first (N clients, fast training) in a temp folder.
The flood uses wrk with a Lua script when wrk is installed (`make system-deps`), else a bounded Python loop.
Target: the other user's median latency during the flood within 2x of its median without it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring import users  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

PASSWORD = "load test passphrase"
FLOOD_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/api/v1/auth/token", nil,
                    '{"username": "victim", "password": "wrong guess ' .. n .. '"}')
end
"""


def _portfolio(work: Path, n_clients: int) -> tuple[Path, Path]:
    """A small synthetic store and model of the bench's own (its own model key pair too)."""
    from scoring.store import build_store
    from scoring.synth import generate
    from scoring.train import train_model

    os.environ.setdefault("SCORING_SIGNING_KEY", str(work / "keys" / "model-signing.key"))
    os.environ.setdefault("SCORING_VERIFY_KEY", str(work / "keys" / "model-verify.pub"))
    generate(work / "raw", n_clients=n_clients, seed=3)
    train_model(work / "raw", work / "models", n_folds=3, max_rounds=100, seed=0)
    build_store(work / "raw", work / "models", work / "store.sqlite")
    return work / "store.sqlite", work / "models"


def _post(port: int, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    data = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, data


def _reader(port: int, token: str, paths: list[str], stop: threading.Event, out: list[float]) -> None:
    """The other user: one stored-score read after another, a new connection each (as a browser's API calls)."""
    i = 0
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start = time.perf_counter()
        conn.request("GET", paths[i % len(paths)], headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - start) * 1000)
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"the other user's read failed: HTTP {response.status}")
        i += 1


def _measure(port, token, paths, seconds, flood=None) -> tuple[list[float], dict]:
    latencies: list[float] = []
    stop = threading.Event()
    reader = threading.Thread(target=_reader, args=(port, token, paths, stop, latencies))
    reader.start()
    stats = flood(seconds) if flood else time.sleep(seconds) or {}
    stop.set()
    reader.join()
    return latencies, stats


def _wrk_flood(base: str, connections: int, work: Path):
    script = work / "flood.lua"
    script.write_text(FLOOD_LUA)

    def run(seconds: float) -> dict:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "-s", str(script), base],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
        total = re.search(r"(\d+) requests in", out)
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
        return {
            "tool": "wrk",
            "attempts": int(total.group(1)) if total else 0,
            "refused": int(non_2xx.group(1)) if non_2xx else 0,
            "per_second": float(rps.group(1)) if rps else 0,
        }

    return run


def _python_flood(port: int, connections: int, max_attempts: int = 200_000):
    def run(seconds: float) -> dict:
        deadline, lock, counts = time.monotonic() + seconds, threading.Lock(), {}

        def attacker(k: int) -> None:
            n = 0
            while time.monotonic() < deadline and n < max_attempts // connections:
                status, _ = _post(port, "/api/v1/auth/token", {"username": "victim", "password": f"guess {k}-{n}"})
                with lock:
                    counts[status] = counts.get(status, 0) + 1
                n += 1

        threads = [threading.Thread(target=attacker, args=(k,)) for k in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = sum(counts.values())
        return {
            "tool": "python",
            "attempts": total,
            "refused": total - counts.get(200, 0),
            "statuses": counts,
            "per_second": total / seconds,
        }

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--models", type=Path, default=None)
    parser.add_argument("--clients", type=int, default=2000, help="size of the synthetic portfolio built if no store")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    try:
        if args.store and args.models:
            store, models = work / "store.sqlite", args.models
            shutil.copy(args.store, store)  # users and attempts are written: never into the real store
        else:
            print(f"building a {args.clients:,}-client synthetic portfolio in {work} ...", flush=True)
            store, models = _portfolio(work, args.clients)
        users.add_user(store, "victim", PASSWORD, "manager")
        users.add_user(store, "reader", PASSWORD, "manager")
        from scoring.store import open_store

        ids = [c["client_id"] for c in open_store(store).list_clients(limit=200)["items"]]
        paths = [f"/api/v1/clients/{i}/score" for i in ids]
        env = {"SCORING_STORE": str(store), "SCORING_MODELS": str(models), "SCORING_SECRET_KEY": "bench-flood"}
        with gunicorn(
            "api:create_app()", env, workers=args.workers, ready_path="/ready", log_path=work / "api.log"
        ) as base:
            port = int(base.rsplit(":", 1)[1])
            status, body = _post(port, "/api/v1/auth/token", {"username": "reader", "password": PASSWORD})
            assert status == 200, body
            token = body["access_token"]
            _measure(port, token, paths, 2)  # warm-up: caches, connections
            normal, _ = _measure(port, token, paths, args.seconds)
            flood = (
                _wrk_flood(base, args.connections, work)
                if shutil.which("wrk")
                else _python_flood(port, args.connections)
            )
            flooded, stats = _measure(port, token, paths, args.seconds, flood)
        con = sqlite3.connect(store)  # every attempt that reached the password check left one row per address
        checked = con.execute("SELECT count(*) FROM signin_attempts WHERE scope = 'address'").fetchone()[0]
        con.close()
        before, during = statistics.median(normal), statistics.median(flooded)
        print(
            f"flood ({stats['tool']}, {args.connections} connections, {args.seconds:.0f} s): "
            f"{stats['attempts']:,} wrong sign-ins, {stats['per_second']:,.0f}/s; {checked:,} reached the password "
            f"check, {stats['attempts'] - checked:,} refused with 429 before it"
        )
        print(
            f"other user's GET /clients/{{id}}/score median: {before:.1f} ms normal ({len(normal):,} reads), "
            f"{during:.1f} ms during the flood ({len(flooded):,} reads): x{during / before:.2f} (target <= x2)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
