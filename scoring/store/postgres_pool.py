"""Connections to a PostgreSQL store: a small pool per process and database, and the SQL dialect bridge.

Both the readers (scoring.store.postgres) and the kept-table writers (scoring.store.postgres_kept) borrow from it.
It is made for the API's gevent workers, whose OS threads are not patched (deploy/gunicorn.conf.py):
- its connections wait for the server in place (libpq's poll), never by yielding to other greenlets, so a greenlet
  never sits parked on a query while holding a connection, and a worker holds one or two at a time, as it holds
  its SQLite file; waiting cooperatively, many greenlets would each hold one and starve the pool;
- it has no background thread and no queue: psycopg_pool's worker threads hand connections over through
  `queue.Queue`, which gevent patches into a greenlet queue that real threads cannot share (its pool then never
  delivers a connection). Here a borrower takes an idle connection or opens one itself, and gives it back.
Idle connections are kept up to POOL_SIZE; a broken one is dropped. A process keeps two pools per database: the
kept-table writers' (each `with` block one transaction) and the readers' (autocommit: a read is its statement alone,
one round trip, no BEGIN or COMMIT sent). The URL is never printed or logged.
"""

from __future__ import annotations

import contextlib
import os
import threading

POOL_SIZE = 8  # idle connections kept per process and database
CONNECT_TIMEOUT = 10  # seconds, unless the URL says connect_timeout
_pools: dict = {}
_pools_lock = threading.Lock()
_connection_class = None


def _blocking_connection_class():
    """psycopg.Connection whose waits are libpq's poll in C, never gevent's cooperative select."""
    global _connection_class
    if _connection_class is None:
        import psycopg
        from psycopg import waiting

        class BlockingConnection(psycopg.Connection):
            def wait(self, gen, interval=0.1, timeout=None):
                return waiting.wait_c(gen, self.pgconn.socket, interval=interval, timeout=timeout)

        _connection_class = BlockingConnection
    return _connection_class


class Pool:
    """Idle connections to one database, for one process; `connection()` lends one for a `with` block. With
    `autocommit`, each statement on them is a transaction of its own (no BEGIN or COMMIT sent)."""

    def __init__(self, url: str, *, autocommit: bool = False):
        from psycopg.conninfo import conninfo_to_dict

        self._url, self._autocommit = url, autocommit
        self._timeout = {} if "connect_timeout" in conninfo_to_dict(url) else {"connect_timeout": CONNECT_TIMEOUT}
        self._idle: list = []
        self._lock = threading.Lock()

    def _take(self, timeout: float | None = None):
        with self._lock:
            while self._idle:
                con = self._idle.pop()
                if not con.closed and not con.broken:
                    return con
        limit = self._timeout if timeout is None else {"connect_timeout": max(1, int(timeout))}
        return _blocking_connection_class().connect(self._url, autocommit=self._autocommit, **limit)

    def _give_back(self, con) -> None:
        from psycopg.pq import TransactionStatus

        if not con.closed and not con.broken and con.info.transaction_status == TransactionStatus.IDLE:
            with self._lock:
                if len(self._idle) < POOL_SIZE:
                    self._idle.append(con)
                    return
        con.close()

    @contextlib.contextmanager
    def connection(self, timeout: float | None = None):
        """A connection for the block: committed when it ends, rolled back if it raises, then kept for the next
        borrower (or closed when broken). `timeout`: seconds to connect, when a new connection is needed."""
        con = self._take(timeout)
        try:
            yield con
            if not con.closed:
                con.commit()
        except BaseException:
            if not con.closed and not con.broken:
                with contextlib.suppress(Exception):
                    con.rollback()
            raise
        finally:
            self._give_back(con)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()


def pool(url: str, *, autocommit: bool = False) -> Pool:
    """This process's pool of connections to the database at `url` (a forked worker makes its own); `autocommit`:
    the readers' pool."""
    key = (url, os.getpid(), autocommit)
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            found = _pools[key] = Pool(url, autocommit=autocommit)
        return found


class Rows:
    """A statement's result, fetched whole: what the SQLite code (readers and kept-table writers) does with a cursor."""

    def __init__(self, rows: list, rowcount: int, description=None):
        self._rows, self.rowcount, self.description = rows, rowcount, description

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list:
        return self._rows

    def __iter__(self):
        return iter(self._rows)

    @property
    def lastrowid(self):
        raise AttributeError("no lastrowid on PostgreSQL: write INSERT ... RETURNING id (SQLite reads it too)")


def portable(sql: str) -> str:
    """The SQLite backend's SQL in psycopg's placeholders: `?` -> `%s` (a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")
