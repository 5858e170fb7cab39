"""One row per client from the application features and every source's aggregates: a client without rows of a
source gets NULL (0 for counts); then the cross-table ratios. The same numpy code serves the batch build and one
applicant, so the two give equal values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.features.application import CATEGORICAL_FEATURES, HISTORY_FREE_POLICY_INPUTS, application_feature_names
from scoring.features.history import AGGREGATES, HISTORY_POLICY_INPUTS

# Cross-table ratios, computed here from the aggregates (numpy, the same for batch and one applicant).
CROSS = [
    "BUREAU_ACTIVE_DEBT_TO_INCOME",
    "BUREAU_ACTIVE_DEBT_TO_CREDIT_APPLIED",
    "TOTAL_ANNUITY_TO_INCOME",
    "CREDIT_TO_PREV_APPROVED_MEAN",
]
# Computed here from the aggregates: annuities of active bureau credits and of ongoing loans with us.
POLICY_CROSS = ["EXISTING_DEBT_SERVICE"]
POLICY_INPUTS = HISTORY_FREE_POLICY_INPUTS + HISTORY_POLICY_INPUTS + POLICY_CROSS
CATEGORICAL_SET = frozenset(CATEGORICAL_FEATURES)
_FEATURE_NAMES = application_feature_names() + [n for _, _, feats, _ in AGGREGATES for n, _, _ in feats] + CROSS


def feature_names() -> list[str]:
    """Feature columns in output order (the order of the final SELECT)."""
    return list(_FEATURE_NAMES)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[den == 0] = np.nan
    return out


def assemble(app: tuple, parts: dict[str, tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Application features plus every table's aggregates (no rows: NULL, or 0 for counts), then cross ratios;
    the model features and the policy inputs as two frames on the same index.

    Each input is (client ids, {column: numpy array}); the same code serves the batch and one applicant.
    """
    ids, app_cols = app
    index = pd.Index(ids, name="SK_ID_CURR")
    n, cols = len(index), dict(app_cols)
    for alias, _, feats, policy in AGGREGATES:
        part_ids, part_cols = parts.get(alias, (np.empty(0, dtype="int64"), {}))
        pos = index.get_indexer(part_ids) if len(part_ids) else np.empty(0, dtype="int64")
        found = pos >= 0
        for name, _, zero in feats + policy:
            if name in CATEGORICAL_SET:
                values = np.full(n, np.nan, dtype=object)
            else:
                values = np.full(n, 0.0 if zero else np.nan)
            if len(pos):
                values[pos[found]] = part_cols[name][found]
                if zero:
                    values[np.isnan(values)] = 0.0
            cols[name] = values
    cross_ratios(cols)
    cols["EXISTING_DEBT_SERVICE"] = _filled(cols, "BUREAU_ACTIVE_ANNUITY") + _filled(cols, "PREV_ONGOING_ANNUITY")
    for col in CATEGORICAL_FEATURES:
        values = cols[col].astype(object)
        values[pd.isna(values)] = np.nan
        cols[col] = values
    features = pd.DataFrame({name: cols[name] for name in _FEATURE_NAMES}, index=index)
    return features, pd.DataFrame({name: cols[name] for name in POLICY_INPUTS}, index=index)


def _filled(cols: dict, name: str) -> np.ndarray:
    """An aggregate as floats, missing (no such rows) read as 0."""
    return np.nan_to_num(np.asarray(cols[name], dtype=float), nan=0.0)


def cross_ratios(cols: dict) -> None:
    """Cross-table ratios from application values and history aggregates (numpy arrays), in place."""
    debt = _filled(cols, "BUREAU_ACTIVE_DEBT")
    income, credit = np.asarray(cols["AMT_INCOME_TOTAL"], dtype=float), np.asarray(cols["AMT_CREDIT"], dtype=float)
    cols["BUREAU_ACTIVE_DEBT_TO_INCOME"] = _ratio(debt, income)
    cols["BUREAU_ACTIVE_DEBT_TO_CREDIT_APPLIED"] = _ratio(debt, credit)
    annuities = (
        np.asarray(cols["AMT_ANNUITY"], dtype=float)
        + _filled(cols, "BUREAU_ACTIVE_ANNUITY")
        + _filled(cols, "PREV_ONGOING_ANNUITY")
    )
    cols["TOTAL_ANNUITY_TO_INCOME"] = _ratio(annuities, income)
    cols["CREDIT_TO_PREV_APPROVED_MEAN"] = _ratio(credit, np.asarray(cols["PREV_APPROVED_CREDIT_MEAN"], dtype=float))
