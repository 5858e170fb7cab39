"""Policy + PD -> decisions, for many clients at once: technical checks, the stop factors stage by stage, the
score, affordability and the offer. One applicant goes through the same code as a one-row batch, so a decision
served online equals the one the store precomputed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.decision import affordability as afford
from scoring.decision import record
from scoring.decision.inputs import input_values
from scoring.decision.policy_file import Policy
from scoring.decision.stop_factors import NOT_EVALUATED, RuleResults, evaluate
from scoring.decision.technical_checks import CHECKS, failing
from scoring.values import plain


@dataclass(frozen=True)
class Decisions:
    """Decisions of many clients as arrays (fast to build, to summarise and to store); `decision(i)` gives the
    full record of row i."""

    index: pd.Index
    outcome: np.ndarray
    policy: Policy
    model_version: str
    threshold: float
    pd: np.ndarray
    grade: np.ndarray
    values: dict[str, np.ndarray]
    technical: np.ndarray  # (clients x CHECKS) failing
    rules: RuleResults
    score_declined: np.ndarray
    affordability: afford.AffordabilityFigures
    offered: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def summary(self) -> pd.DataFrame:
        """One row per client: outcome, offer, DSTI and the codes that fired (';'-separated), e.g. for `predict`."""
        codes = np.array([rule.code for rule in self.rules.rules], dtype=object)
        fired = [";".join(codes[row]) for row in self.rules.fired]
        return pd.DataFrame(
            {
                "outcome": self.outcome,
                "offer_amount": np.where(self.offered, self.affordability.offer_amount, np.nan),
                "offer_annuity": np.where(self.offered, self.affordability.offer_annuity, np.nan),
                "term_months": np.where(self.offered, self.values["LOAN_TERM_MONTHS"], np.nan),
                "dsti": self.affordability.dsti,
                "fired": fired,
            },
            index=self.index,
        )

    def decision(self, i: int) -> record.Decision:
        usable = not self.technical[i].any()
        return record.Decision(
            outcome=str(self.outcome[i]),
            reasons=self._reasons(i),
            stop_factors=self._stop_factors(i),
            technical_issues=tuple(
                record.TechnicalIssue(c.code, c.field, c.message)
                for c, failed in zip(CHECKS, self.technical[i], strict=True)
                if failed
            ),
            score=record.ScoreStep(
                pd=plain(self.pd[i]) if usable else None,
                grade=plain(self.grade[i]) if usable else None,
                threshold=self.threshold,
                result=NOT_EVALUATED
                if not self.rules.all_stages_run[i]
                else "decline"
                if self.score_declined[i]
                else "pass",
            ),
            affordability=self._affordability(i),
            offer=self._offer(i),
            model_version=self.model_version,
            policy_version=self.policy.version,
            policy_sha256=self.policy.sha256,
        )

    def _stop_factors(self, i: int) -> tuple[record.StopFactor, ...]:
        factors = []
        for j, rule in enumerate(self.rules.rules):
            seen = self.rules.evaluated[i, j]
            result = self.rules.result(i, j)
            factors.append(
                record.StopFactor(
                    code=rule.code,
                    stage=rule.stage,
                    action=rule.action,
                    description=rule.description,
                    values={name: _number(self.values[name][i]) if seen else None for name in rule.inputs},
                    comparison=rule.comparison,
                    threshold=rule.threshold,
                    result=result,
                    message=rule.message.model_dump() if self.rules.fired[i, j] else None,
                )
            )
        return tuple(factors)

    def _reasons(self, i: int) -> tuple[record.Reason, ...]:
        reasons = [
            record.Reason(rule.code, rule.action, rule.message.model_dump())
            for rule, fired in zip(self.rules.rules, self.rules.fired[i], strict=True)
            if fired and rule.action != "info"
        ]
        section = self.policy.affordability
        if self.score_declined[i]:
            reasons.append(record.Reason("SCORE_ABOVE_THRESHOLD", "decline", self.policy.score.message.model_dump()))
        if self.affordability.result[i] == afford.UNAFFORDABLE:
            reasons.append(record.Reason("UNAFFORDABLE", "decline", section.unaffordable_message.model_dump()))
        if self.outcome[i] == record.COUNTER_OFFER:
            reasons.append(record.Reason("COUNTER_OFFER", "counter_offer", section.counter_offer_message.model_dump()))
        return tuple(reasons)

    def _affordability(self, i: int) -> record.AffordabilityStep:
        a, seen = self.affordability, self.affordability.result[i] != afford.NOT_EVALUATED

        def value(array):
            return _number(array[i]) if seen else None

        return record.AffordabilityStep(
            result=str(a.result[i]),
            income=value(self.values["AMT_INCOME_TOTAL"]),
            existing_debt_service=value(self.values["EXISTING_DEBT_SERVICE"]),
            requested_amount=value(self.values["AMT_CREDIT"]),
            requested_annuity=value(self.values["AMT_ANNUITY"]),
            term_months=value(self.values["LOAN_TERM_MONTHS"]),
            annual_rate=self.policy.affordability.annual_rate,
            new_annuity=value(a.new_annuity),
            dsti=value(a.dsti),
            dsti_cap=value(a.dsti_cap),
            max_annuity=value(a.max_annuity),
            max_amount_by_dsti=value(a.max_amount_by_dsti),
            max_amount_by_income=value(a.max_amount_by_income),
            max_amount=value(a.max_amount),
        )

    def _offer(self, i: int) -> record.Offer | None:
        if not self.offered[i]:
            return None
        counter = self.affordability.result[i] == afford.COUNTER_OFFER
        section = self.policy.affordability
        return record.Offer(
            amount=float(self.affordability.offer_amount[i]),
            annuity=float(self.affordability.offer_annuity[i]),
            term_months=float(self.values["LOAN_TERM_MONTHS"][i]),
            annual_rate=section.annual_rate,
            counter_offer=bool(counter),
            message=section.counter_offer_message.model_dump() if counter else None,
        )


def _number(value) -> float | None:
    """A float array's item as a JSON number, NaN as None (plain() does the same for any value, 3x slower)."""
    return None if math.isnan(value) else float(value)


def decide_many(
    features: pd.DataFrame,
    policy_inputs: pd.DataFrame,
    pd_values,
    grades,
    threshold: float,
    policy: Policy,
    model_version: str,
) -> Decisions:
    """Decisions of every row of `features` (model features) and `policy_inputs` (same index), given their PD
    and grade from the model bundle and the bundle's threshold."""
    if not policy_inputs.index.equals(features.index):
        raise ValueError("features and policy_inputs must have the same index (one row per client, same order)")
    pd_values, grades = np.asarray(pd_values, dtype=float), np.asarray(grades, dtype=object)
    if len(pd_values) != len(features) or len(grades) != len(features):
        raise ValueError("one PD and one grade are needed per client")
    return _decided(features, policy_inputs, features.index, pd_values, grades, threshold, policy, model_version)


def decide(
    features_row: pd.Series,
    policy_inputs_row: pd.Series,
    pd_value: float,
    grade: str,
    threshold: float,
    policy: Policy,
    model_version: str,
) -> record.Decision:
    """The decision of one client (rows as Series): the same steps as decide_many, on one row."""
    index = pd.Index([features_row.name], name=features_row.index.name)
    return _decided(
        features_row,
        policy_inputs_row,
        index,
        np.array([pd_value], dtype=float),
        np.array([grade], dtype=object),
        threshold,
        policy,
        model_version,
    ).decision(0)


def _decided(features, policy_inputs, index, pd_values, grades, threshold, policy, model_version) -> Decisions:
    names = {name for rule in policy.rules for name in rule.inputs}
    values = input_values(features, policy_inputs, names, policy.affordability.annual_rate)
    technical = failing(values, policy.technical)
    usable = ~technical.any(axis=1)
    rules = evaluate(policy.rules, values, usable)
    scored = rules.all_stages_run
    score_declined = scored & (pd_values >= threshold)
    figures = afford.assess(
        values["AMT_CREDIT"],
        values["AMT_INCOME_TOTAL"],
        values["EXISTING_DEBT_SERVICE"],
        values["LOAN_TERM_MONTHS"],
        grades,
        policy.affordability,
        scored,
    )
    declined = (usable & ~scored) | (
        scored & (rules.any_fired("decline") | score_declined | (figures.result == afford.UNAFFORDABLE))
    )
    referred = usable & ~declined & rules.any_fired("refer")
    countered = usable & ~declined & ~referred & (figures.result == afford.COUNTER_OFFER)
    outcome = np.select(
        [~usable, declined, referred, countered],
        [record.TECHNICAL_REFUSAL, record.DECLINE, record.REFER, record.COUNTER_OFFER],
        record.APPROVE,
    ).astype(object)
    offered = usable & ~declined & np.isin(figures.result, [afford.AFFORDABLE, afford.COUNTER_OFFER])
    return Decisions(
        index=index,
        outcome=outcome,
        policy=policy,
        model_version=model_version,
        threshold=float(threshold),
        pd=pd_values,
        grade=grades,
        values=values,
        technical=technical,
        rules=rules,
        score_declined=score_declined,
        affordability=figures,
        offered=offered,
    )
