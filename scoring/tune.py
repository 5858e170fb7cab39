"""Optuna TPE search of LightGBM parameters by CV AUC; writes models/params.json, which `train` then uses."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from scoring import progress
from scoring.encoding import FeatureEncoder
from scoring.train import DEFAULT_PARAMS, PARAMS_FILE, cross_validate, training_frame


def _space(trial) -> dict:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
        "max_depth": trial.suggest_int("max_depth", 3, 8),
        "min_child_samples": trial.suggest_int("min_child_samples", 20, 400, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.15, 0.9),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "bagging_freq": 1,
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-2, 100.0, log=True),
        "cat_smooth": trial.suggest_float("cat_smooth", 1.0, 100.0, log=True),
        "cat_l2": trial.suggest_float("cat_l2", 1.0, 50.0, log=True),
        "min_data_per_group": trial.suggest_int("min_data_per_group", 20, 400, log=True),
        "max_cat_to_onehot": 4,
    }


def tune(
    data_dir, models_dir, n_trials: int = 30, n_folds: int = 3, seed: int = 0, max_rounds: int | None = None
) -> dict:
    """Search; the defaults are the first trial, so the result is never worse than them in CV."""
    import optuna

    if n_trials < 1:
        raise ValueError("n_trials must be at least 1")
    with progress.step("features"):
        X, y, _ = training_frame(data_dir)
    encoder = FeatureEncoder.fit(X)
    M = encoder.matrix(X)
    yv = y.to_numpy().astype(int)

    def objective(trial) -> float:
        params = _space(trial)
        _, aucs, iters = cross_validate(
            M, yv, encoder.feature_names, encoder.categorical, params, n_folds=n_folds, seed=seed, max_rounds=max_rounds
        )
        trial.set_user_attr("rounds", int(np.mean(iters)))
        return float(np.mean(aucs))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({k: v for k, v in DEFAULT_PARAMS.items() if k not in ("bagging_freq", "max_cat_to_onehot")})
    with progress.step("trials", total=n_trials, unit="trials") as done:
        study.optimize(objective, n_trials=n_trials, callbacks=[lambda study, trial: done.update()])
    best = {**study.best_trial.params, "bagging_freq": 1, "max_cat_to_onehot": 4}
    result = {
        "params": best,
        "cv_auc": float(study.best_value),
        "default_cv_auc": float(study.trials[0].value),
        "n_trials": n_trials,
        "n_folds": n_folds,
        "seed": seed,
        "rows": int(len(yv)),
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out = Path(models_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (PARAMS_FILE + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out / PARAMS_FILE)
    return result
