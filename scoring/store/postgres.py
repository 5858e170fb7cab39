"""The PostgreSQL backend: the same lookups and statistics as the SQLite one, from a database shared by every node.

The reading code is the SQLite backend's (its SQL is portable): each of its statements runs here in one short
transaction that first points `search_path` at the generation schema the pointer names (postgres_schema), so a
statement reads one generation whole, whichever build switches the pointer meanwhile. Connections come from one
psycopg_pool pool per process and database. The URL is never printed or logged: it may hold a password.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from scoring.store import postgres_schema as pg
from scoring.store.sqlite import SQLiteStore

_SEARCH_PATH = (  # and read-only: a lookup never writes
    "SELECT set_config('transaction_read_only', 'on', true), "
    "set_config('search_path', generation_schema || ', ' || %s, true) "
    f"FROM {pg.KEPT_SCHEMA}.{pg.POINTER.name} WHERE id = 1"
)
POOL_SIZE = 8  # connections per process at most: a gevent worker's greenlets share them
_NO_WRITES = (
    "review requests cannot be written to a PostgreSQL store yet: its kept-table writers (users, audit, sign-ins, "
    "reviews) are the next step of issue #14"
)
_pools: dict = {}
_pools_lock = threading.Lock()


def pool(url: str):
    """This process's connection pool to the database at `url` (a forked worker opens its own)."""
    from psycopg_pool import ConnectionPool

    key = (url, os.getpid())
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            found = ConnectionPool(
                url, min_size=1, max_size=POOL_SIZE, name="scoring-store", open=True, kwargs={"autocommit": False}
            )
            _pools[key] = found
        return found


def portable(sql: str) -> str:
    """The SQLite backend's SQL in psycopg's placeholders: `?` -> `%s` (a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Rows:
    """A statement's rows, fetched whole: what the SQLite reading code does with a cursor."""

    def __init__(self, rows: list):
        self._rows = rows

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list:
        return self._rows

    def __iter__(self):
        return iter(self._rows)


class _Reads:
    """execute(sql, params) as the SQLite reading code calls it, each statement on the current generation."""

    def __init__(self, url: str):
        self._url = url

    def execute(self, sql: str, params=()) -> _Rows:
        from psycopg import errors

        for attempt in range(3):
            try:
                with pool(self._url).connection() as con:
                    con.execute(_SEARCH_PATH, (pg.KEPT_SCHEMA,))
                    cur = con.execute(portable(sql), tuple(params))
                    return _Rows(cur.fetchall() if cur.description else [])
            except errors.UndefinedTable:  # the generation read was dropped as the statement began: read again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class PostgresStore(SQLiteStore):
    """The store in the PostgreSQL database at `url`, read-only; the caches of SQLiteStore, per generation."""

    def __init__(self, url: str):
        self._url = url
        with pool(url).connection() as con:
            if pg.current_generation(con) is None:
                raise FileNotFoundError(
                    "no client store in this PostgreSQL database: build it first with `python -m scoring build-store`"
                )
        self._reads = _Reads(url)
        self._lock = threading.Lock()
        self._cache = OrderedDict()
        self._static = None

    def __repr__(self) -> str:  # never the URL
        return "PostgresStore()"

    def _con(self):
        return self._reads

    # --- human review requests: read from the kept schema above; their writes move with the kept tables' writers
    def request_review(self, client_id, requested_by: str, comment: str) -> dict | None:
        raise RuntimeError(_NO_WRITES)

    def close_review(self, review_id, reviewer: str, result: str, reason: str, new_outcome=None) -> dict | None:
        raise RuntimeError(_NO_WRITES)
