"""The lender's policy as a data file (YAML): stop factors, score message, affordability, technical tolerances.

A risk analyst edits the file, not Python; everything in it is checked at load, and a mistake is refused naming
the file, the rule (or section) and the reason, so that a policy never half-applies. The version and the SHA-256
of the file's bytes travel with every decision made under it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scoring.config import settings
from scoring.decision.inputs import categorical_input_names, history_free_input_names, numeric_input_names
from scoring.policy import GradeScale

STAGES = ("application", "history")  # the order rules run in: no credit history needed first
BUILT_IN_REASONS = ("SCORE_ABOVE_THRESHOLD", "UNAFFORDABLE", "COUNTER_OFFER")
_Finite = Annotated[float, Field(allow_inf_nan=False)]
_Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
_Share = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
_Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Message(_Strict):
    """A text for the customer, in every language the product speaks."""

    en: _Text
    fr: _Text


class Rule(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    description: _Text
    stage: Literal["application", "history"]
    inputs: Annotated[list[str], Field(min_length=1)]
    comparison: Literal[">", ">=", "<", "<=", "=="]
    threshold: _Finite
    action: Literal["decline", "refer", "info"]
    if_missing: Literal["pass", "fire"] = "pass"  # an input not known: the rule passes, or fires (fail closed)
    message: Message


class ScoreSection(_Strict):
    message: Message  # why a PD at or above the model's threshold declines


class AffordabilitySection(_Strict):
    annual_rate: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
    dsti_cap: _Share
    dsti_cap_by_grade: dict[str, _Share] = {}
    income_multiple: _Positive  # of yearly income (12 x AMT_INCOME_TOTAL)
    income_multiple_by_grade: dict[str, _Positive] = {}
    min_offer: _Positive
    round_to: _Positive = 1.0
    counter_offer_message: Message
    unaffordable_message: Message


class TechnicalSection(_Strict):
    annuity_to_credit_max: _Positive
    goods_to_credit_max: _Positive
    age_years_min: _Positive
    age_years_max: _Positive
    term_months_max: _Positive


class CampaignSection(_Strict):
    """Pre-approved offers to clients who have not asked: no requested term to go by, so the policy sets one."""

    term_months: Annotated[int, Field(gt=0, le=600)]
    message: Message  # what a customer reads beside their offer


class VerificationSection(_Strict):
    """How far the main pipeline's figures may differ from ours before `verify` reports them (scoring.decision.verify):
    a factor within factor_abs + factor_rel x |ours| (or its own entry of `factors`, absolute), a PD within pd_abs."""

    factor_abs: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1e-6
    factor_rel: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 1e-6
    factors: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = {}
    pd_abs: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.001


class _Document(_Strict):
    version: _Text
    label: _Text
    rules: Annotated[list[Rule], Field(min_length=1)]
    score: ScoreSection
    affordability: AffordabilitySection
    technical: TechnicalSection
    campaign: CampaignSection | None = None
    verification: VerificationSection = VerificationSection()


@dataclass(frozen=True)
class Policy:
    """A loaded, checked policy; `rules` in evaluation order (stage by stage, file order within a stage)."""

    path: str
    version: str
    sha256: str
    label: str
    rules: tuple[Rule, ...]
    score: ScoreSection
    affordability: AffordabilitySection
    technical: TechnicalSection
    campaign: CampaignSection | None = None  # None: this policy makes no pre-approved offers
    verification: VerificationSection = VerificationSection()


class PolicyError(ValueError):
    """A policy file refused at load; `problems` lists (rule or section, reason), the message names the file too."""

    def __init__(self, path, problems: list[tuple[str, str]]):
        self.path, self.problems = str(path), problems
        self.rule, self.reason = problems[0]
        super().__init__("\n".join(f"{self.path}: {where}: {reason}" for where, reason in problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's own loader keeps the last of two equal keys; a policy must not silently lose a threshold."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_policy(path=None, grades: GradeScale | None = None) -> Policy:
    """The policy at `path` (default SCORING_POLICY), checked; PolicyError naming file, rule and reason."""
    path = Path(settings().policy_path if path is None else path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise PolicyError(path, [("file", f"cannot be read ({exc.strerror})")]) from None
    try:
        raw = yaml.load(raw_bytes, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader that refuses repeated keys)
    except yaml.YAMLError as exc:
        raise PolicyError(path, [("file", f"not valid YAML: {' '.join(str(exc).split())}")]) from None
    if not isinstance(raw, dict):
        raise PolicyError(path, [("file", "must be a mapping of sections (version, label, rules, ...)")])
    try:
        doc = _Document.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(path, [_located(raw, error) for error in exc.errors()]) from None
    problems = _rule_problems(doc.rules) + _grade_problems(doc, grades or GradeScale.from_env())
    problems += [
        ("verification", f"factors: unknown input {name}")
        for name in doc.verification.factors
        if name not in numeric_input_names()
    ]
    if doc.technical.age_years_min >= doc.technical.age_years_max:
        problems.append(("technical", "age_years_min must be below age_years_max"))
    if problems:
        raise PolicyError(path, problems)
    ordered = tuple(sorted(doc.rules, key=lambda rule: STAGES.index(rule.stage)))
    return Policy(
        path=str(path),
        version=doc.version,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        label=doc.label,
        rules=ordered,
        score=doc.score,
        affordability=doc.affordability,
        technical=doc.technical,
        campaign=doc.campaign,
        verification=doc.verification,
    )


def _located(raw: dict, error: dict) -> tuple[str, str]:
    """A pydantic error as (rule code or section, 'field: reason')."""
    loc = list(error["loc"])
    reason = _REASONS.get(error["type"], error["msg"])
    if len(loc) <= 1:  # a top-level field
        return "file", f"{loc[0] if loc else 'document'}: {reason}"
    where = str(loc.pop(0))
    if where == "rules" and isinstance(loc[0], int):
        index = loc.pop(0)
        entry = raw["rules"][index]
        code = entry.get("code") if isinstance(entry, dict) else None
        where = f"rule {code}" if isinstance(code, str) else f"rule number {index + 1}"
    return where, f"{'.'.join(str(part) for part in loc) or 'entry'}: {reason}"


_REASONS = {"missing": "required but missing", "extra_forbidden": "unknown field"}


def _rule_problems(rules) -> list[tuple[str, str]]:
    known, history_free, categories = numeric_input_names(), history_free_input_names(), categorical_input_names()
    problems, seen = [], set()
    for rule in rules:
        where = f"rule {rule.code}"
        if rule.code in seen:
            problems.append((where, "code: the same code is used by another rule"))
        if rule.code in BUILT_IN_REASONS:
            problems.append((where, f"code: {rule.code} is a reason the product gives itself"))
        seen.add(rule.code)
        for name in rule.inputs:
            if name in categories:
                problems.append((where, f"inputs: {name} is a category, not a number a threshold applies to"))
            elif name not in known:
                problems.append((where, f"inputs: unknown input {name}"))
            elif rule.stage == "application" and name not in history_free:
                problems.append(
                    (
                        where,
                        f"inputs: {name} needs the credit history; a rule of stage application "
                        "may read only the application",
                    )
                )
        if rule.comparison == "==" and not float(rule.threshold).is_integer():
            problems.append((where, "threshold: == needs a whole number (a count or a 0/1 flag)"))
    return problems


def _grade_problems(doc: _Document, grades: GradeScale) -> list[tuple[str, str]]:
    section = doc.affordability
    return [
        ("affordability", f"{field}: unknown grade {grade} (the grades are {', '.join(grades.names)})")
        for field in ("dsti_cap_by_grade", "income_multiple_by_grade")
        for grade in getattr(section, field)
        if grade not in grades.names
    ]
