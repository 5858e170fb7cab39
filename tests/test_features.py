"""Features: the batch build on real and synthetic data, hand-checked values, and batch == one applicant."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from scoring.features import (
    CATEGORICAL_FEATURES,
    build_features,
    feature_names,
    features_from_records,
    load_target,
)
from scoring.tables import SCHEMAS, TABLES, read_table

HISTORY = TABLES[2:]


def _records(data_dir, ids) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Raw rows of the given clients, read back from the files as a caller of the API would send them."""
    apps = pd.concat(
        [read_table(data_dir, "application_train"), read_table(data_dir, "application_test")], ignore_index=True
    )
    tables = {name: read_table(data_dir, name) for name in HISTORY}
    return apps, tables


def _client(apps, tables, client_id):
    app = apps[apps["SK_ID_CURR"] == client_id].drop(columns=["TARGET"])
    history = {name: t[t["SK_ID_CURR"] == client_id] for name, t in tables.items() if name != "bureau_balance"}
    bb = tables["bureau_balance"]
    history["bureau_balance"] = bb[bb["SK_ID_BUREAU"].isin(history["bureau"]["SK_ID_BUREAU"])]
    return app, history


def _assert_rows_equal(single: pd.Series, batch: pd.Series, client_id) -> None:
    for name in feature_names():
        a, b = single[name], batch[name]
        if name in CATEGORICAL_FEATURES:
            assert (pd.isna(a) and pd.isna(b)) or a == b, (client_id, name, a, b)
        else:
            assert (np.isnan(a) and np.isnan(b)) or np.isclose(a, b, rtol=1e-9, atol=1e-12), (client_id, name, a, b)


def _check_exactness(data_dir, n_clients: int) -> int:
    batch = build_features(data_dir)
    apps, tables = _records(data_dir, None)
    with_history = set()
    for name in ("bureau", "previous_application", "installments_payments", "POS_CASH_balance", "credit_card_balance"):
        with_history |= set(tables[name]["SK_ID_CURR"])
    ids = [i for i in apps["SK_ID_CURR"] if i in with_history][: n_clients // 2 + n_clients % 2]
    ids += [i for i in apps["SK_ID_CURR"] if i not in ids][: n_clients - len(ids)]
    for client_id in ids:
        app, history = _client(apps, tables, client_id)
        single = features_from_records(app, history)
        assert list(single.index) == [client_id]
        _assert_rows_equal(single.loc[client_id], batch.loc[client_id], client_id)
    return len(ids)


def test_real_sample_every_table_goes_through_the_same_sql(real_sample_dir):
    features = build_features(real_sample_dir)
    apps = read_table(real_sample_dir, "application_train", ["SK_ID_CURR"])
    assert features.index.is_unique and sorted(features.index) == sorted(apps["SK_ID_CURR"])
    assert list(features.columns) == feature_names()
    assert 150 <= len(feature_names()) <= 300 and "TARGET" not in features.columns
    for name in features.columns:
        expected = object if name in CATEGORICAL_FEATURES else np.float64
        assert features[name].dtype == expected, name
    numeric = features.drop(columns=CATEGORICAL_FEATURES).to_numpy()
    assert not np.isinf(numeric).any()
    ids = set(apps["SK_ID_CURR"])
    for table, feature in [
        ("bureau", "BUREAU_COUNT"),
        ("previous_application", "PREV_COUNT"),
        ("installments_payments", "INST_COUNT"),
        ("POS_CASH_balance", "POS_MONTHS"),
        ("credit_card_balance", "CC_MONTHS"),
    ]:
        rows = read_table(real_sample_dir, table, ["SK_ID_CURR"])
        assert features[feature].sum() == rows["SK_ID_CURR"].isin(ids).sum() > 0, table
    bureau = read_table(real_sample_dir, "bureau", ["SK_ID_CURR", "SK_ID_BUREAU"])
    balance = read_table(real_sample_dir, "bureau_balance", ["SK_ID_BUREAU"])
    linked = balance["SK_ID_BUREAU"].isin(bureau.loc[bureau["SK_ID_CURR"].isin(ids), "SK_ID_BUREAU"]).sum()
    assert features["BUREAU_BALANCE_MONTHS"].sum() == linked


def test_real_sample_single_applicant_equals_batch(real_sample_dir):
    assert _check_exactness(real_sample_dir, 200) == 200


def test_synthetic_single_applicant_equals_batch(synth_dir):
    assert _check_exactness(synth_dir, 200) == 200


def test_synthetic_covers_train_and_test_clients_and_target(synth_dir):
    features = build_features(synth_dir)
    train = read_table(synth_dir, "application_train", ["SK_ID_CURR"])
    test = read_table(synth_dir, "application_test", ["SK_ID_CURR"])
    assert len(features) == len(train) + len(test) and features.index.is_unique
    target = load_target(synth_dir)
    assert set(target.unique()) <= {0, 1} and target.index.equals(pd.Index(train["SK_ID_CURR"]))
    assert (features["BUREAU_COUNT"] > 0).mean() > 0.5  # the synthetic history is really aggregated
    assert features["INST_LATE_SHARE_365D"].notna().any() and features["CC_UTILISATION_MEAN"].notna().any()


def _app_row(client_id=1, **values) -> pd.DataFrame:
    base = {
        "SK_ID_CURR": client_id,
        "AMT_INCOME_TOTAL": 100000.0,
        "AMT_CREDIT": 500000.0,
        "AMT_ANNUITY": 25000.0,
        "AMT_GOODS_PRICE": 450000.0,
        "DAYS_BIRTH": -12005,
        "DAYS_EMPLOYED": -3000,
        "CNT_FAM_MEMBERS": 2.0,
        "CNT_CHILDREN": 1,
        "EXT_SOURCE_1": None,
        "EXT_SOURCE_2": 0.5,
        "EXT_SOURCE_3": 0.7,
        "FLAG_DOCUMENT_3": 1,
        "FLAG_DOCUMENT_8": 1,
        "NAME_CONTRACT_TYPE": "Cash loans",
    }
    base.update(values)
    return pd.DataFrame([base])


def _hand_history(client_id=1) -> dict[str, pd.DataFrame]:
    bureau = pd.DataFrame(
        {
            "SK_ID_CURR": client_id,
            "SK_ID_BUREAU": [10, 11, 12],
            "CREDIT_ACTIVE": ["Active", "Closed", "Active"],
            "DAYS_CREDIT": [-100, -2000, -400],
            "AMT_CREDIT_SUM": [1000.0, 2000.0, 3000.0],
            "AMT_CREDIT_SUM_DEBT": [500.0, 0.0, 1500.0],
            "CREDIT_DAY_OVERDUE": [0, 0, 40],
            "CREDIT_TYPE": "Consumer credit",
        }
    )
    balance = pd.DataFrame(
        {
            "SK_ID_BUREAU": [10, 10, 10, 12, 12, 99],
            "MONTHS_BALANCE": [-1, -2, -30, -5, -40, -1],
            "STATUS": ["0", "1", "5", "C", "X", "5"],
        }
    )
    instalments = pd.DataFrame(
        {
            "SK_ID_PREV": 7,
            "SK_ID_CURR": client_id,
            "DAYS_INSTALMENT": [-30.0, -60.0, -400.0, -800.0],
            "DAYS_ENTRY_PAYMENT": [-25.0, -65.0, -400.0, -700.0],
            "AMT_INSTALMENT": [100.0, 100.0, 100.0, 100.0],
            "AMT_PAYMENT": [100.0, 50.0, 100.0, 100.0],
        }
    )
    previous = pd.DataFrame(
        {
            "SK_ID_PREV": [7, 8, 9],
            "SK_ID_CURR": client_id,
            "NAME_CONTRACT_STATUS": ["Approved", "Refused", "Refused"],
            "DAYS_DECISION": [-900, -300, -20],
            "AMT_APPLICATION": [100.0, 200.0, 400.0],
            "AMT_CREDIT": [200.0, 0.0, 0.0],
        }
    )
    return {
        "bureau": bureau,
        "bureau_balance": balance,
        "installments_payments": instalments,
        "previous_application": previous,
    }


def test_hand_checked_values():
    row = features_from_records(_app_row(), _hand_history()).loc[1]
    assert row["AGE_YEARS"] == pytest.approx(12005 / 365.25)
    assert row["PAYMENT_RATE"] == pytest.approx(0.05) and row["CREDIT_TO_ANNUITY"] == pytest.approx(20)
    assert row["ANNUITY_TO_INCOME"] == pytest.approx(0.25) and row["CREDIT_TO_GOODS"] == pytest.approx(500 / 450)
    assert row["EXT_SOURCE_MEAN"] == pytest.approx(0.6) and row["EXT_SOURCE_COUNT"] == 2
    assert np.isnan(row["EXT_SOURCE_PRODUCT"]) and row["DOCUMENT_COUNT"] == 2
    assert row["BUREAU_COUNT"] == 3 and row["BUREAU_ACTIVE_COUNT"] == 2 and row["BUREAU_CLOSED_COUNT"] == 1
    assert row["BUREAU_ACTIVE_DEBT"] == 2000 and row["BUREAU_ACTIVE_DEBT_TO_CREDIT"] == pytest.approx(0.5)
    assert row["BUREAU_DAYS_SINCE_LAST_CREDIT"] == 100 and row["BUREAU_CREDIT_COUNT_365D"] == 1
    # bureau_balance: STATUS 5 is 120+ days; C and X are not delays; credit 99 belongs to nobody here
    assert row["BUREAU_BALANCE_MONTHS"] == 5 and row["BUREAU_DPD_MONTHS"] == 2
    assert row["BUREAU_DPD_120_PLUS_MONTHS"] == 1 and row["BUREAU_DPD_1_30_MONTHS"] == 1
    assert row["BUREAU_DPD_MAX_BUCKET"] == 5 and row["BUREAU_DPD_MAX_BUCKET_12M"] == 1
    assert row["BUREAU_DPD_MONTHS_12M"] == 1 and row["BUREAU_DAYS_OVERDUE_MAX"] == 40
    assert row["INST_LATE_COUNT"] == 2 and row["INST_LATE_SHARE"] == pytest.approx(0.5)
    assert row["INST_LATE_SHARE_365D"] == pytest.approx(0.5) and row["INST_LATE_DAYS_MAX"] == 100
    assert row["INST_UNDERPAID_COUNT"] == 1 and row["INST_SHORTFALL_SUM"] == 50
    assert row["INST_EARLY_DAYS_MEAN"] == pytest.approx(5 / 4)
    assert row["PREV_REFUSED_COUNT"] == 2 and row["PREV_REFUSAL_RATE"] == pytest.approx(2 / 3)
    assert row["PREV_REFUSED_COUNT_365D"] == 2 and row["PREV_LAST_STATUS"] == "Refused"
    assert row["PREV_DAYS_SINCE_LAST_APPROVAL"] == 900 and row["PREV_APPLICATION_TO_CREDIT_MIN"] == 0.5
    assert row["BUREAU_ACTIVE_DEBT_TO_INCOME"] == pytest.approx(0.02)
    assert row["POS_MONTHS"] == 0 and np.isnan(row["POS_DPD_MAX"]) and row["CC_MONTHS"] == 0


def test_pensioner_and_missing_values():
    row = features_from_records(_app_row(DAYS_EMPLOYED=365243, AMT_ANNUITY=None, AMT_CREDIT=0.0)).loc[1]
    assert np.isnan(row["EMPLOYED_YEARS"]) and row["NOT_EMPLOYED_FLAG"] == 1 and np.isnan(row["EMPLOYED_TO_AGE"])
    assert np.isnan(row["PAYMENT_RATE"]) and np.isnan(row["CREDIT_TO_ANNUITY"])  # never inf
    assert row["BUREAU_COUNT"] == 0 and np.isnan(row["BUREAU_ACTIVE_DEBT"])
    assert "CODE_GENDER" not in row.index and row["NAME_CONTRACT_TYPE"] == "Cash loans"  # protected: not an input


def test_files_and_records_agree_on_hand_data(tmp_path):
    """The hand data written as Kaggle files gives the same features as the records, for two clients."""
    app = pd.concat(
        [_app_row(1, EXT_SOURCE_1=np.nan), _app_row(2, DAYS_EMPLOYED=365243, EXT_SOURCE_1=0.2)], ignore_index=True
    )
    history = _hand_history(1)
    full = app.reindex(columns=list(SCHEMAS["application_train"]))
    full["TARGET"] = [0, 1]
    full.to_csv(tmp_path / "application_train.csv", index=False)
    for name, frame in history.items():
        frame.reindex(columns=list(SCHEMAS[name])).to_csv(tmp_path / f"{name}.csv", index=False)
    batch = build_features(tmp_path)
    single = features_from_records(app, history)
    assert list(batch.index) == [1, 2] and list(single.index) == [1, 2]
    for client_id in (1, 2):
        _assert_rows_equal(single.loc[client_id], batch.loc[client_id], client_id)
    assert load_target(tmp_path).to_dict() == {1: 0, 2: 1}


def test_history_rows_without_client_id_belong_to_the_single_applicant():
    history = {name: frame.drop(columns=["SK_ID_CURR"], errors="ignore") for name, frame in _hand_history(5).items()}
    row = features_from_records(_app_row(5), history).loc[5]
    assert row["BUREAU_COUNT"] == 3 and row["INST_COUNT"] == 4


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown history table 'loans'"):
        features_from_records(_app_row(), {"loans": pd.DataFrame({"x": [1]})})
    with pytest.raises(ValueError, match="SK_ID_CURR"):
        features_from_records(pd.DataFrame([{"AMT_CREDIT": 1.0}]))
    with pytest.raises(ValueError, match="unique"):
        features_from_records(pd.concat([_app_row(), _app_row()]))
    with pytest.raises(ValueError, match="applications"):
        features_from_records(_app_row(AMT_INCOME_TOTAL="a lot"))
    with pytest.raises(ValueError, match="bureau"):
        bad = _hand_history()["bureau"].assign(DAYS_CREDIT="yesterday")
        features_from_records(_app_row(), {"bureau": bad})
    # the connection is still usable after an error
    assert features_from_records(_app_row()).loc[1, "BUREAU_COUNT"] == 0


def test_threads_each_get_correct_results():
    expected = features_from_records(_app_row(3), _hand_history(3))
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(features_from_records(_app_row(3), _hand_history(3)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 15
    for frame in results:
        _assert_rows_equal(frame.loc[3], expected.loc[3], 3)


def test_application_table_alone(tmp_path):
    _app_row(1).reindex(columns=list(SCHEMAS["application_train"])).assign(TARGET=0).to_csv(
        tmp_path / "application_train.csv", index=False
    )
    features = build_features(tmp_path)
    assert list(features.index) == [1] and features.loc[1, "PREV_COUNT"] == 0


def test_text_values_are_data_not_sql():
    tricky = "Business Entity 'Type 3'); DROP TABLE bureau; --"
    row = features_from_records(
        _app_row(ORGANIZATION_TYPE=tricky, AMT_INCOME_TOTAL="100000"), {"bureau": _hand_history()["bureau"].head(1)}
    ).loc[1]
    assert row["ORGANIZATION_TYPE"] == tricky and row["AMT_INCOME_TOTAL"] == 100000 and row["BUREAU_COUNT"] == 1
    with pytest.raises(ValueError, match="CNT_CHILDREN.*whole number"):
        features_from_records(_app_row(CNT_CHILDREN=1.5))
    with pytest.raises(ValueError, match="AMT_CREDIT.*finite"):
        features_from_records(_app_row(AMT_CREDIT=float("inf")))
    assert features_from_records(_app_row(), _hand_history()).loc[1, "BUREAU_COUNT"] == 3


def test_synthetic_portfolio_as_records_equals_batch(synth_dir):
    """Many applicants at once (the batch-scoring path) give the batch values too."""
    batch = build_features(synth_dir)
    apps, tables = _records(synth_dir, None)
    single = features_from_records(apps.drop(columns=["TARGET"]), tables)
    assert list(single.index) == list(apps["SK_ID_CURR"])
    expected = batch.loc[single.index]
    numeric = [c for c in feature_names() if c not in CATEGORICAL_FEATURES]
    assert np.allclose(
        single[numeric].to_numpy(float), expected[numeric].to_numpy(float), rtol=1e-9, atol=1e-12, equal_nan=True
    )
    for name in CATEGORICAL_FEATURES:
        assert ((single[name] == expected[name]) | (single[name].isna() & expected[name].isna())).all(), name


def test_filter_clauses_run_as_case_with_the_same_values(synth_dir):
    """The statements run with FILTER written as CASE (DuckDB's FILTER cost grows with their square): on the
    synthetic portfolio every source gives exactly the values of its statement as written."""
    from scoring.features.batch import batch_connection
    from scoring.features.history import AGGREGATE_SQL, written_sql
    from scoring.tables import duckdb_views

    con = batch_connection(threads=1)  # one thread: both sum in the same order, so the values are exactly equal
    duckdb_views(con, synth_dir)
    for alias, sql in AGGREGATE_SQL.items():
        assert "FILTER" not in sql
        written = con.execute(f"{written_sql(alias)} ORDER BY SK_ID_CURR").df()
        run = con.execute(f"{sql} ORDER BY SK_ID_CURR").df()
        assert len(run) > 0, alias
        pd.testing.assert_frame_equal(run, written, check_exact=True)
    con.close()


def test_filter_rewrite_handles_nesting_and_refuses_what_it_cannot_write():
    from scoring.features.history import without_filter

    assert without_filter("sum(x) FILTER (WHERE (a > 1) AND b) / NULLIF(count(*) FILTER (WHERE c IN (1, 2)), 0)") == (
        "sum(CASE WHEN (a > 1) AND b THEN x END) / NULLIF(count(CASE WHEN c IN (1, 2) THEN 1 END), 0)"
    )
    assert without_filter("avg((y = 'a')::INT) FILTER (WHERE d >= -730)") == (
        "avg(CASE WHEN d >= -730 THEN (y = 'a')::INT END)"
    )
    for bad in ("count(DISTINCT x) FILTER (WHERE c)", "arg_max(x, y) FILTER (WHERE c)", "x FILTER (WHERE c)"):
        with pytest.raises(ValueError):
            without_filter(bad)


def test_one_applicants_rows_of_another_id_are_not_theirs():
    """The one-applicant statements aggregate every row loaded: rows sent under another SK_ID_CURR are left out,
    as the per-client statements leave them out."""
    own = features_from_records(_app_row(5), _hand_history(5))
    others = _hand_history(6)
    mixed = {
        name: pd.concat([frame, others[name]]) if "SK_ID_CURR" in frame.columns else frame
        for name, frame in _hand_history(5).items()
    }
    with_others = features_from_records(_app_row(5), mixed)
    _assert_rows_equal(with_others.loc[5], own.loc[5], 5)
