"""Crafted applicants and edited policies for the decision tests: the real feature path, the real policy file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from scoring.decision import decide, load_policy
from scoring.features import features_and_policy_inputs_from_records

EXAMPLE = Path(__file__).resolve().parents[1] / "policies" / "example.yaml"
# 40 years old, 100,000 a month, asks 300,000 over 36 months (about 10 % of income at the example's 15 %)
BASE = {
    "SK_ID_CURR": 1,
    "AMT_INCOME_TOTAL": 100000.0,
    "AMT_CREDIT": 300000.0,
    "AMT_ANNUITY": 10400.0,
    "AMT_GOODS_PRICE": 300000.0,
    "DAYS_BIRTH": -14610,
    "DAYS_EMPLOYED": -2000,
    "NAME_CONTRACT_TYPE": "Cash loans",
}


def example_policy():
    return load_policy(EXAMPLE)


def edited_policy(folder: Path, edit) -> object:
    """The example policy after `edit(document)` changed its parsed YAML, written to `folder` and loaded."""
    document = yaml.safe_load(EXAMPLE.read_text())
    edit(document)
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return load_policy(path)


def inputs_of(application: dict | None = None, history: dict | None = None) -> tuple[pd.Series, pd.Series]:
    """Model features and policy inputs of BASE changed by `application`, through the shared feature SQL."""
    frame = pd.DataFrame([{**BASE, **(application or {})}])
    features, policy_inputs = features_and_policy_inputs_from_records(frame, history)
    return features.iloc[0], policy_inputs.iloc[0]


def decision_of(
    application: dict | None = None,
    history: dict | None = None,
    policy=None,
    pd_value: float = 0.02,
    grade: str = "G3",
    threshold: float = 0.3,
):
    features, policy_inputs = inputs_of(application, history)
    return decide(features, policy_inputs, pd_value, grade, threshold, policy or example_policy(), "model-test")


def stop_factor(decision, code: str):
    return next(factor for factor in decision.stop_factors if factor.code == code)
