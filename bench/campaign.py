"""Campaign benchmark: pre-approved offers over a portfolio, step by step (features and policy inputs, PD,
decisions and ranking, the store write), in rows/s, and peak RSS.

Needs a trained bundle (default /tmp/bench-models from bench/train.py) and its data directory (default
/tmp/fullsynth); --store also times writing the offers into a copy of that store. Every client is scored
(`--all`, as the CLI's option), the heaviest campaign the data allows. Run with
`nice -n 10 .venv/bin/python bench/campaign.py`.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/fullsynth"))
    ap.add_argument("--models", type=Path, default=Path("/tmp/bench-models"))
    ap.add_argument("--store", type=Path, default=None, help="a built store: the offers are written into a copy")
    ap.add_argument("--policy", type=Path, default=None, help="the policy file (default: $SCORING_POLICY)")
    args = ap.parse_args(argv)

    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy
    from scoring.decision.campaign import campaign_offers
    from scoring.features import build_features_and_policy_inputs

    policy, bundle = load_policy(args.policy), ModelBundle.load(args.models)
    t0 = time.perf_counter()
    features, policy_inputs = build_features_and_policy_inputs(args.data)
    t1 = time.perf_counter()
    n = len(features)
    print(f"{n:,} clients: features and policy inputs {t1 - t0:.1f} s ({n / (t1 - t0):,.0f} rows/s)", flush=True)
    bundle.score(features.iloc[:1000])  # warm-up: the model's first call builds its structures
    t2 = time.perf_counter()
    bundle.score(features)
    t3 = time.perf_counter()
    campaign = campaign_offers(features, policy_inputs, bundle, policy)
    t4 = time.perf_counter()
    decide = (t4 - t3) - (t3 - t2)  # campaign_offers scores again, then decides and ranks
    print(
        f"PD and grade {t3 - t2:.1f} s ({n / (t3 - t2):,.0f} rows/s); campaign application, decide_many and "
        f"ranking {decide:.1f} s ({n / decide:,.0f} rows/s)"
    )
    print(
        f"{len(campaign.offers):,} offers, not offered {campaign.not_offered}; end to end (features, PD, "
        f"decisions, ranking) {t1 - t0 + t4 - t3:.1f} s = {n / (t1 - t0 + t4 - t3):,.0f} rows/s; "
        f"peak RSS {_rss_gb():.2f} GB"
    )
    if args.store is not None:
        from scoring.store import save_offers

        with tempfile.TemporaryDirectory(prefix="bench-campaign-") as work:
            copy = Path(work) / "store.sqlite"
            shutil.copy(args.store, copy)
            t5 = time.perf_counter()
            save_offers(copy, campaign.offers, campaign.meta())
            t6 = time.perf_counter()
            written = len(campaign.offers)
            print(f"store write (one transaction) {t6 - t5:.1f} s ({written / (t6 - t5):,.0f} offers/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
