"""Counterfactual benchmark: the search's time per client over many declined, referred or counter-offered stored
clients (p50/p95/p99 in process, and through GET /api/v1/clients/{id}/counterfactuals on Flask's test client),
and the share of clients with at least one option, by outcome.

Usage: python bench/counterfactuals.py [--models DIR --store PATH] [--clients N]
Without --models/--store it makes a synthetic portfolio of 6,000 clients, a model and a store in a temporary
folder first (about a minute on 2 cores). Target: p99 at most 100 ms per client (DiCE: about 2 s per instance).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring import users  # noqa: E402

PASSWORD = "load test passphrase"


def _percentiles(ms: list[float]) -> str:
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {max(ms):.1f} ms (n={len(ms)})"


def _not_approved(store: Path, n: int) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(store)) as con:
        rows = con.execute(
            "SELECT client_id, outcome FROM decisions WHERE outcome IN ('decline', 'refer', 'counter_offer') "
            "ORDER BY client_id LIMIT ?",
            (n,),
        )
        return [(int(cid), outcome) for cid, outcome in rows]


def in_process(models: Path, store_path: Path, clients) -> None:
    from scoring.bundle import ModelBundle
    from scoring.counterfactuals import Client, search
    from scoring.decision import load_policy
    from scoring.store import open_store

    bundle = ModelBundle.load(models)
    policy = load_policy(ROOT / "policies" / "example.yaml", grades=bundle.grades)
    store = open_store(store_path)
    times, statuses, kinds = [], collections.Counter(), collections.Counter()
    for i, (cid, outcome) in enumerate(clients):
        start = time.perf_counter()
        stored, decision = store.get_client(cid), store.get_decision(cid)
        found = search(bundle, policy, Client(stored["application"], stored["features"], decision["policy_inputs"]))
        if i >= 3:  # the first calls open the feature connection and warm the model
            times.append((time.perf_counter() - start) * 1000)
        statuses[(outcome, found.status, found.reason)] += 1
        kinds.update(o.kind for o in found.options)
    print(f"in process, per client (store read, search, re-scoring): {_percentiles(times)}")
    by_outcome = collections.defaultdict(lambda: [0, 0])
    for (outcome, status, _), count in statuses.items():
        by_outcome[outcome][0] += count
        by_outcome[outcome][1] += count if status == "options" else 0
    total, with_options = sum(v[0] for v in by_outcome.values()), sum(v[1] for v in by_outcome.values())
    print(f"clients with at least one option: {with_options}/{total} ({100 * with_options / total:.0f} %)")
    for outcome, (n, ok) in sorted(by_outcome.items()):
        print(f"  {outcome}: {ok}/{n} ({100 * ok / n:.0f} %)")
    reasons = collections.Counter()
    for (_, status, reason), count in statuses.items():
        if status == "none":
            reasons[reason] += count
    print(f"status none, by reason: {dict(reasons)}")
    print(f"options by kind: {dict(kinds.most_common())}")


def through_api(models: Path, store: Path, clients) -> None:
    from api import create_app

    app = create_app({"STORE_PATH": store, "MODELS_DIR": models, "SECRET_KEY": "bench"})
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "bench", "password": PASSWORD}).json["access_token"]
    heads, times = {"Authorization": f"Bearer {token}"}, []
    for i, (cid, _) in enumerate(clients):
        start = time.perf_counter()
        answer = client.get(f"/api/v1/clients/{cid}/counterfactuals", headers=heads)
        if i >= 3:
            times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    print(f"GET /api/v1/clients/{{id}}/counterfactuals, Flask test client (audited): {_percentiles(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--clients", type=int, default=500, help="declined, referred or counter-offered clients")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-counterfactuals-"))
    try:
        if args.models is None or args.store is None:
            from scoring.store import build_store
            from scoring.synth import generate
            from scoring.train import train_model

            os.environ.setdefault("SCORING_SIGNING_KEY", str(work / "keys" / "model-signing.key"))
            os.environ.setdefault("SCORING_VERIFY_KEY", str(work / "keys" / "model-verify.pub"))
            started = time.perf_counter()
            generate(work / "raw", n_clients=6000, seed=3)
            args.models, args.store = work / "models", work / "store.sqlite"
            train_model(work / "raw", args.models, n_folds=3)
            build_store(work / "raw", args.models, args.store)
            print(f"set-up (synthetic 6,000 clients, model, store): {time.perf_counter() - started:.0f} s")
        clients = _not_approved(args.store, args.clients)
        print(f"{len(clients)} declined, referred or counter-offered clients")
        in_process(args.models, args.store, clients)
        served = work / "served.sqlite"
        shutil.copy(args.store, served)
        users.add_user(served, "bench", PASSWORD, "manager")
        through_api(args.models, served, clients)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
