"""API benchmark: real gunicorn on loopback, a bounded load generator, throughput and p50/p99 per route, worker RSS.

Usage: python bench/api.py [--store PATH] [--models DIR] [--workers N] [--seconds S] [--rounds R]
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
from scoring.store import ClientStore, open_store  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

PASSWORD = "load test passphrase"  # the password policy refuses one holding the username


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
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rps": len(latencies) / elapsed,
        "latencies": np.array(latencies),
    }


def _measured(port, reqs, auth, connections, seconds, workers) -> dict:
    """One load run, with the CPU time the server's workers spent on it per request."""
    before = sum(w.cpu_times().user + w.cpu_times().system for w in workers)
    result = _load(port, reqs, auth, connections, seconds)
    spent = sum(w.cpu_times().user + w.cpu_times().system for w in workers) - before
    return {**result, "cpu_ms": 1000 * spent / max(result["requests"], 1)}


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
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the GET scenarios, alternated")
    parser.add_argument("--clients", type=int, default=2000, help="distinct random client ids to request")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    store_path = work / "store.sqlite"
    shutil.copy(args.store, store_path)  # users and the audit log are written: never into the real store
    users.add_user(store_path, "bench", PASSWORD, "manager")
    store = open_store(store_path)
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
        master = next(
            p
            for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"]
            and f"127.0.0.1:{port}" in " ".join(p.info["cmdline"])
            and "gunicorn" in " ".join(p.info["cmdline"])
        )
        workers = master.children()
        scenarios = {
            "GET /health (8 conn)": ([("GET", "/health", None)], 8),
            "GET /clients/{id}/score (8 conn)": ([("GET", f"/api/v1/clients/{i}/score", None) for i in ids], 8),
            "GET /clients/{id}/explanation (8 conn)": (
                [("GET", f"/api/v1/clients/{i}/explanation", None) for i in ids],
                8,
            ),
        }
        post = ([("POST", "/api/v1/score", _applicant(store, i)) for i in ids[:200]], 1)
        for reqs, connections in [*scenarios.values(), post]:
            _load(port, reqs[:50], auth, connections, 1.0)  # warm-up: caches, first-call costs
        # the GET scenarios alternate over several rounds so that a slow spell of the machine hits them alike
        runs: dict[str, list[dict]] = {name: [] for name in scenarios}
        for _ in range(args.rounds):
            for name, (reqs, connections) in scenarios.items():
                runs[name].append(_measured(port, reqs, auth, connections, args.seconds, workers))
        rss_get = [round(w.memory_info().rss / 2**20, 1) for w in workers]
        runs["POST /score, application only (1 conn)"] = [
            _measured(port, post[0], auth, post[1], args.seconds, workers)
        ]
        rss = [round(w.memory_info().rss / 2**20, 1) for w in workers]
    print(
        f"store: {args.store} ({total:,} clients, {meta.get('data_source')}), workers: {args.workers}, "
        f"{args.rounds} rounds of {args.seconds:.0f} s per GET scenario, {psutil.cpu_count()} cores shared by client "
        "and server"
    )
    print(f"{'scenario':42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU ms/req':>18} {'errors':>7}")
    for name, rs in runs.items():
        rps = float(np.median([r["rps"] for r in rs]))
        lat = np.concatenate([r["latencies"] for r in rs])
        cpu = float(np.median([r["cpu_ms"] for r in rs]))
        errors = sum(r["errors"] for r in rs)
        print(
            f"{name:42} {rps:8.0f} {np.percentile(lat, 50):8.2f} {np.percentile(lat, 99):8.2f} {cpu:18.3f} {errors:7d}"
        )
    ratios = [
        e["rps"] / h["rps"]
        for e, h in zip(runs["GET /clients/{id}/explanation (8 conn)"], runs["GET /health (8 conn)"], strict=True)
    ]
    explain = np.concatenate([r["latencies"] for r in runs["GET /clients/{id}/explanation (8 conn)"]])
    post_p99 = np.percentile(runs["POST /score, application only (1 conn)"][0]["latencies"], 99)
    print(
        f"explanation / health throughput: median {np.median(ratios):.2f} over {len(ratios)} rounds "
        f"({', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.5); "
        f"explanation p99 {np.percentile(explain, 99):.1f} ms (target <= 20); POST p99 {post_p99:.1f} ms (target <= 50)"
    )
    print(f"worker RSS (MB) after the GET scenarios: {rss_get}; after the POST one: {rss} (target <= 250 each)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
