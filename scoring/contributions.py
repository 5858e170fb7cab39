"""SHAP contributions in probability of default: the log-odds waterfall converted step by step, not re-estimated.

TreeSHAP is exact in log-odds (base + contributions == the model's raw score), but PD is not additive: a
contribution's effect on PD depends on where the path stands when it is added. So the path is walked in the order
it is shown (the contributions largest first, then all the others), and each step's PD points are the PD after it
minus the PD before it. The steps then add up, to float precision, to the client's PD minus the PD at the start.

The start is the PD at the model's average log-odds (SHAP's base value, the mean raw score of the background
data), which is not the average of the clients' PDs; labels must say so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def logistic(z: float, a: float = 1.0, b: float = 0.0) -> float:
    """1 / (1 + exp(-(a*z + b))) without overflow; (a, b) = the bundle's Platt calibration, (1, 0) a plain sigmoid."""
    x = a * float(z) + b
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@dataclass(frozen=True)
class PdPath:
    """The waterfall in PD (0..1): where it starts and ends, and each step's difference of PD (0.012 = 1.2 points)."""

    base_pd: float
    final_pd: float
    steps: tuple[float, ...]  # one per shown contribution, in the order given
    others: float  # the step of all the contributions not shown, walked last

    def total(self) -> float:
        return math.fsum(self.steps) + self.others


def pd_path(
    base_value: float, shown: Sequence[float], others: float, raw_score: float, a: float = 1.0, b: float = 0.0
) -> PdPath:
    """Walk base_value -> each of `shown` (log-odds) in order -> `others` -> raw_score, and convert each step to PD.

    The walk ends exactly on raw_score (the others' step takes what float rounding of the sum left), so the steps
    add up to logistic(raw_score) - logistic(base_value). `a`, `b`: the map from log-odds to PD (the calibrator).
    """
    for name, x in (("base_value", base_value), ("others", others), ("raw_score", raw_score), ("a", a), ("b", b)):
        if not math.isfinite(float(x)):
            raise ValueError(f"{name} must be a finite number")
    if not a > 0:
        raise ValueError("a must be positive: PD rises with the log-odds")
    at = float(base_value)
    before = start = logistic(at, a, b)
    steps = []
    for s in shown:
        if not math.isfinite(float(s)):
            raise ValueError("contributions must be finite numbers")
        at += float(s)
        after = logistic(at, a, b)
        steps.append(after - before)
        before = after
    final = logistic(raw_score, a, b)
    return PdPath(base_pd=start, final_pd=final, steps=tuple(steps), others=final - before)
