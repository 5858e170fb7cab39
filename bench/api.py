"""API benchmark: real gunicorn on loopback, a bounded load generator, throughput and p50/p99 per route, worker RSS.

Usage: python bench/api.py [--store PATH] [--models DIR] [--workers N] [--seconds S]
Defaults: the demo store and models (data/processed/store.sqlite, models/). Targets on 2 cores: stored-client
explanation throughput >= half of /health's with p99 <= 20 ms at 8 connections; new-applicant POST p99 <= 50 ms
at 1 connection; each worker's RSS <= 250 MB on the full-scale (356k clients) store.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring import users  # noqa: E402
from scoring.store import ClientStore  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

PASSWORD = "benchmark password"


def _load(port: int, requests_: list[tuple[str, str, bytes | None]], headers: dict, connections: int, seconds: float):
    """`connections` threads, each looping over its requests until the time is up; latencies in ms."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(seed: int):
        rng = random.Random(seed)
        local, bad = [], 0
        while time.perf_counter() < deadline:
            method, path, body = rng.choice(requests_)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    bad += 1
            except OSError:
                bad += 1
            finally:
                conn.close()
            local.append((time.perf_counter() - start) * 1000)
        with lock:
            latencies.extend(local)
            errors[0] += bad

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    lat = np.array(latencies)
    return {
        "requests": len(lat),
        "errors": errors[0],
        "rps": len(lat) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


def _applicant(store: ClientStore, cid: int) -> bytes:
    from scoring.tables import SCHEMAS

    app = store.get_client(cid)["application"]
    app = {
        k: (int(v) if SCHEMAS["application_test"][k] == "int" else v)
        for k, v in app.items()
        if v is not None and k != "SK_ID_CURR"
    }
    return json.dumps({"application": app}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=ROOT / "data/processed/store.sqlite")
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=2000, help="distinct random client ids to request")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    store_path = work / "store.sqlite"
    shutil.copy(args.store, store_path)  # users and the audit log are written: never into the real store
    users.add_user(store_path, "bench", PASSWORD, "manager")
    store = ClientStore(store_path)
    meta = store.meta()
    total = meta["n_clients"]
    ids = [c["client_id"] for c in store.list_clients(limit=1, offset=0)["items"]]
    rng = random.Random(0)
    offsets = rng.sample(range(total), min(args.clients, total))
    ids = [store.list_clients(limit=1, offset=o)["items"][0]["client_id"] for o in offsets]
    env = {"SCORING_STORE": str(store_path), "SCORING_MODELS": str(args.models), "SCORING_SECRET_KEY": "bench"}
    with gunicorn(
        "api:create_app()", env, workers=args.workers, ready_path="/ready", log_path=work / "api.log"
    ) as base:
        port = int(base.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request(
            "POST",
            "/api/v1/auth/token",
            body=json.dumps({"username": "bench", "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        token = json.loads(conn.getresponse().read())["access_token"]
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        scenarios = {
            "GET /health (8 conn)": ([("GET", "/health", None)], 8),
            "GET /clients/{id}/score (8 conn)": ([("GET", f"/api/v1/clients/{i}/score", None) for i in ids], 8),
            "GET /clients/{id}/explanation (8 conn)": (
                [("GET", f"/api/v1/clients/{i}/explanation", None) for i in ids],
                8,
            ),
            "POST /score, application only (1 conn)": (
                [("POST", "/api/v1/score", _applicant(store, i)) for i in ids[:200]],
                1,
            ),
        }
        results = {}
        for name, (reqs, connections) in scenarios.items():
            _load(port, reqs[:50], auth, connections, 1.0)  # warm-up: caches, first-call costs
            results[name] = _load(port, reqs, auth, connections, args.seconds)
        master = next(
            p
            for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"]
            and f"127.0.0.1:{port}" in " ".join(p.info["cmdline"])
            and "gunicorn" in " ".join(p.info["cmdline"])
        )
        rss = [round(c.memory_info().rss / 2**20, 1) for c in master.children()]
    print(
        f"store: {args.store} ({total:,} clients, {meta.get('data_source')}), workers: {args.workers}, "
        f"{args.seconds:.0f} s per scenario, {psutil.cpu_count()} cores shared by client and server"
    )
    print(f"{'scenario':42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:42} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['errors']:7d}")
    health = results["GET /health (8 conn)"]["rps"]
    explain = results["GET /clients/{id}/explanation (8 conn)"]
    post = results["POST /score, application only (1 conn)"]
    print(
        f"explanation / health throughput: {explain['rps'] / health:.2f} (target >= 0.5); "
        f"explanation p99 {explain['p99_ms']:.1f} ms (target <= 20); POST p99 {post['p99_ms']:.1f} ms (target <= 50)"
    )
    print(f"worker RSS after the run (MB): {rss} (target <= 250 each)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
