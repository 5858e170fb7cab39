"""Client store benchmark: build time and peak RSS, file size, point-lookup latency and reader RSS.

    nice -n 10 .venv/bin/python bench/store.py --data /tmp/fullsynth --models models --store /tmp/bench/store.sqlite

The build runs in a child process so its peak RSS (ru_maxrss of the children) is measured alone; the lookups run in
another fresh child, as an API worker would, and report its RSS after every kind of lookup.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_BUILD = """
import sys, time
from scoring.store import build_store
t = time.perf_counter()
n = build_store(sys.argv[1], sys.argv[2], sys.argv[3])
print(n, time.perf_counter() - t)
"""

_LOOKUPS = """
import json, sys, time
import numpy as np, psutil
from scoring.store import open_store
from scoring import reasons

rss0 = psutil.Process().memory_info().rss
store = open_store(sys.argv[1])
n_lookups = int(sys.argv[2])
meta = store.meta()
rng = np.random.default_rng(0)
total = store.list_clients(limit=1)["total"]
# distinct random clients, so most lookups read pages that are not cached yet
ids = [store.list_clients(limit=1, offset=int(o))["items"][0]["client_id"]
       for o in rng.choice(total, size=min(n_lookups, total), replace=False)]
ids = [ids[i % len(ids)] for i in range(n_lookups)]
numeric = meta["numeric_features"]
pair = lambda i: (numeric[i % len(numeric)], numeric[(i + 7) % len(numeric)])  # noqa: E731

def explain(cid):
    e = store.get_explanation(cid)
    top = sorted(e["shap"], key=lambda f: -abs(e["shap"][f]))[:4]
    pct = {f: store.percentile(f, e["values"][f]) if f in numeric else None for f in top}
    return reasons.reasons(e, pct, top=4)

calls = {
    "get_score": lambda i, cid: store.get_score(cid),
    "get_client": lambda i, cid: store.get_client(cid),
    "get_explanation": lambda i, cid: store.get_explanation(cid),
    "explanation_with_reasons": lambda i, cid: explain(cid),
    "list_clients_page": lambda i, cid: store.list_clients(limit=20, offset=(i * 997) % total),
    "list_clients_search": lambda i, cid: store.list_clients(search=str(cid)[:4], limit=20),
    "percentile": lambda i, cid: store.percentile(numeric[i % len(numeric)], 0.5),
    "distribution": lambda i, cid: store.distribution(numeric[i % len(numeric)], 30),
    "density": lambda i, cid: store.density(*pair(i), 20),
    "sample_points": lambda i, cid: store.sample_points(*pair(i), 2000),
}
out = {}
for name, call in calls.items():
    k = n_lookups if name.startswith(("get_", "explanation", "percentile")) else max(n_lookups // 10, 20)
    times = []
    for i in range(k):
        t = time.perf_counter()
        call(i, ids[i])
        times.append((time.perf_counter() - t) * 1000)
    times = np.array(times)
    out[name] = {"n": k, "p50_ms": round(float(np.percentile(times, 50)), 3),
                 "p99_ms": round(float(np.percentile(times, 99)), 3)}
out["reader_rss_mb_start"] = round(rss0 / 2**20, 1)
out["reader_rss_mb_after"] = round(psutil.Process().memory_info().rss / 2**20, 1)
print(json.dumps(out))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/fullsynth"))
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--store", type=Path, default=Path("/tmp/bench_store/store.sqlite"))
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--skip-build", action="store_true", help="measure lookups on an existing store")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    result: dict = {"data": str(args.data), "models": str(args.models), "store": str(args.store)}
    py = sys.executable
    if not args.skip_build:
        args.store.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        done = subprocess.run(
            [py, "-c", _BUILD, str(args.data), str(args.models), str(args.store)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        n, seconds = done.stdout.split()[-2:]
        result["build"] = {
            "clients": int(n),
            "seconds": round(float(seconds), 1),
            "wall_seconds": round(time.perf_counter() - t, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        }
    size = sum(p.stat().st_size for p in args.store.parent.glob(args.store.name + "*") if p.is_file())
    result["store_mb"] = round(size / 2**20, 1)
    done = subprocess.run(
        [py, "-c", _LOOKUPS, str(args.store), str(args.lookups)], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return 1
    result["lookups"] = json.loads(done.stdout.strip().splitlines()[-1])
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
