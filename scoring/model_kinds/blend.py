"""The blend kind: a weighted average in log-odds of a LightGBM booster and a scorecard.

Averaging log-odds keeps the explanation exact: the blend's contributions (and base value) are the same
weighted sum of the parts' contributions, so they still add up to its raw score.
"""

from __future__ import annotations

import numpy as np

from scoring.model_kinds.lightgbm import LightGBMKind
from scoring.model_kinds.scorecard import ScorecardKind

WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)  # LightGBM's share, tried on the out-of-fold scores


class BlendKind:
    """weight x LightGBM log-odds + (1 - weight) x scorecard log-odds."""

    kind = "blend"

    def __init__(self, lightgbm: LightGBMKind, scorecard: ScorecardKind, weight: float):
        if not 0.0 <= float(weight) <= 1.0:
            raise ValueError(f"blend weight must be within [0, 1], not {weight!r}")
        self.lightgbm, self.scorecard, self.weight = lightgbm, scorecard, float(weight)

    def raw_score(self, M: np.ndarray) -> np.ndarray:
        return self.weight * self.lightgbm.raw_score(M) + (1.0 - self.weight) * self.scorecard.raw_score(M)

    def contributions(self, M: np.ndarray) -> np.ndarray:
        """The parts' contributions (TreeSHAP, scorecard terms), expected values included, weighted alike."""
        return self.weight * self.lightgbm.contributions(M) + (1.0 - self.weight) * self.scorecard.contributions(M)

    def to_state(self) -> dict:
        return {"weight": self.weight, "lightgbm": self.lightgbm.to_state(), "scorecard": self.scorecard.to_state()}

    @classmethod
    def from_state(cls, state: dict) -> "BlendKind":
        return cls(
            LightGBMKind.from_state(state["lightgbm"]), ScorecardKind.from_state(state["scorecard"]), state["weight"]
        )


def fold_aucs(y, raw, *, n_folds: int, seed: int) -> list[float]:
    """AUC of out-of-fold scores on each fold of scoring.train's stratified split."""
    from sklearn.metrics import roc_auc_score  # training only: API workers never load scikit-learn (45 MB)
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return [float(roc_auc_score(y[va], raw[va])) for _, va in folds]


def choose_weight(y, lightgbm_oof, scorecard_oof, *, n_folds: int, seed: int) -> tuple[float, list[dict]]:
    """The LightGBM share with the best mean fold AUC of the blended out-of-fold scores, and every one tried."""
    tried = []
    for w in WEIGHTS:
        aucs = fold_aucs(y, w * lightgbm_oof + (1 - w) * scorecard_oof, n_folds=n_folds, seed=seed)
        tried.append({"weight": float(w), "cv_auc": float(np.mean(aucs))})
    best = max(tried, key=lambda t: t["cv_auc"])
    return best["weight"], tried
