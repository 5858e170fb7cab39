"""The audit log in the store: append-only, each entry chained to the previous one by an HMAC, verifiable.

Each entry stores `hash` = HMAC-SHA256(key, its id and fields + the previous entry's hash).
The key is not in the audit table: `SCORING_AUDIT_KEY`, else derived from the API secret
(`SCORING_SECRET_KEY`, or the store's own: scoring.store.secret). One chain whatever the number of writers: an
append reads the head and inserts the next entry under the store's write lock (SQLite's, or on PostgreSQL an
advisory lock every node takes: scoring.store.postgres_kept). Whoever can write the store file but does
not hold the key can drop the triggers and edit, delete, reorder or forge entries, but `verify_audit` names the first
such entry. Cutting the newest entries leaves a valid shorter chain: compare with a head recorded earlier (`expect`).
The link is computed in Python from plain columns, inside the write transaction, so a server backend can do the same.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import os
import sqlite3
from pathlib import Path

import orjson

from scoring.config import settings
from scoring.store import describe_secret, stored_secret
from scoring.store.connection import connect, kept_write, retry
from scoring.store.schema import AUDIT
from scoring.users import _now

AUDIT_COLUMNS = AUDIT.column_names
# the fields each hash covers, besides the id and the previous hash: the chain's format, whatever the table gains
_LINKED = ("time", "username", "role", "client_id", "route", "outcome", "model_version")
_LIMITS = {"username": 100, "role": 20, "route": 500, "outcome": 200, "model_version": 100}
_GENESIS = ""  # the "previous hash" of the first chained entry
_KEY_CONTEXT = b"scoring audit chain v1"  # the audit key differs from the token key even when derived from it

_keys: dict[tuple, object] = {}
_MAX_ROWS = 500  # entries per INSERT statement: SQLite binds at most 32,766 parameters in one


def clean(value, limit: int | None = None) -> str | None:
    """Text safe for one log line: control, format and separator characters (and backslash) escaped, then clipped."""
    if value is None:
        return None
    text = str(value)
    if not (text.isprintable() and "\\" not in text):
        text = "".join(c if c.isprintable() and c != "\\" else _escape(c) for c in text)
    return text if limit is None else text[:limit]


def _escape(char: str) -> str:
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _client_id(value) -> int | None:
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        return None  # int() would read " 1\n" or other scripts' digits as client 1
    try:
        cid = int(value)
    except (TypeError, ValueError):
        return None  # a malformed id is nobody's: the entry still records the attempt and its route
    return cid if -(2**63) <= cid < 2**63 else None


def _secret(store, create: bool) -> str:
    s = settings()
    if s.audit_key:
        return s.audit_key
    location = getattr(store, "path", store)
    if s.token_secret:
        return s.token_secret
    found = stored_secret(location, create=create)
    if found is None:
        raise ValueError(
            "no audit key: set SCORING_AUDIT_KEY (or SCORING_SECRET_KEY) as the API had it, or keep "
            f"{describe_secret(location)}"
        )
    return found


def _key(store, create: bool = True):
    """The chain's keyed HMAC, cached per store and keys: the key file is read once, not per append."""
    location = str(getattr(store, "path", store))
    s = settings()
    cache_key = (location, s.audit_key, s.token_secret)
    keyed = _keys.get(cache_key)
    if keyed is None:
        key = hmac.digest(_secret(store, create).encode("utf-8"), _KEY_CONTEXT, "sha256")
        keyed = _keys[cache_key] = hmac.new(key, digestmod=hashlib.sha256)
    return keyed


def _link(keyed, entry_id: int, fields, prev_hash: str) -> str:
    """HMAC of the JSON array [id, fields..., previous hash]: unambiguous, and the same in any language or database."""
    mac = keyed.copy()  # a copy of the keyed state: cheaper than keying a new HMAC per entry
    mac.update(orjson.dumps([entry_id, *fields, prev_hash]))
    return mac.hexdigest()


def _append(con: sqlite3.Connection, key, entries: list[tuple]) -> None:
    """Read the last entry and insert the next ones under one write lock: two workers never chain onto the same
    entry. One commit for all `entries`: all of them land, or none."""
    con.execute("BEGIN IMMEDIATE")  # busy here (another writer) is retried by _retry, before anything was read
    try:
        last = con.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        entry_id = 0 if last is None else last[0]
        prev = _GENESIS if last is None or last[1] is None else last[1]
        for start in range(0, len(entries), _MAX_ROWS):
            part, rows = entries[start : start + _MAX_ROWS], []
            for fields in part:
                entry_id += 1
                prev = _link(key, entry_id, fields, prev)
                rows.extend((entry_id, *fields, prev))
            con.execute(_insert(len(part)), rows)
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise


@functools.lru_cache(maxsize=_MAX_ROWS)
def _insert(n: int) -> str:
    """INSERT of `n` entries in one statement (a multi-row VALUES, which SQLite and PostgreSQL both take)."""
    row = f"({', '.join('?' * len(AUDIT_COLUMNS))})"
    return f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) VALUES {', '.join([row] * n)}"


def entry(
    *, user: str | None, role: str | None, client_id, route: str, outcome: str, model_version: str | None
) -> tuple:
    """An entry's chained fields, made safe for one log line and clipped, timed now."""
    return (
        _now(),
        clean(user, _LIMITS["username"]),
        clean(role, _LIMITS["role"]),
        _client_id(client_id),
        clean(route, _LIMITS["route"]) or "",
        clean(outcome, _LIMITS["outcome"]) or "",
        clean(model_version, _LIMITS["model_version"]),
    )


def append_entries(store, entries: list[tuple]) -> None:
    """Append `entries` (from entry()) in order, chained, in one transaction committed before returning (WAL;
    SCORING_AUDIT_SYNC says how durable): what an API worker's concurrent requests write together
    (api/audit_commit.py)."""
    key = _key(store)
    with kept_write(store) as con:
        retry(lambda: _append(con, key, entries))


def append_audit(
    store, *, user: str | None, role: str | None, client_id, route: str, outcome: str, model_version: str | None
) -> None:
    """Append one chained entry, committed before returning."""
    append_entries(
        store,
        [entry(user=user, role=role, client_id=client_id, route=route, outcome=outcome, model_version=model_version)],
    )


def _rows(store, limit: int | None = None):
    sql = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit ORDER BY id"
    params: tuple = ()
    if limit is not None:
        sql += " LIMIT ?"
        params = (int(limit),)
    return retry(lambda: connect(store).execute(sql, params))


def read_audit(store, limit: int | None = None) -> list[dict]:
    """Audit entries oldest first (for tests and tools)."""
    return [dict(zip(AUDIT_COLUMNS, row, strict=True)) for row in _rows(store, limit)]


def _csv_field(value):
    """One CSV cell: never a line break (one record per line), never a formula a spreadsheet would run."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    text = clean(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_audit(store, out_csv) -> int:
    """Write the whole audit log as CSV (streamed, file mode 0600: it names clients); returns the entries written."""
    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n = 0
    with open(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(AUDIT_COLUMNS)
        for row in _rows(store):
            writer.writerow([_csv_field(v) for v in row])
            n += 1
    return n


def verify_audit(store, expect: tuple[int, str] | None = None) -> dict:
    """Recompute the chain: {ok, entries, chained, before_chain, last_id, last_hash, problem: {id, what} | None}.

    `expect` = (id, hash) of an entry recorded earlier (e.g. the last line of a previous verify): it must still be
    there, which catches a cut tail that the chain alone cannot show.
    """
    key = _key(store, create=False)
    report = {
        "ok": True,
        "entries": 0,
        "chained": 0,
        "before_chain": 0,
        "last_id": None,
        "last_hash": None,
        "problem": None,
    }
    prev_id, prev_hash, expected_seen = 0, None, expect is None

    def fail(entry_id, what):
        report.update(ok=False, problem={"id": entry_id, "what": what})
        return report

    for row in _rows(store):
        entry = dict(zip(AUDIT_COLUMNS, row, strict=True))
        entry_id, stored = entry["id"], entry["hash"]
        report["entries"] += 1
        if stored is None:
            if prev_hash is not None:
                return fail(entry_id, "has no hash although entries before it are chained: altered")
            report["before_chain"] += 1
            prev_id = entry_id
            continue
        if entry_id != prev_id + 1:
            first = prev_id + 1
            gap = f"entry #{first} was" if entry_id == first + 1 else f"entries #{first} to #{entry_id - 1} were"
            return fail(first, f"missing: {gap} deleted (the next entry present is #{entry_id})")
        fields = tuple(entry[c] for c in _LINKED)
        if not hmac.compare_digest(_link(key, entry_id, fields, prev_hash or _GENESIS), str(stored)):
            after = f"entry #{prev_id}" if prev_hash is not None else "the start of the chain"
            return fail(
                entry_id,
                f"altered, forged or out of place: its fields and {after} do not give its hash "
                "(or it was signed with another key)",
            )
        if expect is not None and entry_id == expect[0]:
            if not hmac.compare_digest(str(stored), expect[1]):
                return fail(entry_id, "is not the entry recorded earlier: the log was rewritten from here")
            expected_seen = True
        prev_id, prev_hash = entry_id, stored
        report["chained"] += 1
        report["last_id"], report["last_hash"] = entry_id, stored
    if not expected_seen:
        return fail(expect[0], f"missing: the recorded entry #{expect[0]} is gone; the log was cut after #{prev_id}")
    return report
