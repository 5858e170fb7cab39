"""The kept-table writers' connection on PostgreSQL: sqlite3.Connection's surface, so that one writer serves both.

scoring.store.connection hands this out for a postgresql:// location. Writers (users, audit log, sign-in limits,
reviews, and any kept table declared in scoring.store.schema) keep their portable SQL with `?` placeholders, and:
- a statement naming kept tables alone has them named in the kept schema (kept_only); any other runs with
  `search_path` = the current generation schema, then the kept schema, so unqualified names find the kept tables
  and the generation's (scores, offers). Outside BEGIN ... COMMIT, such a kept-only statement is one round trip in
  autocommit (the token check's user row on every request: it was BEGIN, search_path, SELECT, COMMIT);
- `BEGIN` / `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK` are transaction control; `BEGIN IMMEDIATE` also takes the
  store's write lock (a transaction-scoped advisory lock), which serializes such transactions across every process
  and node as SQLite's write lock does across a file's: two audit appends never chain onto the same entry;
- a connection from `connect()` runs each statement outside BEGIN ... COMMIT in a transaction of its own; one from
  `kept_write()` runs its whole block in one transaction, committed when the block ends, undone if it raises;
- a constraint violation is sqlite3.IntegrityError, a missing table sqlite3.OperationalError("no such table"), as
  the writers already expect; there is no `lastrowid` (use `INSERT ... RETURNING`, which SQLite also reads).
The kept schema and its tables are made (or upgraded) once per process, on first use.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3

from scoring.store import postgres_schema as pg
from scoring.store.postgres_pool import Rows, pool, portable

WRITE_LOCK = 0x5C0_57_0F  # advisory lock key of BEGIN IMMEDIATE: the store's one write lock
# search_path for one transaction: the generation readers use (none before the first build), then the kept schema
_SEARCH_PATH = (
    "SELECT set_config('search_path', coalesce((SELECT generation_schema || ', ' FROM "
    f"{pg.KEPT_SCHEMA}.{pg.POINTER.name} WHERE id = 1), '') || %s, true)"
)
_ensured: set = set()


@functools.lru_cache(maxsize=512)
def kept_only(sql: str) -> str | None:
    """`sql` (psycopg's placeholders) with its kept tables named in the kept schema, when those are all it names:
    it then needs no search_path (no generation pointer read, one statement less). None when it names a
    generation's table, names no store table, or names one anywhere else than after FROM/JOIN/INTO/UPDATE (a comma
    join, a column of a table's name): such a statement runs on the search_path, as before."""
    text, named, complete = pg.name_tables(sql)
    return text if named and complete else None


def ensure_kept(url: str) -> None:
    """The kept schema and tables in the database at `url`, checked once per process.

    No lock of the process is held meanwhile: in a gevent worker a new connection's wait lets another request
    run, and that request, waiting on an OS lock, would stop the worker's only thread for good (a second worker
    that served nothing). Requests starting together may each check; the check serializes in the database."""
    if url in _ensured:
        return
    with pool(url).connection() as con:
        pg.ensure_kept(con)
    _ensured.add(url)


def _control(sql: str) -> str | None:
    """'begin', 'immediate', 'commit' or 'rollback' for a transaction-control statement, else None."""
    words = sql.strip().rstrip(";").upper().split()
    if not words:
        return None
    if words[0] == "BEGIN":
        return "immediate" if len(words) > 1 and words[1] in ("IMMEDIATE", "EXCLUSIVE") else "begin"
    if words[0] in ("COMMIT", "END"):
        return "commit"
    if words[0] == "ROLLBACK" and (len(words) == 1 or words[1] == "TRANSACTION"):
        return "rollback"
    return None


@contextlib.contextmanager
def _sqlite_errors():
    """psycopg's errors as sqlite3's, for the writers' except clauses (the message never holds the URL)."""
    from psycopg import errors

    try:
        yield
    except errors.IntegrityError as exc:
        raise sqlite3.IntegrityError(str(exc).strip()) from None
    except errors.UndefinedTable as exc:
        raise sqlite3.OperationalError(f"no such table ({str(exc).strip()})") from None


class KeptConnection:
    """execute / executemany / transaction control over one database, as sqlite3.Connection offers them."""

    def __init__(self, url: str, held=None):
        self._url = url
        self._held = held  # the pooled connection of kept_write, or of an open BEGIN ... COMMIT
        self._borrowed = None  # the pool's context manager of a BEGIN outside kept_write
        self._path_set = False  # this transaction's search_path is set
        self._begun = False  # between BEGIN and COMMIT or ROLLBACK (psycopg sends BEGIN with the first statement)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        if self._held is None:
            return False
        return self._begun or self._held.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        """Nothing to close: the pool keeps its connections."""

    def execute(self, sql: str, params=()) -> Rows:
        control = _control(sql)
        if control is not None:
            self._transaction(control)
            return Rows([], -1)
        text = portable(sql)
        kept = kept_only(text)
        return self._run(lambda cur: cur.execute(kept or text, tuple(params)), kept is None, alone=True)

    def executemany(self, sql: str, seq) -> Rows:
        text = portable(sql)
        kept = kept_only(text)
        return self._run(lambda cur: cur.executemany(kept or text, [tuple(p) for p in seq]), kept is None)

    def _run(self, action, needs_path: bool, alone: bool = False) -> Rows:
        """`action` in the open transaction; else, one statement on kept tables alone in autocommit (a round trip,
        no BEGIN or COMMIT), anything else in a transaction of its own."""
        with _sqlite_errors():
            if self._held is not None:
                return self._on(self._held, action, needs_path)
            if alone and not needs_path:
                with pool(self._url, autocommit=True).connection() as con:
                    return self._on(con, action, False)
            with pool(self._url).connection() as con:  # a transaction of its own, committed on leaving
                self._path_set = False
                return self._on(con, action, needs_path)

    def _on(self, con, action, needs_path: bool) -> Rows:
        if needs_path and not self._path_set:
            self._set_path(con)
        cur = con.cursor()
        action(cur)
        rows = cur.fetchall() if cur.description else []
        return Rows(rows, cur.rowcount, cur.description)

    def _set_path(self, con) -> None:
        """The transaction's search_path: the generation the pointer names now, then the kept schema. Set before
        the first statement that needs it, so after BEGIN IMMEDIATE's lock: the pointer must be read once the lock
        is held (a statement reads what was committed when it began), or a writer that waited behind a generation
        switch would write into the generation just replaced (a campaign's offers lost with it)."""
        con.execute(_SEARCH_PATH, (pg.KEPT_SCHEMA,))
        self._path_set = True

    def _transaction(self, control: str) -> None:
        if control in ("begin", "immediate"):
            if self._held is None:
                self._borrowed = pool(self._url).connection()
                self._held = self._borrowed.__enter__()
            elif self.in_transaction:  # statements before BEGIN in a kept_write: SQLite has committed them
                self._held.commit()
            self._path_set, self._begun = False, True
            if control == "immediate":  # the store's write lock, first (psycopg sends the BEGIN with it)
                with _sqlite_errors():
                    self._held.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            return
        if self._held is None:
            raise sqlite3.OperationalError(f"cannot {control} - no transaction is active")
        if control == "commit":
            self._held.commit()
        else:
            self._held.rollback()
        self._path_set = self._begun = False
        if self._borrowed is not None:  # back to the pool once BEGIN ... COMMIT ends
            borrowed, self._borrowed, self._held = self._borrowed, None, None
            borrowed.__exit__(None, None, None)


def connect(url: str) -> KeptConnection:
    """A connection whose statements each commit, unless between BEGIN and COMMIT (a new object per call: it holds
    nothing between statements, so greenlets sharing a thread never share a transaction)."""
    ensure_kept(url)
    return KeptConnection(url)


@contextlib.contextmanager
def kept_write(url: str):
    """A connection for one transaction: committed when the block ends, rolled back if it raises."""
    ensure_kept(url)
    with pool(url).connection() as con:  # the pool commits on a clean exit and rolls back on an exception
        yield KeptConnection(url, held=con)
