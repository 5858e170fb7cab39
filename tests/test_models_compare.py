"""Champion and challenger compared on the shadow log: scoring.shadow.compare, `python -m scoring models compare`
and GET /api/v1/monitoring/challenger (managers only, audited), the same shape everywhere."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from scoring.cli import main
from scoring.shadow import compare
from scoring.shadow.compare import auc
from scoring.shadow.log import write_rows
from scoring.store import open_store
from tests.api_fixtures import assert_error, copy_store, headers_by_role

PERIOD_KEYS = {
    "period",
    "start",
    "end",
    "n",
    "agreement",
    "swap_in",
    "swap_out",
    "mean_pd_champion",
    "mean_pd_challenger",
    "n_outcomes",
    "auc_champion",
    "auc_challenger",
}
# (day, client, champion pd, challenger pd, champion outcome, challenger outcome)
ROWS = [
    ("2026-11-29", 1, 0.10, 0.20, "approve", "approve"),  # Sunday of ISO week 48
    ("2026-11-29", 2, 0.40, 0.30, "decline", "approve"),  # swaps in
    ("2026-11-30", 3, 0.05, 0.50, "approve", "decline"),  # Monday, week 49: swaps out
    ("2026-11-30", 4, 0.30, 0.35, "refer", "decline"),
    ("2026-12-01", 5, 0.60, 0.70, "decline", "decline"),
    ("2026-12-01", 6, 0.20, 0.10, "approve", "counter_offer"),  # swaps out: a counter-offer is not an approval
    ("2026-12-01", 7, None, None, "technical_refusal", "technical_refusal"),
]
OUTCOMES = {1: 0, 2: 1, 3: 1, 4: 0, 5: 1, 6: 0}  # client 7's outcome is unknown


def _write(store, champion, challenger, rows=ROWS):
    write_rows(
        store,
        [
            (f"{day}T10:00:00.000+00:00", "r1", "store", cid, champion, challenger, a, b, None, None, x, y)
            for day, cid, a, b, x, y in rows
        ],
    )


def _outcomes(store, outcomes=OUTCOMES):
    """The table as `python -m scoring outcomes import` keeps it (the store may have made it already)."""
    with closing(sqlite3.connect(store)) as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS outcomes (client_id INTEGER PRIMARY KEY, defaulted INTEGER NOT NULL, "
            "observed_on TEXT NOT NULL, imported_at TEXT NOT NULL)"
        )
        con.executemany(
            "INSERT INTO outcomes VALUES (?, ?, '2026-12-01', '2026-12-02T00:00:00+00:00')", outcomes.items()
        )
        con.commit()


@pytest.fixture()
def store(store_path, tmp_path) -> dict:
    path = copy_store(store_path, tmp_path / "store.sqlite")
    return {"path": path, "champion": open_store(path).meta()["model_version"]}


def test_periods_by_day_week_and_month(store):
    _write(store["path"], store["champion"], "chal-0", ROWS[:2])  # an earlier challenger: not this comparison
    _write(store["path"], store["champion"], "chal-1")  # the last one logged beside the champion
    _write(store["path"], "other-champion", "chal-1", ROWS[:2])
    by = {period: compare(store["path"], period) for period in ("day", "week", "month")}
    for result in by.values():
        assert set(result) == {"champion", "challenger", "periods"}
        assert result["champion"] == store["champion"] and result["challenger"] == "chal-1"
        assert all(set(p) == PERIOD_KEYS for p in result["periods"])
        assert sum(p["n"] for p in result["periods"]) == len(ROWS)
    assert [(p["period"], p["start"], p["end"], p["n"]) for p in by["day"]["periods"]] == [
        ("2026-11-29", "2026-11-29", "2026-11-30", 2),
        ("2026-11-30", "2026-11-30", "2026-12-01", 2),
        ("2026-12-01", "2026-12-01", "2026-12-02", 3),
    ]
    assert [(p["period"], p["start"], p["end"], p["n"]) for p in by["week"]["periods"]] == [
        ("2026-W48", "2026-11-23", "2026-11-30", 2),
        ("2026-W49", "2026-11-30", "2026-12-07", 5),
    ]
    nov, dec = by["month"]["periods"]
    assert (nov["period"], nov["start"], nov["end"], dec["period"], dec["end"]) == (
        "2026-11",
        "2026-11-01",
        "2026-12-01",
        "2026-12",
        "2027-01-01",
    )
    assert (nov["agreement"], nov["swap_in"], nov["swap_out"]) == (0.25, 1, 1)
    assert (dec["agreement"], dec["swap_in"], dec["swap_out"]) == (pytest.approx(2 / 3), 0, 1)
    assert nov["mean_pd_champion"] == pytest.approx((0.10 + 0.40 + 0.05 + 0.30) / 4)
    assert dec["mean_pd_challenger"] == pytest.approx((0.70 + 0.10) / 2)  # a technical refusal has no PD
    assert nov["n_outcomes"] == 0 and nov["auc_champion"] is None  # no outcomes table: no outcomes known


def test_auc_where_outcomes_are_known(store):
    _write(store["path"], store["champion"], "chal-1")
    _outcomes(store["path"])
    (month,) = [p for p in compare(store["path"], "month")["periods"] if p["period"] == "2026-11"]
    labels = [OUTCOMES[c] for _, c, *_ in ROWS[:4]]
    assert month["n_outcomes"] == 4
    assert month["auc_champion"] == pytest.approx(roc_auc_score(labels, [r[2] for r in ROWS[:4]]))
    assert month["auc_challenger"] == pytest.approx(roc_auc_score(labels, [r[3] for r in ROWS[:4]]))
    dec = compare(store["path"], "month")["periods"][1]
    assert dec["n_outcomes"] == 2 and dec["auc_champion"] == 1.0  # client 7: no outcome, no PD


def test_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) + 0.3 * labels, 1)  # many ties
    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert auc(np.zeros(4, dtype=int), np.arange(4.0)) is None


def test_no_challenger_yet_and_a_bad_period(store):
    assert compare(store["path"]) == {"champion": store["champion"], "challenger": None, "periods": []}
    with pytest.raises(ValueError, match="period must be one of day, week, month"):
        compare(store["path"], "year")


def test_cli_models_compare_prints_a_table_or_the_json(store, trained_models, capsys):
    _write(store["path"], store["champion"], "chal-1")
    args = ["--models", str(trained_models), "--store", str(store["path"])]
    assert main(["models", "compare", "--period", "week", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out) == compare(store["path"], "week")
    assert main(["models", "compare", *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"champion {store['champion']}, challenger chal-1"
    assert out[2].split()[:5] == ["2026-11", "4", "25.0%", "1", "1"]
    with pytest.raises(SystemExit) as exited:
        main(["models", "compare", "--period", "year", *args])
    assert exited.value.code == 2
    assert "invalid choice: 'year'" in capsys.readouterr().err
    with closing(sqlite3.connect(store["path"])) as con:
        audited = con.execute("SELECT route, outcome FROM audit WHERE role = 'cli'").fetchall()
    assert audited == [("models compare", "ok")] * 2


def test_route_for_managers_only_audited(fresh_api_client, fresh_api_env):
    client, path = fresh_api_client, fresh_api_env["store"]
    champion = open_store(path).meta()["model_version"]
    _write(path, champion, "chal-1")
    heads = headers_by_role(client)
    answer = client.get("/api/v1/monitoring/challenger?period=week", headers=heads["manager"])
    assert answer.status_code == 200 and answer.json == compare(path, "week")
    assert client.get("/api/v1/monitoring/challenger", headers=heads["manager"]).json == compare(path, "month")
    for role in ("customer", "service"):
        assert_error(client.get("/api/v1/monitoring/challenger", headers=heads[role]), 403, "forbidden")
    assert_error(client.get("/api/v1/monitoring/challenger?period=year", headers=heads["manager"]), 422)
    assert_error(client.get("/api/v1/monitoring/challenger"), 401)
    with closing(sqlite3.connect(path)) as con:
        rows = con.execute("SELECT role, outcome FROM audit WHERE route = 'GET /api/v1/monitoring/challenger'")
        audited = rows.fetchall()
    assert audited == [
        ("manager", "ok"),
        ("manager", "ok"),
        ("customer", "refused 403 forbidden"),
        ("service", "refused 403 forbidden"),
        (None, "refused 401 missing_token"),
    ]
