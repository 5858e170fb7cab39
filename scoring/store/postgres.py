"""The PostgreSQL backend: the same lookups and statistics as the SQLite one, from a database shared by every node.

The reading code is the SQLite backend's (its SQL is portable): each of its statements runs alone, one round trip
and no transaction control, on a connection of the readers' pool (postgres_pool, autocommit), with every table it
names qualified by its schema (postgres_schema): the generation's tables by the generation read, the kept ones by
the kept schema. One statement reads one generation whole, whichever build switches the pointer meanwhile, and no
session state outlives it (a transaction pooler may hand the next one another server connection). That generation
is the one the calling request pinned (pin_generation: the API pins one per request, with the bundle that scored
it), else the one the pointer names (read at most every GENERATION_TTL seconds per process, as a pin does). The
writes (reviews) go through scoring.store.connection like the SQLite backend's. The URL is never printed or logged.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
import time
import weakref
from collections import OrderedDict

from scoring.store import postgres_schema as pg
from scoring.store import reviews
from scoring.store.postgres_pool import Rows, pool, portable
from scoring.store.sqlite import SQLiteStore, _stored_id

# what postgres_schema.new_generation_schema makes: a plain identifier, never quoted, safe in a statement's text
_GENERATION = re.compile(rf"{pg.GENERATION_PREFIX}[a-z0-9_]{{1,40}}")
_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_NO_STORE = "no client store in this PostgreSQL database: build it first with `python -m scoring build-store`"
GENERATION_TTL = 0.5  # seconds a process reuses the pointer it read (generation_key, pin_generation, unpinned reads)


def _read_pointer(con) -> str | None:
    """The generation schema the pointer names (None before the first build); ValueError for a name no build makes."""
    found = pg.current_generation(con)
    if found is not None and not _GENERATION.fullmatch(found):
        raise ValueError("the store's generation pointer names a schema no build makes")
    return found


@functools.lru_cache(maxsize=1024)
def _statement(sql: str, generation: str) -> str:
    """A read of the SQLite code in psycopg's placeholders, each of its tables named in its schema (the generation
    read for a generation's table, the kept schema for a kept one: postgres_schema.name_tables)."""
    return pg.name_tables(portable(sql), generation)[0]


def _current():
    """The greenlet (a gevent worker's request) or thread a pin belongs to."""
    try:
        from greenlet import getcurrent
    except ImportError:  # pragma: no cover - greenlet comes with gevent, a requirement
        return threading.current_thread()
    return getcurrent()


class _Reads:
    """execute(sql, params) as the SQLite reading code calls it, each statement on the pinned or current generation."""

    def __init__(self, url: str, pins, pointed):
        self._url, self._pins, self._pointed = url, pins, pointed  # pointed(fresh): the generation the pointer names

    def execute(self, sql: str, params=()) -> Rows:
        from psycopg import errors

        if not _READ.match(sql):  # in autocommit, a statement is its own transaction: only reads come here
            raise sqlite3.OperationalError("attempt to write a readonly database: the store's readers only SELECT")
        generation = self._pins.get(_current()) or self._pointed(False)
        for attempt in range(3):
            if generation is None:
                raise FileNotFoundError(_NO_STORE)
            try:
                with pool(self._url, autocommit=True).connection() as con:
                    cur = con.execute(_statement(sql, generation), tuple(params))
                    return Rows(cur.fetchall() if cur.description else [], cur.rowcount, cur.description)
            except errors.UndefinedTable:  # its generation dropped (two switches since it was pinned or read)
                if attempt == 2:
                    raise
                generation = self._pointed(True)  # the one the pointer names now
        raise AssertionError("unreachable")


class PostgresStore(SQLiteStore):
    """The store in the PostgreSQL database at `url`; the caches of SQLiteStore, per generation."""

    def __init__(self, url: str):
        self._url = url
        self._pointer = (None, -1e9)  # (generation schema, monotonic time read)
        self._pointer_lock = threading.Lock()
        if self._generation(fresh=True) is None:
            raise FileNotFoundError(_NO_STORE)
        self._pinned = weakref.WeakKeyDictionary()  # greenlet or thread -> the generation schema it pinned
        self._reads = _Reads(url, self._pinned, self._generation)
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
        return self._generation(fresh=False)

    def _generation(self, fresh: bool) -> str | None:
        found, read_at = self._pointer
        now = time.monotonic()
        if fresh or found is None or now - read_at >= GENERATION_TTL:
            with pool(self._url, autocommit=True).connection() as con:
                found = _read_pointer(con)
            with self._pointer_lock:
                self._pointer = (found, now)
        return found

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
        with pool(url, autocommit=True).connection(timeout=5) as con:
            where = _read_pointer(con)  # a checked name: it is part of the next statement's text
            if where is None:
                return "no client store in the PostgreSQL database yet (build-store)"
            con.execute(f"SELECT 1 FROM {where}.clients LIMIT 1").fetchall()
            for table in ("users", "audit"):
                con.execute(f"SELECT 1 FROM {pg.KEPT_SCHEMA}.{table} LIMIT 1").fetchall()  # noqa: S608 - fixed names
    except OperationalError as exc:
        return f"client store database unreachable ({type(exc).__name__})"
    except (Error, ValueError) as exc:
        return f"client store database unreadable or not a store ({type(exc).__name__})"
    return None
