"""The search: the smallest actionable changes that turn a client's outcome into approve.

One batch of a few hundred candidates along every action's line (actions.ACTIONS) is scored at once with the
search's feature formulas (apply.apply_changes, exact=False); each action's smallest approving candidate is then
refined between it and the last grid point that did not approve (two more small batches), so each option is
minimal along its own line to the rounding step. The options kept (one per action, ranked by actions.size) are
re-scored through the real path (feature SQL, model, policy); one that does not approve there is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.counterfactuals.actions import MONEY_LIMIT, TERM_MIN, TERM_STEP, moved_inputs, size
from scoring.counterfactuals.apply import MOVED_FEATURES, Client, apply_changes, moved_columns, resolve
from scoring.decision.engine import decide_many
from scoring.decision.inputs import DECISION_VALUES, DERIVED_INPUTS
from scoring.decision.record import APPROVE, TECHNICAL_REFUSAL
from scoring.decision.service import decide_features
from scoring.features import POLICY_INPUTS

MAX_OPTIONS = 5
GRID = 32  # candidates per line in the first batch
GRID_2D = 12  # per line of the two-way actions (several lines each)
REFINE = 24  # candidates per refinement, two refinements
LINES_2D = 4  # terms (or pay-down levels) tried by a two-way action
MAX_VALUES = 20_000  # admissible values per line (amounts in steps of the policy's round_to)


@dataclass(frozen=True)
class Option:
    kind: str
    changes: dict  # the change set, in the vocabulary of actions.py (a what-if body's "changes")
    size: float
    pd: float
    grade: str
    outcome: str
    offer: dict | None
    moved: tuple  # (field, from, to) of every value the client sees change


@dataclass(frozen=True)
class Counterfactuals:
    status: str  # already_approved, options, none
    current: dict  # pd, grade, outcome
    reason: str | None  # when none: stop_factor, technical, score, affordability, rules
    blocking: tuple  # (code, {lang: message}) of what stands in the way
    options: tuple[Option, ...] = field(default=())
    model_version: str = ""
    policy: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Line:
    """Candidates along one direction: admissible values in order of growing change, and the change set of each."""

    kind: str
    values: np.ndarray
    build: object  # value -> change set
    coarse: bool = False  # one of several lines of a two-way action: fewer grid points


def _multiples(low: float, high: float, step: float) -> np.ndarray:
    """Multiples of `step` from `low` to `high` (both rounded inwards), at most MAX_VALUES of them (a coarser
    multiple of `step` for a huge range)."""
    first, last = math.ceil(low / step), math.floor(high / step)
    if last < first:
        return np.empty(0)
    stride = max(1, math.ceil((last - first + 1) / MAX_VALUES))
    return np.arange(first, last + 1, stride, dtype=float) * step


def _lines(client: Client, policy) -> list[_Line]:
    section, rate = policy.affordability, policy.affordability.annual_rate
    step, term_max = section.round_to, int(policy.technical.term_months_max)
    credit, goods, debt = (
        client.number("AMT_CREDIT"),
        client.number("AMT_GOODS_PRICE"),
        client.number("BUREAU_ACTIVE_DEBT"),
    )
    term = client.term(rate)
    if not (credit > 0 and math.isfinite(term) and 1 <= term <= term_max):
        return []
    term = int(term)
    terms = [t for t in range(TERM_MIN, term_max + 1, TERM_STEP) if t != term]
    longer, shorter = [t for t in terms if t > term], [t for t in terms if t < term][::-1]

    def smaller_loan(months, extra=None):
        def build(credit_new):
            changes = {**(extra or {}), "AMT_CREDIT": float(credit_new), "TERM_MONTHS": months}
            if goods > 0:
                changes["AMT_GOODS_PRICE"] = float(max(1, round(goods * credit_new / credit)))
            return changes

        return build

    credits = _multiples(section.min_offer, credit - 0.5 * step, step)[::-1]  # largest first: smallest change
    lines = []
    if len(credits):
        lines.append(_Line("lower_amount", credits, smaller_loan(term)))
        for kind, some in (("lower_amount_longer_term", longer), ("lower_amount_shorter_term", shorter)):
            picks = some[:: max(1, len(some) // LINES_2D)][:LINES_2D]
            lines += [_Line(kind, credits, smaller_loan(t), coarse=True) for t in picks]
    if longer:
        lines.append(_Line("longer_term", np.array(longer, dtype=float), lambda t: {"TERM_MONTHS": int(t)}))
    if shorter:
        lines.append(_Line("shorter_term", np.array(shorter, dtype=float), lambda t: {"TERM_MONTHS": int(t)}))
    if goods > 0:
        lowest = max(section.min_offer, goods / policy.technical.goods_to_credit_max)
        downs = _multiples(step, credit - lowest, step)
        if len(downs):
            lines.append(_Line("down_payment", downs, lambda d: {"DOWN_PAYMENT": float(d), "TERM_MONTHS": term}))
    if debt > 0 and debt < MONEY_LIMIT:
        paid = np.unique(np.append(_multiples(step, debt, step), debt))
        lines.append(_Line("pay_down_debt", paid, lambda p: {"BUREAU_DEBT_PAYDOWN": float(p)}))
        if len(credits):
            for share in (0.25, 0.5, 0.75, 1.0):
                level = float(debt if share == 1.0 else max(step, round(debt * share / step) * step))
                if level <= debt:
                    extra = {"BUREAU_DEBT_PAYDOWN": level}
                    lines.append(_Line("pay_down_debt_lower_amount", credits, smaller_loan(term, extra), coarse=True))
    return lines


def _spread(lo: int, hi: int, k: int) -> np.ndarray:
    """Up to k indices from lo to hi (both included), evenly spread, hi always among them."""
    if hi < lo:
        return np.empty(0, dtype=int)
    if hi - lo + 1 <= k:
        return np.arange(lo, hi + 1)
    return np.unique(np.round(np.linspace(lo, hi, k)).astype(int))


def _encoded(bundle, client: Client) -> np.ndarray:
    """The client's model row as the bundle's encoder codes it (numbers as floats, a category as its level's
    index, NaN when missing or unseen), without building a frame (tests hold it to bundle.matrix)."""
    row = np.empty(len(bundle.feature_names))
    categories = bundle.encoder.categories
    for j, name in enumerate(bundle.feature_names):
        value = client.features.get(name)
        if name in categories:
            levels = categories[name]
            row[j] = levels.index(value) if isinstance(value, str) and value in levels else np.nan
        else:
            row[j] = np.nan if value is None else float(value)
    return row


class _Fast:
    """The search's scorer: the client's own model row encoded once, only the moved columns changing per
    candidate; then the model and the policy as decide_features runs them (same PD, same outcome)."""

    def __init__(self, bundle, policy, client: Client):
        self.bundle, self.policy, self.client = bundle, policy, client
        self.rate = policy.affordability.annual_rate
        wanted = {n for rule in policy.rules for n in rule.inputs} | set(DECISION_VALUES)
        self.names = sorted(wanted - set(DERIVED_INPUTS) - set(POLICY_INPUTS))
        self.row = _encoded(bundle, client)
        self.positions = {n: j for j, n in enumerate(bundle.feature_names) if n in MOVED_FEATURES}

    def decisions(self, change_sets: list[dict]):
        cols, policy_cols = moved_columns(self.client, change_sets, self.rate, self.names)
        matrix = np.tile(self.row, (len(change_sets), 1))
        for name, j in self.positions.items():
            matrix[:, j] = cols[name]
        index = pd.RangeIndex(len(change_sets), name="SK_ID_CURR")
        features = pd.DataFrame({n: cols[n] for n in self.names}, index=index)
        scores = self.bundle.score(features, matrix=matrix)
        return decide_many(
            features,
            pd.DataFrame(policy_cols, index=index),
            scores["pd"],
            scores["grade"],
            self.bundle.threshold,
            self.policy,
            self.bundle.version,
        )


def _exact(bundle, policy, client, change_sets):
    """Decisions of change sets through the real path: feature SQL, model, policy (decide_features)."""
    features, policy_inputs = apply_changes(client, change_sets, policy.affordability.annual_rate, exact=True)
    return decide_features(bundle, policy, features, policy_inputs).decisions


def _unliftable(decisions) -> list:
    """Fired decline or refer rules reading nothing a change can move."""
    movable = moved_inputs()
    return [
        (rule.code, rule.message.model_dump())
        for rule, fired in zip(decisions.rules.rules, decisions.rules.fired[0], strict=True)
        if fired and rule.action in ("decline", "refer") and not set(rule.inputs) & movable
    ]


def search(bundle, policy, client: Client) -> Counterfactuals:
    """The counterfactuals of one client under `bundle` and `policy`."""
    fast = _Fast(bundle, policy, client)
    decisions = fast.decisions([{}])
    current = {"pd": float(decisions.pd[0]), "grade": str(decisions.grade[0]), "outcome": str(decisions.outcome[0])}
    base = {
        "current": current,
        "model_version": bundle.version,
        "policy": {"version": policy.version, "sha256": policy.sha256},
    }
    if current["outcome"] == APPROVE:
        return Counterfactuals("already_approved", reason=None, blocking=(), **base)
    record = decisions.decision(0)
    if current["outcome"] == TECHNICAL_REFUSAL:
        issues = tuple((t.code, {"en": t.message, "fr": t.message}) for t in record.technical_issues)
        return Counterfactuals("none", reason="technical", blocking=issues, **base)
    blocked = _unliftable(decisions)
    if blocked:
        return Counterfactuals("none", reason="stop_factor", blocking=tuple(blocked), **base)
    found = _search_lines(fast, _lines(client, policy))
    options = _confirmed(bundle, policy, client, found)
    if options:
        return Counterfactuals("options", reason=None, blocking=(), options=tuple(options), **base)
    reasons = tuple((r.code, r.message) for r in record.reasons)
    codes = {r.code for r in record.reasons}
    reason = "score" if "SCORE_ABOVE_THRESHOLD" in codes else "affordability" if "UNAFFORDABLE" in codes else "rules"
    return Counterfactuals("none", reason=reason, blocking=reasons, **base)


def _search_lines(fast: _Fast, lines) -> list[tuple[float, str, dict]]:
    """Per action, its smallest approving change set: (size, kind, changes), smallest first."""
    if not lines:
        return []
    current = {"AMT_CREDIT": fast.client.number("AMT_CREDIT"), "TERM_MONTHS": fast.client.term(fast.rate)}
    # per line: the largest index known not to approve (-1: none tried) and the smallest known to approve
    below = [-1] * len(lines)
    above = [None] * len(lines)
    todo = [
        (j, i)
        for j, line in enumerate(lines)
        for i in _spread(0, len(line.values) - 1, GRID_2D if line.coarse else GRID)
    ]
    best = {}
    for _ in range(3):  # the grid, then two refinements
        if not todo:
            break
        sets = [lines[j].build(lines[j].values[i]) for j, i in todo]
        approved = fast.decisions(sets).outcome == APPROVE
        for (j, i), ok in zip(todo, approved, strict=True):
            if ok and (above[j] is None or i < above[j]):
                above[j] = i
        for (j, i), ok in zip(todo, approved, strict=True):
            if not ok and i > below[j] and (above[j] is None or i < above[j]):
                below[j] = i
        best = {}
        for j, line in enumerate(lines):
            if above[j] is not None:
                s = size(line.build(line.values[above[j]]), current)
                if line.kind not in best or s < best[line.kind][0]:
                    best[line.kind] = (s, j)
        todo = [(j, i) for _, j in best.values() for i in _spread(below[j] + 1, above[j] - 1, REFINE)]
    out = []
    for _, j in best.values():
        changes = lines[j].build(lines[j].values[above[j]])
        out.append((size(changes, current), lines[j].kind, changes))
    return sorted(out, key=lambda item: item[0])


def _confirmed(bundle, policy, client, found) -> list[Option]:
    """The best options re-scored through the real feature SQL, model and policy; those still approved."""
    found = found[:MAX_OPTIONS]
    if not found:
        return []
    rate = policy.affordability.annual_rate
    sets = [changes for _, _, changes in found]
    d = _exact(bundle, policy, client, sets)
    raw = resolve(client, sets, rate)
    before = {
        "AMT_CREDIT": client.number("AMT_CREDIT"),
        "AMT_ANNUITY": client.number("AMT_ANNUITY"),
        "AMT_GOODS_PRICE": client.number("AMT_GOODS_PRICE"),
        "TERM_MONTHS": client.term(rate),
        "BUREAU_ACTIVE_DEBT": client.number("BUREAU_ACTIVE_DEBT"),
    }
    options = []
    for i, (s, kind, changes) in enumerate(found):
        if d.outcome[i] != APPROVE:
            continue
        after = {
            "AMT_CREDIT": raw["AMT_CREDIT"][i],
            "AMT_ANNUITY": raw["AMT_ANNUITY"][i],
            "AMT_GOODS_PRICE": raw["AMT_GOODS_PRICE"][i],
            "TERM_MONTHS": float(d.values["LOAN_TERM_MONTHS"][i]),
            "BUREAU_ACTIVE_DEBT": before["BUREAU_ACTIVE_DEBT"] - raw["BUREAU_DEBT_PAYDOWN"][i],
        }
        moved = [
            (name, float(before[name]), float(after[name]))
            for name in before
            if not (math.isnan(before[name]) and math.isnan(after[name])) and abs(after[name] - before[name]) > 1e-6
        ]
        if "DOWN_PAYMENT" in changes:
            moved.append(("DOWN_PAYMENT", 0.0, float(changes["DOWN_PAYMENT"])))
        offer = d.decision(i).offer
        options.append(
            Option(
                kind=kind,
                changes=changes,
                size=round(float(s), 6),
                pd=float(d.pd[i]),
                grade=str(d.grade[i]),
                outcome=str(d.outcome[i]),
                offer=None if offer is None else {k: getattr(offer, k) for k in offer.__dataclass_fields__},
                moved=tuple(moved),
            )
        )
    return options
