"""Store backends side by side: build-store time into a SQLite file and into PostgreSQL (COPY), the migration of
the file, and from one process, for the same clients, the latency (p50/p90/p99) on each of get_explanation, of
what every authenticated request adds (the user row a token is checked against, one audit append) and of a
request's generation pin; then audit appends from 4 processes at once into one chain (appends/s, chain verified).

    nice -n 10 .venv/bin/python bench/store_backends.py --data /tmp/synth --models /tmp/models [--url postgresql://...]

Without --url a throwaway PostgreSQL cluster is started in a temporary folder (tests/postgres.py) and removed after.
The URL is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(action):
    start = time.perf_counter()
    out = action()
    return out, time.perf_counter() - start


def _latency(store, ids) -> dict:
    for cid in ids[:50]:  # warm the pool, the layout cache and the server's plan cache
        store.get_explanation(cid)
    times = []
    for cid in ids:
        start = time.perf_counter()
        assert store.get_explanation(cid) is not None
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1e3
    return {q: round(float(np.percentile(ms, p)), 3) for q, p in (("p50_ms", 50), ("p90_ms", 90), ("p99_ms", 99))}


def _percentiles(times: list[float]) -> dict:
    ms = np.array(times) * 1e3
    return {q: round(float(np.percentile(ms, p)), 3) for q, p in (("p50_ms", 50), ("p90_ms", 90), ("p99_ms", 99))}


def _timed_each(action, n: int) -> dict:
    for _ in range(20):  # warm-up
        action()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return _percentiles(times)


def _append(location) -> None:
    from scoring import audit

    audit.append_audit(
        location, user="bench", role="manager", client_id=1, route="GET /x", outcome="ok", model_version="v"
    )


def _appender(location: str, n: int, queue) -> None:
    start = time.perf_counter()
    for _ in range(n):
        _append(location)
    queue.put(time.perf_counter() - start)


def _concurrent_appends(location, processes: int = 4, each: int = 500) -> dict:
    """`processes` processes appending `each` entries at once: appends/s over all, and the chain still verifies."""
    import multiprocessing

    from scoring import audit

    ctx = multiprocessing.get_context("spawn")  # no inherited connection or pool
    queue = ctx.Queue()
    procs = [ctx.Process(target=_appender, args=(str(location), each, queue)) for _ in range(processes)]
    start = time.perf_counter()
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - start  # includes starting the processes (imports)
    busiest = max(queue.get() for _ in procs)
    report = audit.verify_audit(location)
    return {
        "processes": processes,
        "appends": processes * each,
        "appends_per_s": round(processes * each / busiest, 1),
        "wall_s_with_start": round(wall, 2),
        "chain_ok": report["ok"],
        "chained": report["chained"],
    }


def _kept(location, store, n: int) -> dict:
    from scoring import users

    users.add_user(location, "bench", "correct horse battery staple 9", "manager")
    return {
        "get_user": _timed_each(lambda: users.get_user(location, "bench"), n),
        "audit_append": _timed_each(lambda: _append(location), n),
        "pin_generation": _timed_each(store.pin_generation, n),
        "concurrent_audit_appends": _concurrent_appends(location),
    }


def run(data: Path, models: Path, url: str | None, lookups: int) -> dict:
    from scoring.store import build_store, migrate_store, open_store

    cluster = None
    if url is None:
        from tests.postgres import Cluster, unavailable

        reason = unavailable()
        if reason:
            raise SystemExit(f"no PostgreSQL: {reason}")
        cluster = Cluster().start()
    try:
        built_url = url or cluster.database()
        moved_url = cluster.database() if cluster else None
        with tempfile.TemporaryDirectory(prefix="bench-backends-") as work:
            path = Path(work) / "store.sqlite"
            n, sqlite_s = _timed(lambda: build_store(data, models, path))
            _, postgres_s = _timed(lambda: build_store(data, models, built_url))
            figures = {"clients": n, "build_sqlite_s": round(sqlite_s, 2), "build_postgres_s": round(postgres_s, 2)}
            if moved_url:
                _, figures["migrate_s"] = _timed(lambda: migrate_store(path, moved_url))
                figures["migrate_s"] = round(figures["migrate_s"], 2)
            file_store, pg_store = open_store(path), open_store(built_url)
            total = file_store.list_clients(limit=1)["total"]
            rng = np.random.default_rng(0)
            offsets = rng.choice(total, size=min(lookups, total), replace=False)
            ids = [file_store.list_clients(limit=1, offset=int(o))["items"][0]["client_id"] for o in offsets]
            figures["get_explanation_sqlite"] = _latency(file_store, ids)
            figures["get_explanation_postgres"] = _latency(pg_store, ids)
            figures["kept_sqlite"] = _kept(path, file_store, lookups)
            figures["kept_postgres"] = _kept(built_url, pg_store, lookups)
            figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
        return figures
    finally:
        if cluster is not None:
            cluster.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="raw tables (e.g. python -m scoring synth)")
    parser.add_argument("--models", type=Path, required=True, help="a trained model bundle")
    parser.add_argument("--url", default=None, help="postgresql:// URL of an empty database (default: a throwaway)")
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.data, args.models, args.url, args.lookups), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
