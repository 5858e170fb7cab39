"""Stop factors: every rule of the policy on every client at once, stage by stage.

The code knows no rule by name: a rule is a record of the policy file. A decline in one stage stops the later
stages for that client, which the results then mark as not evaluated (as a lender who does not buy the bureau
report once a cheaper rule has declined).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.decision.policy_file import STAGES, Rule

FIRED, PASSED, MISSING, NOT_EVALUATED = "fired", "passed", "missing", "not_evaluated"
_COMPARE = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal, "==": np.equal}


@dataclass(frozen=True)
class RuleResults:
    """(clients x rules) masks, rules in policy order; `all_stages_run`: clients no stage stopped."""

    rules: tuple[Rule, ...]
    fired: np.ndarray
    missing: np.ndarray  # evaluated, did not fire, and an input was not known
    evaluated: np.ndarray
    all_stages_run: np.ndarray

    def result(self, row: int, j: int) -> str:
        if not self.evaluated[row, j]:
            return NOT_EVALUATED
        return FIRED if self.fired[row, j] else MISSING if self.missing[row, j] else PASSED

    def any_fired(self, action: str) -> np.ndarray:
        columns = np.array([rule.action == action for rule in self.rules], dtype=bool)
        return self.fired[:, columns].any(axis=1)


def _met(rule: Rule, values: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Whether any input meets the comparison, and whether any input is not known."""
    met, unknown = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    compare = _COMPARE[rule.comparison]
    for name in rule.inputs:
        value = values[name]
        met |= compare(value, rule.threshold)  # NaN compares False
        unknown |= np.isnan(value)
    return met, unknown


def evaluate(rules: tuple[Rule, ...], values: dict[str, np.ndarray], usable: np.ndarray) -> RuleResults:
    """Evaluate `rules` for the `usable` clients (the others, technically refused, get nothing evaluated)."""
    usable = np.asarray(usable, dtype=bool)
    n, k = len(usable), len(rules)
    fired, unknown = np.zeros((n, k), dtype=bool), np.zeros((n, k), dtype=bool)
    for j, rule in enumerate(rules):
        met, unknown[:, j] = _met(rule, values, n)
        fired[:, j] = met | (unknown[:, j] & (rule.if_missing == "fire"))
    stage = np.array([rule.stage for rule in rules], dtype=object)
    declines = np.array([rule.action == "decline" for rule in rules], dtype=bool)
    evaluated, reached = np.zeros((n, k), dtype=bool), usable.copy()
    for name in STAGES:
        in_stage = stage == name
        evaluated[:, in_stage] = reached[:, None]
        all_stages_run = reached.copy()  # after the loop: the clients who reached the last stage
        reached &= ~fired[:, in_stage & declines].any(axis=1)
    fired &= evaluated
    return RuleResults(
        rules=rules,
        fired=fired,
        missing=unknown & evaluated & ~fired,
        evaluated=evaluated,
        all_stages_run=all_stages_run,
    )
