"""Monitoring through the real path: the bundle's signed reference, predict -> scored_applications -> PSI on a
stable and a drifted cohort, outcomes import, performance against an independent computation, the HTML report."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from scoring.bundle import MANIFEST, REFERENCE_FILE, ModelBundle, ModelIntegrityError
from scoring.cli import main
from scoring.monitoring.levels import load_levels
from scoring.monitoring.performance import performance
from scoring.monitoring.reference import reference_for
from scoring.monitoring.report import figure
from scoring.monitoring.stability import stability
from scoring.store import open_store
from tests.api_fixtures import copy_store
from tests.monitoring_fixtures import COHORT_CLIENTS, COHORTS, predict_args


def _rows(store, sql: str, params=()) -> list:
    with closing(sqlite3.connect(store)) as con:
        return con.execute(sql, params).fetchall()


def _stability(env, period="month"):
    bundle = ModelBundle.load(env["models"])
    return stability(env["store"], open_store(env["store"]), bundle, period, 10, load_levels())


def test_the_bundle_carries_a_signed_reference_and_old_bundles_fall_back_to_the_store(trained_models, tmp_path):
    assert REFERENCE_FILE in (trained_models / MANIFEST).read_text()
    bundle = ModelBundle.load(trained_models)
    ref = bundle.reference
    assert ref["model_version"] == bundle.version and ref["source"] == "bundle"
    assert set(ref["features"]) == set(bundle.feature_names) and len(ref["score"]["edges"]) == 9
    assert all(abs(sum(spec["shares"]) - 1) < 1e-9 for spec in ref["features"].values())

    tampered = tmp_path / "tampered"
    shutil.copytree(trained_models, tampered)
    data = json.loads((tampered / REFERENCE_FILE).read_text())
    data["score"]["shares"][0] = 0.5
    (tampered / REFERENCE_FILE).write_text(json.dumps(data))
    with pytest.raises(ModelIntegrityError, match=REFERENCE_FILE):
        ModelBundle.load(tampered)


def test_a_bundle_without_reference_uses_the_training_split_of_the_store(trained_models, store_path, tmp_path):
    bundle = ModelBundle.load(trained_models)
    own = bundle.reference
    bundle.reference = None  # as a bundle trained before references: saved and loaded again
    old = tmp_path / "old"
    bundle.save(old)
    assert REFERENCE_FILE not in (old / MANIFEST).read_text()
    loaded = ModelBundle.load(old)
    assert loaded.reference is None
    made = reference_for(loaded, open_store(store_path))
    assert made["source"] == "store" and made["n"] == own["n"]  # the store's training split: the training rows
    assert np.allclose(made["score"]["edges"], own["score"]["edges"])
    assert made["features"]["EXT_SOURCE_2"]["edges"] == pytest.approx(own["features"]["EXT_SOURCE_2"]["edges"])


def test_the_drifted_cohort_acts_and_the_stable_one_stays_stable(monitored_store):
    result = _stability(monitored_store)
    assert result["reference"]["source"] == "bundle" and result["data_source"] == "synthetic"
    by_period = {p["period"]: p for p in result["periods"]}
    assert list(by_period) == ["2026-10", "2026-11"]
    stable, drifted = by_period["2026-10"], by_period["2026-11"]
    assert stable["n"] == drifted["n"] == COHORT_CLIENTS
    assert stable["score_psi"] < 0.10 and stable["level"] == "stable"
    assert drifted["score_psi"] > 0.25 and drifted["level"] == "act"
    assert max(drifted["feature_psi"].values()) > 0.25 > max(stable["feature_psi"].values())
    assert (stable["start"], stable["end"]) == ("2026-10-01", "2026-11-01")
    days = {p["period"]: p for p in _stability(monitored_store, "day")["periods"]}
    assert set(days) == {"2026-10-05", "2026-11-12"}


def test_predict_records_each_scored_row_once_under_its_run(monitored_store):
    store, scored = monitored_store["store"], monitored_store["scored"]
    runs = _rows(
        store, "SELECT request_id, source, substr(scored_at, 1, 10), count(*) FROM scored_applications GROUP BY 1"
    )
    assert sorted((r[1], r[2], r[3]) for r in runs) == [
        ("batch", day, COHORT_CLIENTS) for day in sorted(COHORTS.values())
    ]
    rows = _rows(store, "SELECT client_id, pd, grade, outcome, features, model_version FROM scored_applications")
    recorded = pd.DataFrame(rows, columns=["SK_ID_CURR", "pd", "grade", "outcome", "features", "version"])
    both = pd.concat(scored.values()).merge(recorded, on="SK_ID_CURR", suffixes=("", "_recorded"))
    assert len(both) == 2 * COHORT_CLIENTS
    assert np.allclose(both["pd"], both["pd_recorded"], rtol=0, atol=1e-15)
    assert (both["grade"] == both["grade_recorded"]).all() and (both["outcome"] == both["outcome_recorded"]).all()
    bundle = ModelBundle.load(monitored_store["models"])
    assert set(json.loads(rows[0][4])) == set(bundle.feature_names) and rows[0][5] == bundle.version


def test_no_record_and_a_failed_predict_leave_nothing_recorded(monitored_store, tmp_path, capsys, monkeypatch):
    store = copy_store(monitored_store["store"], tmp_path / "store.sqlite")
    before = _rows(store, "SELECT count(*) FROM scored_applications")[0][0]
    cohort = monitored_store["cohorts"]["stable"]
    args = predict_args(cohort, store, monitored_store["models"], tmp_path / "out.csv", "--no-record")
    assert main(args) == 0
    bad = tmp_path / "bad.csv"
    apps = pd.read_parquet(cohort / "application_test.parquet")
    apps = apps.astype({"AMT_CREDIT": object})
    apps.loc[len(apps) - 1, "AMT_CREDIT"] = "lots"  # the last row: after the first chunks are scored and recorded
    apps.to_csv(bad, index=False)
    args = predict_args(cohort, store, monitored_store["models"], tmp_path / "out2.csv")
    args[args.index("--input") + 1] = str(bad)
    from scoring import predict

    monkeypatch.setitem(predict.predict_file.__kwdefaults__, "chunk_rows", 100)  # the first chunks are recorded
    assert main(args) == 2
    assert "must be numeric" in capsys.readouterr().err
    assert _rows(store, "SELECT count(*) FROM scored_applications")[0][0] == before
    assert not (tmp_path / "out2.csv").exists()


def test_outcomes_import_checks_the_whole_file_first_and_updates_a_client(monitored_store, tmp_path, capsys):
    store = copy_store(monitored_store["store"], tmp_path / "store.sqlite")
    before = _rows(store, "SELECT client_id, defaulted, observed_on FROM outcomes ORDER BY client_id")
    bad = tmp_path / "bad.csv"
    bad.write_text("client_id,defaulted,observed_on\n7000001,1,2026-11-01\n7000002,yes,2026-11-01\n")
    assert main(["outcomes", "import", str(bad), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "line 3" in err and "defaulted" in err
    for text, where in (
        ("client_id,observed_on\n1,2026-11-01\n", "column defaulted is missing"),
        ("client_id,defaulted,observed_on\n1,0,2026-13-01\n", "line 2: column observed_on"),
        ("client_id,defaulted,observed_on\n1,0,2026-11-01\n1,1,2026-11-02\n", "line 3: client_id 1 already given"),
        ("client_id,defaulted,observed_on\n-4,0,2026-11-01\n", "line 2: column client_id"),
    ):
        bad.write_text(text)
        assert main(["outcomes", "import", str(bad), "--store", str(store)]) == 2
        assert where in capsys.readouterr().err
    assert _rows(store, "SELECT client_id, defaulted, observed_on FROM outcomes ORDER BY client_id") == before
    first = before[0][0]
    again = tmp_path / "again.csv"
    again.write_text(f"client_id,defaulted,observed_on,note\n{first},{1 - before[0][1]},2026-11-29,re-checked\n")
    assert main(["outcomes", "import", str(again), "--store", str(store)]) == 0
    assert _rows(store, "SELECT defaulted, observed_on FROM outcomes WHERE client_id = ?", (first,)) == [
        (1 - before[0][1], "2026-11-29")
    ]
    assert _rows(store, "SELECT count(*) FROM outcomes")[0][0] == len(before)


def test_performance_matches_an_independent_computation(monitored_store):
    result = performance(monitored_store["store"], open_store(monitored_store["store"]), "month", load_levels())
    october, november = result["periods"]
    # independently: the predict output joined with the cohort's outcome file, by pandas and scikit-learn
    truth = monitored_store["scored"]["stable"].merge(
        pd.read_csv(monitored_store["cohorts"]["stable"] / "outcomes.csv"), left_on="SK_ID_CURR", right_on="client_id"
    )
    assert october["n_scored"] == october["n_outcomes"] == COHORT_CLIENTS
    assert october["auc"] == pytest.approx(roc_auc_score(truth["defaulted"], truth["pd"]), abs=1e-12)
    assert october["gini"] == pytest.approx(2 * october["auc"] - 1)
    assert october["observed_default_rate"] == pytest.approx(truth["defaulted"].mean())
    assert october["predicted_default_rate"] == pytest.approx(truth["pd"].mean())
    assert october["approval_rate"] == pytest.approx(truth["outcome"].isin(["approve", "counter_offer"]).mean())
    assert november["n_outcomes"] == 0 and november["auc"] is None and november["observed_default_rate"] is None
    expected = truth.groupby("grade").agg(n=("pd", "size"), predicted_pd=("pd", "mean"), observed=("defaulted", "mean"))
    got = {g["grade"]: g for g in result["by_grade"]}
    assert list(got) == sorted(expected.index, key=lambda g: (len(g), g))
    for grade, row in expected.iterrows():
        assert got[grade]["n"] == row["n"] and got[grade]["predicted_pd"] == pytest.approx(row["predicted_pd"])
        assert got[grade]["observed_rate"] == pytest.approx(row["observed"])
    assert result["override_rate"] is None  # no review closed in this store


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]

    def handle_data(self, data):
        self.text.append(data)


def test_the_report_is_one_offline_page_with_the_figures_of_the_routes(monitored_store, tmp_path):
    out = tmp_path / "report.html"
    args = ["monitor", "report", "--out", str(out), "--store", str(monitored_store["store"]), "--quiet"]
    assert main([*args, "--models", str(monitored_store["models"])]) == 0
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    page.close()
    assert page.tags[0] == "html" and page.tags.count("svg") >= 4
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    external = [(t, k, v) for t, k, v in page.attrs if "//" in v and not (t == "svg" and k == "xmlns")]
    assert external == []
    text = " ".join(page.text)
    assert "Synthetic demo data" in text and "Challenger versus champion" in text
    stab, perf = (
        _stability(monitored_store),
        performance(monitored_store["store"], open_store(monitored_store["store"]), "month", load_levels()),
    )
    for p in stab["periods"]:
        assert figure(p["score_psi"]) in text and all(figure(v) in text for v in p["feature_psi"].values())
    assert figure(perf["periods"][0]["auc"]) in text
    assert all(figure(g["observed_rate"]) in text for g in perf["by_grade"])
