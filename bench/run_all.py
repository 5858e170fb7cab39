"""Run every benchmark at full scale in order, each printing its own figures (about 45 min on 2 cores).

The chain: synthetic portfolio (356k clients) -> feature build -> training -> batch PD + SHAP -> client store ->
campaign of pre-approved offers -> counterfactuals -> API under load -> dashboard in Chromium. Everything is written
under --work (default /tmp/scoring-bench).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _run(*args) -> None:
    print(f"\n$ {' '.join(str(a) for a in args)}", flush=True)
    subprocess.run([sys.executable, *map(str, args)], check=True, cwd=ROOT.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/scoring-bench"))
    parser.add_argument("--clients", type=int, default=356_255)
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()
    data, models, store = args.work / "raw", args.work / "models", args.work / "store.sqlite"
    # the bench's own model key pair (made by training), inherited by every step that loads the model
    os.environ.setdefault("SCORING_SIGNING_KEY", str(args.work / "keys" / "model-signing.key"))
    os.environ.setdefault("SCORING_VERIFY_KEY", str(args.work / "keys" / "model-verify.pub"))
    _run(ROOT / "synth.py", "--clients", args.clients, "--out", data)
    _run(ROOT / "features.py", data)
    _run(ROOT / "train.py", "--data", data, "--models", models, "--folds", args.folds)
    _run(ROOT / "batch_scoring.py", "--data", data, "--models", models)
    _run(ROOT / "store.py", "--data", data, "--models", models, "--store", store)
    _run(ROOT / "campaign.py", "--data", data, "--models", models, "--store", store)
    _run(ROOT / "counterfactuals.py", "--models", models, "--store", store)
    _run(ROOT / "api.py", "--store", store, "--models", models)
    _run(ROOT / "dashboard.py", "--store", store, "--models", models)


if __name__ == "__main__":
    main()
