"""Technical refusals: an application that is complete JSON but cannot be a real loan is refused with the field
and the reason, never scored. Tolerances come from the policy's `technical` section."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TechnicalCheck:
    code: str
    field: str  # the raw application field at fault (Kaggle name)
    message: str
    fails: Callable[[dict, object], np.ndarray]  # (input values, technical section) -> mask of failing rows


def _missing(name: str):
    return lambda v, t: np.isnan(v[name])


CHECKS = (
    TechnicalCheck("MISSING_VALUE", "AMT_CREDIT", "the credit amount is needed", _missing("AMT_CREDIT")),
    TechnicalCheck("MISSING_VALUE", "AMT_ANNUITY", "the annuity is needed", _missing("AMT_ANNUITY")),
    TechnicalCheck("MISSING_VALUE", "DAYS_BIRTH", "the date of birth is needed", _missing("AGE_YEARS")),
    TechnicalCheck(
        "NOT_POSITIVE", "AMT_CREDIT", "the credit amount must be above zero", lambda v, t: v["AMT_CREDIT"] <= 0
    ),
    TechnicalCheck("NOT_POSITIVE", "AMT_ANNUITY", "the annuity must be above zero", lambda v, t: v["AMT_ANNUITY"] <= 0),
    TechnicalCheck(
        "ANNUITY_ABOVE_CREDIT",
        "AMT_ANNUITY",
        "the annuity is above the credit amount",
        lambda v, t: v["AMT_ANNUITY"] > t.annuity_to_credit_max * v["AMT_CREDIT"],
    ),
    TechnicalCheck(
        "TERM_OUT_OF_RANGE",
        "AMT_ANNUITY",
        "at the product's rate this annuity does not repay the credit within the longest term",
        lambda v, t: (v["AMT_CREDIT"] > 0) & (v["AMT_ANNUITY"] > 0) & ~(v["LOAN_TERM_MONTHS"] <= t.term_months_max),
    ),
    TechnicalCheck(
        "EMPLOYMENT_DAYS_POSITIVE",
        "DAYS_EMPLOYED",
        "employment days must be negative (days before the application), or 365243 for none",
        lambda v, t: v["EMPLOYED_YEARS"] < 0,
    ),
    TechnicalCheck(
        "AGE_OUT_OF_RANGE",
        "DAYS_BIRTH",
        "the date of birth gives an age outside the plausible range",
        lambda v, t: (v["AGE_YEARS"] < t.age_years_min) | (v["AGE_YEARS"] > t.age_years_max),
    ),
    TechnicalCheck(
        "GOODS_PRICE_FAR_ABOVE_CREDIT",
        "AMT_GOODS_PRICE",
        "the goods price is far above the credit amount",
        lambda v, t: v["AMT_GOODS_PRICE"] > t.goods_to_credit_max * v["AMT_CREDIT"],
    ),
)


def failing(values: dict[str, np.ndarray], technical) -> np.ndarray:
    """A (rows x checks) boolean matrix: check j fails on row i (NaN comparisons never fail but MISSING_VALUE's)."""
    with np.errstate(invalid="ignore"):
        return np.column_stack([np.asarray(check.fails(values, technical), dtype=bool) for check in CHECKS])
