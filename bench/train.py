"""Training benchmark: feature build and full CV training time, peak RSS, on a data directory.

Default data: the full-scale synthetic portfolio in /tmp/fullsynth, made once with
`python -m scoring synth --clients 356255 --out /tmp/fullsynth` (this script never generates it).
Run with `nice -n 10 .venv/bin/python bench/train.py`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/fullsynth"))
    ap.add_argument("--models", type=Path, default=Path("/tmp/bench-models"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--max-rounds", type=int, default=None)
    args = ap.parse_args(argv)
    if not (args.data / "application_train.parquet").exists() and not (args.data / "application_train.csv").exists():
        print(f"no data in {args.data}: run `python -m scoring synth --clients 356255 --out {args.data}` first")
        return 1

    from scoring.tables import data_source
    from scoring.train import fit_bundle, training_frame

    t0 = time.perf_counter()
    X, y, groups = training_frame(args.data)
    t1 = time.perf_counter()
    print(
        f"features: {len(X):,} labelled clients x {X.shape[1]} features in {t1 - t0:.1f} s "
        f"(peak RSS so far {_rss_gb():.2f} GB)",
        flush=True,
    )
    bundle = fit_bundle(
        X, y, n_folds=args.folds, max_rounds=args.max_rounds, data_source=data_source(args.data), groups=groups
    )
    t2 = time.perf_counter()
    bundle.save(args.models)
    t3 = time.perf_counter()
    m = bundle.card["metrics"]
    print(
        f"training ({args.folds}-fold CV + refit + calibration + SHAP importance): {t2 - t1:.1f} s; "
        f"save {t3 - t2:.1f} s; total {t3 - t0:.1f} s"
    )
    print(
        f"CV AUC {m['cv_auc']:.4f} ± {m['cv_auc_sd']:.4f}, OOF AUC {m['oof_auc']:.4f}, "
        f"trees {bundle.card['model']['n_rounds']}, fold best iterations {m['fold_best_iterations']}"
    )
    print(
        f"Brier {m['brier_uncalibrated']:.4f} -> {m['brier_calibrated']:.4f}; threshold {bundle.threshold:.4f}; "
        f"approval {bundle.card['policy']['approval_rate']:.1%}"
    )
    print(f"peak RSS {_rss_gb():.2f} GB; bundle in {args.models}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
