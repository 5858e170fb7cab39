"""The counterfactual engine: its changes equal the full feature path on raw records changed the same way, every
option it returns approves when re-scored independently, immutable inputs never move, and a client no change can
help gets status none with the reason."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scoring.counterfactuals import VOCABULARY, Client, apply_changes, check_changes, search
from scoring.counterfactuals.apply import MOVED_FEATURES, app_derived_features, sql_derived_features
from scoring.decision.affordability import annuity
from scoring.decision.service import decide_features
from scoring.features import (
    CATEGORICAL_FEATURES,
    features_and_policy_inputs_from_records,
    features_with_new_application,
)
from tests.decision_fixtures import BASE, EXAMPLE

RATE = 0.15
_BUREAU = {"DAYS_CREDIT": -400, "CREDIT_TYPE": "Consumer credit", "CREDIT_DAY_OVERDUE": 0, "DAYS_CREDIT_UPDATE": -10}
HISTORY = {
    "bureau": [
        {**_BUREAU, "SK_ID_BUREAU": 1, "CREDIT_ACTIVE": "Active", "AMT_CREDIT_SUM": 200000.0,
         "AMT_CREDIT_SUM_DEBT": 120000.55, "AMT_ANNUITY": 5200.0, "DAYS_CREDIT_ENDDATE": 700},
        {**_BUREAU, "SK_ID_BUREAU": 2, "CREDIT_ACTIVE": "Active", "AMT_CREDIT_SUM": 50000.0,
         "AMT_CREDIT_SUM_DEBT": 30000.3, "AMT_ANNUITY": 1500.0, "DAYS_CREDIT_ENDDATE": 300},
        {**_BUREAU, "SK_ID_BUREAU": 3, "CREDIT_ACTIVE": "Closed", "AMT_CREDIT_SUM": 80000.0,
         "AMT_CREDIT_SUM_DEBT": 0.0, "DAYS_ENDDATE_FACT": -100, "DAYS_CREDIT_ENDDATE": -90},
    ],
    "previous_application": [
        {"SK_ID_PREV": 9, "NAME_CONTRACT_STATUS": "Approved", "AMT_CREDIT": 90000.0, "AMT_APPLICATION": 90000.0,
         "AMT_ANNUITY": 4000.0, "DAYS_DECISION": -500, "DAYS_LAST_DUE": 365243, "NAME_CONTRACT_TYPE": "Cash loans"},
    ],
}  # fmt: skip


def _records(application: dict, bureau: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    history = {"bureau": pd.DataFrame(bureau), "previous_application": pd.DataFrame(HISTORY["previous_application"])}
    return features_and_policy_inputs_from_records(pd.DataFrame([{**BASE, **application}]), history)


def _paid_down(bureau: list[dict], amount: float) -> list[dict]:
    """The raw bureau rows after `amount` was repaid on the active credits, first credit first, none below 0."""
    out = []
    for row in bureau:
        row = dict(row)
        if row["CREDIT_ACTIVE"] == "Active" and amount > 0:
            paid = min(amount, row["AMT_CREDIT_SUM_DEBT"])
            row["AMT_CREDIT_SUM_DEBT"] -= paid
            amount -= paid
        out.append(row)
    return out


def _assert_same(ours: pd.Series, theirs: pd.Series) -> None:
    assert list(ours.index) == list(theirs.index)
    for name in ours.index:
        a, b = ours[name], theirs[name]
        if name in CATEGORICAL_FEATURES:
            assert (pd.isna(a) and pd.isna(b)) or a == b, name
        else:  # sums of debts in another order: equal to the last bits of a double
            assert float(a) == pytest.approx(float(b), rel=1e-12, abs=1e-9, nan_ok=True), name


@pytest.mark.parametrize(
    "changes",
    [
        {"AMT_CREDIT": 150000.0, "TERM_MONTHS": 24},
        {"BUREAU_DEBT_PAYDOWN": 130000.0},
        {"DOWN_PAYMENT": 50000.0, "TERM_MONTHS": 48, "BUREAU_DEBT_PAYDOWN": 150000.85},
        {"AMT_CREDIT": 250000.0, "AMT_ANNUITY": 9000.0, "AMT_GOODS_PRICE": 240000.0},
    ],
)
def test_a_change_equals_the_full_path_on_the_raw_records_changed_the_same_way(changes):
    features, policy_inputs = _records({}, HISTORY["bureau"])
    client = Client.from_frames(BASE, features.iloc[0], policy_inputs.iloc[0])
    credit = changes.get("AMT_CREDIT", BASE["AMT_CREDIT"]) - changes.get("DOWN_PAYMENT", 0.0)
    application = {"AMT_CREDIT": credit, "AMT_GOODS_PRICE": changes.get("AMT_GOODS_PRICE", BASE["AMT_GOODS_PRICE"])}
    application["AMT_ANNUITY"] = (
        float(annuity(credit, changes["TERM_MONTHS"], RATE))
        if "TERM_MONTHS" in changes
        else changes.get("AMT_ANNUITY", BASE["AMT_ANNUITY"])
    )
    want_features, want_policy = _records(
        application, _paid_down(HISTORY["bureau"], changes.get("BUREAU_DEBT_PAYDOWN", 0))
    )
    for exact in (True, False):
        got_features, got_policy = apply_changes(client, [changes], RATE, exact=exact)
        _assert_same(got_features.iloc[0], want_features.iloc[0])
        _assert_same(got_policy.iloc[0], want_policy.iloc[0])
    assert got_features.iloc[0]["BUREAU_ACTIVE_DEBT"] < features.iloc[0]["BUREAU_ACTIVE_DEBT"] or (
        "BUREAU_DEBT_PAYDOWN" not in changes
    )


def test_the_search_formulas_cover_every_application_feature_a_change_reaches():
    assert set(app_derived_features()) == set(sql_derived_features())


def test_bad_change_sets_are_named():
    current = {"AMT_CREDIT": 300000.0, "BUREAU_ACTIVE_DEBT": 1000.0}
    assert check_changes({"AMT_CREDIT": 1000.0, "TERM_MONTHS": 12}, current, 120) == []
    for bad, field in [
        ({"DAYS_BIRTH": -9000}, "changes.DAYS_BIRTH"),
        ({"EXT_SOURCE_2": 0.9}, "changes.EXT_SOURCE_2"),
        ({"AMT_CREDIT": -1}, "changes.AMT_CREDIT"),
        ({"AMT_CREDIT": True}, "changes.AMT_CREDIT"),
        ({"TERM_MONTHS": 12.5}, "changes.TERM_MONTHS"),
        ({"TERM_MONTHS": 121}, "changes.TERM_MONTHS"),
        ({"TERM_MONTHS": 12, "AMT_ANNUITY": 5.0}, "changes.TERM_MONTHS"),
        ({"DOWN_PAYMENT": 300000.0}, "changes.DOWN_PAYMENT"),
        ({"BUREAU_DEBT_PAYDOWN": 1000.5}, "changes.BUREAU_DEBT_PAYDOWN"),
    ]:
        assert [p["field"] for p in check_changes(bad, current, 120)] == [field], bad
    assert check_changes({"BUREAU_DEBT_PAYDOWN": 5.0}, {**current, "BUREAU_ACTIVE_DEBT": math.nan}, 120)
    assert check_changes({}, current, 120) and check_changes(None, current, 120)


@pytest.fixture(scope="module")
def engine(store_path, trained_models):
    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy
    from scoring.store import open_store

    bundle = ModelBundle.load(trained_models)
    return bundle, load_policy(EXAMPLE, grades=bundle.grades), open_store(store_path)


def _not_approved(store, n: int) -> list[int]:
    ids, offset = [], 0
    while len(ids) < n:
        page = store.list_clients(limit=200, offset=offset)["items"]
        if not page:
            break
        ids += [c["client_id"] for c in page if store.get_decision(c["client_id"])["outcome"] != "approve"]
        offset += 200
    return ids[:n]


def _client(store, cid: int) -> Client:
    stored = store.get_client(cid)
    return Client(stored["application"], stored["features"], store.get_decision(cid)["policy_inputs"])


def test_every_option_approves_when_re_scored_and_moves_nothing_immutable(engine):
    bundle, policy, store = engine
    immutable = [n for n in bundle.feature_names if n not in MOVED_FEATURES]
    seen = {"options": 0, "none": 0}
    for cid in _not_approved(store, 25):
        client = _client(store, cid)
        found = search(bundle, policy, client)
        assert found.status in ("options", "none") and found.current["outcome"] != "approve"
        seen[found.status] += 1
        if found.status == "none":
            assert found.blocking and not found.options
        assert [o.size for o in found.options] == sorted(o.size for o in found.options)
        assert len({o.kind for o in found.options}) == len(found.options)
        stored_features = pd.DataFrame([client.features], index=pd.Index([cid], name="SK_ID_CURR"))
        stored_policy = pd.DataFrame([client.policy_inputs], index=stored_features.index)
        for option in found.options:
            assert set(option.changes) <= set(VOCABULARY) and option.outcome == "approve"
            features, policy_inputs = apply_changes(client, [option.changes], policy.affordability.annual_rate)
            for name in immutable:
                before, after = client.features[name], features.iloc[0][name]
                assert (pd.isna(before) and pd.isna(after)) or before == after, (cid, option.kind, name)
            for name, before in client.policy_inputs.items():
                after = policy_inputs.iloc[0][name]
                assert (pd.isna(before) and pd.isna(after)) or before == after, (cid, option.kind, name)
            if "BUREAU_DEBT_PAYDOWN" in option.changes:  # history moved: the records test above covers it
                decided = decide_features(bundle, policy, features, policy_inputs)
            else:  # independently: the what-if's former path, the stored application with the loan changed
                raw = {
                    "AMT_CREDIT": float(features.iloc[0]["AMT_CREDIT"]),
                    "AMT_ANNUITY": float(features.iloc[0]["AMT_ANNUITY"]),
                    "AMT_GOODS_PRICE": float(features.iloc[0]["AMT_GOODS_PRICE"]),
                }
                app = pd.DataFrame([{**client.application, **raw, "SK_ID_CURR": cid}])
                independent = features_with_new_application(app, stored_features)
                decided = decide_features(bundle, policy, independent, stored_policy)
            assert decided.decisions.outcome[0] == "approve", (cid, option.kind)
            assert float(decided.scores["pd"].iloc[0]) == pytest.approx(option.pd, rel=1e-9)
    assert seen["options"] >= 5


def test_a_stop_factor_no_change_lifts_gives_none_with_that_reason(engine):
    bundle, policy, store = engine
    cid = _not_approved(store, 1)[0]
    client = _client(store, cid)
    late = Client(client.application, client.features, {**client.policy_inputs, "BUREAU_DPD90_CREDITS_12M": 2.0})
    found = search(bundle, policy, late)
    assert found.status == "none" and found.reason == "stop_factor" and not found.options
    assert "BUREAU_90_DAYS_LATE_12M" in [code for code, _ in found.blocking]
    assert all(set(message) == {"en", "fr"} for _, message in found.blocking)


def test_an_approved_client_needs_nothing(engine):
    bundle, policy, store = engine
    approved = next(
        c["client_id"]
        for c in store.list_clients(limit=200)["items"]
        if store.get_decision(c["client_id"])["outcome"] == "approve"
    )
    found = search(bundle, policy, _client(store, approved))
    assert found.status == "already_approved" and not found.options and found.current["outcome"] == "approve"


def test_the_fast_search_rows_equal_the_real_path_for_many_candidates(engine):
    bundle, policy, store = engine
    client = _client(store, _not_approved(store, 1)[0])
    credit = client.number("AMT_CREDIT")
    sets = [{"AMT_CREDIT": float(c), "TERM_MONTHS": t} for c in np.linspace(0.3, 0.9, 4) * credit for t in (12, 60)]
    if client.number("BUREAU_ACTIVE_DEBT") > 0:
        sets.append({"BUREAU_DEBT_PAYDOWN": client.number("BUREAU_ACTIVE_DEBT") / 2})
    fast, _ = apply_changes(client, sets, RATE, exact=False)
    real, _ = apply_changes(client, sets, RATE, exact=True)
    for i in range(len(sets)):
        _assert_same(fast.iloc[i], real.iloc[i])


def test_the_fast_scorer_gives_the_real_paths_pd_and_outcome(engine):
    from scoring.counterfactuals.search import _encoded, _exact, _Fast

    bundle, policy, store = engine
    for cid in _not_approved(store, 3):
        client = _client(store, cid)
        features, _ = apply_changes(client, [{}], RATE)
        np.testing.assert_array_equal(_encoded(bundle, client), bundle.matrix(features)[0])
        credit = client.number("AMT_CREDIT")
        sets = [{}, {"TERM_MONTHS": 60}, {"AMT_CREDIT": round(credit * 0.6), "TERM_MONTHS": 24}]
        fast, real = _Fast(bundle, policy, client).decisions(sets), _exact(bundle, policy, client, sets)
        np.testing.assert_allclose(fast.pd, real.pd, rtol=1e-12)
        assert list(fast.outcome) == list(real.outcome)


def test_the_words_file_has_every_text_in_both_languages_for_both_readers():
    """scoring/counterfactuals/words.yaml: a summary for every option kind, a message for every status and reason,
    each in English and French for customers and managers, with placeholders the code fills."""
    from scoring.counterfactuals import words
    from scoring.counterfactuals.actions import KINDS

    keys = ("already_approved", "options", "option", "stop_factor", "technical", "score", "affordability", "rules")
    assert set(words._MESSAGES) == set(keys)
    assert set(KINDS) <= set(words._SUMMARIES)
    fillers = {"n": 2, **{k: "1" for k in ("from_credit", "to_credit", "from_debt", "to_debt", "down", "paid")}}
    fillers.update(from_term="12", to_term="24", from_annuity="1", to_annuity="1")
    for table in (words._MESSAGES, words._SUMMARIES):
        for texts in table.values():
            for lang in ("en", "fr"):
                for audience in ("customer", "manager"):
                    assert texts[lang][audience].format(**fillers).strip()
    assert {"AMT_CREDIT", "AMT_ANNUITY", "TERM_MONTHS", "BUREAU_ACTIVE_DEBT"} <= set(words.LABELS)
    assert all(words.LABELS[name]["en"] and words.LABELS[name]["fr"] for name in words.LABELS)
