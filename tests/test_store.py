"""Client store: what is stored equals the pipeline's output, lookups, listing, population statistics, rebuilds."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time

import numpy as np
import pandas as pd
import psycopg
import pytest

from scoring import audit, signin_limits, users
from scoring.bundle import ModelBundle, ModelIntegrityError
from scoring.features import CATEGORICAL_FEATURES, build_features, load_target
from scoring.store import ClientStore, build_store, explain_all, open_store
from scoring.tables import read_table


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, store_path) -> ClientStore:
    """The built store on each backend: PostgreSQL's holds the same file moved in (skipped without a server)."""
    if request.param == "sqlite":
        return open_store(store_path)
    from scoring.store import migrate_store

    url = request.getfixturevalue("postgres_cluster").database()
    migrate_store(store_path, url)
    return open_store(url)


@pytest.fixture(scope="module")
def features(synth_dir) -> pd.DataFrame:
    return build_features(synth_dir)


@pytest.fixture(scope="module")
def target(synth_dir) -> pd.Series:
    return load_target(synth_dir)


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and np.isnan(a)):
        return b is None or (isinstance(b, float) and np.isnan(b))
    if isinstance(a, str):
        return a == b
    return b is not None and np.isclose(float(a), float(b), rtol=1e-12, atol=0)


def test_meta(store, features, trained_models):
    meta = store.meta()
    bundle = ModelBundle.load(trained_models)
    assert meta["n_clients"] == len(features)
    assert meta["model_version"] == bundle.version and meta["threshold"] == bundle.threshold
    assert meta["data_source"] == "synthetic"
    assert meta["feature_names"] == list(features.columns)
    assert meta["built_at"]


def test_client_file_equals_the_raw_row_and_the_features(store, synth_dir, features):
    raw = read_table(synth_dir, "application_train").set_index("SK_ID_CURR")
    for cid in raw.index[:25]:
        client = store.get_client(int(cid))
        assert client["split"] == "train"
        assert "TARGET" not in client["application"] and "TARGET" not in json.dumps(client)
        for field, value in raw.loc[cid].drop("TARGET").items():
            assert _same(value, client["application"][field]), field
        for name, value in features.loc[cid].items():
            assert _same(value, client["features"][name]), name
    test_id = int(read_table(synth_dir, "application_test", ["SK_ID_CURR"])["SK_ID_CURR"].iloc[0])
    assert store.get_client(test_id)["split"] == "test"


def test_no_getter_returns_the_target(store, target):
    cid = int(target.index[0])
    for answer in (
        store.get_client(cid),
        store.get_score(cid),
        store.get_explanation(cid),
        store.meta(),
        store.list_clients(limit=5),
    ):
        assert "TARGET" not in json.dumps(answer)


def test_scores_and_explanations_equal_the_bundle(store, features, trained_models):
    bundle = ModelBundle.load(trained_models)
    some = features.iloc[::97]
    expected = bundle.score(some)
    base, contrib = bundle.explain(some)
    for k, cid in enumerate(some.index):
        score = store.get_score(int(cid))
        assert score["pd"] == pytest.approx(expected.loc[cid, "pd"], rel=1e-9)
        assert score["grade"] == expected.loc[cid, "grade"]
        assert score["decision"] == ("decline" if score["pd"] >= score["threshold"] else "approve")
        assert score["model_version"] == bundle.version
        explanation = store.get_explanation(int(cid))
        assert explanation["base_value"] == pytest.approx(base)
        shap = np.array([explanation["shap"][f] for f in bundle.feature_names])
        np.testing.assert_allclose(shap, contrib[k], rtol=1e-5, atol=1e-6)
        assert explanation["base_value"] + shap.sum() == pytest.approx(expected.loc[cid, "raw_score"], abs=1e-4)
        assert set(explanation["values"]) == set(bundle.feature_names)


@pytest.mark.parametrize("top", [1, 5, 10])
def test_top_explanation_is_the_largest_contributions_of_the_whole(store, target, top):
    for cid in target.index[:40:7]:
        whole, part = store.get_explanation(int(cid)), store.get_explanation(int(cid), top=top)
        largest = sorted(whole["shap"].items(), key=lambda kv: -abs(kv[1]))[:top]
        assert [abs(s) for _, s in part["shap"].items()] == [abs(s) for _, s in largest]
        assert list(part["shap"]) == list(part["values"])
        for name in part["shap"]:
            assert part["shap"][name] == whole["shap"][name]
            assert part["values"][name] == whole["values"][name]
        assert part["shap_total"] == pytest.approx(sum(whole["shap"].values()), abs=1e-9)
        assert part["base_value"] + part["shap_total"] == pytest.approx(part["raw_score"], abs=1e-4)
        assert part["n_features"] == len(whole["shap"])
        assert {k: part[k] for k in ("pd", "grade", "decision")} == {
            k: v for k, v in store.get_score(int(cid)).items() if k in ("pd", "grade", "decision")
        }


@pytest.mark.parametrize("bad", [-1, 0, 1, 999_999_999, "abc", None, 10**30, "100002x", 1.5e300])
def test_unknown_or_malformed_ids_give_none(store, bad):
    assert store.get_client(bad) is None
    assert store.get_score(bad) is None
    assert store.get_explanation(bad) is None
    assert store.get_decision(bad) is None


def test_list_clients_pages_in_id_order(store, features):
    ids = sorted(int(i) for i in features.index)
    first = store.list_clients(limit=7)
    assert first["total"] == len(ids)
    assert [c["client_id"] for c in first["items"]] == ids[:7]
    page = store.list_clients(limit=5, offset=10)
    assert [c["client_id"] for c in page["items"]] == ids[10:15]
    assert set(page["items"][0]) >= {"client_id", "pd", "grade", "decision"}
    assert store.list_clients(limit=5, offset=len(ids))["items"] == []


@pytest.mark.parametrize("prefix", ["1", "10", "1001", "10010", "100020", "1000", "2", "0", "9", "007"])
def test_search_is_a_client_id_prefix(store, features, prefix):
    ids = sorted(int(i) for i in features.index)
    expected = [i for i in ids if str(i).startswith(prefix)]
    found = store.list_clients(search=prefix, limit=1000)
    assert found["total"] == len(expected)
    assert [c["client_id"] for c in found["items"]] == expected[:1000]


def test_search_that_is_not_digits_finds_nothing(store):
    assert store.list_clients(search="abc") == {"total": 0, "items": []}
    assert store.list_clients(search="1' OR 1=1 --") == {"total": 0, "items": []}


def test_grade_and_decision_filters(store):
    everything = store.list_clients(limit=1000)["items"] + store.list_clients(limit=1000, offset=1000)["items"]
    declined = [c["client_id"] for c in everything if c["decision"] == "decline"]
    found = store.list_clients(decision="decline", limit=1000)
    assert found["total"] == len(declined) and [c["client_id"] for c in found["items"]] == declined[:1000]
    grade = everything[0]["grade"]
    by_grade = [c["client_id"] for c in everything if c["grade"] == grade and c["decision"] == "decline"]
    assert store.list_clients(grade=grade, decision="decline", limit=1000)["total"] == len(by_grade)
    assert store.list_clients(grade="G99")["total"] == 0


def test_percentile_is_the_share_of_clients_below(store, features):
    values = features["EXT_SOURCE_2"].dropna().to_numpy()
    for v in np.quantile(values, [0.03, 0.2, 0.5, 0.8, 0.97]):
        assert store.percentile("EXT_SOURCE_2", v) == pytest.approx(100 * np.mean(values < v), abs=0.6)
    assert store.percentile("EXT_SOURCE_2", values.min() - 1) == 0.0
    assert store.percentile("EXT_SOURCE_2", values.max() + 1) == 100.0
    assert store.percentile("EXT_SOURCE_2", None) is None
    assert store.percentile("EXT_SOURCE_2", float("nan")) is None
    assert store.percentile("NAME_CONTRACT_TYPE", "Cash loans") is None
    with pytest.raises(KeyError, match="NO_SUCH_FEATURE"):
        store.percentile("NO_SUCH_FEATURE", 1.0)
    with pytest.raises(ValueError, match="numeric"):
        store.percentile("EXT_SOURCE_2", "high")


def test_distribution_numeric_and_categorical(store, target):
    n = min(len(target), store.meta()["sample_size"])
    hist = store.distribution("EXT_SOURCE_2", bins=12)
    assert hist["kind"] == "numeric" and len(hist["edges"]) == 13 and len(hist["repaid"]) == 12
    assert sum(hist["repaid"]) + sum(hist["defaulted"]) + hist["missing"] == n
    assert sum(hist["defaulted"]) + hist["missing_defaulted"] == int(target.sum())  # small portfolio: all sampled
    cat = store.distribution("NAME_CONTRACT_TYPE", bins=10)
    assert cat["kind"] == "categorical" and "Cash loans" in cat["categories"]
    assert sum(cat["repaid"]) + sum(cat["defaulted"]) + cat["missing"] == n
    with pytest.raises(KeyError, match="NOPE"):
        store.distribution("NOPE", 10)
    for bad in (0, -3, 10_000, "10", 2.5, True):
        with pytest.raises(ValueError, match="bins"):
            store.distribution("EXT_SOURCE_2", bad)


def test_sample_points_come_from_labelled_clients(store, target):
    points = store.sample_points("EXT_SOURCE_2", "AGE_YEARS", 50)
    assert len(points) == 50
    assert all(p["client_id"] in target.index for p in points)
    p = points[0]
    client = store.get_client(p["client_id"])
    assert p["x"] == client["features"]["EXT_SOURCE_2"] and p["y"] == client["features"]["AGE_YEARS"]
    assert p["pd"] == pytest.approx(store.get_score(p["client_id"])["pd"])
    assert store.sample_points("EXT_SOURCE_2", "AGE_YEARS", 20) == points[:20]  # fixed sample, fixed order
    cat = store.sample_points("NAME_CONTRACT_TYPE", "EXT_SOURCE_1", 10)
    assert all(isinstance(q["x"], str) and q["y"] is not None for q in cat)
    with pytest.raises(KeyError):
        store.sample_points("EXT_SOURCE_2", "NOPE", 10)
    with pytest.raises(ValueError):
        store.sample_points("EXT_SOURCE_2", "AGE_YEARS", 0)


def test_density_is_aggregate_only(store):
    grid = store.density("EXT_SOURCE_2", "AGE_YEARS", bins=8)
    counts = np.array(grid["counts"])
    assert counts.shape == (8, 8) and counts.sum() == grid["n"]
    assert "client_id" not in json.dumps(grid)
    for row_c, row_m in zip(grid["counts"], grid["mean_pd"], strict=True):
        for c, m in zip(row_c, row_m, strict=True):
            assert (m is None) == (c < grid["min_cell"])
            assert m is None or 0 <= m <= 1
    mixed = store.density("NAME_CONTRACT_TYPE", "EXT_SOURCE_3", bins=5)
    assert np.array(mixed["counts"]).shape == (len(mixed["x_edges"]), 5)


def test_client_store_is_read_only_and_thread_safe(store, features):
    with pytest.raises((sqlite3.OperationalError, psycopg.errors.ReadOnlySqlTransaction)):
        store._con().execute("DELETE FROM scores")
    ids = [int(i) for i in features.index[:200]]
    errors = []

    def work(chunk):
        try:
            for cid in chunk:
                assert store.get_score(cid)["client_id"] == cid
                assert store.get_explanation(cid) is not None
        except Exception as exc:  # noqa: BLE001 - collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ids[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_missing_store_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="build-store"):
        open_store(tmp_path / "absent.sqlite")


def test_rebuild_keeps_users_and_a_failed_build_leaves_the_store_untouched(synth_dir, trained_models, tmp_path):
    path = tmp_path / "store.sqlite"
    assert build_store(synth_dir, trained_models, path, sample_size=300, chunk_size=700) > 0
    first = open_store(path)
    cid = first.list_clients(limit=1)["items"][0]["client_id"]
    assert first.meta()["sample_size"] == 300
    users.add_user(path, "bob", "quiet amber lantern harbour", "customer", client_id=cid)
    audit.append_audit(path, user="bob", role="customer", client_id=cid, route="/r", outcome="200", model_version="v")
    now = time.time()
    for _ in range(signin_limits.limits().per_user):
        signin_limits.record_failure(path, "mallory", "203.0.113.9", now=now)
    assert signin_limits.retry_after(path, "mallory", "203.0.113.9", now=now) > 0
    build_store(synth_dir, trained_models, path, sample_size=200)
    assert first.meta()["sample_size"] == 200  # an open reader follows the rebuilt file
    assert users.authenticate(path, "bob", "quiet amber lantern harbour")["client_id"] == cid
    # the sign-in counters too: a rebuild must not reset a username's back-off or an address's limit
    assert signin_limits.retry_after(path, "mallory", "203.0.113.9", now=now) > 0
    audit.append_audit(path, user="bob", role="customer", client_id=cid, route="/s", outcome="200", model_version="v")
    con = sqlite3.connect(path)  # entries land in the new file, not in the replaced one
    assert [r for (r,) in con.execute("SELECT route FROM audit ORDER BY id")] == ["/r", "/s"]
    con.close()
    assert audit.verify_audit(path)["chained"] == 2  # the chain carried over the rebuild
    before = path.read_bytes()
    broken = tmp_path / "broken_models"
    shutil.copytree(trained_models, broken)
    (broken / "model_card.md").write_text("tampered")
    with pytest.raises(ModelIntegrityError):
        build_store(synth_dir, broken, path)
    with pytest.raises(Exception):  # noqa: B017 - any failure: the point is what is left on disk
        build_store(tmp_path / "no_data", trained_models, path)
    assert path.read_bytes() == before
    assert not (tmp_path / "store.sqlite.tmp").exists()


def test_a_write_during_a_rebuild_lands_in_the_new_file(synth_dir, trained_models, tmp_path, monkeypatch):
    """An audit entry appended while the rebuild copies the kept tables waits for the swap, then lands in the new
    file: without the rebuild lock it would go into the replaced file and be lost."""
    from scoring.store import build as store_build

    path = tmp_path / "store.sqlite"
    build_store(synth_dir, trained_models, path, sample_size=100)
    audit.append_audit(path, user="ann", role="manager", client_id=None, route="/a", outcome="ok", model_version="v")
    copy_kept, writers = store_build._copy_kept, []

    def copy_then_write(con, old):
        copy_kept(con, old)
        writer = threading.Thread(
            target=audit.append_audit,
            args=(path,),
            kwargs=dict(user="ann", role="manager", client_id=None, route="/b", outcome="ok", model_version="v"),
        )
        writer.start()
        writer.join(timeout=1.0)
        writers.append((writer, writer.is_alive()))  # still waiting: the lock held it back

    monkeypatch.setattr(store_build, "_copy_kept", copy_then_write)
    build_store(synth_dir, trained_models, path, sample_size=100)
    writer, waited = writers[0]
    writer.join(timeout=30)
    assert waited and not writer.is_alive()
    con = sqlite3.connect(path)
    assert [r for (r,) in con.execute("SELECT route FROM audit ORDER BY id")] == ["/a", "/b"]
    con.close()
    assert audit.verify_audit(path)["chained"] == 2


def test_explain_all_restores_scores_and_shap(store_path, trained_models, tmp_path):
    path = tmp_path / "store.sqlite"
    shutil.copy(store_path, path)
    reference = open_store(store_path)
    cid = reference.list_clients(limit=1, offset=5)["items"][0]["client_id"]
    con = sqlite3.connect(path)
    con.execute("UPDATE scores SET pd = 0.5, grade = 'G8', decision = 'decline'")
    con.execute("UPDATE meta SET value = '\"old\"' WHERE key = 'model_version'")
    con.commit()
    con.close()
    assert open_store(path).get_score(cid)["model_version"] == "old"
    assert explain_all(path, trained_models) == reference.meta()["n_clients"]
    copy = open_store(path)
    assert copy.get_score(cid)["pd"] == pytest.approx(reference.get_score(cid)["pd"], rel=1e-9)
    assert copy.get_score(cid)["model_version"] == ModelBundle.load(trained_models).version
    assert copy.get_explanation(cid)["shap"] == reference.get_explanation(cid)["shap"]
    assert copy.distribution("EXT_SOURCE_2", 5) == reference.distribution("EXT_SOURCE_2", 5)


def test_stored_decisions_equal_the_batch_decision_path(store, synth_dir, trained_models):
    """Each client's decision as stored, and the record rebuilt from it, equal decide_many on the batch features."""
    from scoring.decision.service import decide_features, stored_decision
    from scoring.features import build_features_and_policy_inputs
    from tests.decision_fixtures import example_policy

    policy = example_policy()
    features, policy_inputs = build_features_and_policy_inputs(synth_dir)
    decided = decide_features(ModelBundle.load(trained_models), policy, features, policy_inputs)
    summary = decided.decisions.summary()
    assert store.meta()["policy"] == {"version": policy.version, "sha256": policy.sha256, "label": policy.label}
    ids = [c["client_id"] for c in store.list_clients(limit=300)["items"]]
    for cid in ids:
        stored, expected = store.get_decision(cid), summary.loc[cid]
        assert stored["outcome"] == expected["outcome"] and ";".join(stored["fired"]) == expected["fired"]
        assert _same(stored["offer_amount"], expected["offer_amount"])
        assert all(_same(stored["policy_inputs"][n], policy_inputs.loc[cid, n]) for n in policy_inputs.columns)
        record = stored_decision(stored, policy)
        row = decided.decisions.index.get_loc(cid)
        assert record == decided.decisions.decision(row)
    assert summary.loc[ids, "outcome"].nunique() >= 2


def test_explain_all_re_decides_under_the_policy_given(store_path, trained_models, tmp_path):
    from tests.decision_fixtures import edited_policy

    path = tmp_path / "store.sqlite"
    shutil.copy(store_path, path)

    def strict(doc):  # repayments may take 1 % of income: no one is approved as asked
        doc["version"] = "strict"
        doc["affordability"].update(dsti_cap=0.01, dsti_cap_by_grade={})

    strict = edited_policy(tmp_path, strict)
    explain_all(path, trained_models, policy_path=tmp_path / "policy.yaml")
    copy = open_store(path)
    assert copy.meta()["policy"]["version"] == strict.version
    ids = [c["client_id"] for c in copy.list_clients(limit=100)["items"]]
    outcomes = {copy.get_decision(cid)["outcome"] for cid in ids}
    assert "approve" not in outcomes and outcomes <= {"decline", "refer", "technical_refusal", "counter_offer"}


def test_a_store_without_decisions_says_to_rebuild(store_path, trained_models, tmp_path):
    from scoring.store import DecisionsMissing

    path = tmp_path / "store.sqlite"
    shutil.copy(store_path, path)
    with sqlite3.connect(path) as con:
        con.execute("DROP TABLE decisions")
    cid = open_store(store_path).list_clients(limit=1)["items"][0]["client_id"]
    with pytest.raises(DecisionsMissing, match="build-store"):
        open_store(path).get_decision(cid)
    assert explain_all(path, trained_models) > 0  # re-scores; keeps no decisions it cannot make
    assert open_store(path).get_score(cid) is not None


def test_categorical_values_survive_the_round_trip(store, features):
    cats = [c for c in CATEGORICAL_FEATURES if c in features.columns]
    row = features[cats].dropna(how="all").iloc[0]
    client = store.get_client(int(row.name))
    for c in cats:
        assert _same(row[c], client["features"][c])
