"""Champion and challenger compared on the shadow log, per day, ISO week or month: how often they agree, the
applications that would swap in (the challenger approves, the champion does not) and out, the mean PD of each and,
where outcomes have arrived (the kept table `outcomes`, from `python -m scoring outcomes import`), both AUCs.

The monitoring report, `python -m scoring models compare` and GET /api/v1/monitoring/challenger all call
compare(); its answer keeps one shape. No scikit-learn: API workers never load it.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from scoring.monitoring.performance import auc
from scoring.monitoring.periods import PERIODS, period_of
from scoring.shadow.log import location, missing_table, query

APPROVED = "approve"  # swap in: the challenger's outcome is approve and the champion's is not; swap out: reverse
_SELECT = (
    "SELECT s.scored_at, s.champion_pd, s.challenger_pd, s.champion_outcome, s.challenger_outcome{defaulted} "
    "FROM shadow_scores s{join} WHERE s.champion_version = ? AND s.challenger_version = ? ORDER BY s.scored_at"
)


def compare(store, period: str = "month", *, champion: str | None = None, challenger: str | None = None) -> dict:
    """{champion, challenger, periods: [...] oldest first} over the shadow rows of that pair.

    `store`: a ClientStore or a store location. The champion defaults to the model the store was scored with,
    the challenger to the last one logged beside it (None, and no periods, before any shadow row).
    ValueError for another period."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    where = location(store)
    if champion is None:
        champion = _store_model_version(store)
    if challenger is None:
        challenger = _last_challenger(where, champion)
    if challenger is None:
        return {"champion": champion, "challenger": None, "periods": []}
    rows = _rows(where, champion, challenger)
    groups: dict[str, list] = {}
    bounds: dict[str, tuple[date, date]] = {}
    for row in rows:
        day = date.fromisoformat(row[0][:10])
        key, start, end = period_of(day, period)
        groups.setdefault(key, []).append(row)
        bounds[key] = (start, end)
    periods = [_summary(key, *bounds[key], groups[key]) for key in sorted(groups, key=lambda k: bounds[k][0])]
    return {"champion": champion, "challenger": challenger, "periods": periods}


def _summary(key: str, start: date, end: date, rows: list) -> dict:
    ours_pd = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype="float64")
    theirs_pd = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype="float64")
    ours, theirs = [r[3] for r in rows], [r[4] for r in rows]
    n = len(rows)
    known = [(r[1], r[2], r[5]) for r in rows if r[5] is not None and r[1] is not None and r[2] is not None]
    labels = np.array([int(k[2]) for k in known], dtype="int64")
    return {
        "period": key,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "n": n,
        "agreement": sum(a == b for a, b in zip(ours, theirs, strict=True)) / n if n else None,
        "swap_in": sum(b == APPROVED and a != APPROVED for a, b in zip(ours, theirs, strict=True)),
        "swap_out": sum(a == APPROVED and b != APPROVED for a, b in zip(ours, theirs, strict=True)),
        "mean_pd_champion": _mean(ours_pd),
        "mean_pd_challenger": _mean(theirs_pd),
        "n_outcomes": len(known),
        "auc_champion": auc(labels, np.array([k[0] for k in known], dtype="float64")),
        "auc_challenger": auc(labels, np.array([k[1] for k in known], dtype="float64")),
    }


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None


def _store_model_version(store) -> str | None:
    meta = getattr(store, "meta", None)
    if meta is None:
        from scoring.store import open_store

        meta = open_store(store).meta
    return meta().get("model_version")


def _last_challenger(where, champion: str | None) -> str | None:
    sql = "SELECT challenger_version FROM shadow_scores WHERE champion_version = ? ORDER BY id DESC LIMIT 1"
    try:
        found = query(where, sql, (champion,))
    except Exception as exc:  # noqa: BLE001 - a store from before the shadow log
        if missing_table(exc):
            return None
        raise
    return found[0][0] if found else None


def _rows(where, champion: str, challenger: str) -> list:
    """(scored_at, champion_pd, challenger_pd, champion_outcome, challenger_outcome, defaulted or None) per row."""
    joined = _SELECT.format(defaulted=", o.defaulted", join=" LEFT JOIN outcomes o ON o.client_id = s.client_id")
    try:
        return query(where, joined, (champion, challenger))
    except Exception as exc:  # noqa: BLE001 - no outcomes table yet: no outcomes known
        if not missing_table(exc):
            raise
    try:
        return query(where, _SELECT.format(defaulted=", NULL", join=""), (champion, challenger))
    except Exception as exc:  # noqa: BLE001 - a store from before the shadow log: no rows
        if not missing_table(exc):
            raise
        return []
