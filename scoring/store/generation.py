"""A new generation of a built store, scored by another model, switched in whole: what a promotion needs.

1. The live store is copied (SQLite's backup: a consistent snapshot, WAL included) to `<store>.promote.tmp`, and
   explain_all re-scores, re-explains and re-decides every client of the copy with the new bundle.
2. Under the store's rebuild lock (the one audit and user writes share), the kept tables (users, audit log, sign-ins,
   reviews) are brought up to the live store, so nothing written meanwhile is lost; the caller's `on_switch` runs
   (the registry names the new champion there); the copy is renamed over the live store.
A failure before the rename leaves the live store as it was.
A PostgreSQL store needs neither copy nor catch-up: explain-all writes a new generation schema and the kept tables
are shared by every generation; `on_switch` runs at the pointer switch, under the store's write lock
(scoring.store.postgres_regenerate).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from scoring.store import rows, schema
from scoring.store.build import _replace_file, _shadow_run, explain_all
from scoring.store.connection import rebuild_lock
from scoring.store.location import postgres_url, sqlite_file, store_location


def store_exists(store_path) -> bool:
    """Whether a store was built at the location: the SQLite file, or a PostgreSQL database whose pointer names a
    generation (a database without one holds no store yet, whatever else it holds)."""
    url = postgres_url(store_path)
    if url is None:
        return sqlite_file(store_path).exists()
    from scoring.store import postgres_schema as pg
    from scoring.store.postgres_pool import pool

    with pool(url).connection() as con:
        return pg.current_generation(con) is not None


def store_model_version(store_path) -> str | None:
    """The model version the store's scores were computed with (None when there is no store yet)."""
    from scoring.store import open_store

    try:
        return open_store(store_location(store_path)).meta().get("model_version")
    except FileNotFoundError:  # no file, or a database without a generation
        return None


def regenerate(store_path, models_dir, *, on_switch, policy_path=None) -> int:
    """Re-score a copy of the store with the bundle in `models_dir`, then call `on_switch()` and swap the copy in,
    both under the rebuild lock; returns the clients scored. PostgreSQL: a new generation, switched in with
    `on_switch()` under the store's write lock."""
    url = postgres_url(store_path)
    if url is not None:
        from scoring.store.postgres_regenerate import explain_postgres

        shadow = _shadow_run(models_dir, policy_path, url)
        n = explain_postgres(
            url, models_dir, chunk_size=rows.CHUNK_CLIENTS, policy_path=policy_path, shadow=shadow, on_switch=on_switch
        )
        shadow.write()  # the challenger's scores of the new generation, as on SQLite
        return n
    live = sqlite_file(store_path)
    if not live.exists():
        raise FileNotFoundError(f"client store {live} not found: build it first with `python -m scoring build-store`")
    tmp = Path(str(live) + ".promote.tmp")
    _unlink_sqlite(tmp)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # client data: owner-only from the start
    try:
        with closing(sqlite3.connect(live, timeout=60)) as src, closing(sqlite3.connect(tmp)) as dst:
            src.backup(dst)
        shadow = _shadow_run(models_dir, policy_path, live)
        n = explain_all(tmp, models_dir, policy_path=policy_path, shadow=shadow)
        with rebuild_lock(live):
            _catch_up_kept(tmp, live)
            on_switch()
            for suffix in ("-wal", "-shm"):  # the copy was checkpointed when its connection closed
                Path(str(tmp) + suffix).unlink(missing_ok=True)
            _replace_file(tmp, live)
    except BaseException:
        _unlink_sqlite(tmp)
        raise
    shadow.write()  # the challenger's scores of the new generation, logged in it
    return n


def _catch_up_kept(tmp: Path, live: Path) -> None:
    """The kept tables of the copy brought up to the live store: an append-only table (the audit log, its chain
    intact) gets the rows added since the copy, the others are replaced by the live rows (columns of both, ids kept)."""
    with closing(sqlite3.connect(tmp, isolation_level=None)) as con:
        con.execute("ATTACH DATABASE ? AS live", (f"file:{live}?mode=ro",))
        try:
            present = {r[0] for r in con.execute("SELECT name FROM live.sqlite_master WHERE type='table'")}
            con.execute("BEGIN")
            for table in schema.KEPT:
                if table.name in present:
                    _catch_up_table(con, table)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.execute("DETACH DATABASE live")
        con.execute("PRAGMA journal_mode=WAL")


def _catch_up_table(con: sqlite3.Connection, table) -> None:
    there = {r[1] for r in con.execute(f"PRAGMA live.table_info({table.name})")}
    columns = ", ".join(c for c in table.column_names if c in there)
    select = f"INSERT INTO main.{table.name} ({columns}) SELECT {columns} FROM live.{table.name}"
    if table.append_only:
        (key,) = table.primary_key
        con.execute(f"{select} WHERE {key} > (SELECT coalesce(max({key}), -1) FROM main.{table.name}) ORDER BY {key}")
    else:
        con.execute(f"DELETE FROM main.{table.name}")
        con.execute(f"{select} ORDER BY rowid")


def _unlink_sqlite(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
