"""Outcomes of scored clients, imported from a CSV file into the kept table `outcomes` when they become known.

The file has a header line naming three columns, in any order (others are ignored):
  client_id    the client's id (SK_ID_CURR), a whole number
  defaulted    1 when the client defaulted, 0 when they repaid
  observed_on  the date the outcome was observed, YYYY-MM-DD
The whole file is checked first: a bad row is an error naming its line and column, and nothing is imported. A
client already in the table is updated (the latest import wins); each row notes when it was imported.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from pathlib import Path

from scoring import progress
from scoring.store.connection import kept_write, retry

COLUMNS = ("client_id", "defaulted", "observed_on")
_UPSERT = (
    "INSERT INTO outcomes (client_id, defaulted, observed_on, imported_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (client_id) DO UPDATE SET defaulted = excluded.defaulted, observed_on = excluded.observed_on, "
    "imported_at = excluded.imported_at"
)
_MAX_ID = 2**63 - 1


def read_outcomes_file(path) -> list[tuple[int, int, str]]:
    """(client_id, defaulted, observed_on) of every row; ValueError naming the file, line and column of a problem."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: outcomes file not found")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return _rows(path, csv.reader(fh))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc})") from None


def _rows(path: Path, reader) -> list[tuple[int, int, str]]:
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path}: empty file; expected a header line {','.join(COLUMNS)}")
    names = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise ValueError(f"{path}: line 1: column {missing[0]} is missing (expected {', '.join(COLUMNS)})")
    at = {c: names.index(c) for c in COLUMNS}
    out, lines = [], {}
    for line, row in enumerate(reader, start=2):
        if not row or all(not v.strip() for v in row):
            continue
        if len(row) != len(names):
            raise ValueError(f"{path}: line {line}: {len(row)} fields, the header has {len(names)}")
        cid = _client_id(path, line, row[at["client_id"]].strip())
        if cid in lines:
            raise ValueError(f"{path}: line {line}: client_id {cid} already given on line {lines[cid]}")
        lines[cid] = line
        defaulted = _defaulted(path, line, row[at["defaulted"]].strip())
        out.append((cid, defaulted, _day(path, line, row[at["observed_on"]])))
    if not out:
        raise ValueError(f"{path}: no outcome rows after the header")
    return out


def _client_id(path, line, text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > _MAX_ID:
        raise ValueError(f"{path}: line {line}: column client_id must be a whole number, got {text!r}")
    return int(text)


def _defaulted(path, line, text: str) -> int:
    if text not in ("0", "1"):
        raise ValueError(f"{path}: line {line}: column defaulted must be 0 or 1, got {text!r}")
    return int(text)


def _day(path, line, text: str) -> str:
    text = text.strip()
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"{path}: line {line}: column observed_on must be a date YYYY-MM-DD, got {text!r}") from None
    if day > date.today():
        raise ValueError(f"{path}: line {line}: column observed_on {text} is in the future")
    return day.isoformat()


def import_outcomes(store, path) -> int:
    """Check the whole file, then insert or update every row in one transaction; the rows written."""
    rows = read_outcomes_file(path)
    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    values = [(cid, defaulted, day, stamp) for cid, defaulted, day in rows]

    def run(con):
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany(_UPSERT, values)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    with progress.step("importing outcomes", total=len(values), unit="rows") as done:
        with kept_write(store) as con:
            retry(lambda: run(con))
        done.update(len(values))
    return len(values)
