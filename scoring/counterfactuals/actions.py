"""What a client can change, as data: the change vocabulary (what-if bodies and counterfactual options speak it),
its bounds, the model features and policy inputs each change moves, and how large a change is.

Vocabulary (one change set is a dict of some of these):
  AMT_CREDIT, AMT_ANNUITY, AMT_GOODS_PRICE  the application's own fields, set as given (the what-if's first three)
  TERM_MONTHS          the term: the annuity follows the amount at the product's rate (affordability.annuity)
  DOWN_PAYMENT         paid by the client towards the goods: the credit falls by it, the goods price stays
  BUREAU_DEBT_PAYDOWN  repaid on the active credits the bureau reports: their debt falls by it, no credit is
                       closed and the instalments the bureau reports stay (conservative: the existing debt service
                       used by affordability does not fall until the bureau reports new instalments)

Immutable, never moved: age, gender, income, family, employment, external scores, payment behaviour (DPD, late
or short instalments), enquiries, previous applications. Closing bureau credits is not offered: the aggregates
kept per client (a maximum end date, a mean early-closure delay) cannot follow the closure of one credit exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MONEY = ("AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE")
VOCABULARY = (*MONEY, "TERM_MONTHS", "DOWN_PAYMENT", "BUREAU_DEBT_PAYDOWN")
MONEY_LIMIT = 1e10  # as the applicant schema and the what-if always bounded amounts
TERM_MIN, TERM_STEP = 6, 6  # the terms the search proposes: 6, 12, ... up to the policy's term_months_max

# the application's raw fields a change set may set (everything else of the application stays as it is)
APPLICATION_FIELDS = ("AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE")
# history aggregates (model features) the pay-down moves; the cross ratios follow through scoring.features._cross
PAYDOWN_AGGREGATES = ("BUREAU_DEBT_TOTAL", "BUREAU_ACTIVE_DEBT", "BUREAU_ACTIVE_DEBT_TO_CREDIT")
# rule inputs a change can move besides the features: the term and the age at the loan's end follow the loan
MOVABLE_DERIVED = ("LOAN_TERM_MONTHS", "AGE_AT_LOAN_END")


@dataclass(frozen=True)
class Action:
    """One kind of option the search proposes: the vocabulary fields it sets and the weight of each in its size."""

    kind: str
    fields: tuple[str, ...]


# Size of a change set (documented, used to rank): sum over its fields of weight x relative change, money relative
# to the amount asked (borrowing 10 % less and paying 10 % of it in cash weigh the same), the term relative to
# the current term at half weight (a longer term costs interest, not cash now).
SIZE_WEIGHTS = {"AMT_CREDIT": 1.0, "DOWN_PAYMENT": 1.0, "BUREAU_DEBT_PAYDOWN": 1.0, "TERM_MONTHS": 0.5}
ACTIONS = (
    Action("lower_amount", ("AMT_CREDIT", "AMT_GOODS_PRICE", "TERM_MONTHS")),
    Action("longer_term", ("TERM_MONTHS",)),
    Action("shorter_term", ("TERM_MONTHS",)),
    Action("lower_amount_longer_term", ("AMT_CREDIT", "AMT_GOODS_PRICE", "TERM_MONTHS")),
    Action("lower_amount_shorter_term", ("AMT_CREDIT", "AMT_GOODS_PRICE", "TERM_MONTHS")),
    Action("down_payment", ("DOWN_PAYMENT", "TERM_MONTHS")),
    Action("pay_down_debt", ("BUREAU_DEBT_PAYDOWN",)),
    Action("pay_down_debt_lower_amount", ("BUREAU_DEBT_PAYDOWN", "AMT_CREDIT", "AMT_GOODS_PRICE", "TERM_MONTHS")),
)
KINDS = tuple(action.kind for action in ACTIONS)


def moved_inputs() -> frozenset[str]:
    """Every feature or rule input some change can move: a rule reading none of them cannot be lifted."""
    from scoring.counterfactuals.apply import app_derived_features
    from scoring.features import CROSS

    return frozenset((*APPLICATION_FIELDS, *app_derived_features(), *PAYDOWN_AGGREGATES, *CROSS, *MOVABLE_DERIVED))


def size(changes: dict, current: dict) -> float:
    """The documented size of a change set; `current` holds AMT_CREDIT and TERM_MONTHS before the change."""
    credit, term, total = current["AMT_CREDIT"], current["TERM_MONTHS"], 0.0
    if "AMT_CREDIT" in changes:
        total += SIZE_WEIGHTS["AMT_CREDIT"] * abs(changes["AMT_CREDIT"] - credit) / credit
    for name in ("DOWN_PAYMENT", "BUREAU_DEBT_PAYDOWN"):
        total += SIZE_WEIGHTS[name] * changes.get(name, 0.0) / credit
    if "TERM_MONTHS" in changes and math.isfinite(term) and term > 0:
        total += SIZE_WEIGHTS["TERM_MONTHS"] * abs(changes["TERM_MONTHS"] - term) / term
    return total


def check_changes(changes, current: dict, term_max: int) -> list[dict]:
    """Problems of a change set ({field, message} each), none when it can be applied. `current`: the client's
    AMT_CREDIT and BUREAU_ACTIVE_DEBT (NaN when unknown); `term_max`: the policy's longest term."""
    if not isinstance(changes, dict) or not changes:
        return [{"field": "changes", "message": f"required object with some of {', '.join(VOCABULARY)}"}]
    problems = []
    for field, value in changes.items():
        where = f"changes.{field}"
        if field not in VOCABULARY:
            problems.append({"field": where, "message": f"not changeable; expected {', '.join(VOCABULARY)}"})
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append({"field": where, "message": "must be a number"})
        elif field == "TERM_MONTHS":
            if value != int(value) or not 1 <= value <= term_max:
                problems.append({"field": where, "message": f"must be a whole number of months from 1 to {term_max}"})
        elif not 0 < value < MONEY_LIMIT:
            problems.append({"field": where, "message": "must be a positive number below 10 billion"})
    if problems:
        return problems
    for a, b in (("TERM_MONTHS", "AMT_ANNUITY"), ("DOWN_PAYMENT", "AMT_CREDIT")):
        if a in changes and b in changes:
            problems.append({"field": f"changes.{a}", "message": f"give {a} or {b}, not both ({b} follows {a})"})
    if "DOWN_PAYMENT" in changes and not changes["DOWN_PAYMENT"] < current["AMT_CREDIT"]:
        problems.append({"field": "changes.DOWN_PAYMENT", "message": "must be below the amount asked"})
    if "BUREAU_DEBT_PAYDOWN" in changes:
        debt = current["BUREAU_ACTIVE_DEBT"]
        if not (debt > 0):
            problems.append({"field": "changes.BUREAU_DEBT_PAYDOWN", "message": "no active debt at the bureau"})
        elif changes["BUREAU_DEBT_PAYDOWN"] > debt:
            problems.append({"field": "changes.BUREAU_DEBT_PAYDOWN", "message": "must not exceed the active debt"})
    return problems
