"""The monitored store of the monitoring tests (fixture `monitored_store` in tests/conftest.py): the API template's
store with two synthetic cohorts scored by the real `predict` path and recorded, a stable one dated in October
and a drifted one in November, and the stable cohort's outcomes imported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scoring.cli import main
from scoring.synth import generate_cohort
from tests.api_fixtures import copy_store

COHORT_CLIENTS = 600
COHORTS = {"stable": "2026-10-05", "drifted": "2026-11-12"}  # cohort -> the --as-of date of its records


def predict_args(cohort_dir: Path, store: Path, models: Path, output: Path, *extra: str) -> list[str]:
    return [
        "predict",
        "--input",
        str(cohort_dir / "application_test.parquet"),
        "--data",
        str(cohort_dir),
        "--models",
        str(models),
        "--store",
        str(store),
        "--output",
        str(output),
        "--quiet",
        *extra,
    ]


def monitored_store(template: dict, folder: Path) -> dict:
    store = copy_store(template["store"], folder / "store.sqlite")
    out = {**template, "store": store, "cohorts": {}, "scored": {}}
    for cohort, day in COHORTS.items():
        cohort_dir = folder / cohort
        generate_cohort(cohort_dir, COHORT_CLIENTS, cohort, seed=11, observed_on="2026-11-30")
        scored = folder / f"{cohort}.csv"
        assert main(predict_args(cohort_dir, store, template["models"], scored, "--as-of", day)) == 0
        out["cohorts"][cohort], out["scored"][cohort] = cohort_dir, pd.read_csv(scored)
    assert main(["outcomes", "import", str(out["cohorts"]["stable"] / "outcomes.csv"), "--store", str(store)]) == 0
    return out
