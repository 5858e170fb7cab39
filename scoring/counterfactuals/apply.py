"""THE one function that applies change sets to a client: (application, features, policy inputs) -> new rows.

The what-if route and the counterfactual search call it. `exact=True` recomputes the application features through
the real feature SQL (scoring.features, as features_with_new_application does); `exact=False` computes the few
application features an amount, annuity or goods price reaches with the same formulas in numpy, for the search's
hundreds of candidates (the SQL costs ~40 ms per batch). Every option returned is re-scored with exact=True, and a
test holds the two equal. History aggregates move as scoring.counterfactuals.actions says, then the cross-table
ratios are recomputed by scoring.features' own code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.counterfactuals.actions import APPLICATION_FIELDS, PAYDOWN_AGGREGATES
from scoring.decision.affordability import annuity, term_months
from scoring.features import (
    APP_ENGINEERED,
    CATEGORICAL_FEATURES,
    CROSS,
    HISTORY_FREE_POLICY_INPUTS,
    POLICY_INPUTS,
    _cross,
    application_feature_names,
    feature_names,
    features_and_policy_inputs_from_records,
)
from scoring.tables import SCHEMAS

_CATEGORICAL = frozenset(CATEGORICAL_FEATURES)
_APP_SCHEMA = SCHEMAS["application_test"]


def _ratio(num, den) -> np.ndarray:
    """num / NULLIF(den, 0) as the SQL computes it: NaN for a zero or missing denominator."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(den == 0, np.nan, out)


# The application features that read AMT_CREDIT, AMT_ANNUITY or AMT_GOODS_PRICE, as in APP_ENGINEERED's SQL
# (tests/test_counterfactuals.py holds this table to that SQL: same names, same values).
_DERIVED = {
    "CREDIT_TO_ANNUITY": lambda c: _ratio(c["AMT_CREDIT"], c["AMT_ANNUITY"]),
    "PAYMENT_RATE": lambda c: _ratio(c["AMT_ANNUITY"], c["AMT_CREDIT"]),
    "ANNUITY_TO_INCOME": lambda c: _ratio(c["AMT_ANNUITY"], c["AMT_INCOME_TOTAL"]),
    "CREDIT_TO_INCOME": lambda c: _ratio(c["AMT_CREDIT"], c["AMT_INCOME_TOTAL"]),
    "CREDIT_TO_GOODS": lambda c: _ratio(c["AMT_CREDIT"], c["AMT_GOODS_PRICE"]),
    "CREDIT_MINUS_GOODS": lambda c: c["AMT_CREDIT"] - c["AMT_GOODS_PRICE"],
    "INCOME_AFTER_ANNUITY_PER_PERSON": lambda c: _ratio(c["AMT_INCOME_TOTAL"] - c["AMT_ANNUITY"], c["CNT_FAM_MEMBERS"]),
}


def app_derived_features() -> tuple[str, ...]:
    return tuple(_DERIVED)


def sql_derived_features() -> tuple[str, ...]:
    """The engineered application features whose SQL reads one of the fields a change sets."""
    return tuple(n for n, expr in APP_ENGINEERED if any(f"a.{field}" in expr for field in APPLICATION_FIELDS))


def _float(value) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class Client:
    """A client as the engine reads it: raw application (Kaggle names), model features and policy inputs by name
    (None or NaN when missing), as the store keeps them or as the feature path computed them."""

    application: dict
    features: dict
    policy_inputs: dict

    @classmethod
    def from_frames(cls, application: dict, features: pd.Series, policy_inputs: pd.Series) -> Client:
        return cls(dict(application), features.to_dict(), policy_inputs.to_dict())

    def number(self, name: str) -> float:
        """A numeric feature (or policy input) as a float, NaN when missing."""
        source = self.policy_inputs if name in self.policy_inputs and name not in self.features else self.features
        return _float(source.get(name))

    def term(self, annual_rate: float) -> float:
        """The current term in months, as the policy reads it from the amount and annuity asked (NaN: none)."""
        months = term_months(self.number("AMT_CREDIT"), self.number("AMT_ANNUITY"), annual_rate)
        return float(months) if np.isfinite(months) else math.nan


def resolve(client: Client, change_sets: list[dict], annual_rate: float) -> dict[str, np.ndarray]:
    """Change sets (vocabulary of actions.py) as the raw values they give, one array per field: AMT_CREDIT,
    AMT_ANNUITY, AMT_GOODS_PRICE and BUREAU_DEBT_PAYDOWN (0 when not paid down)."""
    n = len(change_sets)
    credit0, annuity0, goods0 = (client.number(f) for f in APPLICATION_FIELDS)
    credit, ann, goods, paydown = np.full(n, credit0), np.full(n, annuity0), np.full(n, goods0), np.zeros(n)
    term = np.full(n, np.nan)
    for i, changes in enumerate(change_sets):
        credit[i] = changes.get("AMT_CREDIT", credit0) - changes.get("DOWN_PAYMENT", 0.0)
        ann[i] = changes.get("AMT_ANNUITY", annuity0)
        goods[i] = changes.get("AMT_GOODS_PRICE", goods0)
        paydown[i] = changes.get("BUREAU_DEBT_PAYDOWN", 0.0)
        term[i] = changes.get("TERM_MONTHS", np.nan)
    has_term = ~np.isnan(term)
    ann[has_term] = annuity(credit[has_term], term[has_term], annual_rate)
    return {"AMT_CREDIT": credit, "AMT_ANNUITY": ann, "AMT_GOODS_PRICE": goods, "BUREAU_DEBT_PAYDOWN": paydown}


def _application_frame(client: Client, raw: dict[str, np.ndarray]) -> pd.DataFrame:
    """The changed application rows, typed as the feature SQL loads them (ids 1..n: the rows never mix). A field
    the application leaves missing is left out: the SQL reads an absent column as NULL, and a narrow frame costs
    DuckDB less to load."""
    n, app = len(raw["AMT_CREDIT"]), client.application
    cols = {"SK_ID_CURR": np.arange(1, n + 1, dtype="int64")}
    for col, kind in _APP_SCHEMA.items():
        value = app.get(col)
        if col in raw:
            cols[col] = raw[col]
        elif col == "SK_ID_CURR" or value is None or (not isinstance(value, str) and math.isnan(value)):
            continue
        elif kind == "str":
            cols[col] = np.full(n, value, dtype=object)
        else:
            cols[col] = np.full(n, float(value))
    return pd.DataFrame(cols)


def _base_columns(values: dict, names, n: int) -> dict[str, np.ndarray]:
    cols = {}
    for name in names:
        value = values.get(name)
        if name in _CATEGORICAL:
            cols[name] = np.full(n, np.nan if value is None or value != value else value, dtype=object)
        else:
            cols[name] = np.full(n, _float(value))
    return cols


# application and history values the formulas and the cross ratios read, besides the moved ones
FORMULA_INPUTS = (
    "AMT_INCOME_TOTAL",
    "CNT_FAM_MEMBERS",
    "BUREAU_ACTIVE_CREDIT_SUM",
    "BUREAU_ACTIVE_ANNUITY",
    "PREV_ONGOING_ANNUITY",
    "PREV_APPROVED_CREDIT_MEAN",
)
MOVED_FEATURES = (*APPLICATION_FIELDS, *_DERIVED, *PAYDOWN_AGGREGATES, *CROSS)


def _rows(client: Client, change_sets: list[dict], annual_rate: float, exact: bool, names) -> tuple[dict, dict]:
    """Feature columns `names` (with at least MOVED_FEATURES and FORMULA_INPUTS) and every policy input, as
    arrays, after each change set."""
    raw = resolve(client, change_sets, annual_rate)
    n = len(change_sets)
    cols = _base_columns(client.features, names, n)
    policy = _base_columns(client.policy_inputs, POLICY_INPUTS, n)
    if exact:
        fresh, fresh_policy = features_and_policy_inputs_from_records(_application_frame(client, raw))
        for name in application_feature_names():
            if name in cols:
                cols[name] = fresh[name].to_numpy(dtype=object if name in _CATEGORICAL else float)
        for name in HISTORY_FREE_POLICY_INPUTS:
            policy[name] = fresh_policy[name].to_numpy(dtype=float)
    else:
        for name in APPLICATION_FIELDS:
            cols[name] = raw[name]
        for name, formula in _DERIVED.items():
            cols[name] = formula(cols)
    paid = raw["BUREAU_DEBT_PAYDOWN"]
    if paid.any():
        cols["BUREAU_DEBT_TOTAL"] = cols["BUREAU_DEBT_TOTAL"] - paid
        cols["BUREAU_ACTIVE_DEBT"] = cols["BUREAU_ACTIVE_DEBT"] - paid
        cols["BUREAU_ACTIVE_DEBT_TO_CREDIT"] = _ratio(cols["BUREAU_ACTIVE_DEBT"], cols["BUREAU_ACTIVE_CREDIT_SUM"])
    _cross(cols)
    return cols, policy


def apply_changes(
    client: Client, change_sets: list[dict], annual_rate: float, *, exact: bool = True, index=None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model features and policy inputs of the client after each change set (rows in the order given, on
    `index`, default 0..n-1). Change sets must have passed actions.check_changes."""
    cols, policy = _rows(client, change_sets, annual_rate, exact, feature_names())
    index = pd.RangeIndex(len(change_sets), name="SK_ID_CURR") if index is None else index
    return pd.DataFrame(cols, index=index), pd.DataFrame(policy, index=index)


def moved_columns(client: Client, change_sets: list[dict], annual_rate: float, names) -> tuple[dict, dict]:
    """apply_changes(exact=False) of the columns `names` only, as arrays: the search's candidates, many at once
    (it builds the model matrix from the client's own row, only the moved columns changing)."""
    wanted = dict.fromkeys((*names, *MOVED_FEATURES, *FORMULA_INPUTS))
    return _rows(client, change_sets, annual_rate, False, wanted)
