"""The synthetic portfolio: exact Kaggle schema, deterministic, plausible marginals and default rate."""

from __future__ import annotations

import hashlib
import json

import duckdb
import numpy as np
import pytest

from scoring.synth import generate
from scoring.tables import SCHEMAS, TABLES, check_schema, data_source, duckdb_views, read_table


def test_schema_marker_and_keys(synth_dir):
    assert check_schema(synth_dir) == []
    assert data_source(synth_dir) == "synthetic"
    assert json.loads((synth_dir / "SYNTHETIC.json").read_text())["synthetic"] is True
    for name in TABLES:
        assert list(read_table(synth_dir, name).columns) == list(SCHEMAS[name])
    con = duckdb.connect()
    duckdb_views(con, synth_dir)
    orphans = {
        "bureau": "SELECT count(*) FROM bureau WHERE SK_ID_CURR NOT IN (SELECT SK_ID_CURR FROM applications)",
        "bureau_balance": "SELECT count(*) FROM bureau_balance WHERE SK_ID_BUREAU NOT IN "
        "(SELECT SK_ID_BUREAU FROM bureau)",
        "installments": "SELECT count(*) FROM installments_payments WHERE SK_ID_PREV NOT IN "
        "(SELECT SK_ID_PREV FROM previous_application)",
    }
    for name, sql in orphans.items():
        assert con.execute(sql).fetchone() == (0,), name


def test_default_rate_and_quirks(synth_dir):
    app = read_table(synth_dir, "application_train")
    assert 0.06 <= app["TARGET"].mean() <= 0.10
    pensioners = app["NAME_INCOME_TYPE"] == "Pensioner"
    assert (app.loc[pensioners, "DAYS_EMPLOYED"] == 365243).all()
    assert (app.loc[pensioners, "ORGANIZATION_TYPE"] == "XNA").all()
    assert ((app["DAYS_EMPLOYED"] >= app["DAYS_BIRTH"]) | pensioners).all()  # employed less than alive
    assert (app["AMT_ANNUITY"].dropna() > 0).all() and (app["AMT_CREDIT"] > 0).all()
    assert set(read_table(synth_dir, "bureau_balance")["STATUS"].unique()) <= set("012345CX")
    assert "TARGET" not in read_table(synth_dir, "application_test").columns


def test_deterministic_for_a_seed(tmp_path):
    def digest(out):
        generate(out, n_clients=300, seed=3)
        return {n: hashlib.sha256(read_table(out, n).to_csv().encode()).hexdigest() for n in TABLES}

    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    generate(tmp_path / "c", n_clients=300, seed=4)
    assert (
        read_table(tmp_path / "c", "application_train").to_csv()
        != read_table(tmp_path / "a", "application_train").to_csv()
    )


def test_csv_output_reads_like_parquet(tmp_path):
    generate(tmp_path / "p", n_clients=200, seed=1)
    generate(tmp_path / "c", n_clients=200, seed=1, fmt="csv")
    assert check_schema(tmp_path / "c") == []
    for name in ("application_train", "bureau", "credit_card_balance"):
        a, b = read_table(tmp_path / "p", name), read_table(tmp_path / "c", name)
        assert a.shape == b.shape
        num = [c for c, k in SCHEMAS[name].items() if k != "str"]
        np.testing.assert_allclose(a[num].to_numpy(float), b[num].to_numpy(float), rtol=1e-9, equal_nan=True)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="clients"):
        generate(tmp_path, n_clients=3)
    with pytest.raises(ValueError, match="format"):
        generate(tmp_path, n_clients=100, fmt="xlsx")


def test_marginals_and_history_sizes_follow_the_real_sample(synth_dir, real_sample_dir):
    synth, real = read_table(synth_dir, "application_train"), read_table(real_sample_dir, "application_train")
    for col in ("AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "DAYS_BIRTH", "EXT_SOURCE_2"):
        s, r = synth[col].dropna(), real[col].dropna()
        for q in (0.25, 0.5, 0.75):
            assert s.quantile(q) == pytest.approx(r.quantile(q), rel=0.35), (col, q)
    for col in ("EXT_SOURCE_1", "EXT_SOURCE_3", "OWN_CAR_AGE"):
        assert synth[col].isna().mean() == pytest.approx(real[col].isna().mean(), abs=0.06), col
    for col in ("NAME_CONTRACT_TYPE", "NAME_EDUCATION_TYPE", "NAME_FAMILY_STATUS"):
        assert set(synth[col].dropna()) <= set(real[col].dropna()) | {"Unknown"}, col
    n = len(read_table(synth_dir, "application_train")) + len(read_table(synth_dir, "application_test"))
    # rows per client of the real full data: bureau 4.8, previous 4.7, POS 28, instalments 38, cards 10.8
    expected = {
        "bureau": 4.8,
        "previous_application": 4.7,
        "POS_CASH_balance": 28,
        "installments_payments": 38,
        "credit_card_balance": 10.8,
    }
    for name, per_client in expected.items():
        assert len(read_table(synth_dir, name, columns=["SK_ID_CURR"])) / n == pytest.approx(per_client, rel=0.45), name
