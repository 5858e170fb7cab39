"""`predict --engine stream` against `--engine spark` (local mode) on the same synthetic file: rows/s with and
without recording into scored_applications, the Spark session's start-up and first job apart, load averages.

Usage: nice -n 10 python bench/spark_predict.py [--clients N] [--rounds R] [--master local[2]] [--work DIR]
The synthetic store and its model are bench/api.py's (bench_store, built once under --work and reused); the input is
every application of that portfolio (train and test rows) as one Parquet file, scored with its history. Runs of the
two engines alternate, so a busy spell of the machine hits both alike; the median of the rounds is shown. Each
recorded run's rows are deleted afterwards (the store does not grow from run to run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from bench.api import bench_store  # noqa: E402


def _load() -> str:  # 1, 5, 15 min
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _input(raw: Path, folder: Path) -> tuple[Path, int]:
    from scoring.tables import read_table

    app = pd.concat([read_table(raw, "application_train"), read_table(raw, "application_test")])
    path = folder / "applications.parquet"
    app.to_parquet(path, index=False)
    return path, len(app)


def _run(engine: str, record: bool, src: Path, out: Path, raw: Path, models: Path, store: Path, spark) -> float:
    """Seconds of one predict run (as the CLI runs it: the recorder undone on failure); its records deleted."""
    from scoring.monitoring import records
    from scoring.monitoring.commands import BatchRecorder
    from scoring.predict import predict_file
    from scoring.spark.predict import predict_file_spark

    recorder = BatchRecorder(store) if record else None
    extra = {"spark": spark} if engine == "spark" else {}
    run = predict_file_spark if engine == "spark" else predict_file
    started = time.perf_counter()
    run(src, out, data_dir=raw, models_dir=models, recorder=recorder, **extra)
    seconds = time.perf_counter() - started
    if recorder is not None:
        assert recorder.rows > 0
        records.forget_request(store, recorder.run_id)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument(
        "--shuffle-partitions", type=int, default=None, help="default: the engine's (input partitions or 2 x cores)"
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "scoring-bench-spark")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)
    load_before = _load()
    store, models = bench_store(args.work, args.clients)
    raw = args.work / "raw"
    os.environ.pop("SCORING_STORE", None)  # a legacy model folder: no challenger, no shadow rows either way
    tmp = Path(tempfile.mkdtemp(prefix="bench-spark-", dir=args.work))
    src, n = _input(raw, tmp)
    shuffle = args.shuffle_partitions or "the engine's"
    print(f"{n:,} applications with history ({args.clients:,} clients), {args.master}, shuffle partitions {shuffle}")
    print(f"load average (1/5/15 min) {load_before}", flush=True)

    from scoring.spark.session import spark_session

    started = time.perf_counter()
    spark = spark_session(args.master, shuffle_partitions=args.shuffle_partitions)
    startup = time.perf_counter() - started
    started = time.perf_counter()
    small = tmp / "small.parquet"
    pd.read_parquet(src).head(200).to_parquet(small, index=False)
    _run("spark", False, small, tmp / "small-out.parquet", raw, models, store, spark)
    first_job = time.perf_counter() - started
    _run("stream", False, small, tmp / "small-out.parquet", raw, models, store, spark)  # the same warm-up
    print(f"Spark session start-up {startup:.1f} s; first job (200 rows: workers start, bundle load) {first_job:.1f} s")

    setups = [(engine, record) for record in (False, True) for engine in ("stream", "spark")]
    seconds: dict = {s: [] for s in setups}
    for r in range(args.rounds):
        for engine, record in setups:
            out = tmp / f"out-{engine}.parquet"
            seconds[(engine, record)].append(_run(engine, record, src, out, raw, models, store, spark))
            took = seconds[(engine, record)][-1]
            print(f"  round {r + 1}: {engine:<6} record={record!s:<5} {took:6.1f} s  load {_load()}", flush=True)
    spark.stop()
    shutil.rmtree(tmp, ignore_errors=True)  # the input and outputs; the store and model stay for the next run
    load_after = _load()

    print(f"\n{'engine':<8}{'recording':<11}{'seconds':>9}{'rows/s':>10}")
    table = {}
    for engine, record in setups:
        median = statistics.median(seconds[(engine, record)])
        table[f"{engine}{'+record' if record else ''}"] = {"seconds": median, "rows_per_s": n / median}
        print(f"{engine:<8}{'yes' if record else 'no':<11}{median:>9.1f}{n / median:>10,.0f}")
    for engine in ("stream", "spark"):
        cost = statistics.median(seconds[(engine, True)]) / statistics.median(seconds[(engine, False)]) - 1
        print(f"recording costs {engine}: {100 * cost:+.0f} %")
    print(f"Spark session start-up {startup:.1f} s, first job {first_job:.1f} s (not in the figures above)")
    print(f"load average (1/5/15 min) {load_before} before, {load_after} after")
    summary = {"rows": n, "startup_s": startup, "first_job_s": first_job, "runs": table}
    print(json.dumps({**summary, "load_before": load_before, "load_after": load_after}))


if __name__ == "__main__":
    main()
