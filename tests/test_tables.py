"""Reading the Home Credit files: the real sample parses exactly, and broken files are reported precisely."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from scoring.tables import SCHEMAS, TABLES, check_schema, data_source, duckdb_views, find_table, read_table


def test_every_real_file_matches_the_schema(real_sample_dir):
    assert check_schema(real_sample_dir) == []
    for name in TABLES:
        if find_table(real_sample_dir, name) is None:
            continue
        df = read_table(real_sample_dir, name)
        assert list(df.columns) == list(SCHEMAS[name]), name
        assert len(df) > 0
        raw = pd.read_csv(find_table(real_sample_dir, name), nrows=200)
        for col, kind in SCHEMAS[name].items():
            if kind == "str":
                assert df[col].head(200).fillna("<na>").tolist() == raw[col].fillna("<na>").tolist(), (name, col)
            else:
                pd.testing.assert_series_equal(
                    df[col].head(200).astype(float), raw[col].astype(float), check_names=False
                )
    assert data_source(real_sample_dir) == "real"


def test_real_quirks_survive_reading(real_sample_dir):
    app = read_table(real_sample_dir, "application_train")
    assert app["TARGET"].isin([0, 1]).all() and app["SK_ID_CURR"].is_unique
    assert (app["DAYS_EMPLOYED"] == 365243).any()  # pensioners
    assert 0.4 < app["EXT_SOURCE_1"].isna().mean() < 0.7
    assert set(read_table(real_sample_dir, "bureau_balance")["STATUS"].unique()) <= set("012345CX")


def test_duckdb_views_cover_absent_tables(real_sample_dir, tmp_path):
    shutil.copy(real_sample_dir / "application_train.csv", tmp_path)
    con = duckdb.connect()
    present = duckdb_views(con, tmp_path)
    assert present == {"application_train"}
    assert con.execute("SELECT count(*) FROM bureau").fetchone() == (0,)
    n = con.execute("SELECT count(*), count(DISTINCT SPLIT) FROM applications").fetchone()
    assert n == (len(read_table(tmp_path, "application_train")), 1)


@pytest.fixture()
def broken(real_sample_dir, tmp_path):
    src = pd.read_csv(real_sample_dir / "application_train.csv", nrows=50)
    return src, tmp_path


def test_missing_required_file_is_named(tmp_path):
    problems = check_schema(tmp_path)
    assert len(problems) == 1 and "application_train" in str(problems[0]) and "missing" in str(problems[0])


def test_missing_column_is_named(broken):
    src, out = broken
    src.drop(columns=["AMT_CREDIT"]).to_csv(out / "application_train.csv", index=False)
    problems = check_schema(out)
    assert [(p.file, p.column) for p in problems] == [("application_train.csv", "AMT_CREDIT")]
    assert "missing" in problems[0].message


def test_unparseable_value_gives_file_column_and_row(broken):
    src, out = broken
    src = src.astype({"AMT_CREDIT": object, "DAYS_BIRTH": object})
    src.loc[6, "AMT_CREDIT"] = "abc"
    src.loc[9, "AMT_CREDIT"] = "12,5"
    src.loc[3, "DAYS_BIRTH"] = "1.5e"
    src.to_csv(out / "application_train.csv", index=False)
    problems = {p.column: p for p in check_schema(out)}
    assert problems["AMT_CREDIT"].row == 7 and "'abc'" in problems["AMT_CREDIT"].message
    assert "2 bad values" in problems["AMT_CREDIT"].message
    assert problems["DAYS_BIRTH"].row == 4
    assert str(problems["AMT_CREDIT"]).startswith("application_train.csv, column AMT_CREDIT, row 7")


def test_duplicate_client_ids_are_reported(broken):
    src, out = broken
    pd.concat([src, src.head(1)]).to_csv(out / "application_train.csv", index=False)
    assert any(p.column == "SK_ID_CURR" and "appears 2 times" in p.message for p in check_schema(out))


def test_parquet_and_csv_read_alike(real_sample_dir, tmp_path):
    csv = read_table(real_sample_dir, "bureau")
    csv.to_parquet(tmp_path / "bureau.parquet")
    shutil.copy(real_sample_dir / "application_train.csv", tmp_path)
    pd.testing.assert_frame_equal(read_table(tmp_path, "bureau"), csv)
    assert check_schema(tmp_path) == []


def test_unknown_table_and_column_are_refused(real_sample_dir):
    with pytest.raises(ValueError, match="unknown table"):
        read_table(real_sample_dir, "loans")
    with pytest.raises(ValueError, match="no column"):
        read_table(real_sample_dir, "bureau", columns=["NOPE"])
