"""Human review requests in the store (request_review, close_review and the reads of both backends: the writes go
through scoring.store.connection, which speaks SQLite or PostgreSQL).

Each write is one transaction under the write lock: a request reads whether the client has an open review and
inserts its own at once (the unique `open_client` index holds the rule even against another writer), an outcome
closes only a review still open. The table is kept: a rebuild copies it into the new file.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone

from scoring.store import schema
from scoring.store.connection import connect, kept_write, retry
from scoring.store.interface import (
    REVIEW_OUTCOMES,
    REVIEW_REASON_PATTERN,
    REVIEW_RESULTS,
    REVIEW_TEXT_MAX,
    REVIEW_TEXT_PATTERN,
    DecisionsMissing,
    ReviewConflict,
)

COLUMNS = schema.REVIEWS.column_names
FIELDS = tuple(c for c in COLUMNS if c != "open_client")  # what a review is to its callers
_SELECT = f"SELECT {', '.join(FIELDS)} FROM reviews"
_MAX_PAGE = 1000


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def check_text(field: str, value, *, reason: bool = False) -> str:
    """A comment or a reason as stored; ValueError naming the field otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: must be text")
    if len(value) > REVIEW_TEXT_MAX:
        raise ValueError(f"{field}: at most {REVIEW_TEXT_MAX} characters")
    if re.search(REVIEW_TEXT_PATTERN, value) is None:
        raise ValueError(f"{field}: control characters are not allowed (tab and newline are)")
    if reason and re.search(REVIEW_REASON_PATTERN, value) is None:
        raise ValueError(f"{field}: required, not blank")
    return value


def _row(values) -> dict:
    return dict(zip(FIELDS, values, strict=True))


def _write(path, action):
    """`action(con)` in one immediate transaction (busy retried before anything was read), committed or undone."""

    def run(con):
        con.execute("BEGIN IMMEDIATE")
        try:
            out = action(con)
            con.execute("COMMIT")
            return out
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    with kept_write(path) as con:
        return retry(lambda: run(con))


def _open_of(con, client_id: int) -> dict | None:
    row = con.execute(f"{_SELECT} WHERE open_client = ?", (client_id,)).fetchone()
    return None if row is None else _row(row)


def reviewed_decision(store, client_id: int) -> dict | None:
    """{outcome, model_version, policy_version} of the client's stored decision (outcome and policy None on a
    store without decisions); None for an unknown client."""
    if store.get_score(client_id) is None:
        return None
    try:
        stored = store.get_decision(client_id) or {}
    except DecisionsMissing:
        stored = {}
    return {
        "outcome": stored.get("outcome"),
        "model_version": stored.get("model_version") or store.meta().get("model_version"),
        "policy_version": (stored.get("policy") or {}).get("version"),
    }


def request_review(path, client_id: int, requested_by: str, comment: str, decision: dict) -> dict:
    """Insert an open review of `decision` ({outcome, model_version, policy_version}, values may be None)."""
    check_text("comment", comment)
    if not isinstance(requested_by, str) or not requested_by:
        raise ValueError("requested_by: required")

    def insert(con):
        existing = _open_of(con, client_id)
        if existing is not None:
            raise ReviewConflict(f"client {client_id} already has an open review (#{existing['id']})", existing)
        values = {
            "client_id": client_id,
            "requested_by": requested_by,
            "requested_at": _now(),
            "comment": comment,
            "decision_outcome": decision.get("outcome"),
            "model_version": decision.get("model_version"),
            "policy_version": decision.get("policy_version"),
            "status": "open",
            "open_client": client_id,
        }
        (review_id,) = con.execute(
            f"INSERT INTO reviews ({', '.join(values)}) VALUES ({', '.join('?' * len(values))}) RETURNING id",
            tuple(values.values()),
        ).fetchone()
        return _row(con.execute(f"{_SELECT} WHERE id = ?", (review_id,)).fetchone())

    try:
        return _write(path, insert)
    except sqlite3.IntegrityError:  # another writer's open review, committed in between (the unique index)
        existing = get_review(connect(path), None, client_id=client_id)
        raise ReviewConflict(f"client {client_id} already has an open review", existing or {}) from None


def close_review(path, review_id: int, reviewer: str, result: str, reason: str, new_outcome=None) -> dict | None:
    if result not in REVIEW_RESULTS:
        raise ValueError(f"result: must be one of {', '.join(REVIEW_RESULTS)}")
    check_text("reason", reason, reason=True)
    if result == "changed" and new_outcome not in REVIEW_OUTCOMES:
        raise ValueError(f"new_outcome: a changed decision needs one of {', '.join(REVIEW_OUTCOMES)}")
    if result == "upheld" and new_outcome is not None:
        raise ValueError("new_outcome: only a changed decision has a new outcome")
    if not isinstance(reviewer, str) or not reviewer:
        raise ValueError("reviewer: required")

    def close(con):
        row = con.execute(f"{_SELECT} WHERE id = ?", (review_id,)).fetchone()
        if row is None:
            return None
        review = _row(row)
        if review["status"] != "open":
            raise ReviewConflict(f"review #{review_id} is already closed", review)
        if result == "changed" and new_outcome == review["decision_outcome"]:
            raise ValueError(f"new_outcome: the decision reviewed was already {new_outcome}; that is upheld")
        con.execute(
            "UPDATE reviews SET status = 'closed', open_client = NULL, reviewer = ?, reviewed_at = ?, result = ?, "
            "new_outcome = ?, reason = ? WHERE id = ? AND status = 'open'",
            (reviewer, _now(), result, new_outcome, reason, review_id),
        )
        return _row(con.execute(f"{_SELECT} WHERE id = ?", (review_id,)).fetchone())

    return _write(path, close)


# ----------------------------------------------------------------------------------------------- reading
def _missing_table(exc: sqlite3.OperationalError) -> bool:
    return "no such table" in str(exc)  # a store file no read-write connection has opened since reviews existed


def get_review(con, review_id: int | None, client_id: int | None = None) -> dict | None:
    """One review by id (or the client's open one when `client_id` is given)."""
    sql, key = (
        (f"{_SELECT} WHERE id = ?", review_id)
        if client_id is None
        else (
            f"{_SELECT} WHERE open_client = ?",
            client_id,
        )
    )
    try:
        row = con.execute(sql, (key,)).fetchone()
    except sqlite3.OperationalError as exc:
        if _missing_table(exc):
            return None
        raise
    return None if row is None else _row(row)


def client_reviews(con, client_id: int) -> list[dict]:
    try:
        rows = con.execute(f"{_SELECT} WHERE client_id = ? ORDER BY id DESC", (client_id,)).fetchall()
    except sqlite3.OperationalError as exc:
        if _missing_table(exc):
            return []
        raise
    return [_row(r) for r in rows]


_ORDER = {"open": "id", "closed": "id DESC", None: "id"}  # ids follow the requests: oldest first


def list_reviews(con, status=None, limit: int = 20, offset: int = 0) -> dict:
    if status not in _ORDER:
        raise ValueError("status: must be open or closed")
    limit, offset = max(0, min(int(limit), _MAX_PAGE)), max(0, int(offset))
    where, params = ("", []) if status is None else (" WHERE status = ?", [status])
    try:
        total = con.execute(f"SELECT count(*) FROM reviews{where}", params).fetchone()[0]
        rows = con.execute(f"{_SELECT}{where} ORDER BY {_ORDER[status]} LIMIT ? OFFSET ?", [*params, limit, offset])
        items = [_row(r) for r in rows]
    except sqlite3.OperationalError as exc:
        if _missing_table(exc):
            return {"total": 0, "items": []}
        raise
    return {"total": total, "items": items}


def _rate(changed: int, closed: int) -> float | None:
    return changed / closed if closed else None


def review_stats(con) -> dict:
    try:
        counts = dict(con.execute("SELECT status, count(*) FROM reviews GROUP BY status").fetchall())
        results = dict(con.execute("SELECT result, count(*) FROM reviews WHERE status = 'closed' GROUP BY result"))
        months = con.execute(
            "SELECT substr(reviewed_at, 1, 7) AS month, count(*), sum(CASE WHEN result = 'upheld' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN result = 'changed' THEN 1 ELSE 0 END) "
            "FROM reviews WHERE status = 'closed' GROUP BY month ORDER BY month"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if not _missing_table(exc):
            raise
        counts, results, months = {}, {}, []
    closed, changed = counts.get("closed", 0), results.get("changed", 0)
    return {
        "open": counts.get("open", 0),
        "closed": closed,
        "upheld": results.get("upheld", 0),
        "changed": changed,
        "override_rate": _rate(changed, closed),
        "months": [
            {"month": m, "closed": n, "upheld": u, "changed": c, "override_rate": _rate(c, n)} for m, n, u, c in months
        ],
    }
