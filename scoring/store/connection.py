"""Connections to the store for the kept tables' writers and readers, opened one way whichever the backend.

SQLite: the project's pragmas, WAL, retries on a busy file; one connection per thread, store file and mode,
reopened after a fork and when a rebuild renames a new file into place (a changed inode). The read-only mode
serves lookups; the read-write mode serves users, the audit log, the sign-in limits and any kept table, and makes
sure their tables exist (schema.ensure_kept).
PostgreSQL (a postgresql:// location): scoring.store.postgres_kept's connection, with the same surface (execute
with `?`, BEGIN IMMEDIATE / COMMIT / ROLLBACK, sqlite3's IntegrityError), so a writer is written once for both.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path

from scoring.store import schema
from scoring.store.location import postgres_url

_local = threading.local()


def connect(store, *, readonly: bool = False) -> sqlite3.Connection:
    """This thread's connection to the store file at `store` (a path, or anything with a `.path`); for a
    postgresql:// URL, a PostgreSQL connection with the same surface (postgres_kept.connect).

    Read-write: a missing file is FileNotFoundError (an append must never land in a replaced file). Read-only:
    query_only, and a file missing mid-swap keeps answering from the file already open.
    """
    url = postgres_url(store)
    if url is not None:
        from scoring.store import postgres_kept

        return postgres_kept.connect(url)
    key = str(getattr(store, "path", store))
    try:
        inode = os.stat(key).st_ino
    except FileNotFoundError:
        if not readonly:
            raise FileNotFoundError(
                f"client store {key} not found: build it first with `python -m scoring build-store`"
            ) from None
        inode = None
    cache = getattr(_local, "cons", None)
    if cache is None or getattr(_local, "pid", None) != os.getpid():
        cache = _local.cons = {}
        _local.pid = os.getpid()
    con, seen = cache.get((key, readonly), (None, None))
    if con is not None and inode is not None and seen != inode:  # the store was rebuilt: follow the new file
        con.close()
        con = None
    if con is None:
        con = _open_readonly(key) if readonly else _open_readwrite(key)
        cache[(key, readonly)] = (con, inode)
    return con


@contextlib.contextmanager
def kept_write(store):
    """This thread's read-write connection with the store's rebuild lock held shared, for a write to a kept table
    (users, audit, sign-ins, reviews). A rebuild holds the lock exclusively while it copies those tables and swaps the
    new file in (rebuild_lock), so a write lands before the copy or in the new file, never in a replaced one.
    PostgreSQL: the block is one transaction in the kept schema, which a rebuild never replaces (no lock needed)."""
    url = postgres_url(store)
    if url is not None:
        from scoring.store import postgres_kept

        with postgres_kept.kept_write(url) as con:
            yield con
        return
    connect(store)  # a missing store is FileNotFoundError, before any lock file is made beside it
    fd = os.open(_lock_path(store), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield connect(store)  # after the lock: follows a file a rebuild has just swapped in
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def rebuild_lock(store):
    """The store's rebuild lock, exclusive: held by build_store from copying the kept tables to the swap."""
    fd = os.open(_lock_path(store), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _lock_path(store) -> str:
    return str(getattr(store, "path", store)) + ".lock"


def open_readonly(path) -> sqlite3.Connection:
    """A read-only connection of the caller's own (not this thread's cached one), with the project's settings."""
    return _open_readonly(str(path))


def _open_readonly(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30)
    con.execute("PRAGMA query_only=ON")
    return con


def _open_readwrite(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=0, isolation_level=None)  # waits for a busy file in execute()
    execute(con, "PRAGMA journal_mode=WAL")
    execute(con, f"PRAGMA synchronous={audit_sync()}")
    retry(lambda: schema.ensure_kept(con))
    return con


def retry(action, wait_seconds: float = 30.0):
    """Run `action`, retrying while another process holds the write lock.

    SQLite's own busy handler first sleeps a whole millisecond, while an audit append holds the lock for tens of
    microseconds: two API workers appending at once would idle a core. Here the waits start at 50 us.
    """
    delay, deadline = 5e-5, time.monotonic() + wait_seconds
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            busy = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.005)


def execute(con: sqlite3.Connection, sql: str, params=()) -> sqlite3.Cursor:
    return retry(lambda: con.execute(sql, params))


def audit_sync() -> str:
    """WAL with NORMAL (default): a committed entry survives a crash of the process, fsync per checkpoint.
    FULL also survives power loss or a kernel crash, at the cost of an fsync (~3 ms here) on every request."""
    from scoring.config import settings

    return settings().audit_sync
