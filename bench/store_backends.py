"""Store backends side by side: build-store time into a SQLite file and into PostgreSQL (COPY), the migration of
the file, and get_explanation latency (p50/p90/p99) on each, from one process, for the same clients.

    nice -n 10 .venv/bin/python bench/store_backends.py --data /tmp/synth --models /tmp/models [--url postgresql://...]

Without --url a throwaway PostgreSQL cluster is started in a temporary folder (tests/postgres.py) and removed after.
The URL is never printed.
"""

from __future__ import annotations

import argparse
import json
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
