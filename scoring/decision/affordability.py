"""Affordability, limit and counter-offer: the annuity formula at the product's rate, vectorised over clients.

Period convention. Kaggle does not say over which period AMT_ANNUITY and AMT_INCOME_TOTAL run. AMT_ANNUITY is a
monthly instalment: in previous_application AMT_ANNUITY x CNT_PAYMENT (a count of months) is about 1.23 x
AMT_CREDIT, and installments_payments fall due every 30 days. Read as yearly, AMT_INCOME_TOTAL would make the
median applicant repay 196 % of their income (16 % of it every month, 12 times); read as monthly, 16 %. So both
are taken as monthly: DSTI = (existing debt service + new annuity) / AMT_INCOME_TOTAL, and a yearly income is
12 x AMT_INCOME_TOTAL. Bureau and previous-loan annuities are taken as monthly too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MONTHS_PER_YEAR = 12
# result of the affordability step, per client
NOT_EVALUATED, AFFORDABLE, COUNTER_OFFER, UNAFFORDABLE = "not_evaluated", "affordable", "counter_offer", "unaffordable"


def _monthly(annual_rate: float) -> float:
    return annual_rate / MONTHS_PER_YEAR


def annuity(amount, months, annual_rate: float) -> np.ndarray:
    """Monthly instalment repaying `amount` over `months` at the nominal yearly rate (monthly compounding)."""
    amount, months, r = np.asarray(amount, dtype=float), np.asarray(months, dtype=float), _monthly(annual_rate)
    if r == 0:
        return amount / months
    return amount * r / (1 - (1 + r) ** -months)


def amount_for_annuity(instalment, months, annual_rate: float) -> np.ndarray:
    """The amount a monthly `instalment` repays over `months`: the inverse of annuity()."""
    instalment, months, r = np.asarray(instalment, dtype=float), np.asarray(months, dtype=float), _monthly(annual_rate)
    if r == 0:
        return instalment * months
    return instalment * (1 - (1 + r) ** -months) / r


def term_months(amount, instalment, annual_rate: float) -> np.ndarray:
    """Whole months the applicant's (credit, annuity) take to repay at the product's rate, rounded up so that the
    product's instalment never exceeds the one asked; inf when the annuity never covers the interest."""
    amount, instalment, r = np.asarray(amount, dtype=float), np.asarray(instalment, dtype=float), _monthly(annual_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        if r == 0:
            months = amount / instalment
        else:
            left = 1 - r * amount / instalment
            months = np.where(left > 0, -np.log(np.where(left > 0, left, 1.0)) / np.log1p(r), np.inf)
        months = np.where((amount > 0) & (instalment > 0), months, np.nan)
    return np.ceil(months - 1e-9)


@dataclass(frozen=True)
class AffordabilityFigures:
    """Per-client arrays of the affordability step (NaN where it was not evaluated)."""

    dsti: np.ndarray
    dsti_cap: np.ndarray
    new_annuity: np.ndarray
    max_annuity: np.ndarray
    max_amount_by_dsti: np.ndarray
    max_amount_by_income: np.ndarray
    max_amount: np.ndarray
    offer_amount: np.ndarray
    offer_annuity: np.ndarray
    result: np.ndarray  # object array of the result names above


def _by_grade(default: float, by_grade: dict[str, float], grades: np.ndarray) -> np.ndarray:
    values = np.full(len(grades), float(default))
    for grade, value in by_grade.items():
        values[grades == grade] = value
    return values


def max_amount_by_income(income, grades, section) -> np.ndarray:
    """The income multiple's cap on the amount (by grade): yearly income x multiple; NaN without an income."""
    income = np.asarray(income, dtype=float)
    multiple = _by_grade(section.income_multiple, section.income_multiple_by_grade, np.asarray(grades, dtype=object))
    return multiple * MONTHS_PER_YEAR * np.where(income > 0, income, np.nan)


def assess(requested, income, existing_debt_service, months, grades, section, evaluated) -> AffordabilityFigures:
    """The offer per client: the amount asked when its DSTI and the income multiple allow it, else the largest
    affordable amount (rounded down) when still worth lending, else unaffordable. `section`: the policy's
    affordability section; `evaluated`: the clients whose history was read (others: not evaluated)."""
    requested, income = np.asarray(requested, dtype=float), np.asarray(income, dtype=float)
    debt = np.nan_to_num(np.asarray(existing_debt_service, dtype=float), nan=0.0)
    grades, rate = np.asarray(grades, dtype=object), section.annual_rate
    usable_income = np.where(income > 0, income, np.nan)
    cap = _by_grade(section.dsti_cap, section.dsti_cap_by_grade, grades)
    new_annuity = annuity(requested, months, rate)
    dsti = (debt + new_annuity) / usable_income
    max_annuity = np.maximum(cap * usable_income - debt, 0.0)
    by_dsti = amount_for_annuity(max_annuity, months, rate)
    by_income = max_amount_by_income(income, grades, section)
    max_amount = np.fmin(by_dsti, by_income)
    affordable = (dsti <= cap) & (requested <= by_income)
    counter = np.floor(max_amount / section.round_to) * section.round_to
    worth_lending = ~affordable & (counter >= section.min_offer)
    result = np.where(affordable, AFFORDABLE, np.where(worth_lending, COUNTER_OFFER, UNAFFORDABLE)).astype(object)
    offer_amount = np.where(affordable, requested, np.where(worth_lending, counter, np.nan))
    figures = {
        "dsti": dsti,
        "dsti_cap": cap,
        "new_annuity": new_annuity,
        "max_annuity": max_annuity,
        "max_amount_by_dsti": by_dsti,
        "max_amount_by_income": by_income,
        "max_amount": max_amount,
        "offer_amount": offer_amount,
        "offer_annuity": annuity(offer_amount, months, rate),
    }
    evaluated = np.asarray(evaluated, dtype=bool)
    figures = {name: np.where(evaluated, values, np.nan) for name, values in figures.items()}
    result[~evaluated] = NOT_EVALUATED
    return AffordabilityFigures(result=result, **figures)
