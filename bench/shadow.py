"""Shadow scoring's cost: POST /api/v1/score with and without a challenger, on real gunicorn driven by wrk, and in
process (Flask's test client): the answer's latency, and what the challenger adds after it.

Usage: python bench/shadow.py [--clients N] [--seconds S] [--rounds R] [--work DIR]
A synthetic store of N clients (bench/api.py's, built once under --work) with its LightGBM model as champion and a
scorecard trained on the same data as challenger, in a model registry beside it. One gunicorn worker serves both
set-ups: the challenger alias is switched between rounds (the worker follows it without restart), so the two
set-ups alternate on the same process and a slow spell of the machine hits both alike. Target: the answer no more
than 10 % slower with a challenger.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import PASSWORD, _applicant, _cpu, _token, _workers_of, _wrk, bench_store  # noqa: E402
from scoring import registry, users  # noqa: E402
from scoring.store import open_store  # noqa: E402
from tests.servers import gunicorn  # noqa: E402


def _registry(work: Path, raw: Path, models: Path) -> tuple[Path, str, str]:
    """models/ (the LightGBM bundle) adopted as champion of a registry, a scorecard added as challenger; reused."""
    from scoring.train import train_model

    reg = work / "registry"
    if registry.is_registry(reg):
        state = registry.read_registry(reg)
        if state["challenger"]:
            return reg, state["champion"], state["challenger"]
        shutil.rmtree(reg)
    shutil.copytree(models, reg)
    champion = registry.init_registry(reg, "bench")
    card = work / "scorecard"
    shutil.rmtree(card, ignore_errors=True)
    print("training the challenger (scorecard, 3 folds) once", flush=True)
    train_model(raw, card, n_folds=3, seed=0, kind="scorecard")
    challenger = registry.add_version(reg, card, "bench")
    registry.set_challenger(reg, challenger, "bench")
    return reg, champion, challenger


def _shadow_rows(store: Path) -> int:
    with closing(sqlite3.connect(store)) as con:
        try:
            return con.execute("SELECT count(*) FROM shadow_scores").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def in_process(store: Path, reg: Path, challenger: str, bodies: list[bytes], n: int) -> dict:
    """Flask's test client: the answer's time (the view) and the close (where the challenger runs), per set-up."""
    from api import create_app

    app = create_app({"STORE_PATH": store, "MODELS_DIR": reg, "SECRET_KEY": "bench"})
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "bench", "password": PASSWORD}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    times: dict = {"without": ([], []), "with": ([], [])}
    for i in range(n * 2 + 40):
        setup = "with" if (i // 20) % 2 else "without"  # alternate blocks of 20
        registry.set_challenger(reg, challenger if setup == "with" else None, "bench")
        started = time.perf_counter()
        response = client.post("/api/v1/score", data=bodies[i % len(bodies)], headers=headers)
        answered = time.perf_counter()
        response.close()
        closed = time.perf_counter()
        assert response.status_code == 200, response.get_data(as_text=True)
        if i >= 40:  # the first blocks warm caches up
            times[setup][0].append((answered - started) * 1000)
            times[setup][1].append((closed - answered) * 1000)
    return {
        setup: {
            "answer_p50": float(np.percentile(a, 50)),
            "answer_p99": float(np.percentile(a, 99)),
            "after_answer_p50": float(np.percentile(c, 50)),
            "n": len(a),
        }
        for setup, (a, c) in times.items()
    }


def served(store: Path, reg: Path, challenger: str, bodies: list[bytes], args, work: Path) -> dict:
    """wrk on one gunicorn worker, one connection, the challenger switched on and off between rounds."""
    env = {"SCORING_STORE": str(store), "SCORING_MODELS": str(reg), "SCORING_SECRET_KEY": "bench"}
    runs: dict = {"without": [], "with": []}
    with gunicorn("api:create_app()", env, workers=1, ready_path="/ready", log_path=work / "api-shadow.log") as base:
        port = int(base.rsplit(":", 1)[1])
        auth = {"Authorization": f"Bearer {_token(port)}"}
        workers = _workers_of(port)
        requests_ = [("POST", "/api/v1/score", b) for b in bodies]
        _wrk(work, port, requests_[:50], auth, 1, 2.0)  # warm-up
        for _ in range(args.rounds):
            for setup in ("without", "with"):
                registry.set_challenger(reg, challenger if setup == "with" else None, "bench")
                _wrk(work, port, requests_[:5], auth, 1, 1)  # the worker follows the alias
                rows, cpu = _shadow_rows(store), _cpu(workers)
                result = _wrk(work, port, requests_, auth, 1, args.seconds)
                result["cpu_ms"] = 1000 * (_cpu(workers) - cpu) / max(result["requests"], 1)
                result["shadow_rows"] = _shadow_rows(store) - rows
                runs[setup].append(result)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-process", type=int, default=300, help="requests per set-up in process")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "scoring-bench-shadow")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)
    store, models = bench_store(args.work, args.clients)
    reg, champion, challenger = _registry(args.work, args.work / "raw", models)
    if "bench" not in {u["username"] for u in users.list_users(store)}:
        users.add_user(store, "bench", PASSWORD, "service")
    clients = open_store(store)
    ids = [c["client_id"] for c in clients.list_clients(limit=200)["items"]]
    bodies = [_applicant(clients, i) for i in ids]
    print(f"champion {champion}, challenger {challenger}; load average {os.getloadavg()[0]:.1f}", flush=True)

    inproc = in_process(store, reg, challenger, bodies, args.in_process)
    print("in process (Flask test client), POST /api/v1/score:")
    for setup, r in inproc.items():
        print(
            f"  {setup:<8} challenger: answer p50 {r['answer_p50']:.2f} ms, p99 {r['answer_p99']:.2f} ms; "
            f"after the answer (close) p50 {r['after_answer_p50']:.2f} ms ({r['n']} requests)"
        )
    ratio = inproc["with"]["answer_p50"] / inproc["without"]["answer_p50"]
    print(f"  answer p50 with / without: {ratio:.3f}")

    runs = served(store, reg, challenger, bodies, args, args.work)
    print(f"gunicorn (1 gevent worker), wrk, 1 connection, {args.rounds} alternated rounds of {args.seconds:g} s:")
    summary = {}
    for setup, rounds in runs.items():
        summary[setup] = {k: statistics.median(r[k] for r in rounds) for k in ("rps", "p50", "p99", "cpu_ms")}
        summary[setup]["shadow_rows"] = sum(r["shadow_rows"] for r in rounds)
        summary[setup]["errors"] = sum(r["errors"] for r in rounds)
        s = summary[setup]
        print(
            f"  {setup:<8} challenger: {s['rps']:.0f} req/s, p50 {s['p50']:.2f} ms, p99 {s['p99']:.2f} ms, "
            f"server CPU {s['cpu_ms']:.2f} ms/request, shadow rows {s['shadow_rows']:,}, errors {s['errors']}"
        )
    for key in ("p50", "p99", "cpu_ms"):
        print(f"  {key} with / without: {summary['with'][key] / summary['without'][key]:.3f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(json.dumps({"in_process": inproc, "served": summary}))


if __name__ == "__main__":
    main()
