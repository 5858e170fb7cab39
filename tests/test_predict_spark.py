"""`predict --engine spark` in Spark local mode against the single-machine `predict_file` on the same rows: the
output, the monitoring records (scored_applications) and the shadow rows (shadow_scores) of a registry's challenger.

One SparkSession for the module (local[2], 4 shuffle partitions, UI off, small input splits so a file spans several
partitions); each test that runs a job is one of the few that must.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sqlite3
from contextlib import closing

import pandas as pd
import pytest

from scoring import cli, registry
from scoring.bundle import ModelBundle, ModelIntegrityError
from scoring.monitoring.commands import predict_recording
from scoring.predict import predict_file
from scoring.tables import SCHEMAS, find_table, read_table
from tests.test_registry import second_bundle  # noqa: F401 - the fixture

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


@pytest.fixture(scope="module")
def registry_models(trained_models, second_bundle, tmp_path_factory):  # noqa: F811 - the imported fixture
    """A registry: the trained model (A) champion, the second bundle (B) challenger."""
    models = tmp_path_factory.mktemp("spark-registry") / "models"
    shutil.copytree(trained_models, models)
    a = registry.init_registry(models, "tester")
    b = registry.add_version(models, second_bundle, "tester")
    registry.set_challenger(models, b, "tester")
    return {"models": models, "a": a, "b": b}


def _store(path):
    """A store file holding nothing yet: the kept tables are made on the first write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as con:
        con.execute("CREATE TABLE scores (client_id INTEGER PRIMARY KEY, pd REAL, grade TEXT)")
    return path


def _rows(store, table: str) -> list[dict]:
    with closing(sqlite3.connect(store)) as con:
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY id")]
        except sqlite3.OperationalError as exc:  # no writer has opened the store: no rows
            assert "no such table" in str(exc)
            return []


def _run_spark(spark, src, out, data_dir, models, **kw):
    from scoring.spark.predict import predict_file_spark

    return predict_file_spark(src, out, data_dir=data_dir, models_dir=models, spark=spark, **kw)


def _without(rows: list[dict], *columns: str) -> list[tuple]:
    return [tuple(v for k, v in r.items() if k not in columns) for r in rows]


def _same_features(got: str, want: str) -> bool:
    """The same features JSON, floats to 1e-12: a history sum's last bit depends on which clients share a chunk
    with the applicant (the feature code's DuckDB aggregate), and Spark's batches are not predict_file's chunks."""
    a, b = json.loads(got), json.loads(want)
    return list(a) == list(b) and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and math.isclose(x, y, rel_tol=1e-12, abs_tol=0))
        for x, y in zip(a.values(), b.values(), strict=True)
    )


def test_spark_equals_single_machine_on_every_application(
    spark, synth_dir, registry_models, applications, tmp_path, monkeypatch
):
    """Both engines through the CLI on a registry with a challenger, recording --as-of a day: the same output,
    the same scored_applications rows and the same shadow_scores rows, each run under its own run id."""
    got = {}
    for engine in ("stream", "spark"):
        store, out = _store(tmp_path / "stores" / f"{engine}.sqlite"), tmp_path / f"{engine}.parquet"
        monkeypatch.setenv("SCORING_STORE", str(store))  # where predict logs the shadow rows
        argv = ["predict", "--engine", engine, "--input", str(applications), "--output", str(out), "--quiet"]
        argv += ["--data", str(synth_dir), "--models", str(registry_models["models"]), "--store", str(store)]
        assert cli.main([*argv, "--as-of", "2026-03-01"]) == 0
        got[engine] = pd.read_parquet(out), _rows(store, "scored_applications"), _rows(store, "shadow_scores")
    (want, want_records, want_shadow), (output, records, shadow) = got["stream"], got["spark"]
    assert len(output) == len(want) == 2000
    assert list(output.columns) == list(want.columns)
    assert output["SK_ID_CURR"].tolist() == want["SK_ID_CURR"].tolist()  # the input's order
    for column in ("grade", "decision", "outcome", "fired"):
        assert output[column].tolist() == want[column].tolist(), column
    for column in ("pd", "offer_amount", "offer_annuity"):  # equal floats (NaN where there is no offer)
        assert output[column].equals(want[column]), column
    assert want["outcome"].nunique() >= 2 and (want["fired"] != "").any()  # decisions and reasons both vary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spark.parquet", "stores", "stream.parquet"]  # no parts

    # scored_applications: every scored row once, in input order, the same values to the bit, dated --as-of
    scored = want[want["outcome"] != "technical_refusal"]
    assert [r["client_id"] for r in records] == scored["SK_ID_CURR"].tolist() and len(records) > 1900
    assert _without(records, "id", "request_id", "features") == _without(want_records, "id", "request_id", "features")
    features = [(r["features"], w["features"]) for r, w in zip(records, want_records, strict=True)]
    assert all(_same_features(*pair) for pair in features)
    assert sum(a == b for a, b in features) >= 0.99 * len(features)  # to the character but for a last bit or two
    assert [r["pd"] for r in records] == scored["pd"].tolist()
    assert {(r["scored_at"], r["source"], r["model_version"]) for r in records} == {
        ("2026-03-01T12:00:00.000+00:00", "batch", registry_models["a"])
    }
    assert list(json.loads(records[0]["features"])) == list(ModelBundle.load(registry_models["models"]).feature_names)
    runs = [{r["request_id"] for r in rows} for rows in (records, want_records)]
    assert all(len(ids) == 1 for ids in runs) and runs[0] != runs[1]

    # shadow_scores: the challenger's view of every application beside the champion's, as the stream engine logs it
    assert _without(shadow, "id", "scored_at", "request_id") == _without(want_shadow, "id", "scored_at", "request_id")
    assert [r["client_id"] for r in shadow] == want["SK_ID_CURR"].tolist()
    assert {(r["source"], r["champion_version"], r["challenger_version"]) for r in shadow} == {
        ("batch", registry_models["a"], registry_models["b"])
    }
    assert [r["champion_outcome"] for r in shadow] == want["outcome"].tolist()
    assert [r["champion_pd"] for r in shadow if r["champion_pd"] is not None] == scored["pd"].tolist()
    assert any(r["champion_pd"] != r["challenger_pd"] for r in shadow)
    runs = [{r["request_id"] for r in rows} for rows in (shadow, want_shadow)]
    assert all(len(ids) == 1 and next(iter(ids)).startswith("batch-") for ids in runs) and runs[0] != runs[1]


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
    spark, synth_dir, trained_models, registry_models, tmp_path, capsys, monkeypatch
):
    """--no-record: nothing recorded in the store, while the challenger is still shadow scored (as on stream)."""
    app = read_table(synth_dir, "application_test").iloc[:250]
    src = tmp_path / "in.parquet"
    app.to_parquet(src, index=False)
    history = tmp_path / "history"
    _csv_history(synth_dir, history, app["SK_ID_CURR"].tolist())
    single = tmp_path / "single.csv"
    predict_file(src, single, data_dir=history, models_dir=trained_models)
    store = _store(tmp_path / "store" / "store.sqlite")
    monkeypatch.setenv("SCORING_STORE", str(store))
    monkeypatch.setenv("SCORING_PROGRESS", "lines")
    out = tmp_path / "spark.csv"
    argv = ["predict", "--engine", "spark", "--input", str(src), "--output", str(out), "--no-record"]
    argv += ["--store", str(store), "--data", str(history), "--models", str(registry_models["models"])]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert f"scored 250 applications -> {out}" in captured.out
    for stage in ("checking the model", "scoring and deciding on Spark", "putting rows back", "writing spark.csv"):
        assert f"{stage}" in captured.err and ": done" in captured.err, stage
    assert out.read_text() == single.read_text()  # the same file, to the character
    assert len(pd.read_csv(out)) == 250
    assert _rows(store, "scored_applications") == []
    assert [r["client_id"] for r in _rows(store, "shadow_scores")] == app["SK_ID_CURR"].tolist()


def _recording(store):
    """The recorder `predict` runs with (scoring.monitoring.commands.predict_recording: undone on a failure)."""
    return predict_recording(argparse.Namespace(no_record=False, store=store, as_of=None))


def test_a_bad_value_names_the_same_data_row_as_the_single_machine_path(
    spark, registry_models, applications, tmp_path, monkeypatch
):
    """... and a failed job leaves nothing recorded and no shadow rows."""
    app = pd.read_csv(applications, dtype=str, keep_default_na=False)
    app.loc[1733, "AMT_CREDIT"] = "a lot"  # in a later input partition than the first
    src = tmp_path / "bad.csv"
    app.to_csv(src, index=False)
    models = registry_models["models"]
    with pytest.raises(ValueError) as single:
        predict_file(src, tmp_path / "single.csv", models_dir=models)
    assert "data row 1734" in str(single.value)
    store = _store(tmp_path / "store" / "store.sqlite")
    monkeypatch.setenv("SCORING_STORE", str(store))
    out = tmp_path / "out.parquet"
    with pytest.raises(ValueError) as on_spark, _recording(store) as recorder:
        _run_spark(spark, src, out, None, models, recorder=recorder)
    assert str(on_spark.value) == str(single.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "store"]  # no output, no partial, no parts
    assert _rows(store, "scored_applications") == [] and _rows(store, "shadow_scores") == []


def test_a_run_failing_after_the_job_takes_its_records_back(spark, synth_dir, trained_models, tmp_path):
    """The driver records chunk by chunk once the job has succeeded; a chunk refused by the store fails the run
    and the chunks already recorded go (a trigger refuses the third chunk's first client)."""
    from scoring.store.connection import connect

    app = read_table(synth_dir, "application_test").iloc[:300]
    src = tmp_path / "in.parquet"
    app.to_parquet(src, index=False)
    store = _store(tmp_path / "store.sqlite")
    connect(store)  # the kept tables, for the trigger
    with closing(sqlite3.connect(store)) as con:
        con.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON scored_applications "
            f"WHEN NEW.client_id = {int(app['SK_ID_CURR'].iloc[200])} BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    out = tmp_path / "out.csv"
    with pytest.raises(sqlite3.IntegrityError, match="refused"), _recording(store) as recorder:
        _run_spark(spark, src, out, None, trained_models, recorder=recorder, chunk_rows=100)
    assert 0 < recorder.rows <= 200  # the chunks before it were recorded, then taken back
    assert _rows(store, "scored_applications") == []
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))


def test_cli_errors_before_any_job(spark, trained_models, applications, tmp_path, capsys):
    out = tmp_path / "out.csv"
    base = ["predict", "--engine", "spark", "--no-record", "--models", str(trained_models), "--output", str(out)]
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


def test_the_staged_challenger_and_its_columns_logged_by_the_driver(registry_models, synth_dir, tmp_path, monkeypatch):
    """The driver stages the registry's challenger beside the champion, verified as workers verify it; a batch's
    shadow columns become the stream engine's shadow rows, and null ones (the challenger failed in a worker) stop
    the run's shadow scoring while its monitoring records go on."""
    import pyarrow as pa

    from scoring.decision.service import decide_records
    from scoring.monitoring.commands import BatchRecorder
    from scoring.predict import history_frames, output_rows
    from scoring.shadow.rows import shadow_rows
    from scoring.spark import tasks
    from scoring.spark.predict import _log, _stage_challenger, _stage_model, _verify_key_bytes

    store = _store(tmp_path / "store" / "store.sqlite")
    monkeypatch.setenv("SCORING_STORE", str(store))
    models, folder = registry_models["models"], tmp_path / "staged"
    bundle, policy = _stage_model(models, None, folder)
    shadow, fingerprint = _stage_challenger(models, bundle.version, None, folder)
    challenger = tasks.load_staged(folder, _verify_key_bytes(), fingerprint, policy.sha256, tasks.CHALLENGER_FOLDER)
    assert challenger[0].version == shadow.challenger[0].version == registry_models["b"]
    app = read_table(synth_dir, "application_test").iloc[:30]
    ids = app["SK_ID_CURR"].to_numpy()
    decided = decide_records(bundle, policy, app, history_frames(synth_dir, ids))

    def batch(worker_challenger):  # what score_batches yields for these rows
        out = output_rows(ids, decided).assign(**{tasks.ROW: range(len(ids))})
        columns = list(pa.RecordBatch.from_pandas(out, schema=tasks.OUTPUT_SCHEMA, preserve_index=False).columns)
        columns.append(tasks._record_columns(bundle, decided, ids))
        columns += tasks._shadow_columns(decided, worker_challenger, ids)
        return pa.RecordBatch.from_arrays(columns, schema=tasks.scored_schema(True, True))

    recorder, versions = BatchRecorder(store), (bundle.version, registry_models["b"])
    assert _log(batch(challenger), versions, recorder, shadow)
    want = shadow_rows(decided, shadow.challenger, source="batch", request_id=shadow.request_id, client_ids=ids)
    assert _without(_rows(store, "shadow_scores"), "id", "scored_at") == [row[1:] for row in want]
    assert not _log(batch(None), versions, recorder, shadow) and shadow.failures == 1
    assert len(_rows(store, "shadow_scores")) == 30 and len(_rows(store, "scored_applications")) == 60
