"""Promotion and rollback: a new store generation scored by the new champion, then alias and store switched together.

1. The live store is copied (SQLite's backup: a consistent snapshot, WAL included) to `<store>.promote.tmp`, and
   explain_all re-scores, re-explains and re-decides every client of the copy with the new bundle.
2. Under the store's rebuild lock (the one audit and user writes share), the kept tables (users, audit log, sign-ins,
   reviews) are copied again from the live store, so nothing written meanwhile is lost; the alias file names the new
   champion; the copy is renamed over the live store.

API workers pair a bundle with the store generation built with it (api/models_state.py): they switch when they see
the new file, so no request is served by the new store and the old bundle or the reverse. A failure before the
rename leaves the old store and the old alias file.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from scoring import audit
from scoring import registry as reg
from scoring.store import explain_all, open_store, schema, sqlite_file
from scoring.store.connection import rebuild_lock


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def store_version(store_path) -> str | None:
    """The model version the store's scores were computed with (None when there is no store yet)."""
    path = sqlite_file(store_path)
    if not path.exists():
        return None
    return open_store(path).meta().get("model_version")


def promote(models_dir, store_path, version: str, *, user: str, action: str = "promote", policy_path=None) -> dict:
    """Make `version` the champion with a store generation scored by it; returns {version, previous, clients}."""
    models_dir = Path(models_dir)
    state = reg.read_registry(models_dir)
    bundle = reg.load_version(models_dir, version)  # RegistryError / ModelIntegrityError: nothing changes
    live = sqlite_file(store_path)
    if not live.exists():
        raise FileNotFoundError(f"client store {live} not found: build it first with `python -m scoring build-store`")
    if state["champion"] == version and store_version(live) == version:
        raise reg.RegistryError(f"{version} is already the champion")
    tmp = Path(str(live) + ".promote.tmp")
    _unlink_sqlite(tmp)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # client data: owner-only from the start
    old_aliases = reg.alias_path(models_dir).read_bytes()
    switched = False
    try:
        with closing(sqlite3.connect(live, timeout=60)) as src, closing(sqlite3.connect(tmp)) as dst:
            src.backup(dst)
        n = explain_all(tmp, reg.version_dir(models_dir, version), policy_path=policy_path)
        with rebuild_lock(live):
            _copy_kept(tmp, live)
            reg.set_champion(models_dir, bundle.version, user, action)
            switched = True
            _swap(tmp, live)
    except BaseException:
        _unlink_sqlite(tmp)
        if switched and store_version(live) != version:  # the alias was written but the store not swapped
            reg._write_durably(reg.alias_path(models_dir), old_aliases.decode())
        raise
    return {"version": version, "previous": state["champion"], "clients": n}


def rollback(models_dir, store_path, *, user: str, policy_path=None) -> dict:
    """Back to the champion the last promotion replaced, by the same mechanism."""
    return promote(
        models_dir, store_path, reg.rollback_target(models_dir), user=user, action="rollback", policy_path=policy_path
    )


def record(store_path, *, user: str, command: str, outcome: str, version: str | None) -> None:
    """An audit entry for a registry command (role "cli"), when there is a store to hold it."""
    path = sqlite_file(store_path)
    if path.exists():
        audit.append_audit(
            path,
            user=user,
            role="cli",
            client_id=None,
            route=f"models {command}",
            outcome=outcome,
            model_version=version,
        )


def _copy_kept(tmp: Path, live: Path) -> None:
    """The kept tables of the copy brought up to the live store: an append-only table (the audit log, its chain
    intact) gets the rows added since the copy, the others are replaced by the live rows (columns of both, ids kept)."""
    with closing(sqlite3.connect(tmp, isolation_level=None)) as con:
        con.execute("ATTACH DATABASE ? AS live", (f"file:{live}?mode=ro",))
        try:
            present = {r[0] for r in con.execute("SELECT name FROM live.sqlite_master WHERE type='table'")}
            con.execute("BEGIN")
            for table in schema.KEPT:
                if table.name in present:
                    _copy_table(con, table)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.execute("DETACH DATABASE live")
        con.execute("PRAGMA journal_mode=WAL")


def _copy_table(con: sqlite3.Connection, table) -> None:
    there = {r[1] for r in con.execute(f"PRAGMA live.table_info({table.name})")}
    columns = ", ".join(c for c in table.column_names if c in there)
    select = f"INSERT INTO main.{table.name} ({columns}) SELECT {columns} FROM live.{table.name}"
    if table.append_only:
        (key,) = table.primary_key
        con.execute(f"{select} WHERE {key} > (SELECT coalesce(max({key}), -1) FROM main.{table.name}) ORDER BY {key}")
    else:
        con.execute(f"DELETE FROM main.{table.name}")
        con.execute(f"{select} ORDER BY rowid")


def _swap(tmp: Path, live: Path) -> None:
    """As build-store's swap: the old file's WAL merged and removed, then the new file renamed into place."""
    try:
        with closing(sqlite3.connect(live, timeout=30)) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.DatabaseError:
        pass
    for suffix in ("-wal", "-shm"):
        Path(str(live) + suffix).unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):  # the copy was checkpointed when its connection closed
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    os.replace(tmp, live)


def _unlink_sqlite(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
