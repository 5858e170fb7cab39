"""The decision record: technical refusals (never a silent score), the JSON shape, the score step, and the
vectorised form equal to one decision at a time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scoring.decision import decide, decide_many
from scoring.features import build_features_and_policy_inputs
from scoring.policy import GradeScale
from scoring.tables import NO_DATE_DAYS
from tests.decision_fixtures import decision_of, example_policy, inputs_of


@pytest.mark.parametrize(
    ("application", "code", "field"),
    [
        ({"AMT_CREDIT": None}, "MISSING_VALUE", "AMT_CREDIT"),
        ({"AMT_ANNUITY": None}, "MISSING_VALUE", "AMT_ANNUITY"),
        ({"DAYS_BIRTH": None}, "MISSING_VALUE", "DAYS_BIRTH"),
        ({"AMT_CREDIT": 0.0}, "NOT_POSITIVE", "AMT_CREDIT"),
        ({"AMT_ANNUITY": -10.0}, "NOT_POSITIVE", "AMT_ANNUITY"),
        ({"AMT_ANNUITY": 300001.0}, "ANNUITY_ABOVE_CREDIT", "AMT_ANNUITY"),
        ({"AMT_ANNUITY": 3750.0}, "TERM_OUT_OF_RANGE", "AMT_ANNUITY"),  # 1.25 % of 300,000: the interest alone
        ({"AMT_ANNUITY": 3800.0}, "TERM_OUT_OF_RANGE", "AMT_ANNUITY"),  # repaid, but in more than 120 months
        ({"DAYS_EMPLOYED": 100}, "EMPLOYMENT_DAYS_POSITIVE", "DAYS_EMPLOYED"),
        ({"DAYS_BIRTH": -5000}, "AGE_OUT_OF_RANGE", "DAYS_BIRTH"),
        ({"DAYS_BIRTH": -40000}, "AGE_OUT_OF_RANGE", "DAYS_BIRTH"),
        ({"AMT_GOODS_PRICE": 900001.0}, "GOODS_PRICE_FAR_ABOVE_CREDIT", "AMT_GOODS_PRICE"),
    ],
)
def test_technical_refusals_name_the_code_and_field(application, code, field):
    decision = decision_of(application)
    assert decision.outcome == "technical_refusal"
    assert (code, field) in [(issue.code, issue.field) for issue in decision.technical_issues]
    assert all(issue.message for issue in decision.technical_issues)
    # nothing else is decided on an unusable application: no score, no rule, no offer
    assert decision.score.pd is None and decision.score.grade is None and decision.score.result == "not_evaluated"
    assert {factor.result for factor in decision.stop_factors} == {"not_evaluated"}
    assert decision.affordability.result == "not_evaluated" and decision.offer is None and decision.reasons == ()


def test_usable_quirks_are_not_technical_refusals():
    for application in (
        {"DAYS_EMPLOYED": NO_DATE_DAYS},
        {"AMT_GOODS_PRICE": 900000.0},
        {"AMT_GOODS_PRICE": None},
        {"AMT_ANNUITY": 300000.0},
    ):
        decision = decision_of(application)
        assert decision.technical_issues == (), (application, decision.technical_issues)


def test_a_high_pd_declines_with_the_score_message():
    decision = decision_of(pd_value=0.31, grade="G8", threshold=0.3)
    assert decision.outcome == "decline" and decision.score.result == "decline"
    assert [reason.code for reason in decision.reasons] == ["SCORE_ABOVE_THRESHOLD"]
    assert decision.reasons[0].message == example_policy().score.message.model_dump()
    assert decision.affordability.dsti_cap == 0.4  # the example's cap for G8
    assert decision_of(pd_value=0.29, grade="G7", threshold=0.3).outcome == "approve"


def test_the_record_is_plain_json():
    decision = decision_of()
    record = decision.to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert set(record) == {
        "outcome",
        "reasons",
        "stop_factors",
        "technical_issues",
        "score",
        "affordability",
        "offer",
        "model_version",
        "policy",
    }
    policy = example_policy()
    assert record["policy"] == {"version": policy.version, "sha256": policy.sha256}
    assert record["model_version"] == "model-test" and record["outcome"] == "approve"
    assert set(record["score"]) == {"pd", "grade", "threshold", "result"}
    assert record["offer"] == {
        "amount": 300000.0,
        "annuity": pytest.approx(10399.6, abs=0.1),
        "term_months": 36.0,
        "annual_rate": 0.15,
        "counter_offer": False,
        "message": None,
    }
    factor = record["stop_factors"][0]
    assert set(factor) == {
        "code",
        "stage",
        "action",
        "description",
        "values",
        "comparison",
        "threshold",
        "result",
        "message",
    }
    assert [f["code"] for f in record["stop_factors"]] == [rule.code for rule in policy.rules]
    fired = next(f for f in record["stop_factors"] if f["result"] == "fired")  # NO_BUREAU_FILE: no history sent
    assert fired["code"] == "NO_BUREAU_FILE" and set(fired["message"]) == {"en", "fr"}
    refused = decision_of({"AMT_CREDIT": None}).to_dict()
    assert refused["technical_issues"] == [
        {"code": "MISSING_VALUE", "field": "AMT_CREDIT", "message": "the credit amount is needed"}
    ]
    assert json.loads(json.dumps(refused, allow_nan=False)) == refused


def test_every_outcome_in_one_batch():
    rows = [
        inputs_of(application)
        for application in (
            {},
            {"AMT_INCOME_TOTAL": 20000.0, "AMT_CREDIT": 400000.0, "AMT_ANNUITY": 13867.0},
            {"DAYS_BIRTH": -7000},
            {"AMT_CREDIT": None},
        )
    ]
    features = pd.DataFrame([f for f, _ in rows]).set_axis([1, 2, 3, 4])
    policy_inputs = pd.DataFrame([p for _, p in rows]).set_axis([1, 2, 3, 4])
    decisions = decide_many(
        features, policy_inputs, [0.02, 0.02, 0.02, 0.02], ["G3"] * 4, 0.3, example_policy(), "model-test"
    )
    assert list(decisions.outcome) == ["approve", "counter_offer", "decline", "technical_refusal"]
    summary = decisions.summary()
    assert list(summary.index) == [1, 2, 3, 4]
    assert summary.loc[2, "offer_amount"] == 288000 and np.isnan(summary.loc[3, "offer_amount"])
    assert summary.loc[1, "fired"] == "NO_BUREAU_FILE" and summary.loc[3, "fired"] == "AGE_BELOW_21"


def test_bad_arguments_are_refused():
    features, policy_inputs = inputs_of()
    frame, inputs = features.to_frame().T, policy_inputs.to_frame().T
    with pytest.raises(ValueError, match="same index"):
        decide_many(frame, inputs.set_axis([99]), [0.1], ["G5"], 0.3, example_policy(), "m")
    with pytest.raises(ValueError, match="one PD and one grade"):
        decide_many(frame, inputs, [0.1, 0.2], ["G5"], 0.3, example_policy(), "m")


def test_the_batch_equals_one_decision_at_a_time(synth_dir):
    features, policy_inputs = build_features_and_policy_inputs(synth_dir)
    rng = np.random.default_rng(3)
    pd_values = rng.beta(1, 10, len(features))
    grades = np.array(GradeScale().grade(pd_values), dtype=object)
    policy = example_policy()
    decisions = decide_many(features, policy_inputs, pd_values, grades, 0.2, policy, "model-test")
    assert len(decisions) == len(features) and set(decisions.outcome) == {
        "approve",
        "counter_offer",
        "refer",
        "decline",
    }
    for i in rng.choice(len(features), 60, replace=False):
        one = decide(features.iloc[i], policy_inputs.iloc[i], pd_values[i], grades[i], 0.2, policy, "model-test")
        assert one.to_dict() == decisions.decision(i).to_dict()
    assert (decisions.summary()["outcome"] == decisions.outcome).all()
