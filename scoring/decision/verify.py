"""Independent verification of the main credit pipeline: we recompute an application's factors, stop factors, PD
and outcome from the same records, and list every place where the main pipeline's figures differ from ours beyond
the policy's tolerances (its `verification` section), so that analysts read only the applications that differ.

Shared by POST /api/v1/verify and `python -m scoring verify`; the files of the latter are read in verify_file.py.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from scoring.decision import record
from scoring.decision.inputs import DERIVED_INPUTS
from scoring.decision.policy_file import Policy
from scoring.decision.service import Decided, decide_applicants

OUTCOMES = (record.APPROVE, record.COUNTER_OFFER, record.REFER, record.DECLINE, record.TECHNICAL_REFUSAL)
MATCH, DISCREPANCIES = "match", "discrepancies"
_THEIRS_KEYS = ("factors", "stop_factors", "pd", "outcome")


@dataclass(frozen=True)
class Theirs:
    """What the main pipeline computed; a part it does not send (None) is not compared."""

    factors: dict[str, float | str | None]
    stop_factors: tuple[str, ...] | None
    pd: float | None
    outcome: str | None


class TheirsError(ValueError):
    """The main pipeline's figures are not usable; `problems` as [{field, message}] like the applicant's."""

    def __init__(self, problems: list[dict]):
        super().__init__("; ".join(f"{p['field']}: {p['message']}" for p in problems))
        self.problems = problems


def factor_names() -> frozenset[str]:
    """Every name a factor may have: a model feature, a policy input, or an input derived for the rules."""
    from scoring.features import POLICY_INPUTS, feature_names

    return frozenset(feature_names()) | set(POLICY_INPUTS) | set(DERIVED_INPUTS)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_theirs(raw, prefix: str = "theirs") -> Theirs:
    """The main pipeline's figures, checked: TheirsError naming every bad field."""
    if not isinstance(raw, dict):
        raise TheirsError([{"field": prefix, "message": f"required object with some of {', '.join(_THEIRS_KEYS)}"}])
    problems = [
        {"field": f"{prefix}.{k}", "message": f"unknown field (expected {', '.join(_THEIRS_KEYS)})"}
        for k in raw
        if k not in _THEIRS_KEYS
    ]
    factors = raw.get("factors") or {}
    if not isinstance(factors, dict):
        problems.append({"field": f"{prefix}.factors", "message": "must be an object of factor name -> value"})
        factors = {}
    known = factor_names()
    for name, value in factors.items():
        if name not in known:
            problems.append(
                {"field": f"{prefix}.factors.{name}", "message": "unknown factor (a feature or policy input)"}
            )
        elif value is not None and not _number(value) and not isinstance(value, str):
            problems.append({"field": f"{prefix}.factors.{name}", "message": "must be a finite number, text or null"})
    codes = raw.get("stop_factors")
    if codes is not None and (not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes)):
        problems.append({"field": f"{prefix}.stop_factors", "message": "must be a list of rule codes"})
    pd_value = raw.get("pd")
    if pd_value is not None and not (_number(pd_value) and 0 <= pd_value <= 1):
        problems.append({"field": f"{prefix}.pd", "message": "must be a number from 0 to 1"})
    outcome = raw.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        problems.append({"field": f"{prefix}.outcome", "message": f"must be one of {', '.join(OUTCOMES)}"})
    if problems:
        raise TheirsError(problems)
    return Theirs(
        factors=dict(factors),
        stop_factors=None if codes is None else tuple(codes),
        pd=None if pd_value is None else float(pd_value),
        outcome=outcome,
    )


def _ours(decided: Decided, row: int, name: str):
    """Our value of a factor for one application (None when missing)."""
    if name in DERIVED_INPUTS:
        value = decided.decisions.values[name][row]
    elif name in decided.policy_inputs.columns:
        value = decided.policy_inputs[name].iat[row]
    else:
        value = decided.features[name].iat[row]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else float(value)


def _factor(name: str, theirs, ours, policy: Policy) -> dict | None:
    """The discrepancy of one factor, or None when it agrees."""
    section = policy.verification
    if isinstance(theirs, str) or isinstance(ours, str) or theirs is None or ours is None:
        tolerance = None
        same = theirs == ours
    else:
        tolerance = section.factors.get(name, section.factor_abs + section.factor_rel * abs(ours))
        same = abs(float(theirs) - ours) <= tolerance
    return None if same else {"kind": "factor", "name": name, "theirs": theirs, "ours": ours, "tolerance": tolerance}


def discrepancies(theirs: Theirs, decided: Decided, row: int, policy: Policy) -> list[dict]:
    """Every difference of row `row` of `decided` from `theirs`: factors, stop factors, score, outcome."""
    found = [
        d
        for name, value in theirs.factors.items()
        if (d := _factor(name, value, _ours(decided, row, name), policy)) is not None
    ]
    rules = decided.decisions.rules
    if theirs.stop_factors is not None:
        codes = [rule.code for rule in rules.rules]
        ours = {codes[j] for j in np.flatnonzero(rules.fired[row])}
        for code in sorted(set(theirs.stop_factors) - ours):
            seen = rules.result(row, codes.index(code)) if code in codes else None
            found.append({"kind": "stop_factor", "name": code, "theirs": "fired", "ours": seen, "tolerance": None})
        for code in sorted(ours - set(theirs.stop_factors)):
            found.append(
                {"kind": "stop_factor", "name": code, "theirs": "not_fired", "ours": "fired", "tolerance": None}
            )
    outcome = str(decided.decisions.outcome[row])
    if theirs.pd is not None:
        ours_pd = None if outcome == record.TECHNICAL_REFUSAL else float(decided.scores["pd"].iat[row])
        tolerance = policy.verification.pd_abs
        if ours_pd is None or abs(theirs.pd - ours_pd) > tolerance:
            found.append({"kind": "score", "name": "pd", "theirs": theirs.pd, "ours": ours_pd, "tolerance": tolerance})
    if theirs.outcome is not None and theirs.outcome != outcome:
        found.append(
            {"kind": "outcome", "name": "outcome", "theirs": theirs.outcome, "ours": outcome, "tolerance": None}
        )
    return found


def verify_applicants(bundle, policy: Policy, applicants: list[tuple[dict, dict]], theirs: list[Theirs]) -> list[dict]:
    """One report per application: {status, discrepancies, decision (ours, Decision.to_dict())}."""
    decided = decide_applicants(bundle, policy, applicants)
    reports = []
    for row, their in enumerate(theirs):
        found = discrepancies(their, decided, row, policy)
        reports.append(
            {
                "status": DISCREPANCIES if found else MATCH,
                "discrepancies": found,
                "decision": decided.decisions.decision(row).to_dict(),
            }
        )
    return reports


def summary(reports: list[dict], top: int = 10) -> dict:
    """Applications checked, the share with discrepancies, the (kind, name) pairs that differ most often."""
    counts = Counter((d["kind"], d["name"]) for r in reports for d in r["discrepancies"])
    differing = sum(r["status"] == DISCREPANCIES for r in reports)
    return {
        "checked": len(reports),
        "with_discrepancies": differing,
        "share_with_discrepancies": differing / len(reports) if reports else 0.0,
        "most_frequent": [{"kind": k, "name": n, "count": c} for (k, n), c in counts.most_common(top)],
    }
