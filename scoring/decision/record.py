"""The decision record: what was decided and every step that led there, as plain JSON for the API and the store."""

from __future__ import annotations

from dataclasses import dataclass

APPROVE, COUNTER_OFFER, REFER, DECLINE, TECHNICAL_REFUSAL = (
    "approve",
    "counter_offer",
    "refer",
    "decline",
    "technical_refusal",
)


@dataclass(frozen=True)
class TechnicalIssue:
    code: str
    field: str
    message: str


@dataclass(frozen=True)
class StopFactor:
    """One rule as evaluated: the values seen, its threshold, its result (fired, passed, missing, not_evaluated)."""

    code: str
    stage: str
    action: str
    description: str
    values: dict[str, float | None]  # input -> value seen; None when not known or not evaluated
    comparison: str
    threshold: float
    result: str
    message: dict[str, str] | None  # for the customer, when it fired


@dataclass(frozen=True)
class Reason:
    """A step that set the outcome (a rule that declined or referred, the score, affordability), in plain words."""

    code: str
    action: str
    message: dict[str, str]


@dataclass(frozen=True)
class ScoreStep:
    """The model's PD and grade (None on a technical refusal); not_evaluated when a first-stage rule declined."""

    pd: float | None
    grade: str | None
    threshold: float
    result: str  # pass, decline, not_evaluated


@dataclass(frozen=True)
class AffordabilityStep:
    """The figures of the affordability step; all None when it was not evaluated."""

    result: str  # affordable, counter_offer, unaffordable, not_evaluated
    income: float | None
    existing_debt_service: float | None
    requested_amount: float | None
    requested_annuity: float | None
    term_months: float | None
    annual_rate: float
    new_annuity: float | None  # the requested amount's annuity at the product's rate over term_months
    dsti: float | None
    dsti_cap: float | None
    max_annuity: float | None
    max_amount_by_dsti: float | None
    max_amount_by_income: float | None
    max_amount: float | None


@dataclass(frozen=True)
class Offer:
    amount: float
    annuity: float
    term_months: float
    annual_rate: float
    counter_offer: bool
    message: dict[str, str] | None  # the counter-offer's explanation for the customer


@dataclass(frozen=True)
class Decision:
    outcome: str
    reasons: tuple[Reason, ...]
    stop_factors: tuple[StopFactor, ...]
    technical_issues: tuple[TechnicalIssue, ...]
    score: ScoreStep
    affordability: AffordabilityStep
    offer: Offer | None
    model_version: str
    policy_version: str
    policy_sha256: str

    def to_dict(self) -> dict:
        """Plain JSON: lists, dicts, str, float, bool and None only."""
        out = _plain(self)
        out["policy"] = {"version": out.pop("policy_version"), "sha256": out.pop("policy_sha256")}
        return out


def _plain(value):
    """Records as dicts and tuples as lists, all the way down (dataclasses.asdict deep-copies: 5x slower)."""
    if hasattr(value, "__dataclass_fields__"):
        return {key: _plain(item) for key, item in vars(value).items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def customer_view(decision: dict, lang: str) -> dict:
    """What a customer is shown of their decision (Decision.to_dict()): the outcome, the reasons and the offer in
    the words written for customers, their own affordability figures; never the rules' thresholds or the
    stop factors a reviewer reads, which would teach how to pass them."""
    offer = decision["offer"]
    return {
        "outcome": decision["outcome"],
        "reasons": [
            {"code": r["code"], "action": r["action"], "message": r["message"][lang]} for r in decision["reasons"]
        ],
        "technical_issues": decision["technical_issues"],
        "score": {"pd": decision["score"]["pd"], "grade": decision["score"]["grade"]},
        "affordability": {
            key: decision["affordability"][key]
            for key in (
                "result",
                "income",
                "existing_debt_service",
                "requested_amount",
                "new_annuity",
                "dsti",
                "dsti_cap",
            )
        },
        "offer": None if offer is None else {**offer, "message": offer["message"][lang] if offer["message"] else None},
        "model_version": decision["model_version"],
        "policy": decision["policy"],
    }
