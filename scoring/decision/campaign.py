"""Pre-approved offers to clients who have not asked for a loan: what the policy would lend each of them today.

A client who has not asked has no amount or term to judge. The offer puts to the decision engine the
application that the policy itself allows: the largest amount the income multiple lets this client's grade
borrow (rounded down to the policy's step), over the campaign's standard term (`campaign.term_months`) at the
product's rate. The engine's own steps then decide: every stop factor on the client's file, the score at the
model's threshold, and affordability, which either keeps that amount (DSTI under the cap: outcome approve) or
cuts it to the largest amount the DSTI cap allows (counter_offer), no smaller than the policy's `min_offer`.
Declined, referred and technically refused clients get no offer. The PD is the client's on their file as it
stands: an offer is confirmed by a full decision when the client applies.

Ranked by PD, lowest first (ties: larger amount first, then client id). An expected value would need a loss
given default, a funding cost and a take-up rate that the policy does not hold; a ranking on invented figures
would look exact and mean nothing. The CSV carries amount and annuity, so a marketing team can re-rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from scoring import progress
from scoring.decision import affordability as afford
from scoring.decision import record
from scoring.decision.engine import decide_many
from scoring.decision.policy_file import Policy

OFFER_COLUMNS = ("rank", "client_id", "pd", "grade", "amount", "annuity", "term_months", "annual_rate", "dsti")
# the outcomes that carry an offer; the rest are counted apart, by outcome, with "below_min_offer"
OFFERED = (record.APPROVE, record.COUNTER_OFFER)
BELOW_MIN_OFFER = "below_min_offer"


@dataclass(frozen=True)
class Campaign:
    """The ranked offers (columns OFFER_COLUMNS) and what they were made under."""

    offers: pd.DataFrame
    run_at: str
    policy_version: str
    policy_sha256: str
    model_version: str
    clients_scored: int
    message: dict[str, str]  # for the customer, beside their offer
    not_offered: dict[str, int] = field(default_factory=dict)  # outcome (or below_min_offer) -> clients

    def meta(self) -> dict:
        """What the store records with the offers (plain JSON)."""
        return {
            "run_at": self.run_at,
            "policy_version": self.policy_version,
            "policy_sha256": self.policy_sha256,
            "model_version": self.model_version,
            "clients_scored": self.clients_scored,
            "offers": len(self.offers),
            "message": self.message,
        }


def campaign_application(features: pd.DataFrame, grades, policy: Policy) -> pd.DataFrame:
    """The features with the application the campaign puts forward: the income multiple's amount over the
    standard term at the product's rate; no goods price (a cash loan)."""
    section, term = policy.affordability, _section(policy).term_months
    cap = afford.max_amount_by_income(features["AMT_INCOME_TOTAL"], grades, section)
    amount = np.floor(cap / section.round_to) * section.round_to
    asked = features.copy()
    asked["AMT_CREDIT"] = amount
    asked["AMT_ANNUITY"] = afford.annuity(amount, term, section.annual_rate)
    asked["AMT_GOODS_PRICE"] = np.nan
    return asked


def campaign_offers(features: pd.DataFrame, policy_inputs: pd.DataFrame, bundle, policy: Policy) -> Campaign:
    """Score every client of `features` with the bundle and decide the campaign's application for each."""
    section = _section(policy)
    scores = bundle.score(features)
    pd_values, grades = scores["pd"].to_numpy(dtype=float), scores["grade"].to_numpy(dtype=object)
    asked = campaign_application(features, grades, policy)
    decisions = decide_many(asked, policy_inputs, pd_values, grades, bundle.threshold, policy, bundle.version)
    figures = decisions.affordability
    offered = decisions.offered & np.isin(decisions.outcome, OFFERED)
    big_enough = figures.offer_amount >= policy.affordability.min_offer
    not_offered = pd.Series(decisions.outcome[~offered]).value_counts().to_dict()
    if (offered & ~big_enough).any():
        not_offered[BELOW_MIN_OFFER] = int((offered & ~big_enough).sum())
    keep = offered & big_enough
    income = np.asarray(decisions.values["AMT_INCOME_TOTAL"], dtype=float)[keep]
    debt = np.nan_to_num(decisions.values["EXISTING_DEBT_SERVICE"][keep], nan=0.0)
    offers = pd.DataFrame(
        {
            "client_id": features.index.to_numpy(dtype="int64")[keep],
            "pd": pd_values[keep],
            "grade": grades[keep],
            "amount": figures.offer_amount[keep],
            "annuity": figures.offer_annuity[keep],
            "term_months": np.full(int(keep.sum()), section.term_months, dtype="int64"),
            "annual_rate": policy.affordability.annual_rate,
            "dsti": (debt + figures.offer_annuity[keep]) / income,
        }
    )
    offers = offers.sort_values(["pd", "amount", "client_id"], ascending=[True, False, True], kind="stable")
    offers.insert(0, "rank", np.arange(1, len(offers) + 1, dtype="int64"))
    return Campaign(
        offers=offers.reset_index(drop=True)[list(OFFER_COLUMNS)],
        run_at=datetime.now(UTC).isoformat(timespec="seconds"),
        policy_version=policy.version,
        policy_sha256=policy.sha256,
        model_version=bundle.version,
        clients_scored=len(features),
        message=section.message.model_dump(),
        not_offered={str(k): int(v) for k, v in not_offered.items()},
    )


def run_campaign(data_dir, models_dir, policy: Policy, *, all_clients: bool = False) -> Campaign:
    """The campaign over the raw tables: the test split's clients (those without a decided application), or all."""
    from scoring.bundle import ModelBundle
    from scoring.features import build_features_and_policy_inputs

    bundle = ModelBundle.load(models_dir)
    with progress.step("features and policy inputs"):
        features, policy_inputs = build_features_and_policy_inputs(data_dir)
    if not all_clients:
        chosen = features.index.isin(ids_of_test_split(data_dir))
        features, policy_inputs = features[chosen], policy_inputs[chosen]
    with progress.step("scores, decisions, ranking", total=len(features), unit="clients") as done:
        campaign = campaign_offers(features, policy_inputs, bundle, policy)
        done.update(len(features))
    return campaign


def ids_of_test_split(data_dir) -> np.ndarray:
    """Client ids of application_test: applicants whose outcome the data does not hold (none without the file)."""
    from scoring.tables import find_table, read_table

    if find_table(data_dir, "application_test") is None:
        return np.array([], dtype="int64")
    return read_table(data_dir, "application_test", ["SK_ID_CURR"])["SK_ID_CURR"].to_numpy(dtype="int64")


def _section(policy: Policy):
    if policy.campaign is None:
        raise ValueError(f"{policy.path}: the policy has no campaign section (campaign.term_months, message)")
    return policy.campaign
