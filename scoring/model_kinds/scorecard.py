"""The scorecard kind: a logistic regression on weight-of-evidence bins, scaled to points as banks read them.

Training bins the features with optbinning's BinningProcess and fits its Scorecard (scikit-learn's
LogisticRegression on the WoE). The bundle keeps plain data drawn from them (cut points or groups of category
codes, each bin's WoE, counts and event rate, the coefficients, the points scaling), so the signed pickle holds
no object and serving needs no optbinning.

WoE is optbinning's: ln(share of repaid loans / share of defaults) in the bin, so a high WoE is a safe bin and
the coefficients are negative. Missing values have a bin of their own (its empirical WoE; 0, the average, when
training saw none); an unknown category level reads as missing, as the encoder codes it.
"""

from __future__ import annotations

import warnings

import numpy as np

# 600 points at good:bad odds of 50:1, 20 more points double the odds: the usual PDO scaling, as data.
SCALING = {"pdo": 20.0, "base_points": 600.0, "base_odds": 50.0}
# L2 strength of the logistic regression on WoE, and the information value a characteristic needs to enter:
# 5-fold CV on the real 7k-row sample (see README) chose them.
C = 0.05
MIN_IV = 0.02
MIN_PREBIN_SIZE = 0.05


def settings() -> dict:
    """The scorecard's training settings and points scaling, as the model card records them."""
    return {"C": C, "min_iv": MIN_IV, "min_prebin_size": MIN_PREBIN_SIZE, **SCALING}


class ScorecardKind:
    """Characteristics (one per selected feature: bins, WoE, coefficient), an intercept, the points scaling."""

    kind = "scorecard"

    def __init__(self, characteristics: list[dict], intercept: float, n_features: int, scaling: dict | None = None):
        self.characteristics = characteristics
        self.intercept = float(intercept)
        self.n_features = int(n_features)
        self.scaling = {**SCALING, **(scaling or {})}
        self._index = np.array([c["index"] for c in characteristics], dtype=int)
        self._coef = np.array([c["coef"] for c in characteristics], dtype=float)
        self._mean = np.array([c["mean_woe"] for c in characteristics], dtype=float)
        self._lookup = _BinLookup(characteristics)

    # --- the model --------------------------------------------------------------------------------------------
    def bins(self, M: np.ndarray) -> np.ndarray:
        """Each row's bin per characteristic (rows, characteristics): the bin's position, -1 for missing."""
        return self._lookup.bins(M)

    def woe(self, M: np.ndarray) -> np.ndarray:
        """WoE of each row's bin per characteristic, the missing bin's for -1."""
        return self._lookup.woe(self.bins(self._check(M)))

    def raw_score(self, M: np.ndarray) -> np.ndarray:
        """Log-odds of default: intercept + sum of coefficient x WoE."""
        return self.intercept + self.woe(M) @ self._coef

    def contributions(self, M: np.ndarray) -> np.ndarray:
        """Coefficient x (the client's WoE - the training mean WoE) per characteristic, then the expected value.

        That is the exact (interventional) SHAP value of a logistic model on WoE; unselected features get 0.
        """
        w = self.woe(M)
        out = np.zeros((len(M), self.n_features + 1))
        out[:, self._index] = (w - self._mean) * self._coef
        out[:, -1] = self.expected_value
        return out

    @property
    def expected_value(self) -> float:
        """The raw score of the average training client's WoE: the base of the waterfall."""
        return float(self.intercept + self._mean @ self._coef)

    # --- points -----------------------------------------------------------------------------------------------
    @property
    def factor(self) -> float:
        return self.scaling["pdo"] / np.log(2)

    @property
    def offset(self) -> float:
        return self.scaling["base_points"] - self.factor * np.log(self.scaling["base_odds"])

    def points(self, M: np.ndarray) -> np.ndarray:
        """Points per characteristic (rows, characteristics), optbinning's pdo_odds scaling: they sum to score().

        A linear map of the contributions: -factor x (contribution + coef x mean WoE + intercept / n) + offset / n.
        """
        terms = self.woe(M) * self._coef
        n = len(self.characteristics)
        return -(terms + self.intercept / n) * self.factor + self.offset / n

    def score(self, M: np.ndarray) -> np.ndarray:
        """Scorecard points: offset - factor x raw log-odds (more points, safer client)."""
        return self.offset - self.factor * self.raw_score(M)

    def table(self, feature_names: list[str] | None = None) -> list[dict]:
        """The scorecard: characteristic, bin, clients, event rate, WoE and points of every bin, missing last."""
        rows = []
        n = len(self.characteristics)
        for c in self.characteristics:
            labels = c["labels"] + ["missing"]
            woes = list(c["woe"]) + [c["woe_missing"]]
            counts = list(c["counts"]) + [c["count_missing"]]
            rates = list(c["event_rates"]) + [c["event_rate_missing"]]
            for label, woe, count, rate in zip(labels, woes, counts, rates, strict=True):
                points = -(c["coef"] * woe + self.intercept / n) * self.factor + self.offset / n
                rows.append(
                    {
                        "characteristic": c["feature"],
                        "bin": label,
                        "n": int(count),
                        "event_rate": float(rate),
                        "woe": float(woe),
                        "coef": float(c["coef"]),
                        "points": float(points),
                    }
                )
        return rows

    def _check(self, M: np.ndarray) -> np.ndarray:
        M = np.asarray(M, dtype=float)
        if M.ndim != 2 or M.shape[1] != self.n_features:
            raise ValueError(f"expected a matrix with {self.n_features} feature columns")
        return M

    # --- persistence ------------------------------------------------------------------------------------------
    def to_state(self) -> dict:
        return {
            "characteristics": self.characteristics,
            "intercept": self.intercept,
            "n_features": self.n_features,
            "scaling": dict(self.scaling),
        }

    @classmethod
    def from_state(cls, state: dict) -> "ScorecardKind":
        return cls(state["characteristics"], state["intercept"], state["n_features"], state.get("scaling"))


class _BinLookup:
    """The characteristics' bins as arrays, so that a row is binned for all of them in a few numpy operations (the
    challenger's cost per applicant in shadow scoring) rather than one Python step per characteristic.

    Numerical: optbinning's bins [-inf, s0), [s0, s1), ..., [s_last, inf), so a value's bin is the number of cut
    points at or below it (np.digitize's rule); the cut points are padded with NaN, which no value reaches.
    Categorical: a table from category code to group position (a later group wins, as the groups were read).
    A missing value, or a code no group holds, is -1.
    """

    ROWS = 2048  # rows compared at once with every cut point: 2048 x characteristics x cut points booleans

    def __init__(self, characteristics: list[dict]):
        numerical = [k for k, c in enumerate(characteristics) if c["dtype"] == "numerical"]
        self.num_k = np.array(numerical, dtype=int)
        self.num_col = np.array([characteristics[k]["index"] for k in numerical], dtype=int)
        width = max([len(characteristics[k]["splits"]) for k in numerical], default=0)
        self.splits = np.full((len(numerical), max(width, 1)), np.nan)
        for row, k in enumerate(numerical):
            cuts = characteristics[k]["splits"]
            self.splits[row, : len(cuts)] = cuts
        self.categorical = []
        for k, c in enumerate(characteristics):
            if c["dtype"] != "numerical":
                codes = [int(code) for group in c["groups"] for code in group]
                table = np.full(max(codes, default=-1) + 1, -1, dtype=int)
                for pos, group in enumerate(c["groups"]):
                    table[[int(code) for code in group]] = pos
                self.categorical.append((k, c["index"], table))
        n_bins = max([len(c["woe"]) for c in characteristics], default=0)
        # WoE by (characteristic, bin); every column past a characteristic's bins, and the last, is its missing bin
        self.woes = np.empty((len(characteristics), n_bins + 1))
        for k, c in enumerate(characteristics):
            self.woes[k, :] = c["woe_missing"]
            self.woes[k, : len(c["woe"])] = c["woe"]
        self.n = len(characteristics)

    def bins(self, M: np.ndarray) -> np.ndarray:
        out = np.full((len(M), self.n), -1, dtype=int)
        if len(self.num_k):
            for start in range(0, len(M), self.ROWS):
                X = M[start : start + self.ROWS, self.num_col]
                with np.errstate(invalid="ignore"):
                    below = (X[:, :, None] >= self.splits[None, :, :]).sum(axis=2)
                out[start : start + self.ROWS, self.num_k] = np.where(np.isnan(X), -1, below)
        for k, col, table in self.categorical:
            x = M[:, col]
            known = ~np.isnan(x) & (x >= 0) & (x < len(table))
            out[known, k] = table[x[known].astype(int)]
        return out

    def woe(self, bins: np.ndarray) -> np.ndarray:
        return self.woes[np.arange(self.n)[None, :], np.where(bins < 0, self.woes.shape[1] - 1, bins)]


# --- training -------------------------------------------------------------------------------------------------
def fit(M: np.ndarray, y: np.ndarray, feature_names: list[str], categories: dict[str, list[str]], *, c: float = C):
    """optbinning's BinningProcess + Scorecard on the encoder's matrix -> a ScorecardKind of plain data.

    `categories`: the encoder's levels, for the table's labels.
    """
    card = fit_optbinning(M, y, feature_names, categories, c=c)
    return from_optbinning(card, M, feature_names, categories)


def fit_optbinning(M, y, feature_names: list[str], categories: dict[str, list[str]], *, c: float = C):
    """The fitted optbinning Scorecard. Features with fewer than two distinct values are left out (optbinning
    cannot bin them); so are those whose information value is under MIN_IV."""
    import pandas as pd
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame(np.asarray(M, dtype=float), columns=feature_names)
    usable = [n for n in feature_names if frame[n].nunique(dropna=True) > 1]
    if not usable:
        raise ValueError("no feature has two distinct values: nothing to bin")
    process = BinningProcess(
        usable,
        categorical_variables=[n for n in usable if n in categories],
        min_prebin_size=MIN_PREBIN_SIZE,
        selection_criteria={"iv": {"min": MIN_IV}},
        n_jobs=1,
    )
    card = Scorecard(
        binning_process=process,
        estimator=LogisticRegression(C=c, max_iter=2000),
        scaling_method="pdo_odds",
        scaling_method_params={
            "pdo": SCALING["pdo"],
            "odds": SCALING["base_odds"],
            "scorecard_points": SCALING["base_points"],
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optbinning warns about small prebins and solver details
        card.fit(frame[usable], np.asarray(y).astype(int), metric_missing="empirical")
    return card


def from_optbinning(card, M, feature_names: list[str], categories: dict[str, list[str]]) -> ScorecardKind:
    """The plain data of a fitted optbinning Scorecard; M (its training rows) gives the mean WoE that centres
    the contributions."""
    position = {n: j for j, n in enumerate(feature_names)}
    selected = card.binning_process_.get_support(names=True)
    chars = [
        _characteristic(
            str(name),
            position[name],
            card.binning_process_.get_binned_variable(name),
            float(coef),
            categories.get(name),
        )
        for name, coef in zip(selected, card.estimator_.coef_.ravel(), strict=True)
    ]
    model = ScorecardKind(chars, float(np.ravel(card.estimator_.intercept_)[0]), len(feature_names))
    w = model.woe(M)
    for k, ch in enumerate(chars):
        ch["mean_woe"] = float(w[:, k].mean())
    return ScorecardKind(chars, model.intercept, model.n_features)


def _characteristic(name: str, index: int, optb, coef: float, levels: list[str] | None) -> dict:
    """One binned feature as plain data: its bins (cut points or code groups), WoE, counts, event rates."""
    table = optb.binning_table.build(add_totals=False)
    n_bins = len(table) - 2  # optbinning's table ends with the Special and the Missing rows
    bins, missing = table.iloc[:n_bins], table.iloc[-1]
    out = {"feature": name, "index": int(index), "dtype": optb.dtype, "coef": coef, "mean_woe": 0.0}
    if optb.dtype == "numerical":
        splits = [float(s) for s in optb.splits]
        edges = ["-inf"] + [f"{s:.6g}" for s in splits] + ["inf"]
        out["splits"] = splits
        out["labels"] = [f"[{lo}, {hi})" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    else:
        groups = [[float(code) for code in group] for group in optb.splits]
        out["groups"] = groups
        out["labels"] = [", ".join(_level(levels, code) for code in group) for group in groups]
    out["woe"] = [float(v) for v in bins["WoE"]]
    out["counts"] = [int(v) for v in bins["Count"]]
    out["event_rates"] = [float(v) for v in bins["Event rate"]]
    out["woe_missing"] = float(missing["WoE"])
    out["count_missing"] = int(missing["Count"])
    out["event_rate_missing"] = float(missing["Event rate"])
    return out


def _level(levels: list[str] | None, code: float) -> str:
    i = int(code)
    return levels[i] if levels is not None and 0 <= i < len(levels) else str(i)


def cross_validate(M, y, feature_names, categories, *, n_folds: int = 5, seed: int = 0, c: float = C):
    """Stratified K-fold, the folds of scoring.train's -> (out-of-fold raw log-odds, fold AUCs)."""
    from sklearn.metrics import roc_auc_score  # training only: API workers never load scikit-learn
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y).astype(int)
    oof_raw = np.zeros(len(y))
    fold_aucs = []
    for tr, va in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(M, y):
        model = fit(M[tr], y[tr], feature_names, categories, c=c)
        oof_raw[va] = model.raw_score(M[va])
        fold_aucs.append(float(roc_auc_score(y[va], oof_raw[va])))
    return oof_raw, fold_aucs
