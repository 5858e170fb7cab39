"""Verification of the main pipeline (scoring.decision.verify, verify_file, `python -m scoring verify`): the
product's own figures on synthetic applications match; each injected discrepancy is found, and nothing else."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from scoring.bundle import ModelBundle
from scoring.cli import main
from scoring.decision.service import decide_applicants
from scoring.decision.verify import TheirsError, parse_theirs, summary, verify_applicants
from scoring.tables import SCHEMAS, read_table
from tests.decision_fixtures import example_policy

FACTORS = ("EXT_SOURCE_2", "AMT_CREDIT", "NAME_CONTRACT_TYPE", "BUREAU_ENQUIRIES_3M", "EXISTING_DEBT_SERVICE")
N = 40


def _clean(table: str, rec: dict) -> dict:
    return {
        k: int(v) if SCHEMAS[table][k] == "int" else v
        for k, v in rec.items()
        if v is not None and not (isinstance(v, float) and math.isnan(v)) and k in SCHEMAS[table]
    }


def _applicants(raw_dir, n: int) -> list[tuple[int, dict]]:
    """The first n clients of the synthetic portfolio as the main pipeline would send them."""
    apps = read_table(raw_dir, "application_train").head(n)
    ids = ",".join(str(int(i)) for i in apps["SK_ID_CURR"])
    tables = {
        t: read_table(raw_dir, t, where=f"SK_ID_CURR IN ({ids})")
        for t in ("bureau", "previous_application", "POS_CASH_balance", "installments_payments", "credit_card_balance")
    }
    balance = read_table(
        raw_dir,
        "bureau_balance",
        where=f"SK_ID_BUREAU IN ({','.join(map(str, tables['bureau']['SK_ID_BUREAU'])) or 0})",
    )
    out = []
    for rec in apps.to_dict("records"):
        cid = int(rec["SK_ID_CURR"])
        application = {k: v for k, v in _clean("application_test", rec).items() if k != "SK_ID_CURR"}
        history = {t: [_clean(t, r) for r in f[f["SK_ID_CURR"] == cid].to_dict("records")] for t, f in tables.items()}
        credits = set(tables["bureau"].loc[tables["bureau"]["SK_ID_CURR"] == cid, "SK_ID_BUREAU"])
        history["bureau_balance"] = [
            _clean("bureau_balance", r) for r in balance[balance["SK_ID_BUREAU"].isin(credits)].to_dict("records")
        ]
        out.append((cid, {"application": application, "history": history}))
    return out


def _value(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else (v if isinstance(v, str) else float(v))


def _own_figures(decided, row: int) -> dict:
    """The product's own figures of one application, as the main pipeline would report them."""
    codes = [rule.code for rule in decided.decisions.rules.rules]
    factors = {}
    for name in FACTORS:
        frame = decided.policy_inputs if name in decided.policy_inputs.columns else decided.features
        factors[name] = _value(frame[name].iat[row])
    usable = decided.decisions.outcome[row] != "technical_refusal"
    return {
        "factors": factors,
        "stop_factors": [codes[j] for j in np.flatnonzero(decided.decisions.rules.fired[row])],
        "pd": float(decided.scores["pd"].iat[row]) if usable else None,
        "outcome": str(decided.decisions.outcome[row]),
    }


@pytest.fixture(scope="module")
def case(synth_dir, trained_models):
    bundle, policy = ModelBundle.load(trained_models), example_policy()
    items = _applicants(synth_dir, N)
    applicants = [(body["application"], body["history"]) for _, body in items]
    decided = decide_applicants(bundle, policy, applicants)
    figures = [_own_figures(decided, row) for row in range(N)]
    return {"bundle": bundle, "policy": policy, "items": items, "applicants": applicants, "figures": figures}


def _verify(case, figures):
    return verify_applicants(case["bundle"], case["policy"], case["applicants"], [parse_theirs(f) for f in figures])


def test_the_products_own_figures_match(case):
    reports = _verify(case, case["figures"])
    assert [r["status"] for r in reports] == ["match"] * N
    assert summary(reports) == {
        "checked": N,
        "with_discrepancies": 0,
        "share_with_discrepancies": 0.0,
        "most_frequent": [],
    }
    assert {r["decision"]["outcome"] for r in reports} >= {"approve"}


def test_injected_discrepancies_are_found_exactly(case):
    figures = json.loads(json.dumps(case["figures"]))  # a deep copy
    fired = next(i for i, f in enumerate(figures) if f["stop_factors"])
    others = [i for i in range(N) if i != fired and figures[i]["pd"] is not None][:5]
    changed, within, outcome, off, debt = others
    figures[changed]["factors"]["EXT_SOURCE_2"] = (figures[changed]["factors"]["EXT_SOURCE_2"] or 0.5) + 0.1
    missed = figures[fired]["stop_factors"].pop(0)
    figures[outcome]["outcome"] = "refer" if figures[outcome]["outcome"] != "refer" else "approve"
    figures[off]["pd"] += 0.01  # beyond the example's pd_abs (0.001)
    figures[within]["pd"] += 0.0005  # within it: no discrepancy
    figures[debt]["factors"]["EXISTING_DEBT_SERVICE"] = (figures[debt]["factors"]["EXISTING_DEBT_SERVICE"] or 0) + 0.5
    reports = _verify(case, figures)
    found = {
        i: [(d["kind"], d["name"]) for d in r["discrepancies"]] for i, r in enumerate(reports) if r["discrepancies"]
    }
    assert found == {
        changed: [("factor", "EXT_SOURCE_2")],
        fired: [("stop_factor", missed)],
        outcome: [("outcome", "outcome")],
        off: [("score", "pd")],
    }
    factor = reports[changed]["discrepancies"][0]
    assert factor["theirs"] == pytest.approx(factor["ours"] + 0.1) and 0 < factor["tolerance"] < 1e-5
    stop = reports[fired]["discrepancies"][0]
    assert stop["theirs"] == "not_fired" and stop["ours"] == "fired"
    assert reports[off]["discrepancies"][0]["tolerance"] == case["policy"].verification.pd_abs
    assert all(r["status"] == ("discrepancies" if i in found else "match") for i, r in enumerate(reports))
    assert summary(reports)["with_discrepancies"] == 4


def test_a_stop_factor_they_fired_and_we_did_not(case):
    row = next(i for i, f in enumerate(case["figures"]) if "BUREAU_BAD_DEBT" not in f["stop_factors"])
    figures = [dict(f) for f in case["figures"]]
    figures[row] = {**figures[row], "stop_factors": [*figures[row]["stop_factors"], "BUREAU_BAD_DEBT"]}
    report = _verify(case, figures)[row]
    assert [(d["kind"], d["name"], d["theirs"]) for d in report["discrepancies"]] == [
        ("stop_factor", "BUREAU_BAD_DEBT", "fired")
    ]
    assert report["discrepancies"][0]["ours"] in ("passed", "missing", "not_evaluated")


@pytest.mark.parametrize(
    "theirs, field",
    [
        ({"factors": {"NO_SUCH": 1}}, "theirs.factors.NO_SUCH"),
        ({"pd": 1.5}, "theirs.pd"),
        ({"pd": True}, "theirs.pd"),
        ({"outcome": "maybe"}, "theirs.outcome"),
        ({"stop_factors": "AGE_BELOW_21"}, "theirs.stop_factors"),
        ({"factors": {"AMT_CREDIT": [1]}}, "theirs.factors.AMT_CREDIT"),
        ({"score": 0.1}, "theirs.score"),
        ([], "theirs"),
    ],
)
def test_bad_figures_name_the_field(theirs, field):
    with pytest.raises(TheirsError) as refused:
        parse_theirs(theirs)
    assert [p["field"] for p in refused.value.problems] == [field]


def _write_lines(path, case, figures):
    with path.open("w") as out:
        for (cid, body), theirs in zip(case["items"], figures, strict=True):
            out.write(json.dumps({"id": cid, **body, "theirs": theirs}) + "\n")


def test_cli_reports_every_application_and_the_summary(case, trained_models, tmp_path, capsys):
    figures = json.loads(json.dumps(case["figures"]))
    figures[3]["factors"]["AMT_CREDIT"] += 1000
    figures[7]["factors"]["AMT_CREDIT"] += 1000
    figures[7]["outcome"] = "decline" if figures[7]["outcome"] != "decline" else "approve"
    source = tmp_path / "applications.jsonl"
    _write_lines(source, case, figures)
    out = tmp_path / "report.jsonl"
    assert main(["verify", "--input", str(source), "--output", str(out), "--models", str(trained_models)]) == 0
    printed = capsys.readouterr().out
    assert f"checked {N} applications: 2 with discrepancies (5.0 %)" in printed
    assert "factor" in printed and "AMT_CREDIT" in printed and printed.index("AMT_CREDIT") < printed.index("outcome")
    reports = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in reports] == [cid for cid, _ in case["items"]]
    assert [i for i, r in enumerate(reports) if r["status"] == "discrepancies"] == [3, 7]
    csv_out = tmp_path / "report.csv"
    assert main(["verify", "--input", str(source), "--output", str(csv_out), "--models", str(trained_models)]) == 0
    table = pd.read_csv(csv_out)
    assert len(table) == N and table["status"].value_counts().to_dict() == {"match": N - 2, "discrepancies": 2}


def test_cli_reads_a_table_with_the_history_from_the_raw_data(case, synth_dir, trained_models, tmp_path):
    apps = read_table(synth_dir, "application_train").head(N).drop(columns=["TARGET"]).copy()
    for name in ("EXT_SOURCE_2", "BUREAU_ENQUIRIES_3M"):
        apps[f"factor.{name}"] = [f["factors"][name] for f in case["figures"]]
    apps["theirs_pd"] = [f["pd"] for f in case["figures"]]
    apps["theirs_outcome"] = [f["outcome"] for f in case["figures"]]
    apps["theirs_stop_factors"] = [";".join(f["stop_factors"]) for f in case["figures"]]
    apps.loc[5, "factor.BUREAU_ENQUIRIES_3M"] = 99
    source, out = tmp_path / "applications.parquet", tmp_path / "report.jsonl"
    apps.to_parquet(source)
    args = [
        "verify",
        "--input",
        str(source),
        "--output",
        str(out),
        "--models",
        str(trained_models),
        "--data",
        str(synth_dir),
    ]
    assert main(args) == 0
    reports = [json.loads(line) for line in out.read_text().splitlines()]
    found = {
        i: [(d["kind"], d["name"]) for d in r["discrepancies"]] for i, r in enumerate(reports) if r["discrepancies"]
    }
    assert found == {5: [("factor", "BUREAU_ENQUIRIES_3M")]}


def test_cli_refuses_a_bad_line_and_writes_nothing(case, trained_models, tmp_path, capsys):
    figures = json.loads(json.dumps(case["figures"]))
    figures[4]["pd"] = "high"
    source, out = tmp_path / "applications.jsonl", tmp_path / "report.jsonl"
    _write_lines(source, case, figures)
    assert main(["verify", "--input", str(source), "--output", str(out), "--models", str(trained_models)]) == 2
    assert "line 5: theirs.pd" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
    source.write_text('{"application": {}}\nnot json\n')
    assert main(["verify", "--input", str(source), "--output", str(out), "--models", str(trained_models)]) == 2
    assert "line 1" in capsys.readouterr().err and not out.exists()
    assert (
        main(["verify", "--input", str(tmp_path / "x.txt"), "--output", str(out), "--models", str(trained_models)]) == 2
    )
