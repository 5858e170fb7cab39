"""Performance of the served scores once outcomes arrive: per period AUC and Gini of the recorded PDs against the
outcomes, predicted against observed default rate, approval rate; observed against predicted rate by grade; the
override rate of the human reviews.

A client scored more than once in a period counts once there (their latest application), and once in the grade
table (their latest of all). The predicted default rate is the mean PD of the applications that have an outcome,
so that it compares with the observed rate; the approval rate counts every application of the period. An AUC needs
min_outcomes outcomes of both classes.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd

from scoring.monitoring import periods
from scoring.monitoring.levels import Levels
from scoring.store.connection import connect

_JOINED = (
    "SELECT a.scored_at, a.client_id, a.pd, a.grade, a.outcome, o.defaulted FROM scored_applications a "
    "LEFT JOIN outcomes o ON o.client_id = a.client_id ORDER BY a.scored_at, a.id"
)


def auc(y, score) -> float | None:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) statistic, ties counted half; None for one class."""
    y = np.asarray(y, dtype="int64")
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return None
    ranks = pd.Series(np.asarray(score, dtype="float64")).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def joined_rows(location) -> list:
    """(scored_at, client_id, pd, grade, outcome, defaulted or None) of every recorded application, oldest first."""
    try:
        return connect(location, readonly=True).execute(_JOINED).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def _latest_per_client(rows: list) -> list:
    """The last row of each client id (rows without an id all kept), in their order."""
    last = {r[1]: i for i, r in enumerate(rows) if r[1] is not None}
    return [r for i, r in enumerate(rows) if r[1] is None or last[r[1]] == i]


def _rate(values) -> float | None:
    return float(np.mean(values)) if len(values) else None


def period_performance(rows: list, levels: Levels) -> dict:
    rows = _latest_per_client(rows)
    known = [r for r in rows if r[5] is not None]
    y = [int(r[5]) for r in known]
    pds = [float(r[2]) for r in known]
    area = auc(y, pds) if len(known) >= levels.min_outcomes else None
    return {
        "n_scored": len(rows),
        "n_outcomes": len(known),
        "approval_rate": _rate([r[4] in levels.approved_outcomes for r in rows]),
        "predicted_default_rate": _rate(pds),
        "observed_default_rate": _rate(y),
        "auc": area,
        "gini": None if area is None else 2 * area - 1,
    }


def by_grade(rows: list) -> list[dict]:
    """Calibration by grade: applications with an outcome, the latest per client, grades in scale order."""
    table: dict[str, list] = {}
    for r in _latest_per_client(rows):
        if r[5] is not None:
            table.setdefault(r[3], []).append((float(r[2]), int(r[5])))
    order = sorted(table, key=lambda g: (len(g), g))  # G1 .. G8 (G10 after G9)
    return [
        {
            "grade": g,
            "n": len(table[g]),
            "predicted_pd": float(np.mean([p for p, _ in table[g]])),
            "observed_rate": float(np.mean([d for _, d in table[g]])),
        }
        for g in order
    ]


def performance(location, store, period: str, levels: Levels) -> dict:
    """The performance report of every period holding recorded applications, oldest first."""
    periods.check_period(period)
    rows = joined_rows(location)
    out = []
    for entry in periods.group([r[0] for r in rows], period).values():
        chosen = [rows[i] for i in entry["rows"]]
        head = {"period": entry["period"], "start": entry["start"], "end": entry["end"]}
        out.append(head | period_performance(chosen, levels))
    return {
        "period": period,
        "periods": out,
        "by_grade": by_grade(rows),
        "override_rate": store.review_stats().get("override_rate"),
        "data_source": store.meta().get("data_source", "real"),
    }
