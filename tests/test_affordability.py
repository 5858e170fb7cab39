"""Affordability: the annuity formula against hand-computed instalments, the limit (DSTI and income multiple, per
grade), the counter-offer arithmetic and when a smaller loan is no longer worth lending."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.decision.affordability import amount_for_annuity, annuity, assess, term_months
from scoring.decision.policy_file import AffordabilitySection, Message
from tests.decision_fixtures import decision_of

# 12 % a year is 1 % a month; 1.01 ** 12 = 1.1268250301, so 1 - 1.01 ** -12 = 0.1125507747
FACTOR_12 = 0.1125507747


def _section(**changes) -> AffordabilitySection:
    text = Message(en="x", fr="x")
    values = {
        "annual_rate": 0.12,
        "dsti_cap": 0.5,
        "income_multiple": 1.5,
        "min_offer": 10000.0,
        "round_to": 500.0,
        "counter_offer_message": text,
        "unaffordable_message": text,
        **changes,
    }
    return AffordabilitySection(**values)


def _assess(requested=100000.0, income=10000.0, debt=2000.0, months=12.0, grade="G3", section=None):
    return assess(
        [requested], [income], [debt], [months], np.array([grade], dtype=object), section or _section(), [True]
    )


def test_annuity_formula_by_hand():
    assert annuity(100000, 12, 0.12) == pytest.approx(1000 / FACTOR_12, rel=1e-9)  # 8,884.88
    assert annuity(100000, 12, 0.12) == pytest.approx(8884.8789, abs=1e-3)
    assert annuity(120000, 12, 0.0) == 10000  # no interest: equal parts
    assert amount_for_annuity(8884.8789, 12, 0.12) == pytest.approx(100000, abs=0.01)
    assert amount_for_annuity(10000, 12, 0.0) == 120000


def test_term_in_whole_months_at_the_product_rate():
    assert term_months(100000, 8884.88, 0.12) == 12  # a cent above the exact instalment: still 12 months
    assert term_months(100000, 8884.87, 0.12) == 13  # a cent below: the 12th month is not enough
    assert term_months(120000, 10000, 0.0) == 12
    assert np.isinf(term_months(100000, 1000, 0.12))  # the interest alone: never repaid
    assert np.isnan(term_months(100000, 0, 0.12)) and np.isnan(term_months(0, 100, 0.12))


def test_the_amount_asked_when_affordable():
    # 10,000 a month, 1,000 already repaid, 100,000 over 12 months: (1,000 + 8,884.88) / 10,000 = 98.8 %
    figures = _assess(income=20000.0, debt=1000.0)
    assert figures.result[0] == "affordable" and figures.offer_amount[0] == 100000
    assert figures.dsti[0] == pytest.approx((1000 + 8884.8789) / 20000, abs=1e-6)
    assert figures.offer_annuity[0] == pytest.approx(8884.8789, abs=1e-3)


def test_counter_offer_arithmetic_by_hand():
    # cap 50 % of 10,000 = 5,000 a month, of which 2,000 is already repaid: 3,000 left for the new loan
    figures = _assess()
    assert figures.dsti[0] == pytest.approx((2000 + 8884.8789) / 10000, abs=1e-6)
    assert figures.max_annuity[0] == 3000
    assert figures.max_amount_by_dsti[0] == pytest.approx(3000 * FACTOR_12 / 0.01, abs=0.01)  # 33,765.23
    assert figures.max_amount_by_income[0] == 1.5 * 12 * 10000
    assert figures.result[0] == "counter_offer" and figures.offer_amount[0] == 33500  # rounded down to 500
    assert figures.offer_annuity[0] == pytest.approx(33500 * 0.01 / FACTOR_12, abs=0.01)  # 2,976.43


def test_the_income_multiple_caps_the_amount():
    # no debt: 5,000 a month affords 56,275.39, but 0.25 x 120,000 of yearly income is 30,000
    figures = _assess(debt=0.0, section=_section(income_multiple=0.25))
    assert figures.max_amount_by_dsti[0] == pytest.approx(5000 * FACTOR_12 / 0.01, abs=0.01)
    assert figures.max_amount[0] == 30000 and figures.offer_amount[0] == 30000
    assert figures.result[0] == "counter_offer"


def test_per_grade_caps():
    section = _section(dsti_cap_by_grade={"G8": 0.4}, income_multiple_by_grade={"G8": 0.2})
    g3, g8 = _assess(section=section), _assess(grade="G8", section=section)
    assert g3.dsti_cap[0] == 0.5 and g8.dsti_cap[0] == 0.4
    assert g8.max_annuity[0] == 2000 and g8.max_amount_by_income[0] == 0.2 * 12 * 10000
    assert g8.offer_amount[0] == 22500  # 2,000 a month affords 22,510.15, rounded down to 500


def test_too_small_a_counter_offer_is_unaffordable():
    figures = _assess(section=_section(min_offer=40000.0))
    assert figures.result[0] == "unaffordable" and np.isnan(figures.offer_amount[0])
    over_indebted = _assess(debt=6000.0)  # already above the cap: nothing left
    assert over_indebted.max_annuity[0] == 0 and over_indebted.result[0] == "unaffordable"
    no_income = _assess(income=0.0)
    assert no_income.result[0] == "unaffordable" and np.isnan(no_income.dsti[0])


def test_the_cap_itself_is_affordable():
    exact = annuity(100000, 12, 0.12)[()]
    figures = _assess(income=(2000 + exact) / 0.5)
    assert figures.dsti[0] == pytest.approx(0.5) and figures.result[0] == "affordable"


def test_a_decision_with_a_counter_offer():
    # 20,000 a month at most 50 %: 10,000 a month over the 36 months asked at 15 % affords 288,472.67 of the 400,000
    decision = decision_of(
        {"AMT_INCOME_TOTAL": 20000.0, "AMT_CREDIT": 400000.0, "AMT_ANNUITY": 13867.0, "AMT_GOODS_PRICE": 400000.0}
    )
    assert decision.outcome == "counter_offer"
    step, offer = decision.affordability, decision.offer
    assert step.term_months == 36 and step.max_annuity == 10000
    factor_36 = 1 - 1.0125**-36
    assert step.max_amount_by_dsti == pytest.approx(10000 * factor_36 / 0.0125, abs=0.01)
    assert offer.counter_offer and offer.amount == 288000 and offer.term_months == 36
    assert offer.annuity == pytest.approx(288000 * 0.0125 / factor_36, abs=0.01)
    assert offer.message is not None and [r.code for r in decision.reasons] == ["COUNTER_OFFER"]


def test_a_decision_declined_as_unaffordable():
    decision = decision_of({"AMT_INCOME_TOTAL": 2000.0})  # 10,400 a month asked of an income of 2,000
    assert decision.outcome == "decline" and decision.offer is None
    assert decision.affordability.result == "unaffordable"
    assert [r.code for r in decision.reasons] == ["UNAFFORDABLE"]
