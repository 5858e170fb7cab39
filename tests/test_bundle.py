"""ModelBundle: verified save/load, exact TreeSHAP, category handling, scoring."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

from scoring import signing
from scoring.bundle import (
    MANIFEST,
    MODEL_FILE,
    REFERENCE_FILE,
    SIGNATURE,
    ModelBundle,
    ModelIntegrityError,
    PlattCalibrator,
)
from scoring.encoding import FeatureEncoder
from scoring.train import fit_bundle


def _toy(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "EXT": rng.uniform(0, 1, n),
            "RATIO": rng.normal(0, 1, n),
            "NOISE": rng.normal(0, 1, n),
            "CODE_GENDER": rng.choice(["F", "M"], n),
            "KIND": rng.choice(["a", "b", "c", "d"], n).astype(object),
        }
    )
    X.loc[rng.uniform(size=n) < 0.1, "RATIO"] = np.nan
    logit = -2.5 - 2.5 * (X["EXT"] - 0.5) + 0.6 * X["RATIO"].fillna(0) + (X["KIND"] == "d") * 1.0
    y = pd.Series((rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int), index=X.index)
    return X, y


@pytest.fixture(scope="module")
def toy():
    X, y = _toy()
    bundle = fit_bundle(X, y, n_folds=3, max_rounds=80, seed=1)
    return X, y, bundle


@pytest.fixture()
def saved(toy, tmp_path):
    _, _, bundle = toy
    bundle.save(tmp_path / "m")
    return tmp_path / "m"


def test_save_writes_files_and_manifest(saved):
    names = sorted(p.name for p in saved.iterdir())
    assert names == sorted([MODEL_FILE, "model_card.json", "model_card.md", REFERENCE_FILE, MANIFEST, SIGNATURE])
    lines = (saved / MANIFEST).read_text().splitlines()
    assert {line.split()[1] for line in lines} == {MODEL_FILE, "model_card.json", "model_card.md", REFERENCE_FILE}


def test_load_round_trip_gives_same_predictions(toy, saved):
    X, _, bundle = toy
    loaded = ModelBundle.load(saved)
    assert loaded.version == bundle.version and loaded.fingerprint == bundle.fingerprint
    assert loaded.threshold == bundle.threshold
    np.testing.assert_allclose(loaded.predict_pd(X), bundle.predict_pd(X), rtol=0, atol=1e-12)
    assert loaded.importance == bundle.importance


@pytest.mark.parametrize("name", [MODEL_FILE, "model_card.json", "model_card.md"])
def test_tampered_file_is_refused(saved, name):
    with open(saved / name, "ab") as fh:
        fh.write(b"\n")
    with pytest.raises(ModelIntegrityError, match=name):
        ModelBundle.load(saved)


@pytest.mark.parametrize("name", [MODEL_FILE, MANIFEST, SIGNATURE])
def test_missing_file_is_refused(saved, name):
    (saved / name).unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        ModelBundle.load(saved)


def test_integrity_error_is_value_error_and_missing_dir(tmp_path):
    assert issubclass(ModelIntegrityError, ValueError)
    with pytest.raises(ModelIntegrityError, match="does not exist"):
        ModelBundle.load(tmp_path / "nowhere")


def test_files_from_another_model_are_refused(toy, saved, tmp_path):
    X, y, _ = toy
    other = fit_bundle(X.iloc[:1000], y.iloc[:1000], n_folds=3, max_rounds=30, seed=2)
    other.save(tmp_path / "other")
    shutil.copy(tmp_path / "other" / MODEL_FILE, saved / MODEL_FILE)
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        ModelBundle.load(saved)
    # even with a manifest rewritten to match, card and model from different trainings are refused
    shutil.copy(tmp_path / "other" / MANIFEST, saved / MANIFEST)
    shutil.copy(tmp_path / "other" / "model_card.md", saved / "model_card.md")
    shutil.copy(tmp_path / "other" / REFERENCE_FILE, saved / REFERENCE_FILE)
    lines = [ln for ln in (saved / MANIFEST).read_text().splitlines() if "model_card.json" not in ln]
    import hashlib

    digest = hashlib.sha256((saved / "model_card.json").read_bytes()).hexdigest()
    (saved / MANIFEST).write_text("\n".join(lines + [f"{digest}  model_card.json"]) + "\n")
    with pytest.raises(ModelIntegrityError, match="signature"):  # a rewritten manifest no longer verifies
        ModelBundle.load(saved)
    # even re-signed by the key holder, card and model from different trainings are refused
    key = signing.load_or_create_signing_key()
    (saved / SIGNATURE).write_text(signing.sign(key, (saved / MANIFEST).read_bytes()))
    with pytest.raises(ModelIntegrityError, match="different trainings"):
        ModelBundle.load(saved)


class _Evil:
    def __reduce__(self):
        return (open, ("/tmp/_scoring_evil_marker", "w"))


def test_manifest_checked_before_unpickling(saved, tmp_path):
    marker = "/tmp/_scoring_evil_marker"
    import os

    if os.path.exists(marker):
        os.remove(marker)
    (saved / MODEL_FILE).write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ModelIntegrityError):
        ModelBundle.load(saved)
    assert not os.path.exists(marker)


def test_explain_sums_to_raw_score(toy):
    X, _, bundle = toy
    base, contrib = bundle.explain(X.iloc[:200])
    assert contrib.shape == (200, X.shape[1])
    np.testing.assert_allclose(base + contrib.sum(axis=1), bundle.raw_score(X.iloc[:200]), atol=1e-9)
    assert abs(contrib[:, list(X.columns).index("EXT")]).mean() > abs(contrib[:, list(X.columns).index("NOISE")]).mean()


def test_explain_matches_shap_tree_explainer(toy):
    shap = pytest.importorskip("shap")
    X, _, bundle = toy
    M = bundle.matrix(X.iloc[:20])
    explainer = shap.TreeExplainer(bundle.model.booster)
    values = explainer.shap_values(M)
    values = values[1] if isinstance(values, list) else values
    _, contrib = bundle.explain(X.iloc[:20])
    np.testing.assert_allclose(values, contrib, atol=1e-6)


def test_bundle_encodes_as_training_did(toy):
    X, _, bundle = toy
    learned = FeatureEncoder.fit(X)
    assert bundle.feature_names == list(X.columns) and bundle.categories == learned.categories
    assert sorted(bundle.categories) == ["CODE_GENDER", "KIND"] and bundle.categories["KIND"] == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(bundle.matrix(X), learned.matrix(X))


def test_a_few_rows_are_coded_as_a_large_frame_is():
    """The small frames' dict lookup (one applicant) codes every kind of value as pandas' get_indexer does."""
    from scoring.encoding import SMALL_FRAME

    encoder = FeatureEncoder(["N", "K", "C"], {"K": ["a", "b", "c"], "C": ["x", "y"]})
    odd = ["a", "c", "never-seen", None, np.nan, pd.NA, 1, 1.0, True, "A", "b ", np.str_("b"), "b"]
    rows = pd.DataFrame(
        {
            "N": np.arange(len(odd), dtype=float),
            "K": pd.Series(odd, dtype=object),
            "C": pd.Categorical(["x", "y", None, "x", "y", None, "x", "y", "x", "y", "x", None, "y"]),
        }
    )
    large = pd.concat([rows] * (SMALL_FRAME // len(rows) + 1), ignore_index=True)
    assert len(rows) <= SMALL_FRAME < len(large)
    expected = encoder.matrix(large)[: len(rows)]
    np.testing.assert_array_equal(encoder.matrix(rows), expected)
    assert list(expected[:, 1][[0, 1, 11, 12]]) == [0.0, 2.0, 1.0, 1.0] and np.isnan(expected[2:11, 1]).all()
    for i in range(len(rows)):  # one row at a time, as the API scores an applicant
        np.testing.assert_array_equal(encoder.matrix(rows.iloc[[i]]), expected[[i]])


def test_unseen_category_scores_like_missing(toy):
    X, _, bundle = toy
    row = X.iloc[[0]].copy()
    unseen, missing = row.copy(), row.copy()
    unseen["KIND"] = "never-seen"
    missing["KIND"] = np.nan
    assert bundle.predict_pd(unseen)[0] == bundle.predict_pd(missing)[0]
    prepared = bundle.prepare(unseen)
    assert pd.isna(prepared["KIND"].iloc[0])
    assert list(prepared["KIND"].cat.categories) == ["a", "b", "c", "d"]


def test_prepare_orders_columns_and_rejects_bad_input(toy):
    X, _, bundle = toy
    shuffled = X.iloc[:5][list(reversed(X.columns))]
    np.testing.assert_allclose(bundle.predict_pd(shuffled), bundle.predict_pd(X.iloc[:5]))
    with pytest.raises(ValueError, match="EXT"):
        bundle.prepare(X.drop(columns=["EXT"]))
    bad = X.iloc[:3].copy().astype({"RATIO": object})
    bad.loc[bad.index[0], "RATIO"] = "lots"
    with pytest.raises(ValueError, match="RATIO"):
        bundle.score(bad)


def test_score_columns_grade_and_decision(toy):
    X, _, bundle = toy
    out = bundle.score(X.iloc[:300])
    assert list(out.columns) == ["pd", "grade", "decision", "raw_score"]
    assert out.index.equals(X.index[:300])
    assert ((out["pd"] >= bundle.threshold) == (out["decision"] == "decline")).all()
    assert set(out["grade"]) <= set(bundle.grades.names)
    np.testing.assert_allclose(out["pd"], bundle.calibrator(out["raw_score"]))


def test_platt_calibrator_is_monotone_and_fits_known_map():
    rng = np.random.default_rng(0)
    raw = rng.normal(-2, 1.5, 20000)
    y = (rng.uniform(size=raw.size) < 1 / (1 + np.exp(-(0.7 * raw + 0.3)))).astype(int)
    cal = PlattCalibrator.fit(raw, y)
    assert cal.a == pytest.approx(0.7, abs=0.08) and cal.b == pytest.approx(0.3, abs=0.15)
    grid = np.linspace(-8, 4, 50)
    assert np.all(np.diff(cal(grid)) > 0)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [(None, "dirty_decay_ms:1000,muzzy_decay_ms:0"), ("dirty_decay_ms:5000", "dirty_decay_ms:5000")],
)
def test_duckdb_allocator_returns_memory_unless_told_otherwise(preset, expected):
    """Set before duckdb loads in every process that imports scoring (API workers' RSS); a deployer's choice wins."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DUCKDB_JE_MALLOC_CONF"}
    if preset:
        env["DUCKDB_JE_MALLOC_CONF"] = preset
    code = "import scoring.features, os; print(os.environ['DUCKDB_JE_MALLOC_CONF'])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.stdout.strip() == expected
