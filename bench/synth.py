"""Synthetic portfolio benchmark: wall time, rows per table and peak RSS of `generate` at a given size.

Usage: python bench/synth.py [--clients 356255] [--out DIR]   (target: full scale in <= 5 min on 2 cores)
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring.synth import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=356_255)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-synth-"))
    start = time.perf_counter()
    rows = generate(out, n_clients=args.clients, seed=0, fmt=args.format)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name, n in rows.items():
        print(f"{name:24} {n:>12,} rows  ({n / args.clients:6.1f} per client)")
    print(
        f"{args.clients:,} clients, {sum(rows.values()):,} rows in {elapsed:.1f} s ({args.format}); "
        f"peak RSS {peak:,.0f} MB; target <= 300 s"
    )


if __name__ == "__main__":
    main()
