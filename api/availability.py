"""Whether the client store can serve: checked before every request that needs it, fully on /ready and on errors.

A worker keeps its store connections open, so a deleted or replaced file is not noticed by a query alone:
without these checks sign-in and audit appends fail with a 500 while old connections still read.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time

from flask import Flask, current_app, request

from api.errors import ApiError
from scoring.store import database_problem, postgres_url

# routes that need no store: liveness, metrics, the spec; /ready runs the full probe itself
_NO_STORE = {"health.health", "health.ready", "health.prometheus", "openapi.spec", "openapi.docs"}


def _file_problem(path) -> tuple[str | None, os.stat_result | None]:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "client store file missing", None
    except OSError as exc:
        return f"client store file unreadable ({type(exc).__name__})", None
    if not stat.S_ISREG(info.st_mode):
        return "client store path is not a file", info
    return None, info


def store_problem(path) -> str | None:
    """Why the store at `path` cannot serve (missing, unreadable, not a store, no generation), or None; a
    postgresql:// location is probed in its database (scoring.store.database_problem)."""
    url = postgres_url(path)
    if url is not None:
        return database_problem(url)
    problem, _ = _file_problem(path)
    if problem:
        return problem
    if not os.access(path, os.R_OK | os.W_OK):  # sign-in reads users, every answer appends to the audit log
        return "client store file not readable and writable"
    try:
        con = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            for table in ("clients", "users", "audit"):
                con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()  # noqa: S608 - fixed names
        finally:
            con.close()
    except sqlite3.Error as exc:
        return f"client store unreadable or not a store ({type(exc).__name__})"
    if not row or not row[0]:
        return "client store generation unreadable"
    return None


def _database_errors() -> tuple:
    """PostgreSQL's errors when it is the backend in use (psycopg imported), else none."""
    import sys

    if "psycopg" not in sys.modules:
        return ()
    from psycopg import Error

    return (Error,)


def unavailable(reason: str) -> ApiError:
    return ApiError(503, "store_unavailable", f"the service cannot serve right now: {reason}")


def failure_reason(exc: Exception) -> str | None:
    """For an unexpected exception: the store problem that explains it, or None for a genuine bug."""
    reason = store_problem(current_app.config["STORE_PATH"])
    if reason is None and isinstance(exc, (sqlite3.Error, *_database_errors())):  # the store, not the code
        reason = f"client store error ({type(exc).__name__})"
    return reason


class _Probe:
    """The full probe (about 1.5 ms) at most once per `interval` seconds, and at once when the file is swapped;
    a stat (microseconds) on every request catches a deleted or replaced file immediately."""

    def __init__(self, interval: float):
        self.interval, self.key, self.checked_at, self.problem = interval, None, -1e9, None

    def __call__(self, path) -> str | None:
        if postgres_url(path) is not None:  # no file to stat: the database probed once per interval
            info = None
        else:
            problem, info = _file_problem(path)
            if problem:
                return problem
        key, now = (info and (info.st_ino, info.st_dev, info.st_size)), time.monotonic()
        if key != self.key or now - self.checked_at >= self.interval:
            self.problem, self.key, self.checked_at = store_problem(path), key, now
        return self.problem


def register(app: Flask) -> None:
    probe = _Probe(app.config.get("STORE_PROBE_SECONDS", 1.0))

    @app.before_request
    def _store_serves():
        if request.endpoint in _NO_STORE or request.url_rule is None:
            return
        problem = probe(app.config["STORE_PATH"])
        if problem:
            raise unavailable(problem)
