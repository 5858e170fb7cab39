"""Policy inputs (scoring.features.POLICY_INPUTS): hand-checked values, never model inputs, and one applicant's
values equal to the batch's, on hand data, the synthetic portfolio and the real Kaggle sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.features import (
    HISTORY_FREE_POLICY_INPUTS,
    POLICY_INPUTS,
    build_features,
    build_features_and_policy_inputs,
    feature_names,
    features_and_policy_inputs_from_records,
)
from scoring.tables import NO_DATE_DAYS, SCHEMAS
from tests.test_features import _client, _records


def _application(client_id=1, **values) -> pd.DataFrame:
    base = {
        "SK_ID_CURR": client_id,
        "AMT_INCOME_TOTAL": 100000.0,
        "AMT_CREDIT": 500000.0,
        "AMT_ANNUITY": 25000.0,
        "AMT_GOODS_PRICE": 450000.0,
        "DAYS_BIRTH": -12005,
        "DAYS_EMPLOYED": -3000,
        # the last 3 months are HOUR + DAY + WEEK + MON + QRT; YEAR (months 4 to 12) is not counted
        "AMT_REQ_CREDIT_BUREAU_HOUR": 1.0,
        "AMT_REQ_CREDIT_BUREAU_DAY": 0.0,
        "AMT_REQ_CREDIT_BUREAU_WEEK": 1.0,
        "AMT_REQ_CREDIT_BUREAU_MON": 2.0,
        "AMT_REQ_CREDIT_BUREAU_QRT": 3.0,
        "AMT_REQ_CREDIT_BUREAU_YEAR": 10.0,
    }
    base.update(values)
    return pd.DataFrame([base])


def _history(client_id=1) -> dict[str, pd.DataFrame]:
    bureau = pd.DataFrame(
        {
            "SK_ID_CURR": client_id,
            "SK_ID_BUREAU": [10, 11, 12, 13],
            "CREDIT_ACTIVE": ["Active", "Closed", "Active", "Sold"],
            "AMT_ANNUITY": [1000.0, 500.0, None, 300.0],
            "AMT_CREDIT_SUM_OVERDUE": [0.0, 0.0, 250.0, 0.0],
        }
    )
    # credit 10: 91-120 days late (4) three months ago -> counts; 11: 120+ (5) 13 months ago -> too old;
    # 12: 61-90 days (3) last month -> not 90+
    balance = pd.DataFrame(
        {"SK_ID_BUREAU": [10, 10, 11, 12], "MONTHS_BALANCE": [-3, -1, -13, -1], "STATUS": ["4", "0", "5", "3"]}
    )
    previous = pd.DataFrame(
        {
            "SK_ID_PREV": [7, 8, 9, 6],
            "SK_ID_CURR": client_id,
            "NAME_CONTRACT_STATUS": ["Refused", "Refused", "Approved", "Approved"],
            "DAYS_DECISION": [-91, -92, -10, -400],
            "AMT_ANNUITY": [900.0, 800.0, 2000.0, 700.0],
            "DAYS_LAST_DUE": [None, None, NO_DATE_DAYS, -30.0],
        }
    )  # 9 ongoing, 6 finished
    instalments = pd.DataFrame(
        {
            "SK_ID_PREV": 9,
            "SK_ID_CURR": client_id,
            "NUM_INSTALMENT_VERSION": 1.0,
            "NUM_INSTALMENT_NUMBER": [1, 1, 2, 3, 4, 0],
            "DAYS_INSTALMENT": [-100.0, -100.0, -30.0, -10.0, -50.0, -200.0],
            # 1: paid in full in two parts, the last 40 days late; 2: on time; 3: still unpaid, due 10 days ago;
            # 4: 90 of 100 paid on time (short); 0: 300 days late but due more than 6 months ago
            "DAYS_ENTRY_PAYMENT": [-95.0, -60.0, -30.0, None, -50.0, 100.0],
            "AMT_INSTALMENT": [100.0, 100.0, 100.0, 100.0, 100.0, 100.0],
            "AMT_PAYMENT": [50.0, 50.0, 100.0, None, 90.0, 100.0],
        }
    )
    return {
        "bureau": bureau,
        "bureau_balance": balance,
        "previous_application": previous,
        "installments_payments": instalments,
    }


EXPECTED = {
    "BUREAU_ENQUIRIES_3M": 7.0,
    "INCOME_MISSING_OR_ZERO": 0.0,
    "BUREAU_DPD90_CREDITS_12M": 1.0,
    "PREV_REFUSED_COUNT_3M": 1.0,
    "ARREARS_DAYS_LATE_MAX_6M": 40.0,
    "ARREARS_SHORT_INSTALMENTS_6M": 2.0,
    "EXISTING_DEBT_SERVICE": 3000.0,
}  # active bureau annuity 1000 + the ongoing loan with us 2000


def _write_files(folder, app: pd.DataFrame, history: dict[str, pd.DataFrame]) -> None:
    app.reindex(columns=list(SCHEMAS["application_train"])).assign(TARGET=0).to_csv(
        folder / "application_train.csv", index=False
    )
    for name, frame in history.items():
        frame.reindex(columns=list(SCHEMAS[name])).to_csv(folder / f"{name}.csv", index=False)


def _assert_same(single: pd.DataFrame, batch: pd.DataFrame, sums_rtol: float = 0.0) -> None:
    """Exactly equal, NaN where the other is NaN; a sum of amounts may differ by `sums_rtol` (its rows are added
    in another order when many clients are aggregated at once)."""
    assert list(single.columns) == POLICY_INPUTS and list(batch.columns) == POLICY_INPUTS
    left, right = single.to_numpy(float), batch.loc[single.index].to_numpy(float)
    rtol = np.where(np.array(POLICY_INPUTS) == "EXISTING_DEBT_SERVICE", sums_rtol, 0.0)
    same = (np.abs(left - right) <= rtol * np.abs(right)) | (np.isnan(left) & np.isnan(right))
    assert same.all(), single.loc[~same.all(axis=1)].compare(batch.loc[single.index][~same.all(axis=1)])


def test_hand_checked_values_in_both_paths(tmp_path):
    app, history = _application(), _history()
    _, single = features_and_policy_inputs_from_records(app, history)
    assert single.loc[1].to_dict() == EXPECTED
    _write_files(tmp_path, app, history)
    _, batch = build_features_and_policy_inputs(tmp_path)
    _assert_same(single, batch)


def test_no_history_and_no_income():
    missing = {f"AMT_REQ_CREDIT_BUREAU_{p}": np.nan for p in ("HOUR", "DAY", "WEEK", "MON", "QRT", "YEAR")}
    rows = pd.concat(
        [
            _application(1, AMT_INCOME_TOTAL=np.nan, **missing),
            _application(2, AMT_INCOME_TOTAL=0.0),
            _application(3, AMT_INCOME_TOTAL=-5.0),
        ],
        ignore_index=True,
    )
    _, policy = features_and_policy_inputs_from_records(rows)
    assert list(policy["INCOME_MISSING_OR_ZERO"]) == [1.0, 1.0, 1.0]
    assert np.isnan(policy.loc[1, "BUREAU_ENQUIRIES_3M"]) and policy.loc[2, "BUREAU_ENQUIRIES_3M"] == 7
    history_counts = [n for n in POLICY_INPUTS if n not in HISTORY_FREE_POLICY_INPUTS]
    assert (policy[history_counts] == 0).all().all()  # no rows: nothing late, nothing owed


def test_policy_inputs_are_not_model_inputs(tmp_path):
    assert not set(POLICY_INPUTS) & set(feature_names())
    _write_files(tmp_path, _application(), _history())
    features, policy = build_features_and_policy_inputs(tmp_path)
    assert list(features.columns) == feature_names() and features.equals(build_features(tmp_path))
    assert policy.index.equals(features.index)
    single_features, _ = features_and_policy_inputs_from_records(_application(), _history())
    assert list(single_features.columns) == feature_names()


def _one_by_one(data_dir, n_clients: int) -> None:
    _, batch = build_features_and_policy_inputs(data_dir)
    apps, tables = _records(data_dir, None)
    with_history = set(tables["installments_payments"]["SK_ID_CURR"]) | set(tables["bureau"]["SK_ID_CURR"])
    ids = [i for i in apps["SK_ID_CURR"] if i in with_history][:n_clients]
    for client_id in ids:
        app, history = _client(apps, tables, client_id)
        _, single = features_and_policy_inputs_from_records(app, history)
        _assert_same(single, batch)


def test_synthetic_clients_one_by_one_equal_the_batch(synth_dir):
    _one_by_one(synth_dir, 40)


def test_synthetic_portfolio_at_once_equals_the_batch(synth_dir):
    _, batch = build_features_and_policy_inputs(synth_dir)
    apps, tables = _records(synth_dir, None)
    _, single = features_and_policy_inputs_from_records(apps.drop(columns=["TARGET"]), tables)
    _assert_same(single, batch, sums_rtol=1e-12)
    fires = (batch.fillna(0) > 0).mean()
    assert ((fires > 0) & (fires < 0.6)).all(), fires  # the synthetic history exercises every input


def test_real_sample_one_by_one_equals_the_batch(real_sample_dir):
    _one_by_one(real_sample_dir, 30)
    _, batch = build_features_and_policy_inputs(real_sample_dir)
    assert batch["BUREAU_ENQUIRIES_3M"].notna().mean() > 0.8 and batch["INCOME_MISSING_OR_ZERO"].sum() == 0


@pytest.mark.parametrize("name", POLICY_INPUTS)
def test_every_policy_input_is_hand_checked(name):
    assert name in EXPECTED
