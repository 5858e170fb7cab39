"""Feature build benchmark: full build time and peak RSS (with children), then one-applicant latency.

Usage: python bench/features.py [DATA_DIR] (default data/raw; e.g. a full-scale `python -m scoring synth` folder).
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring.features import build_features, features_from_records  # noqa: E402
from scoring.tables import TABLES, read_table  # noqa: E402


class _PeakRSS:
    """Samples the RSS of this process and its children every 50 ms."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _client_records(data_dir, client_id: int):
    app = read_table(data_dir, "application_train", where=f"SK_ID_CURR = {client_id}")
    app = app.drop(columns=["TARGET"])
    history = {}
    for name in TABLES[2:]:
        if name == "bureau_balance":
            ids = ",".join(str(i) for i in history["bureau"]["SK_ID_BUREAU"]) or "NULL"
            history[name] = read_table(data_dir, name, where=f"SK_ID_BUREAU IN ({ids})")
        else:
            history[name] = read_table(data_dir, name, where=f"SK_ID_CURR = {client_id}")
    return app, history


def _latency(app, history, n=200) -> tuple[float, float, float]:
    """Wall p50 and p99, and median CPU time (ms): CPU shows the cost when the machine is shared."""
    features_from_records(app, history)  # warm the thread's connection
    wall, cpu = [], []
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        features_from_records(app, history)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.percentile(wall, 50) * 1e3), float(np.percentile(wall, 99) * 1e3), float(np.median(cpu) * 1e3)


def main(argv: list[str]) -> int:
    data_dir = Path(argv[0] if argv else "data/raw")
    if not (data_dir / "application_train.csv").exists() and not (data_dir / "application_train.parquet").exists():
        print(f"no application_train in {data_dir}: give a data folder (e.g. one written by `python -m scoring synth`)")
        return 2
    with _PeakRSS() as rss:
        start = time.perf_counter()
        features = build_features(data_dir)
        elapsed = time.perf_counter() - start
    print(
        f"build_features({data_dir}): {len(features):,} clients x {features.shape[1]} features "
        f"in {elapsed:.1f} s, peak RSS {rss.peak / 2**30:.2f} GiB (process + children)"
    )

    train_ids = read_table(data_dir, "application_train", ["SK_ID_CURR"])["SK_ID_CURR"]
    counts = features.loc[
        train_ids, ["BUREAU_COUNT", "BUREAU_BALANCE_MONTHS", "PREV_COUNT", "INST_COUNT", "POS_MONTHS", "CC_MONTHS"]
    ].sum(axis=1)
    busy = int(counts[counts <= 500].idxmax())  # a client with a few hundred history rows
    app, history = _client_records(data_dir, busy)
    rows = sum(len(h) for h in history.values())
    p50, p99, cpu = _latency(app, {})
    print(f"features_from_records, application only: p50 {p50:.1f} ms, p99 {p99:.1f} ms (CPU {cpu:.1f} ms)")
    p50, p99, cpu = _latency(app, history)
    print(
        f"features_from_records, client {busy} with {rows} history rows: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"(CPU {cpu:.1f} ms)"
    )
    print(
        f"load average during the run: {', '.join(f'{x:.1f}' for x in psutil.getloadavg())} on "
        f"{psutil.cpu_count()} cores"
    )
    same = features_from_records(app, history).loc[busy]
    batch = features.loc[busy]
    numeric = [c for c in features.columns if features[c].dtype == "float64"]
    ok = np.allclose(same[numeric].astype(float), batch[numeric].astype(float), rtol=1e-9, atol=0, equal_nan=True)
    print(f"single-applicant features equal the batch row: {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
