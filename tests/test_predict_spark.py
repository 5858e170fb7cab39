"""`predict --engine spark` in Spark local mode against the single-machine `predict_file` on the same rows.

One SparkSession for the module (local[2], 4 shuffle partitions, UI off, small input splits so a file spans several
partitions); each test that runs a job is one of the few that must.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from scoring import cli
from scoring.bundle import ModelBundle, ModelIntegrityError
from scoring.predict import predict_file
from scoring.tables import SCHEMAS, find_table, read_table

pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark():
    from scoring.spark.session import spark_session

    session = spark_session(
        "local[2]",
        shuffle_partitions=4,
        **{"spark.sql.files.maxPartitionBytes": str(256 * 1024), "spark.default.parallelism": "2"},
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def applications(synth_dir, tmp_path_factory):
    """Every application of the synthetic portfolio (train rows with TARGET, then test rows) as one CSV."""
    app = pd.concat([read_table(synth_dir, "application_train"), read_table(synth_dir, "application_test")])
    path = tmp_path_factory.mktemp("spark-in") / "applications.csv"
    app.to_csv(path, index=False)
    return path


def _run_spark(spark, src, out, data_dir, models):
    from scoring.spark.predict import predict_file_spark

    return predict_file_spark(src, out, data_dir=data_dir, models_dir=models, spark=spark)


def test_spark_equals_single_machine_on_every_application(spark, synth_dir, trained_models, applications, tmp_path):
    single, on_spark = tmp_path / "single.parquet", tmp_path / "spark.parquet"
    n = predict_file(applications, single, data_dir=synth_dir, models_dir=trained_models)
    assert _run_spark(spark, applications, on_spark, synth_dir, trained_models) == n == 2000
    want, got = pd.read_parquet(single), pd.read_parquet(on_spark)
    assert list(got.columns) == list(want.columns)
    assert got["SK_ID_CURR"].tolist() == want["SK_ID_CURR"].tolist()  # the input's order
    for column in ("grade", "decision", "outcome", "fired"):
        assert got[column].tolist() == want[column].tolist(), column
    for column in ("pd", "offer_amount", "offer_annuity"):  # equal floats (NaN where there is no offer)
        assert got[column].equals(want[column]), column
    assert want["outcome"].nunique() >= 2 and (want["fired"] != "").any()  # decisions and reasons both vary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["single.parquet", "spark.parquet"]  # no parts left


def _csv_history(synth_dir, folder, ids):
    """The portfolio's history of `ids` as CSV files (whole numbers written as such), as Kaggle ships them."""
    folder.mkdir()
    bureau = read_table(synth_dir, "bureau", where=f"SK_ID_CURR IN ({','.join(map(str, ids))})")
    for name in ("bureau", "bureau_balance", "previous_application", "installments_payments"):
        if find_table(synth_dir, name) is None:
            continue
        if name == "bureau_balance":
            rows = read_table(synth_dir, name)
            rows = rows[rows["SK_ID_BUREAU"].isin(bureau["SK_ID_BUREAU"])]
        else:
            rows = read_table(synth_dir, name, where=f"SK_ID_CURR IN ({','.join(map(str, ids))})")
        ints = [c for c, kind in SCHEMAS[name].items() if kind == "int" and c in rows]
        rows.astype({c: "Int64" for c in ints}).to_csv(folder / f"{name}.csv", index=False)


def test_cli_spark_engine_parquet_in_csv_out_with_csv_history(
    spark, synth_dir, trained_models, tmp_path, capsys, monkeypatch
):
    app = read_table(synth_dir, "application_test").iloc[:250]
    src = tmp_path / "in.parquet"
    app.to_parquet(src, index=False)
    history = tmp_path / "history"
    _csv_history(synth_dir, history, app["SK_ID_CURR"].tolist())
    single = tmp_path / "single.csv"
    predict_file(src, single, data_dir=history, models_dir=trained_models)
    monkeypatch.setenv("SCORING_PROGRESS", "lines")
    out = tmp_path / "spark.csv"
    argv = ["predict", "--engine", "spark", "--input", str(src), "--output", str(out)]
    assert cli.main([*argv, "--data", str(history), "--models", str(trained_models)]) == 0
    captured = capsys.readouterr()
    assert f"scored 250 applications -> {out}" in captured.out
    for stage in ("checking the model", "scoring and deciding on Spark", "putting rows back", "writing spark.csv"):
        assert f"{stage}" in captured.err and ": done" in captured.err, stage
    assert out.read_text() == single.read_text()  # the same file, to the character
    assert len(pd.read_csv(out)) == 250


def test_a_bad_value_names_the_same_data_row_as_the_single_machine_path(spark, trained_models, applications, tmp_path):
    app = pd.read_csv(applications, dtype=str, keep_default_na=False)
    app.loc[1733, "AMT_CREDIT"] = "a lot"  # in a later input partition than the first
    src = tmp_path / "bad.csv"
    app.to_csv(src, index=False)
    with pytest.raises(ValueError) as single:
        predict_file(src, tmp_path / "single.csv", models_dir=trained_models)
    assert "data row 1734" in str(single.value)
    out = tmp_path / "out.parquet"
    with pytest.raises(ValueError) as on_spark:
        _run_spark(spark, src, out, None, trained_models)
    assert str(on_spark.value) == str(single.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no output, no partial, no parts


def test_cli_errors_before_any_job(spark, trained_models, applications, tmp_path, capsys):
    out = tmp_path / "out.csv"
    base = ["predict", "--engine", "spark", "--models", str(trained_models), "--output", str(out)]
    assert cli.main([*base, "--input", str(tmp_path / "nope.csv")]) == 2
    assert "error: input file" in capsys.readouterr().err
    assert cli.main([*base[:-1], str(tmp_path / "out.xlsx"), "--input", str(applications)]) == 2
    assert "unsupported file type" in capsys.readouterr().err
    no_ids = tmp_path / "no_ids.csv"
    pd.read_csv(applications, nrows=5).drop(columns=["SK_ID_CURR"]).to_csv(no_ids, index=False)
    assert cli.main([*base, "--input", str(no_ids)]) == 2
    assert "column SK_ID_CURR is missing" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [no_ids]


def test_a_tampered_model_is_refused_before_scoring(spark, trained_models, applications, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(trained_models, models)
    with open(models / "model.joblib", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="does not match its SHA-256"):
        _run_spark(spark, applications, tmp_path / "out.csv", None, models)
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.glob(".out.csv*"))


def test_workers_verify_the_staged_bundle_and_policy_before_loading(trained_models, tmp_path):
    """What each worker runs once (scoring.spark.tasks.load_staged), on a staged folder as the driver makes it."""
    from scoring.spark.predict import _stage_model, _verify_key_bytes
    from scoring.spark.tasks import MODEL_FOLDER, POLICY_FILE, load_staged

    folder = tmp_path / "staged"
    bundle, policy = _stage_model(trained_models, None, folder)
    key = _verify_key_bytes()
    loaded, loaded_policy = load_staged(folder, key, bundle.fingerprint, policy.sha256)
    assert loaded.fingerprint == ModelBundle.load(trained_models).fingerprint and loaded_policy.sha256 == policy.sha256
    with pytest.raises(ValueError, match="not the one the driver checked"):
        load_staged(folder, key, "another-fingerprint", policy.sha256)
    (folder / POLICY_FILE).write_bytes((folder / POLICY_FILE).read_bytes() + b"\n# edited\n")
    with pytest.raises(ValueError, match="policy .* is not the one the driver checked"):
        load_staged(folder, key, bundle.fingerprint, policy.sha256)
    card = folder / MODEL_FOLDER / "model_card.md"
    card.write_text(card.read_text() + "tampered")
    with pytest.raises(ModelIntegrityError, match="does not match"):
        load_staged(folder, key, bundle.fingerprint, policy.sha256)
