"""Training: stratified K-fold LightGBM with early stopping, Platt calibration, cost threshold, model card."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from scoring import progress
from scoring.bundle import ModelBundle, PlattCalibrator
from scoring.encoding import FeatureEncoder
from scoring.model_card import build_card
from scoring.model_kinds import blend, kind_class, scorecard
from scoring.model_kinds.lightgbm import LightGBMKind
from scoring.monitoring.reference import build_reference
from scoring.policy import GradeScale, cost_optimal_threshold

PARAMS_FILE = "params.json"
DEFAULT_KIND = "lightgbm"  # README "Model kinds": the kind `train` makes when none is named
# Small-data regularisation (shallow trees, large leaves, column/row subsampling, L2, smoothed categories):
# repeated 80/20 holdout on the real 7k-row sample gave AUC 0.770 +/- 0.014 against 0.726 for LightGBM defaults;
# with early stopping the same settings simply grow more trees on 300k rows.
DEFAULT_PARAMS = {
    "learning_rate": 0.02,
    "num_leaves": 8,
    "max_depth": 4,
    "min_child_samples": 80,
    "feature_fraction": 0.3,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "reg_lambda": 10.0,
    "cat_smooth": 50.0,
    "cat_l2": 20.0,
    "min_data_per_group": 200,
    "max_cat_to_onehot": 4,
}
_FIXED = {"objective": "binary", "verbose": -1, "deterministic": True, "force_row_wise": True}
IMBALANCE = (
    "no resampling and no class weights: stratified folds keep the ~8 % default rate in every fold, "
    "early stopping uses AUC (insensitive to imbalance), the PD is calibrated, and the imbalance of "
    "costs is handled by the cost-optimal threshold; weighting defaults x3 lowered holdout AUC on real data"
)
MAX_ROUNDS = 5000
EARLY_STOP = 200
IMPORTANCE_ROWS = 20000
TOP_IMPORTANCE = 30


def fingerprint_of(X: pd.DataFrame, y: pd.Series) -> str:
    """SHA-256 over column names, dtypes, every row's content hash, and the target."""
    h = hashlib.sha256()
    h.update(json.dumps([[c, str(t)] for c, t in X.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(X, index=True).to_numpy().tobytes())
    h.update(np.asarray(y, dtype="int64").tobytes())
    return h.hexdigest()


def load_params(models_dir) -> dict | None:
    """Parameters written by `tune`, if any."""
    path = Path(models_dir) / PARAMS_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg})") from None
    params = data.get("params", data) if isinstance(data, dict) else None
    if not isinstance(params, dict):
        raise ValueError(f"{path}: expected an object of LightGBM parameters")
    return params


def _lgb_params(params: dict, seed: int) -> dict:
    return {
        **params,
        **_FIXED,
        "seed": seed,
        "bagging_seed": seed,
        "feature_fraction_seed": seed,
        "data_random_seed": seed,
    }


def _dataset(M, y, names, categorical) -> lgb.Dataset:
    return lgb.Dataset(M, label=np.asarray(y), feature_name=names, categorical_feature=categorical, free_raw_data=False)


def cross_validate(
    M: np.ndarray,
    y: np.ndarray,
    names: list[str],
    categorical: list[str],
    params: dict,
    *,
    n_folds: int = 5,
    seed: int = 0,
    max_rounds: int | None = None,
):
    """Stratified K-fold with early stopping on AUC -> (out-of-fold raw log-odds, fold AUCs, best iterations)."""
    p = _lgb_params(params, seed)
    rounds = max_rounds or MAX_ROUNDS
    oof_raw = np.zeros(len(y))
    fold_aucs, fold_iters = [], []
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(M, y)
    with progress.step("training folds", total=n_folds, unit="folds") as done:
        for fold, (tr, va) in enumerate(folds, start=1):
            with progress.step(f"fold {fold}/{n_folds} boosting", unit="rounds") as boosting:
                booster = lgb.train(
                    {**p, "metric": "auc"},
                    _dataset(M[tr], y[tr], names, categorical),
                    rounds,
                    valid_sets=[_dataset(M[va], y[va], names, categorical)],
                    callbacks=[
                        lgb.early_stopping(min(EARLY_STOP, max(10, rounds // 5)), verbose=False),
                        progress.lightgbm_callback(boosting),
                    ],
                )
            best = booster.best_iteration or rounds
            oof_raw[va] = booster.predict(M[va], num_iteration=best, raw_score=True)
            fold_aucs.append(float(roc_auc_score(y[va], oof_raw[va])))
            fold_iters.append(int(best))
            done.update()
    return oof_raw, fold_aucs, fold_iters


def fit_bundle(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    n_folds: int = 5,
    cost_fn: float = 10.0,
    seed: int = 0,
    params: dict | None = None,
    max_rounds: int | None = None,
    data_source: str = "real",
    fingerprint: str | None = None,
    groups: pd.DataFrame | None = None,
    params_source: str | None = None,
    decision_policy=None,
    kind: str = DEFAULT_KIND,
) -> ModelBundle:
    """CV -> OOF predictions, calibration, threshold, final model of `kind` (lightgbm, scorecard, blend), card
    (object columns are categorical). `groups` (gender, age_years) aligned with X feeds the fairness table."""
    kind_class(kind)  # an unknown kind is refused before any work
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    y = pd.Series(np.asarray(y), index=X.index)
    if y.isna().any() or not set(np.unique(y)) <= {0, 1}:
        raise ValueError("the target must be 0/1 without gaps")
    counts = np.bincount(y.astype(int), minlength=2)
    if counts.min() < n_folds:
        raise ValueError(f"need at least {n_folds} defaults and {n_folds} repaid loans for {n_folds}-fold CV")
    if n_folds < 2:
        raise ValueError("n_folds must be at least 2")
    grades = GradeScale.from_env()
    encoder = FeatureEncoder.fit(X)  # the serving path: the bundle encodes with this same encoder
    M, names, categorical = encoder.matrix(X), encoder.feature_names, encoder.categorical
    yv = y.to_numpy().astype(int)
    used = {**DEFAULT_PARAMS, **(params or {})}
    final, oof_raw, fold_aucs, fold_iters, n_rounds, details = _fit_kind(
        kind, M, yv, encoder, used, n_folds=n_folds, seed=seed, max_rounds=max_rounds
    )
    with progress.step("calibration, threshold, importance"):
        calibrator = PlattCalibrator.fit(oof_raw, yv)
        oof_pd = calibrator(oof_raw)
        threshold, cost = cost_optimal_threshold(yv, oof_pd, cost_fn=cost_fn)

        sample = np.random.default_rng(seed).permutation(len(M))[:IMPORTANCE_ROWS]
        contrib = final.contributions(M[sample])[:, :-1]
        mean_abs = np.abs(contrib).mean(axis=0)
    order = np.argsort(-mean_abs)[:TOP_IMPORTANCE]
    importance = [{"feature": names[i], "mean_abs_shap": float(mean_abs[i])} for i in order]

    fingerprint = fingerprint or fingerprint_of(X, y)
    version = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{fingerprint[:8]}"
    if groups is None:
        groups = _groups_from(X)
    card = build_card(
        kind=final.kind,
        version=version,
        fingerprint=fingerprint,
        data_source=data_source,
        n_rows=len(X),
        n_features=len(names),
        n_categorical=len(categorical),
        params=used if kind != "scorecard" else scorecard.settings(),
        params_source=params_source or ("given" if params else "defaults (scoring.train)"),
        details=details,
        n_rounds=n_rounds,
        fold_aucs=fold_aucs,
        fold_iterations=fold_iters,
        y=yv,
        oof_raw=oof_raw,
        oof_pd=oof_pd,
        threshold=threshold,
        cost=cost,
        cost_fn=cost_fn,
        cost_fp=1.0,
        calibrator=calibrator,
        grades=grades,
        groups=groups,
        importance=importance,
        imbalance=IMBALANCE,
        decision_policy=decision_policy,
    )
    with progress.step("monitoring reference"):  # PSI's deciles of the training rows (scoring.monitoring)
        reference = build_reference(X[names], calibrator(final.raw_score(M)), categorical, version)
    return ModelBundle(
        final,
        encoder,
        calibrator,
        threshold,
        grades,
        fingerprint,
        version,
        card=card,
        importance=importance,
        reference=reference,
    )


def _fit_kind(kind, M, yv, encoder, used, *, n_folds, seed, max_rounds):
    """CV and final model of one kind on the same folds -> (model, OOF raw, fold AUCs, fold best iterations,
    trees, the card's details of the kind)."""
    names, categories, details = encoder.feature_names, encoder.categories, {}
    model, oof_raw, fold_aucs, fold_iters, n_rounds = None, None, None, [], 0
    if kind in ("lightgbm", "blend"):
        oof_raw, fold_aucs, fold_iters = cross_validate(
            M, yv, names, encoder.categorical, used, n_folds=n_folds, seed=seed, max_rounds=max_rounds
        )
        n_rounds = max(1, int(round(np.mean(fold_iters))))
        with progress.step("final model", total=n_rounds, unit="rounds") as boosting:
            model = LightGBMKind(
                lgb.train(
                    _lgb_params(used, seed),
                    _dataset(M, yv, names, encoder.categorical),
                    n_rounds,
                    callbacks=[progress.lightgbm_callback(boosting)],
                )
            )
    if kind in ("scorecard", "blend"):
        with progress.step("scorecard folds"):
            sc_oof, sc_aucs = scorecard.cross_validate(M, yv, names, categories, n_folds=n_folds, seed=seed)
        with progress.step("final scorecard"):
            card = scorecard.fit(M, yv, names, categories)
        details["scorecard"] = {**scorecard.settings(), "cv_auc": float(np.mean(sc_aucs)), "table": card.table()}
        if kind == "scorecard":
            return card, sc_oof, sc_aucs, fold_iters, n_rounds, details
        weight, tried = blend.choose_weight(yv, oof_raw, sc_oof, n_folds=n_folds, seed=seed)
        details["blend"] = {"lightgbm_weight": weight, "lightgbm_cv_auc": float(np.mean(fold_aucs)), "tried": tried}
        oof_raw = weight * oof_raw + (1 - weight) * sc_oof
        fold_aucs = blend.fold_aucs(yv, oof_raw, n_folds=n_folds, seed=seed)
        model = blend.BlendKind(model, card, weight)
    return model, oof_raw, fold_aucs, fold_iters, n_rounds, details


def _groups_from(X: pd.DataFrame) -> pd.DataFrame | None:
    out = {}
    if "CODE_GENDER" in X:
        out["gender"] = X["CODE_GENDER"].to_numpy()
    if "DAYS_BIRTH" in X:
        out["age_years"] = -pd.to_numeric(X["DAYS_BIRTH"], errors="coerce").to_numpy() / 365.25
    elif "AGE_YEARS" in X:
        out["age_years"] = pd.to_numeric(X["AGE_YEARS"], errors="coerce").to_numpy()
    return pd.DataFrame(out, index=X.index) if out else None


def training_frame(data_dir) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Features, target and fairness groups of the labelled clients of data_dir."""
    from scoring.features import build_features, load_target
    from scoring.tables import read_table

    y = load_target(data_dir)
    X = build_features(data_dir).reindex(y.index)
    app = read_table(data_dir, "application_train", ["SK_ID_CURR", "CODE_GENDER", "DAYS_BIRTH"])
    app = app.set_index("SK_ID_CURR").reindex(y.index)
    groups = pd.DataFrame(
        {
            "gender": app["CODE_GENDER"].to_numpy(),
            "age_years": -app["DAYS_BIRTH"].astype("float64").to_numpy() / 365.25,
        },
        index=y.index,
    )
    return X, y, groups


def train_model(
    data_dir,
    models_dir,
    *,
    n_folds: int = 5,
    cost_fn: float = 10.0,
    seed: int = 0,
    params: dict | None = None,
    max_rounds: int | None = None,
    kind: str = DEFAULT_KIND,
) -> ModelBundle:
    """Build features, train, calibrate, write the bundle; uses models_dir/params.json from `tune` if present.

    The card records the lender's policy (SCORING_POLICY) in force, refused before training when it is invalid."""
    from scoring.decision import load_policy
    from scoring.tables import data_source, require_valid

    require_valid(data_dir)
    decision_policy = load_policy()
    source = "given"
    if params is None:
        params = load_params(models_dir)
        source = f"{Path(models_dir) / PARAMS_FILE} (Optuna search by `tune`)" if params else "defaults (scoring.train)"
    with progress.step("features"):
        X, y, groups = training_frame(data_dir)
    bundle = fit_bundle(
        X,
        y,
        n_folds=n_folds,
        cost_fn=cost_fn,
        seed=seed,
        params=params,
        max_rounds=max_rounds,
        data_source=data_source(data_dir),
        groups=groups,
        params_source=source,
        decision_policy=decision_policy,
        kind=kind,
    )
    with progress.step("writing the model bundle"):
        bundle.save(models_dir)
    return bundle
