"""The scored_applications table: every application the model scored (API or batch), written once, read by the
reports.

A row keeps when, where from (api, batch), the request or run it came with, the client id when one was given, the
model version, PD, grade, the decision outcome and the model's feature values (JSON): what the store already holds
about a client, nothing more. Each request or predict chunk is one batched insert in one transaction (portable
`?` SQL through scoring.store.connection, SQLite or PostgreSQL). Technical refusals are not recorded: no PD was
given for them.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from datetime import datetime, timezone

import numpy as np
import orjson
import pandas as pd

from scoring.store.connection import connect, kept_write, retry

SOURCES = ("api", "batch")
_COLUMNS = ("scored_at", "source", "request_id", "client_id", "model_version", "pd", "grade", "outcome", "features")
_INSERT = f"INSERT INTO scored_applications ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_NOT_SCORED = "technical_refusal"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def as_of(day) -> str:
    """The timestamp of a backfilled cohort dated `day` (a date or 'YYYY-MM-DD'): noon UTC that day."""
    text = str(day)
    try:
        parsed = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"--as-of: expected a date YYYY-MM-DD, got {text!r}") from None
    return f"{parsed.isoformat()}T12:00:00.000+00:00"


def new_request_id(given: str | None = None) -> str:
    """`given` when it is a plain id (letters, digits, . _ -, at most 64), else a fresh random one."""
    if isinstance(given, str) and _REQUEST_ID.match(given):
        return given
    return secrets.token_hex(8)


def feature_json(features: pd.DataFrame, names) -> list[bytes]:
    """Per row, the JSON {feature: value} of the model's features (missing and non-finite values as null)."""
    frame = features[list(names)]
    values = frame.astype(object).where(frame.notna(), None).to_numpy()
    return [orjson.dumps(dict(zip(names, row, strict=True))) for row in values]


def rows_of(bundle, decided, *, source: str, request_id: str | None, client_ids, scored_at: str) -> list[tuple]:
    """The rows to insert for one pass of scoring.decision.service (a Decided), in its row order."""
    outcomes = decided.decisions.summary()["outcome"].tolist()
    keep = [i for i, o in enumerate(outcomes) if o != _NOT_SCORED]
    ids = list(client_ids)
    scores = decided.scores.iloc[keep]
    features = feature_json(decided.features.iloc[keep], list(bundle.feature_names))
    return rows(
        bundle.version,
        [ids[i] for i in keep],
        scores["pd"].tolist(),
        scores["grade"].tolist(),
        [outcomes[i] for i in keep],
        [f.decode() for f in features],
        source=source,
        request_id=request_id,
        scored_at=scored_at,
    )


def rows(
    model_version: str, client_ids, pds, grades, outcomes, features, *, source: str, request_id, scored_at: str
) -> list[tuple]:
    """The rows of applicants scored, given column by column (`features`: each one's JSON text, feature_json), the
    refused already left out: the one place a row is made, for rows_of and for the rows the Spark engine's driver
    records (scoring.monitoring.commands.BatchRecorder.add)."""
    if source not in SOURCES:
        raise ValueError(f"source: must be one of {', '.join(SOURCES)}")
    return [
        (scored_at, source, request_id, _client_id(c), model_version, float(p), str(g), str(o), f)
        for c, p, g, o, f in zip(client_ids, pds, grades, outcomes, features, strict=True)
    ]


def _client_id(value) -> int | None:
    """A client id as recorded: None for a new applicant (None or NaN in the input), else the integer."""
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else int(value)


def record(store, rows: list[tuple]) -> int:
    """Insert `rows` (rows_of) in one transaction; the number written."""
    if not rows:
        return 0

    def run(con):
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany(_INSERT, rows)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    with kept_write(store) as con:
        retry(lambda: run(con))
    return len(rows)


def forget_request(store, request_id: str) -> int:
    """Delete the rows of one request or run (a predict that failed after writing some chunks)."""
    with kept_write(store) as con:
        cur = retry(lambda: con.execute("DELETE FROM scored_applications WHERE request_id = ?", (request_id,)))
    return max(cur.rowcount, 0)


def read(store, *, model_version: str | None = None, since: str | None = None, features: bool = False) -> list:
    """(scored_at, client_id, pd, grade, outcome, model_version[, features JSON]) oldest first; [] without a table.

    `since`: an ISO date or timestamp, the rows scored from then on."""
    columns = "scored_at, client_id, pd, grade, outcome, model_version" + (", features" if features else "")
    where, params = [], []
    if model_version is not None:
        where.append("model_version = ?")
        params.append(model_version)
    if since is not None:
        where.append("scored_at >= ?")
        params.append(since)
    sql = f"SELECT {columns} FROM scored_applications"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return _select(store, sql + " ORDER BY scored_at, id", params)


def latest_day(store, model_version: str | None = None) -> str | None:
    """The UTC date (ISO) of the latest recorded application (of `model_version`), None when there is none."""
    sql, params = "SELECT max(scored_at) FROM scored_applications", []
    if model_version is not None:
        sql, params = sql + " WHERE model_version = ?", [model_version]
    rows = _select(store, sql, params)
    return rows[0][0][:10] if rows and rows[0][0] else None


def _select(store, sql: str, params) -> list:
    try:
        return connect(store, readonly=True).execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # a store no writer has opened since the table exists
            return []
        raise
