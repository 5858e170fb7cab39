"""Streaming batch scoring against bundle.score on the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.bundle import ModelBundle
from scoring.decision.service import decide_features
from scoring.features import build_features_and_policy_inputs
from scoring.predict import predict_file
from scoring.tables import read_table
from tests.decision_fixtures import example_policy


@pytest.fixture(scope="module")
def expected(synth_dir, trained_models):
    """PD, grade and the lender's decision of every client from the batch feature path (as the store builds)."""
    bundle = ModelBundle.load(trained_models)
    features, policy_inputs = build_features_and_policy_inputs(synth_dir)
    decided = decide_features(bundle, example_policy(), features, policy_inputs)
    return decided.scores.join(decided.decisions.summary())


@pytest.mark.parametrize("table,ext", [("application_test", "csv"), ("application_train", "parquet")])
def test_predict_file_matches_bundle(synth_dir, trained_models, expected, tmp_path, table, ext):
    app = read_table(synth_dir, table).iloc[:700]
    src = tmp_path / f"in.{ext}"
    app.to_csv(src, index=False) if ext == "csv" else app.to_parquet(src, index=False)
    out = tmp_path / f"out.{'parquet' if ext == 'csv' else 'csv'}"
    n = predict_file(src, out, data_dir=synth_dir, models_dir=trained_models, chunk_rows=256)
    assert n == len(app)
    got = pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)
    assert list(got.columns) == [
        "SK_ID_CURR",
        "pd",
        "grade",
        "decision",
        "outcome",
        "offer_amount",
        "offer_annuity",
        "fired",
    ]
    assert got["SK_ID_CURR"].tolist() == app["SK_ID_CURR"].tolist()
    exp = expected.loc[got["SK_ID_CURR"]]
    np.testing.assert_allclose(got["pd"].to_numpy(), exp["pd"].to_numpy(), rtol=1e-9, atol=1e-12)
    assert got["grade"].tolist() == exp["grade"].tolist()
    assert got["decision"].tolist() == exp["decision"].tolist()
    assert got["outcome"].tolist() == exp["outcome"].tolist() and exp["outcome"].nunique() >= 2
    for column in ("offer_amount", "offer_annuity"):
        np.testing.assert_allclose(got[column].to_numpy(), exp[column].to_numpy(), rtol=1e-9)
    assert got["fired"].fillna("").tolist() == exp["fired"].tolist() and (exp["fired"] != "").any()
    assert not list(tmp_path.glob("*.partial"))


def test_predict_without_history_uses_application_only(synth_dir, trained_models, tmp_path):
    app = read_table(synth_dir, "application_test").iloc[:50]
    src = tmp_path / "in.csv"
    app.to_csv(src, index=False)
    assert predict_file(src, tmp_path / "out.csv", data_dir=tmp_path / "empty", models_dir=trained_models) == 50


def test_bad_inputs_give_clear_errors(synth_dir, trained_models, tmp_path):
    app = read_table(synth_dir, "application_test").iloc[:20]
    src = tmp_path / "in.csv"
    app.drop(columns=["SK_ID_CURR"]).to_csv(src, index=False)
    with pytest.raises(ValueError, match="SK_ID_CURR"):
        predict_file(src, tmp_path / "o.csv", models_dir=trained_models)
    bad = app.astype({"AMT_CREDIT": object})
    bad.loc[bad.index[3], "AMT_CREDIT"] = "a lot"
    bad.to_csv(src, index=False)
    with pytest.raises(ValueError, match="AMT_CREDIT"):
        predict_file(src, tmp_path / "o.csv", models_dir=trained_models)
    assert not (tmp_path / "o.csv").exists() and not list(tmp_path.glob("*.partial"))
    with pytest.raises(ValueError, match="unsupported"):
        predict_file(src, tmp_path / "o.xlsx", models_dir=trained_models)
    with pytest.raises(ValueError, match="does not exist"):
        predict_file(tmp_path / "nope.csv", tmp_path / "o.csv", models_dir=trained_models)
    dup = pd.concat([app.iloc[:2], app.iloc[:1]])
    dup.to_csv(src, index=False)
    with pytest.raises(ValueError, match="twice"):
        predict_file(src, tmp_path / "o.csv", models_dir=trained_models)
