"""What a rule may read: the model features, the policy inputs of scoring.features, and the few values derived
here because they need the policy's own product rate (the loan's term, the age at its end)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.decision.affordability import MONTHS_PER_YEAR, term_months
from scoring.features import (
    CATEGORICAL_FEATURES,
    HISTORY_FREE_POLICY_INPUTS,
    POLICY_INPUTS,
    application_feature_names,
    feature_names,
)
from scoring.values import is_missing

DERIVED_INPUTS = ("LOAN_TERM_MONTHS", "AGE_AT_LOAN_END")
# what the technical checks and the affordability step read, besides the rules' inputs
DECISION_VALUES = (
    "AMT_CREDIT",
    "AMT_ANNUITY",
    "AMT_GOODS_PRICE",
    "AMT_INCOME_TOTAL",
    "AGE_YEARS",
    "EMPLOYED_YEARS",
    "EXISTING_DEBT_SERVICE",
)
_CATEGORICAL = frozenset(CATEGORICAL_FEATURES)


def numeric_input_names() -> frozenset[str]:
    """Every name a rule may compare with a threshold."""
    return frozenset(n for n in feature_names() if n not in _CATEGORICAL) | set(POLICY_INPUTS) | set(DERIVED_INPUTS)


def history_free_input_names() -> frozenset[str]:
    """Names known from the application alone: the only ones a rule of the first stage may read."""
    return frozenset(application_feature_names()) | set(HISTORY_FREE_POLICY_INPUTS) | set(DERIVED_INPUTS)


def categorical_input_names() -> frozenset[str]:
    return _CATEGORICAL


def input_values(features, policy_inputs, names, annual_rate: float) -> dict[str, np.ndarray]:
    """The named inputs (plus DECISION_VALUES) as float arrays; `features` and `policy_inputs` are two frames on
    one index, or two rows (Series) of one client."""
    values = {}
    for name in (set(names) | set(DECISION_VALUES)) - set(DERIVED_INPUTS):
        values[name] = _floats((policy_inputs if name in POLICY_INPUTS else features)[name])
    months = term_months(values["AMT_CREDIT"], values["AMT_ANNUITY"], annual_rate)
    values["LOAN_TERM_MONTHS"] = months
    values["AGE_AT_LOAN_END"] = values["AGE_YEARS"] + months / MONTHS_PER_YEAR
    return values


def _floats(column) -> np.ndarray:
    """A frame's column, or one row's value, as a float array (missing: NaN)."""
    if isinstance(column, pd.Series):
        return column.to_numpy(dtype=float, na_value=np.nan)
    return np.array([np.nan if is_missing(column) else column], dtype=float)
