"""Optuna search writes params.json that training then reads."""

from __future__ import annotations

import json

import pytest

from scoring.train import load_params
from scoring.tune import tune


def test_tune_writes_params_used_by_train(synth_dir, tmp_path):
    result = tune(synth_dir, tmp_path, n_trials=3, n_folds=2, seed=0, max_rounds=40)
    saved = json.loads((tmp_path / "params.json").read_text())
    assert saved["params"] == result["params"] and saved["n_trials"] == 3
    assert result["cv_auc"] >= result["default_cv_auc"]  # defaults are the first trial
    assert 0.5 < result["cv_auc"] < 1
    assert load_params(tmp_path) == result["params"]
    assert {"learning_rate", "num_leaves", "min_child_samples", "reg_lambda"} <= set(result["params"])


def test_tune_rejects_no_trials(synth_dir, tmp_path):
    with pytest.raises(ValueError, match="n_trials"):
        tune(synth_dir, tmp_path, n_trials=0)
