"""Stop factors: every rule of the example policy on both sides of its threshold with a crafted applicant (through
the shared feature SQL), the stage-by-stage evaluation, missing inputs, and rules that fire on the synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.decision import decide_many
from scoring.features import build_features_and_policy_inputs
from scoring.tables import NO_DATE_DAYS
from tests.decision_fixtures import decision_of, edited_policy, example_policy, stop_factor


def _bureau(status="Closed", overdue=0.0, balance=None) -> dict:
    bureau = pd.DataFrame(
        {"SK_ID_CURR": 1, "SK_ID_BUREAU": [10], "CREDIT_ACTIVE": [status], "AMT_CREDIT_SUM_OVERDUE": [overdue]}
    )
    history = {"bureau": bureau}
    if balance is not None:
        history["bureau_balance"] = pd.DataFrame(
            {"SK_ID_BUREAU": 10, "MONTHS_BALANCE": [balance[0]], "STATUS": [balance[1]]}
        )
    return history


def _instalment(days_late=0.0, paid=100.0) -> dict:
    """One instalment of an ongoing loan with us, due 40 days ago."""
    previous = pd.DataFrame(
        {
            "SK_ID_PREV": [9],
            "SK_ID_CURR": 1,
            "NAME_CONTRACT_STATUS": ["Approved"],
            "DAYS_DECISION": [-400],
            "AMT_ANNUITY": [100.0],
            "DAYS_LAST_DUE": [NO_DATE_DAYS],
        }
    )
    instalments = pd.DataFrame(
        {
            "SK_ID_PREV": [9],
            "SK_ID_CURR": 1,
            "NUM_INSTALMENT_VERSION": [1.0],
            "NUM_INSTALMENT_NUMBER": [1],
            "DAYS_INSTALMENT": [-40.0],
            "DAYS_ENTRY_PAYMENT": [-40.0 + days_late],
            "AMT_INSTALMENT": [100.0],
            "AMT_PAYMENT": [paid],
        }
    )
    return {"previous_application": previous, "installments_payments": instalments, **_bureau()}


def _refused(days_ago: int) -> dict:
    previous = pd.DataFrame(
        {"SK_ID_PREV": [8], "SK_ID_CURR": 1, "NAME_CONTRACT_STATUS": ["Refused"], "DAYS_DECISION": [-days_ago]}
    )
    return {"previous_application": previous, **_bureau()}


def _enquiries(total: int) -> dict:
    return {
        "AMT_REQ_CREDIT_BUREAU_MON": float(total - 1),
        "AMT_REQ_CREDIT_BUREAU_QRT": 1.0,
        "AMT_REQ_CREDIT_BUREAU_YEAR": 30.0,
    }  # months 4 to 12: not the last 3 months


# (rule, application and history that fire it, ... that pass it, just across the threshold)
CASES = {
    # 21 years = 7,670.25 days
    "AGE_BELOW_21": (({"DAYS_BIRTH": -7670}, None), ({"DAYS_BIRTH": -7671}, None)),
    # 12 monthly instalments at 15 % a year: 300,000 needs 27,077.49; the loan ends a year after the application
    "AGE_ABOVE_70_AT_END": (
        ({"DAYS_BIRTH": -25203, "AMT_ANNUITY": 27078.0}, None),
        ({"DAYS_BIRTH": -25202, "AMT_ANNUITY": 27078.0}, None),
    ),
    "INCOME_MISSING": (({"AMT_INCOME_TOTAL": 0.0}, None), ({"AMT_INCOME_TOTAL": 100000.0}, None)),
    "BUREAU_90_DAYS_LATE_12M": (({}, _bureau(balance=(-12, "4"))), ({}, _bureau(balance=(-13, "5")))),
    "BUREAU_BAD_DEBT": (({}, _bureau("Bad debt")), ({}, _bureau("Closed"))),
    "BUREAU_OVERDUE_NOW": (({}, _bureau("Active", overdue=0.01)), ({}, _bureau("Active", overdue=0.0))),
    "BUREAU_ENQUIRIES_3M": ((_enquiries(6), _bureau()), (_enquiries(5), _bureau())),
    "ARREARS_WITH_US_LATE": (({}, _instalment(days_late=31)), ({}, _instalment(days_late=30))),
    "ARREARS_WITH_US_SHORT": (({}, _instalment(paid=99.98)), ({}, _instalment(paid=99.995))),
    "REFUSED_RECENTLY": (({}, _refused(91)), ({}, _refused(92))),
    "NO_BUREAU_FILE": (({}, None), ({}, _bureau())),
}
OUTCOME_WHEN_FIRED = {"decline": "decline", "refer": "refer", "info": "approve"}


def test_every_rule_of_the_example_has_a_crafted_case():
    assert sorted(CASES) == sorted(rule.code for rule in example_policy().rules)


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_rule_on_both_sides_of_its_threshold(code):
    rule = next(rule for rule in example_policy().rules if rule.code == code)
    (fire_app, fire_history), (pass_app, pass_history) = CASES[code]
    fired = decision_of(fire_app, fire_history)
    factor = stop_factor(fired, code)
    assert factor.result == "fired" and factor.message == rule.message.model_dump()
    assert fired.outcome == OUTCOME_WHEN_FIRED[rule.action], fired.to_dict()
    assert (code in [reason.code for reason in fired.reasons]) == (rule.action != "info")
    passed = decision_of(pass_app, pass_history)
    factor = stop_factor(passed, code)
    assert factor.result == "passed" and factor.message is None and code not in [r.code for r in passed.reasons]
    assert passed.outcome == "approve", passed.to_dict()
    assert set(factor.values) == set(rule.inputs) and None not in factor.values.values()


def test_a_first_stage_decline_leaves_the_history_rules_not_evaluated():
    decision = decision_of({"DAYS_BIRTH": -7000}, _bureau("Bad debt", overdue=50.0))
    assert decision.outcome == "decline" and [r.code for r in decision.reasons] == ["AGE_BELOW_21"]
    for factor in decision.stop_factors:
        if factor.stage == "history":
            assert factor.result == "not_evaluated" and set(factor.values.values()) == {None}, factor
    assert decision.score.result == "not_evaluated" and decision.affordability.result == "not_evaluated"
    assert decision.offer is None
    # the same history behind an applicant of 30: the bureau rules are read and decline
    later = decision_of({"DAYS_BIRTH": -11000}, _bureau("Bad debt", overdue=50.0))
    assert [r.code for r in later.reasons] == ["BUREAU_BAD_DEBT", "BUREAU_OVERDUE_NOW"]
    assert stop_factor(later, "BUREAU_BAD_DEBT").values == {"BUREAU_BAD_DEBT_COUNT": 1.0}
    assert later.score.result == "pass" and later.affordability.result == "affordable"


def test_a_refer_in_the_first_stage_does_not_stop(tmp_path):
    policy = edited_policy(tmp_path, lambda d: d["rules"][0].update(action="refer"))  # AGE_BELOW_21
    decision = decision_of({"DAYS_BIRTH": -7000}, _bureau("Bad debt"), policy=policy)
    assert stop_factor(decision, "BUREAU_BAD_DEBT").result == "fired" and decision.outcome == "decline"
    assert decision_of({"DAYS_BIRTH": -7000}, _bureau(), policy=policy).outcome == "refer"


def _enquiry_rule(**changes):
    def edit(document):
        rule = next(r for r in document["rules"] if r["code"] == "BUREAU_ENQUIRIES_3M")
        rule.update(changes)

    return edit


def test_a_missing_input_passes_or_fires_as_the_rule_says(tmp_path):
    unknown = {f"AMT_REQ_CREDIT_BUREAU_{p}": None for p in ("HOUR", "DAY", "WEEK", "MON", "QRT", "YEAR")}
    decision = decision_of(unknown, _bureau())
    factor = stop_factor(decision, "BUREAU_ENQUIRIES_3M")
    assert factor.result == "missing" and factor.values == {"BUREAU_ENQUIRIES_3M": None}
    assert decision.outcome == "approve"
    strict = edited_policy(tmp_path, _enquiry_rule(if_missing="fire"))
    decision = decision_of(unknown, _bureau(), policy=strict)
    assert stop_factor(decision, "BUREAU_ENQUIRIES_3M").result == "fired" and decision.outcome == "decline"


def test_a_rule_with_several_inputs_fires_when_any_does(tmp_path):
    policy = edited_policy(
        tmp_path, _enquiry_rule(inputs=["BUREAU_ENQUIRIES_3M", "PREV_REFUSED_COUNT_3M"], threshold=0)
    )
    calm = decision_of(
        _enquiries(1) | {"AMT_REQ_CREDIT_BUREAU_QRT": 0.0, "AMT_REQ_CREDIT_BUREAU_MON": 0.0},
        _refused(200),
        policy=policy,
    )
    assert stop_factor(calm, "BUREAU_ENQUIRIES_3M").result == "passed"
    assert stop_factor(calm, "BUREAU_ENQUIRIES_3M").values == {"BUREAU_ENQUIRIES_3M": 0.0, "PREV_REFUSED_COUNT_3M": 0.0}
    refused = decision_of(
        _enquiries(1) | {"AMT_REQ_CREDIT_BUREAU_QRT": 0.0, "AMT_REQ_CREDIT_BUREAU_MON": 0.0},
        _refused(20),
        policy=policy,
    )
    assert stop_factor(refused, "BUREAU_ENQUIRIES_3M").result == "fired" and refused.outcome == "decline"


def test_the_synthetic_portfolio_trips_every_rule_now_and_then(synth_dir):
    features, policy_inputs = build_features_and_policy_inputs(synth_dir)
    policy = example_policy()
    n = len(features)
    decisions = decide_many(
        features, policy_inputs, np.full(n, 0.02), np.full(n, "G3", dtype=object), 0.3, policy, "model-test"
    )
    shares = dict(zip([rule.code for rule in policy.rules], decisions.rules.fired.mean(axis=0), strict=True))
    assert all(0 < share < 0.2 for share in shares.values()), shares
