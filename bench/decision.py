"""Decision benchmark: a full decision (features, PD, SHAP, rules, limit) of a new applicant with 500 history rows,
p50/p99 in process and through POST /api/v1/score on real gunicorn; verification throughput (applications/s)
through POST /api/v1/verify/batch and `python -m scoring verify`.

Usage: python bench/decision.py [--models DIR --store PATH] [--repeats N] [--verify N]
Without --models/--store it makes a synthetic portfolio of 2,000 clients, a fast model and a store in a temporary
folder first (a few minutes on 2 cores). Target: p99 under 50 ms in process (a lender's budget: a few hundred ms).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring import users  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

PASSWORD = "load test passphrase"
# rows per history table of the benchmark applicant: 500 in all
ROWS = {
    "bureau": 60,
    "bureau_balance": 200,
    "previous_application": 60,
    "installments_payments": 120,
    "POS_CASH_balance": 40,
    "credit_card_balance": 20,
}


def _clean(table: str, rec: dict) -> dict:
    from scoring.tables import SCHEMAS

    schema = SCHEMAS[table]
    return {
        k: int(v) if schema[k] == "int" else v
        for k, v in rec.items()
        if k in schema and v is not None and not (isinstance(v, float) and math.isnan(v))
    }


def applicant(data_dir) -> dict:
    """One application with 500 history rows taken from the portfolio, as a caller posts it."""
    from scoring.tables import read_table

    app = read_table(data_dir, "application_train").iloc[0].to_dict()
    application = {k: v for k, v in _clean("application_test", app).items() if k != "SK_ID_CURR"}
    history = {}
    bureau = read_table(data_dir, "bureau").head(ROWS["bureau"])
    history["bureau"] = [_clean("bureau", r) for r in bureau.to_dict("records")]
    ids = ",".join(str(int(i)) for i in bureau["SK_ID_BUREAU"])
    balance = read_table(data_dir, "bureau_balance", where=f"SK_ID_BUREAU IN ({ids})").head(ROWS["bureau_balance"])
    history["bureau_balance"] = [_clean("bureau_balance", r) for r in balance.to_dict("records")]
    for table in ("previous_application", "installments_payments", "POS_CASH_balance", "credit_card_balance"):
        rows = read_table(data_dir, table).head(ROWS[table])
        history[table] = [_clean(table, r) for r in rows.to_dict("records")]
    assert sum(len(v) for v in history.values()) == sum(ROWS.values()), "the portfolio is too small"
    return {"application": application, "history": history}


def _percentiles(ms: list[float]) -> str:
    return f"p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms (n={len(ms)})"


def in_process(models, body: dict, repeats: int) -> str:
    from scoring.applicant_schema import validate_applicant
    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy
    from scoring.decision.service import decide_applicants

    bundle = ModelBundle.load(models)
    policy = load_policy(grades=bundle.grades)
    times = []
    for _ in range(repeats + 5):
        start = time.perf_counter()
        decided = decide_applicants(bundle, policy, [validate_applicant(body)], explain=True)
        decided.decisions.decision(0).to_dict()
        times.append((time.perf_counter() - start) * 1000)
    return _percentiles(times[5:])


def _post(conn, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def verification_items(data_dir, n: int) -> list[dict]:
    """n applications (their application rows only, those the API accepts) whose figures all match ours."""
    from scoring.applicant_schema import REQUIRED
    from scoring.tables import read_table

    apps = read_table(data_dir, "application_train").dropna(subset=list(REQUIRED)).head(n)
    return [
        {
            "application": {k: v for k, v in _clean("application_test", r).items() if k != "SK_ID_CURR"},
            "theirs": {"factors": {"AMT_CREDIT": r["AMT_CREDIT"]}},
        }
        for r in apps.to_dict("records")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--data", type=Path, help="raw tables the applicant's history is taken from")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--verify", type=int, default=2000, help="applications verified through the CLI")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-decision-"))
    try:
        _run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args, work: Path) -> None:
    data = args.data or work / "raw"
    if args.models is None or args.store is None:
        from scoring.store import build_store
        from scoring.synth import generate
        from scoring.train import train_model

        started = time.perf_counter()
        generate(data, n_clients=2000, seed=7)
        args.models, args.store = work / "models", work / "store.sqlite"
        train_model(data, args.models, n_folds=3, max_rounds=150)
        build_store(data, args.models, args.store)
        print(f"set-up (synthetic 2,000 clients, model, store): {time.perf_counter() - started:.0f} s")
    body = applicant(data)
    print(f"full decision, 500 history rows, in process: {in_process(args.models, body, args.repeats)}")

    store = work / "served.sqlite"
    shutil.copy(args.store, store)
    users.add_user(store, "bench", PASSWORD, "manager")
    env = {"SCORING_STORE": str(store), "SCORING_MODELS": str(args.models), "SCORING_SECRET_KEY": "bench"}
    items = verification_items(data, args.verify)
    with gunicorn("api:create_app()", env, workers=2, ready_path="/ready", log_path=work / "api.log") as base:
        conn = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=60)
        sign_in = json.dumps({"username": "bench", "password": PASSWORD}).encode()
        _, token = _post(conn, "/api/v1/auth/token", sign_in, {"Content-Type": "application/json"})
        heads = {"Authorization": f"Bearer {json.loads(token)['access_token']}", "Content-Type": "application/json"}
        raw, times = json.dumps(body).encode(), []
        for _ in range(args.repeats + 5):
            start = time.perf_counter()
            status, answer = _post(conn, "/api/v1/score", raw, heads)
            times.append((time.perf_counter() - start) * 1000)
            assert status == 200 and b'"outcome"' in answer, answer[:200]
        print(f"full decision, 500 history rows, POST /api/v1/score (1 connection): {_percentiles(times[5:])}")
        batches = [items[i : i + 200] for i in range(0, len(items), 200)]
        start = time.perf_counter()
        for batch in batches:
            status, answer = _post(conn, "/api/v1/verify/batch", json.dumps({"items": batch}).encode(), heads)
            assert status == 200, answer[:300]
        seconds = time.perf_counter() - start
        print(f"verify through the API (batches of 200, 1 connection): {len(items) / seconds:,.0f} applications/s")

    source, report = work / "verify.jsonl", work / "report.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in items))
    from scoring.decision.verify_file import verify_file

    start = time.perf_counter()
    result = verify_file(source, report, models_dir=args.models)
    seconds = time.perf_counter() - start
    print(
        f"verify through the CLI ({result['checked']:,} applications, model load included): "
        f"{result['checked'] / seconds:,.0f} applications/s; {result['with_discrepancies']} with discrepancies"
    )


if __name__ == "__main__":
    main()
