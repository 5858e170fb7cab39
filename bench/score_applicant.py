"""A new applicant with a history: POST /api/v1/score end to end, and where its time goes.

Usage: python bench/score_applicant.py [--clients N] [--rows R] [--requests K] [--seconds S] [--work DIR]
On bench/api.py's synthetic store (built once under --work), the client whose history is closest to R rows (500)
is posted as a caller would (application fields and every history record, no NaN), through Flask's test client
(the whole request, then its steps alone: features and policy inputs, PD with exact SHAP, the decision) and
through real gunicorn (one gevent worker) driven by wrk on one connection. Target (#14): p99 at most 50 ms for
the whole request, the applicant's features equal to the batch build's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import PASSWORD, _cpu, _token, _workers_of, _wrk, bench_store  # noqa: E402
from scoring import users  # noqa: E402
from scoring.tables import read_table  # noqa: E402
from tests.api_fixtures import posted_applicant  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

_HISTORY = ("bureau", "previous_application", "POS_CASH_balance", "installments_payments", "credit_card_balance")


def _busy_client(raw: Path, rows: int) -> int:
    """The client of application_train whose history row count is closest to `rows`."""
    counts = pd.Series(0, dtype="int64")
    for table in _HISTORY:
        counts = counts.add(read_table(raw, table, ["SK_ID_CURR"])["SK_ID_CURR"].value_counts(), fill_value=0)
    bureau = read_table(raw, "bureau", ["SK_ID_CURR", "SK_ID_BUREAU"])
    balance = read_table(raw, "bureau_balance", ["SK_ID_BUREAU"])["SK_ID_BUREAU"].value_counts()
    per_client = bureau.assign(n=bureau["SK_ID_BUREAU"].map(balance).fillna(0)).groupby("SK_ID_CURR")["n"].sum()
    counts = counts.add(per_client, fill_value=0)
    train = set(read_table(raw, "application_train", ["SK_ID_CURR"])["SK_ID_CURR"])
    counts = counts[counts.index.isin(train)]
    return int((counts - rows).abs().idxmin())


def applicant_body(raw: Path, cid: int) -> tuple[dict, int]:
    """The client's application (no target, no id) and history, as POST /api/v1/score takes them; history rows."""
    body = posted_applicant(raw, cid)
    return body, sum(len(v) for v in body["history"].values())


def _percentiles(ms: list[float]) -> str:
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return f"p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms"


def _timed(action, n: int) -> list[float]:
    for _ in range(10):
        action()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        out.append((time.perf_counter() - start) * 1000)
    return out


def in_process(store: Path, models: Path, body: dict, n: int) -> None:
    """The whole request through Flask's test client, then each step of it alone on the same applicant."""
    from api import create_app
    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy
    from scoring.decision.service import applicant_frames, decide_features
    from scoring.features import features_and_policy_inputs_from_records

    app = create_app({"STORE_PATH": store, "MODELS_DIR": models, "SECRET_KEY": "bench"})
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "bench", "password": PASSWORD}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode()

    def post():
        response = client.post("/api/v1/score", data=data, headers=headers)
        response.close()
        assert response.status_code == 200, response.get_data(as_text=True)

    cpu = time.process_time()
    whole = _timed(post, n)
    cpu_ms = (time.process_time() - cpu) * 1000 / (n + 10)
    print(f"  whole request (auth, validation, features, PD, SHAP, decision, JSON): {_percentiles(whole)}")
    print(f"    CPU {cpu_ms:.1f} ms per request")
    bundle, policy = ModelBundle.load(models), load_policy(None)
    application, history = applicant_frames([(body["application"], body["history"])])
    features_ms = _timed(lambda: features_and_policy_inputs_from_records(application, history), n)
    print(f"  features and policy inputs (the DuckDB statements): {_percentiles(features_ms)}")
    feats, inputs = features_and_policy_inputs_from_records(application, history)
    model_ms = _timed(lambda: bundle.score_and_explain(feats), n)
    print(f"  PD, grade and exact SHAP: {_percentiles(model_ms)}")
    decide_ms = _timed(lambda: decide_features(bundle, policy, feats, inputs, explain=False), n)
    print(f"  PD and policy decision (no SHAP): {_percentiles(decide_ms)}")


def served(store: Path, models: Path, body: dict, seconds: float, work: Path) -> None:
    env = {"SCORING_STORE": str(store), "SCORING_MODELS": str(models), "SCORING_SECRET_KEY": "bench"}
    with gunicorn("api:create_app()", env, workers=1, ready_path="/ready", log_path=work / "api-applicant.log") as base:
        port = int(base.rsplit(":", 1)[1])
        auth = {"Authorization": f"Bearer {_token(port)}"}
        workers = _workers_of(port)
        requests_ = [("POST", "/api/v1/score", json.dumps(body).encode())]
        _wrk(work, port, requests_, auth, 1, 2)  # warm-up
        cpu = _cpu(workers)
        r = _wrk(work, port, requests_, auth, 1, seconds)
        cpu_ms = 1000 * (_cpu(workers) - cpu) / max(r["requests"], 1)
    print(
        f"  wrk, 1 connection, {seconds:g} s: {r['rps']:.1f} req/s, p50 {r['p50']:.1f} ms, p90 {r['p90']:.1f} ms, "
        f"p99 {r['p99']:.1f} ms, server CPU {cpu_ms:.1f} ms per request, errors {r['errors']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=500, help="history rows of the applicant to post")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per in-process step")
    parser.add_argument("--seconds", type=float, default=20.0, help="wrk's run")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-api"), help="bench/api.py's store, reused")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)
    shared, models = bench_store(args.work, args.clients)
    folder = Path(tempfile.mkdtemp(prefix="bench-applicant-"))
    store = folder / "store.sqlite"
    shutil.copy(shared, store)  # users and the audit log are written: into a copy, as bench/api.py does
    users.add_user(store, "bench", PASSWORD, "service")
    raw = args.work / "raw"
    cid = _busy_client(raw, args.rows)
    body, rows = applicant_body(raw, cid)
    print(f"client {cid}: {rows} history rows; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("in process (Flask's test client):")
    in_process(store, models, body, args.requests)
    print("real gunicorn (1 gevent worker):")
    served(store, models, body, args.seconds, args.work)
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
