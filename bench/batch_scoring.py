"""Batch scoring benchmark: PD and exact TreeSHAP rows/s, single-applicant latency, predict_file throughput.

Needs a trained bundle (default /tmp/bench-models from bench/train.py) and its data directory
(default /tmp/fullsynth). Run with `nice -n 10 .venv/bin/python bench/batch_scoring.py`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/fullsynth"))
    ap.add_argument("--models", type=Path, default=Path("/tmp/bench-models"))
    ap.add_argument("--shap-rows", type=int, default=50_000)
    ap.add_argument("--single", type=int, default=300, help="single-applicant calls to time")
    args = ap.parse_args(argv)

    from scoring.bundle import ModelBundle
    from scoring.features import build_features, features_from_records
    from scoring.predict import predict_file
    from scoring.tables import find_table, read_table

    bundle = ModelBundle.load(args.models)
    X = build_features(args.data)
    n = len(X)
    t0 = time.perf_counter()
    M = bundle.matrix(X)
    t1 = time.perf_counter()
    bundle.predict_pd(M)
    t2 = time.perf_counter()
    print(f"{n:,} clients: encode {n / (t1 - t0):,.0f} rows/s; PD {n / (t2 - t1):,.0f} rows/s")
    rows = min(args.shap_rows, n)
    t3 = time.perf_counter()
    bundle.explain(M[:rows])
    t4 = time.perf_counter()
    print(
        f"exact TreeSHAP (pred_contrib) on {rows:,} rows: {rows / (t4 - t3):,.0f} rows/s; "
        f"PD + SHAP for all {n:,} clients ~ {(t2 - t1) + (t4 - t3) / rows * n:.0f} s"
    )

    # one applicant from raw records, as the API does it: features + PD + SHAP
    app = read_table(args.data, "application_test").iloc[: args.single]
    hist_tables = ("bureau", "previous_application", "POS_CASH_balance", "installments_payments", "credit_card_balance")
    ids = ",".join(str(int(i)) for i in app["SK_ID_CURR"])
    history = {
        t: read_table(args.data, t, where=f"SK_ID_CURR IN ({ids})")
        for t in hist_tables
        if find_table(args.data, t) is not None
    }
    times, model_times = [], []
    for i in range(len(app)):
        one = app.iloc[[i]]
        cid = int(one["SK_ID_CURR"].iloc[0])
        h = {t: f[f["SK_ID_CURR"] == cid] for t, f in history.items()}
        s = time.perf_counter()
        feats = features_from_records(one, h)
        m = time.perf_counter()
        bundle.score(feats)
        bundle.explain(feats)
        times.append(time.perf_counter() - s)
        model_times.append(time.perf_counter() - m)
    ms = np.array(times[10:] or times) * 1000
    model_ms = np.array(model_times[10:] or model_times) * 1000
    print(
        f"single applicant (features from raw records + PD + SHAP), {len(ms)} calls: "
        f"p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms; of which PD + SHAP "
        f"p50 {np.percentile(model_ms, 50):.1f} ms, p99 {np.percentile(model_ms, 99):.1f} ms"
    )

    src = find_table(args.data, "application_test")
    with tempfile.TemporaryDirectory() as tmp:
        t5 = time.perf_counter()
        scored = predict_file(src, Path(tmp) / "scores.parquet", data_dir=args.data, models_dir=args.models)
        t6 = time.perf_counter()
    rate = scored / (t6 - t5)
    print(f"predict_file {src.name} with history: {scored:,} rows in {t6 - t5:.1f} s = {rate:,.0f} rows/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
