"""The PostgreSQL backend: the same lookups and statistics as the SQLite one, from a database shared by every node.

The reading code is the SQLite backend's (its SQL is portable): each of its statements runs here in one short
read-only transaction that first points `search_path` at a generation schema (postgres_schema), so a statement
reads one generation whole, whichever build switches the pointer meanwhile. That generation is the one the calling
request pinned (pin_generation: the API pins one per request, with the bundle that scored it), else the one the
pointer names now. The writes (reviews) go through scoring.store.connection like the SQLite backend's.
Connections come from one small pool per process and database (postgres_pool). The URL is never printed or logged.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict

from scoring.store import postgres_schema as pg
from scoring.store import reviews
from scoring.store.postgres_pool import Rows, pool, portable
from scoring.store.sqlite import SQLiteStore, _stored_id

_READ_POINTER = (  # and read-only: a lookup never writes
    "SELECT set_config('transaction_read_only', 'on', true), "
    "set_config('search_path', generation_schema || ', ' || %s, true) "
    f"FROM {pg.KEPT_SCHEMA}.{pg.POINTER.name} WHERE id = 1"
)
_READ_PINNED = (
    "SELECT set_config('transaction_read_only', 'on', true), set_config('search_path', %s || ', ' || %s, true)"
)
GENERATION_TTL = 0.5  # seconds a process reuses the pointer it read (generation_key, pin_generation)


def _current():
    """The greenlet (a gevent worker's request) or thread a pin belongs to."""
    try:
        from greenlet import getcurrent
    except ImportError:  # pragma: no cover - greenlet comes with gevent, a requirement
        return threading.current_thread()
    return getcurrent()


class _Reads:
    """execute(sql, params) as the SQLite reading code calls it, each statement on the pinned or current generation."""

    def __init__(self, url: str, pins):
        self._url, self._pins = url, pins

    def execute(self, sql: str, params=()) -> Rows:
        from psycopg import errors

        pinned = self._pins.get(_current())
        for attempt in range(3):
            try:
                with pool(self._url).connection() as con:
                    if pinned is None:
                        con.execute(_READ_POINTER, (pg.KEPT_SCHEMA,))
                    else:
                        con.execute(_READ_PINNED, (pinned, pg.KEPT_SCHEMA))
                    cur = con.execute(portable(sql), tuple(params))
                    return Rows(cur.fetchall() if cur.description else [], cur.rowcount, cur.description)
            except errors.UndefinedTable:  # the generation read was dropped as the statement began: read again
                if attempt == 2:
                    raise
                pinned = None  # a pinned generation dropped (two builds since the pin): the current one
        raise AssertionError("unreachable")


class PostgresStore(SQLiteStore):
    """The store in the PostgreSQL database at `url`; the caches of SQLiteStore, per generation."""

    def __init__(self, url: str):
        self._url = url
        with pool(url).connection() as con:
            if pg.current_generation(con) is None:
                raise FileNotFoundError(
                    "no client store in this PostgreSQL database: build it first with `python -m scoring build-store`"
                )
        self._pinned = weakref.WeakKeyDictionary()  # greenlet or thread -> the generation schema it pinned
        self._reads = _Reads(url, self._pinned)
        self._pointer = (None, -1e9)  # (generation schema, monotonic time read)
        self._pointer_lock = threading.Lock()
        self._lock = threading.Lock()
        self._cache = OrderedDict()
        self._static = None

    def __repr__(self) -> str:  # never the URL
        return "PostgresStore()"

    @property
    def location(self) -> str:
        """The database URL, for scoring.store.connection (the kept tables' writers): never print or log it."""
        return self._url

    def _con(self):
        return self._reads

    # --- which generation a request reads ---------------------------------------------------------------------
    def generation_key(self) -> str:
        """The generation schema the pointer names, read at most once per GENERATION_TTL seconds per process."""
        schema, read_at = self._pointer
        now = time.monotonic()
        if schema is None or now - read_at >= GENERATION_TTL:
            with pool(self._url).connection() as con:
                schema = pg.current_generation(con)
            with self._pointer_lock:
                self._pointer = (schema, now)
        return schema

    def pin_generation(self) -> str:
        """generation_key(), and this greenlet's (or thread's) reads use that generation until its next pin; the
        generation a switch replaces is kept until the next switch, so a pinned request finishes on it."""
        schema = self.generation_key()
        self._pinned[_current()] = schema
        return schema

    # --- human review requests: the kept schema, through the seam every kept-table writer uses -----------------
    def request_review(self, client_id, requested_by: str, comment: str) -> dict | None:
        cid = _stored_id(client_id)
        reviewed = None if cid is None else reviews.reviewed_decision(self, cid)
        return None if reviewed is None else reviews.request_review(self._url, cid, requested_by, comment, reviewed)

    def close_review(self, review_id, reviewer: str, result: str, reason: str, new_outcome=None) -> dict | None:
        rid = _stored_id(review_id)
        return None if rid is None else reviews.close_review(self._url, rid, reviewer, result, reason, new_outcome)


def serving_problem(url: str) -> str | None:
    """Why the PostgreSQL store at `url` cannot serve (unreachable, no build yet, a table missing), or None: the
    API's readiness probe. Waits 5 s at most for a new connection; names no host, user or URL."""
    from psycopg import Error, OperationalError

    try:
        with pool(url).connection(timeout=5) as con:
            where = pg.current_generation(con)
            if where is None:
                return "no client store in the PostgreSQL database yet (build-store)"
            con.execute(f"SELECT 1 FROM {where}.clients LIMIT 1").fetchall()
            for table in ("users", "audit"):
                con.execute(f"SELECT 1 FROM {pg.KEPT_SCHEMA}.{table} LIMIT 1").fetchall()  # noqa: S608 - fixed names
    except OperationalError as exc:
        return f"client store database unreachable ({type(exc).__name__})"
    except Error as exc:
        return f"client store database unreadable or not a store ({type(exc).__name__})"
    return None
