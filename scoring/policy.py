"""Decision policy: risk grades on a master scale, the cost-optimal threshold, approve/decline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scoring.config import GRADE_BOUNDS_DEFAULT, settings

DEFAULT_BOUNDS = tuple(float(b) for b in GRADE_BOUNDS_DEFAULT.split(","))


@dataclass(frozen=True)
class GradeScale:
    """Master scale: grade i holds PDs in (bounds[i-1], bounds[i]]; the last bound must be 1."""

    bounds: tuple[float, ...] = DEFAULT_BOUNDS
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        bounds = tuple(float(b) for b in self.bounds)
        if not bounds or any(b <= 0 or b > 1 for b in bounds):
            raise ValueError("grade bounds must lie in (0, 1]")
        if any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError("grade bounds must be strictly increasing")
        if bounds[-1] != 1.0:
            raise ValueError("the last grade bound must be 1.0 so every PD has a grade")
        object.__setattr__(self, "bounds", bounds)
        names = tuple(self.names) or tuple(f"G{i + 1}" for i in range(len(bounds)))
        if len(names) != len(bounds):
            raise ValueError("one grade name is needed per bound")
        object.__setattr__(self, "names", names)

    @classmethod
    def from_env(cls) -> "GradeScale":
        """The scale of SCORING_GRADE_BOUNDS (default DEFAULT_BOUNDS), checked as every scale is."""
        try:
            return cls(bounds=settings().grade_bounds)
        except ValueError as exc:
            raise ValueError(f"SCORING_GRADE_BOUNDS: {exc}") from None

    def grade_index(self, pd_values) -> np.ndarray:
        values = np.clip(np.asarray(pd_values, dtype=float), 0.0, 1.0)
        return np.searchsorted(np.asarray(self.bounds), values, side="left")

    def grade(self, pd_values) -> list[str]:
        return [self.names[i] for i in self.grade_index(pd_values)]

    def as_table(self) -> list[dict]:
        lower = (0.0,) + self.bounds[:-1]
        return [
            {"grade": n, "pd_from": lo, "pd_to": hi} for n, lo, hi in zip(self.names, lower, self.bounds, strict=False)
        ]


def business_cost(y_true, pd_values, threshold: float, cost_fn: float = 10.0, cost_fp: float = 1.0) -> float:
    """Average cost per client: a missed default costs cost_fn, a wrongly declined good client cost_fp."""
    y = np.asarray(y_true).astype(int)
    declined = np.asarray(pd_values) >= threshold
    fn = np.sum((y == 1) & ~declined)
    fp = np.sum((y == 0) & declined)
    return float((cost_fn * fn + cost_fp * fp) / max(len(y), 1))


def cost_optimal_threshold(y_true, pd_values, cost_fn: float = 10.0, cost_fp: float = 1.0) -> tuple[float, float]:
    """Threshold minimising business cost, searched exactly over every distinct PD (one sort, O(n log n))."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(pd_values, dtype=float)
    if len(y) == 0:
        raise ValueError("cannot choose a threshold on an empty set")
    order = np.argsort(-p, kind="mergesort")
    p_sorted, y_sorted = p[order], y[order]
    # declining every client with pd >= t: cumulated positives/negatives among the highest PDs
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(1 - y_sorted)
    last_of_value = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    total_pos = tp[-1]
    costs = cost_fn * (total_pos - tp[last_of_value]) + cost_fp * fp[last_of_value]
    candidates = p_sorted[last_of_value]
    # option of declining nobody: threshold above every PD
    best = int(np.argmin(costs))
    none_cost = cost_fn * total_pos
    if none_cost <= costs[best]:
        return 1.0, float(none_cost / len(y))
    return float(candidates[best]), float(costs[best] / len(y))


def decide(pd_value: float, threshold: float) -> str:
    return "decline" if pd_value >= threshold else "approve"


def decide_many(pd_values, threshold: float) -> list[str]:
    return np.where(np.asarray(pd_values) >= threshold, "decline", "approve").tolist()
