"""The `shadow_scores` table: rows written through the store's kept-table writer, counted for the metrics.

Portable SQL only (`?` placeholders, multi-row INSERT, no SQLite-only syntax), so the store's PostgreSQL seam
carries it as it is. A multi-row INSERT is one statement: a batch's rows land all together or not at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scoring.shadow.rows import COLUMNS
from scoring.store.connection import connect, kept_write, retry

ROWS_PER_STATEMENT = 500  # 12 values each: well under SQLite's 32,766 variables per statement
_INSERT = f"INSERT INTO shadow_scores ({', '.join(COLUMNS)}) VALUES "
_ROW = "(" + ", ".join("?" * len(COLUMNS)) + ")"


def location(store):
    """Where a store is, for the connection helpers: a ClientStore's path, else the location itself."""
    return getattr(store, "path", store)


def write_rows(store, rows: list[tuple]) -> int:
    """Append `rows` (scoring.shadow.rows.COLUMNS order); returns rows written."""
    if not rows:
        return 0
    with kept_write(location(store)) as con:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            part = rows[start : start + ROWS_PER_STATEMENT]
            params = [value for row in part for value in row]
            sql = _INSERT + ", ".join([_ROW] * len(part))
            retry(lambda sql=sql, params=params: con.execute(sql, params))
    return len(rows)


def missing_table(exc: Exception) -> bool:
    """Whether a read failed on a table the store does not have (yet): SQLite's message, PostgreSQL's class."""
    return "no such table" in str(exc) or type(exc).__name__ == "UndefinedTable"


def query(store, sql: str, params=()) -> list:
    """The rows of a portable SELECT on the store's kept tables."""
    return retry(lambda: connect(location(store), readonly=True).execute(sql, params).fetchall())


def last_day(store, now: datetime | None = None) -> tuple[int, int]:
    """(rows of the last 24 hours, those whose champion and challenger outcomes differ)."""
    since = ((now or datetime.now(timezone.utc)) - timedelta(hours=24)).isoformat(timespec="milliseconds")
    sql = (
        "SELECT count(*), sum(CASE WHEN champion_outcome <> challenger_outcome THEN 1 ELSE 0 END) "
        "FROM shadow_scores WHERE scored_at >= ?"
    )
    try:
        ((n, differ),) = query(store, sql, (since,))
    except Exception as exc:  # noqa: BLE001 - a store from before the table: no rows yet
        if missing_table(exc):
            return 0, 0
        raise
    return int(n or 0), int(differ or 0)
