"""Training: CV, calibration, threshold, card, params.json, and generalisation on the real sample."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from scoring.bundle import ModelBundle
from scoring.encoding import FeatureEncoder
from scoring.policy import cost_optimal_threshold
from scoring.train import fingerprint_of, fit_bundle, train_model, training_frame

# Repeated 80/20 holdout of the default `train` on the real 7k sample (8 stratified splits, 5-fold CV inside):
# AUC 0.754 mean, sd 0.022, range 0.719-0.801, while LightGBM defaults lose 0.03-0.05 on every split.
# One 1,400-row holdout is too noisy for an absolute bar near 0.75, so the test is paired: on the same split the
# default `train` must beat LightGBM defaults by a clear margin, and stay above an absolute floor.
HOLDOUT_SPLITS = 3
HOLDOUT_MIN_AUC = 0.74
HOLDOUT_MIN_GAIN = 0.015


@pytest.fixture(scope="module")
def real_app(real_sample_dir):
    app = pd.read_csv(real_sample_dir / "application_train.csv")
    y = app.pop("TARGET")
    return app.set_index("SK_ID_CURR"), y.set_axis(app["SK_ID_CURR"].to_numpy())


@pytest.fixture(scope="module")
def real_bundle(real_app):
    X, y = real_app
    return fit_bundle(X, y, n_folds=3, max_rounds=150, seed=0)


def test_fit_on_real_application_table(real_app, real_bundle):
    X, y = real_app
    card = real_bundle.card
    m = card["metrics"]
    assert len(m["fold_aucs"]) == 3 and 0.68 < m["cv_auc"] < 0.82  # above 0.82 would mean leakage
    assert m["oof_auc"] > 0.68
    assert m["brier_calibrated"] <= m["brier_uncalibrated"] + 1e-4
    assert m["brier_calibrated"] < m["brier_base_rate"]
    assert card["n_rows"] == len(X) and card["n_features"] == X.shape[1]
    assert card["n_categorical"] == sum(X[c].dtype == object for c in X.columns)
    assert set(real_bundle.categories["CODE_GENDER"]) >= {"F", "M"}


def test_card_policy_and_tables(real_app, real_bundle):
    _, y = real_app
    card = real_bundle.card
    pol = card["policy"]
    conf = pol["confusion"]
    assert sum(conf.values()) == len(y) and conf["tp"] + conf["fn"] == int(y.sum())
    assert pol["threshold"] == real_bundle.threshold and 0 < pol["threshold"] < 1
    assert 0.3 < pol["approval_rate"] < 1
    assert len(card["calibration"]["table"]) == 10
    rates = [r["observed_rate"] for r in card["calibration"]["table"]]
    assert rates[-1] > 3 * rates[0]  # riskiest decile defaults far more than the safest
    assert sum(g["n"] for g in card["grades"]) == len(y)
    genders = {r["group"] for r in card["fairness"]["gender"]}
    assert {"F", "M"} <= genders
    assert len(card["fairness"]["age_band"]) >= 4
    assert all(r["approval_rate"] is not None for r in card["fairness"]["age_band"])
    assert len(real_bundle.importance) == 30
    imp = [r["mean_abs_shap"] for r in real_bundle.importance]
    assert imp == sorted(imp, reverse=True)
    assert real_bundle.importance[0]["feature"].startswith("EXT_SOURCE")
    assert card["libraries"]["lightgbm"] and card["data_source"] == "real" and card["data_warning"] is None


def test_threshold_is_cost_optimal_on_oof_pd(real_app):
    X, y = real_app
    b1 = fit_bundle(X.iloc[:3000], y.iloc[:3000], n_folds=3, max_rounds=60, seed=0, cost_fn=10.0)
    b2 = fit_bundle(X.iloc[:3000], y.iloc[:3000], n_folds=3, max_rounds=60, seed=0, cost_fn=3.0)
    assert b2.threshold > b1.threshold  # cheaper missed defaults -> decline fewer clients
    assert b2.card["policy"]["cost_fn"] == 3.0


def test_threshold_uses_policy():
    y = np.array([0, 0, 0, 1, 1, 0, 1, 0, 0, 0])
    p = np.array([0.01, 0.02, 0.05, 0.5, 0.3, 0.2, 0.08, 0.03, 0.04, 0.06])
    t, _ = cost_optimal_threshold(y, p)
    assert 0.06 < t <= 0.08


def test_bad_target_is_refused(real_app):
    X, y = real_app
    with pytest.raises(ValueError, match="0/1"):
        fit_bundle(X.iloc[:100], y.iloc[:100].replace(1, 2), n_folds=3)
    with pytest.raises(ValueError, match="rows"):
        fit_bundle(X.iloc[:100], y.iloc[:50], n_folds=3)


def test_fingerprint_changes_with_data(real_app):
    X, y = real_app
    a = fingerprint_of(X.iloc[:500], y.iloc[:500])
    assert a == fingerprint_of(X.iloc[:500].copy(), y.iloc[:500].copy())
    y2 = y.iloc[:500].copy()
    y2.iloc[0] = 1 - y2.iloc[0]
    assert a != fingerprint_of(X.iloc[:500], y2)


def test_default_train_generalises_on_real_holdout(real_sample_dir, tmp_path):
    """Default parameters, trained on 80 % of the real sample with the real feature path, ranked on the rest."""
    data = tmp_path / "real"
    data.mkdir()
    (data / "application_train.csv").symlink_to(real_sample_dir / "application_train.csv")
    X, y, _ = training_frame(data)
    encoder = FeatureEncoder.fit(X)
    M = encoder.matrix(X)
    yv = y.to_numpy()
    ours, base = [], []
    for split in range(HOLDOUT_SPLITS):
        tr, te = train_test_split(np.arange(len(yv)), test_size=0.2, stratify=yv, random_state=split)
        bundle = fit_bundle(X.iloc[tr], y.iloc[tr], n_folds=3, seed=split)
        ours.append(roc_auc_score(yv[te], bundle.predict_pd(X.iloc[te])))
        default = lgb.train(
            {"objective": "binary", "verbose": -1, "seed": split},
            lgb.Dataset(M[tr], yv[tr], feature_name=encoder.feature_names, categorical_feature=encoder.categorical),
            100,
        )
        base.append(roc_auc_score(yv[te], default.predict(M[te])))
    print(f"real holdout AUC {np.round(ours, 4)} mean {np.mean(ours):.4f}; LightGBM defaults {np.round(base, 4)}")
    assert np.mean(ours) >= HOLDOUT_MIN_AUC, f"mean holdout AUC {np.mean(ours):.4f}"
    assert np.mean(ours) - np.mean(base) >= HOLDOUT_MIN_GAIN, f"{np.mean(ours):.4f} vs defaults {np.mean(base):.4f}"


def test_train_model_on_synthetic_writes_bundle(trained_models, synth_dir):
    bundle = ModelBundle.load(trained_models)
    card = bundle.card
    assert card["data_source"] == "synthetic" and "SYNTHETIC DEMO DATA" in card["data_warning"]
    md = (trained_models / "model_card.md").read_text()
    assert "SYNTHETIC DEMO DATA" in md.split("\n## ")[0]
    assert card["metrics"]["cv_auc"] > 0.65
    assert bundle.version.endswith(bundle.fingerprint[:8])
    assert json.loads((trained_models / "model_card.json").read_text())["version"] == bundle.version
    assert {r["group"] for r in card["fairness"]["gender"]} >= {"F", "M"}


def test_train_model_uses_params_json(synth_dir, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "params.json").write_text(json.dumps({"params": {"num_leaves": 5, "learning_rate": 0.1}}))
    bundle = train_model(synth_dir, models, n_folds=2, max_rounds=30)
    assert bundle.card["model"]["params"]["num_leaves"] == 5
    assert "params.json" in bundle.card["model"]["params_source"]
    (models / "params.json").write_text("{not json")
    with pytest.raises(ValueError, match="params.json"):
        train_model(synth_dir, models, n_folds=2, max_rounds=30)


def test_markdown_card_tables_are_well_formed(real_bundle):
    from scoring.model_card import render_markdown

    md = render_markdown(real_bundle.card)
    assert "SYNTHETIC" not in md and "Threshold" in md and "Brier" in md and "Age band" in md
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line.count("|"))
        elif current:
            tables.append(current)
            current = []
    assert len(tables) >= 7
    assert all(len(set(t)) == 1 for t in tables), "a table row has a stray '|'"
