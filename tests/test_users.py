"""Users (hashed passwords, roles, customer binding) and the append-only, crash-durable audit log."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from scoring import users

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def store(tmp_path) -> Path:
    """A store file with the client table users.py checks customers against (two clients)."""
    path = tmp_path / "store.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE scores (client_id INTEGER PRIMARY KEY, pd REAL, grade TEXT, decision TEXT, "
                "raw_score REAL)")
    con.executemany("INSERT INTO scores VALUES (?, 0.1, 'G6', 'decline', -2.0)", [(100002,), (100003,)])
    con.commit()
    con.close()
    return path


def test_add_list_get_remove(store):
    users.add_user(store, "alice", "correct horse", "manager")
    users.add_user(store, "bob", "battery staple", "customer", client_id=100002)
    users.add_user(store, "crm", "service-secret", "service")
    assert users.list_users(store) == [
        {"username": "alice", "role": "manager", "client_id": None},
        {"username": "bob", "role": "customer", "client_id": 100002},
        {"username": "crm", "role": "service", "client_id": None},
    ]
    assert users.get_user(store, "bob").items() >= {"username": "bob", "role": "customer", "client_id": 100002}.items()
    assert users.get_user(store, "nobody") is None
    users.remove_user(store, "bob")
    assert users.get_user(store, "bob") is None
    with pytest.raises(ValueError, match="no user named 'bob'"):
        users.remove_user(store, "bob")


def test_authenticate(store):
    users.add_user(store, "alice", "correct horse", "manager")
    assert users.authenticate(store, "alice", "correct horse").items() >= {"username": "alice", "role": "manager",
                                                                            "client_id": None}.items()
    assert users.authenticate(store, "alice", "correct horsE") is None
    assert users.authenticate(store, "nobody", "correct horse") is None
    assert users.authenticate(store, "alice", None) is None
    assert users.authenticate(store, "'; DROP TABLE users; --", "x") is None
    assert users.get_user(store, "alice") is not None


def test_passwords_are_salted_scrypt_hashes(store):
    users.add_user(store, "a1", "same pass phrase", "manager")
    users.add_user(store, "a2", "same pass phrase", "manager")
    con = sqlite3.connect(store)
    hashes = [h for (h,) in con.execute("SELECT password_hash FROM users ORDER BY username")]
    con.close()
    assert all(h.startswith("scrypt$") and "same pass phrase" not in h for h in hashes)
    assert hashes[0] != hashes[1]  # per-user salt


@pytest.mark.parametrize(("args", "message"), [
    (("eve", "long enough phrase", "admin"), "unknown role 'admin'"),
    (("eve", "long enough phrase", "customer"), "needs --client-id"),
    (("eve", "long enough phrase", "customer", 999), "client id 999 is not in the store"),
    (("eve", "long enough phrase", "manager", 100002), "only customers are bound to a client id"),
    (("eve", "short", "manager"), "password must be"),
    (("bad name!", "long enough phrase", "manager"), "username must be"),
    (("", "long enough phrase", "manager"), "username must be"),
])
def test_bad_users_are_refused_with_a_clear_message(store, args, message):
    with pytest.raises(ValueError, match=message):
        users.add_user(store, *args[:3], client_id=args[3] if len(args) > 3 else None)
    assert users.list_users(store) == []


def test_duplicate_user(store):
    users.add_user(store, "alice", "correct horse", "manager")
    with pytest.raises(ValueError, match="already exists"):
        users.add_user(store, "alice", "another pass phrase", "service")
    assert users.authenticate(store, "alice", "correct horse")


def test_missing_store(tmp_path):
    with pytest.raises(FileNotFoundError, match="build-store"):
        users.list_users(tmp_path / "absent.sqlite")


def test_audit_append_read_export(store, tmp_path):
    users.append_audit(store, user="alice", role="manager", client_id=100002, route="/api/v1/clients/<id>",
                       outcome="200", model_version="v1")
    users.append_audit(store, user=None, role=None, client_id="abc", route="/api/v1/clients/<id>/score",
                       outcome="401", model_version="v1")
    entries = users.read_audit(store)
    assert [e["outcome"] for e in entries] == ["200", "401"]
    assert entries[0]["username"] == "alice" and entries[0]["client_id"] == 100002
    assert entries[1]["client_id"] is None
    assert entries[0]["time"].endswith("+00:00")  # UTC, ISO 8601
    out = tmp_path / "audit" / "audit.csv"
    assert users.export_audit(store, out) == 2
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["route"] for r in rows] == ["/api/v1/clients/<id>", "/api/v1/clients/<id>/score"]
    assert set(rows[0]) == set(users.AUDIT_COLUMNS)


def test_audit_is_append_only(store):
    users.append_audit(store, user="alice", role="manager", client_id=1, route="r", outcome="200", model_version="v")
    con = sqlite3.connect(store)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit SET outcome = '403'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit")
    con.close()
    assert users.read_audit(store)[0]["outcome"] == "200"


def test_audit_waits_for_another_writer_then_appends(store):
    """A writer holding the lock (another worker mid-commit) delays an append; it neither fails nor is lost."""
    users.append_audit(store, user="a", role="manager", client_id=1, route="/first", outcome="ok", model_version="v")
    other = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    releaser.start()
    started = time.monotonic()
    users.append_audit(store, user="a", role="manager", client_id=1, route="/second", outcome="ok", model_version="v")
    assert time.monotonic() - started >= 0.25
    releaser.join()
    other.close()
    entries = users.read_audit(store)
    assert [e["route"] for e in entries] == ["/first", "/second"]
    assert entries[1]["id"] > entries[0]["id"]


def test_a_lock_never_released_gives_a_clear_error(store):
    users.append_audit(store, user="a", role="manager", client_id=1, route="/x", outcome="ok", model_version="v")
    con = users._connect(store)
    other = sqlite3.connect(store, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            users._retry(lambda: con.execute("INSERT INTO audit (time, route, outcome) VALUES ('t', 'r', 'o')"),
                         wait_seconds=0.2)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [e["route"] for e in users.read_audit(store)] == ["/x"]


def test_audit_survives_a_hard_crash(store):
    """A process killed right after append_audit returns (no close, no exit handlers) leaves its entry behind."""
    code = textwrap.dedent(f"""
        import os
        from scoring import users
        users.append_audit({str(store)!r}, user="alice", role="manager", client_id=100002, route="/x",
                           outcome="200", model_version="v1")
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    assert [e["route"] for e in users.read_audit(store)] == ["/x"]
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_no_password_reaches_the_audit_or_user_listing(store, tmp_path):
    users.add_user(store, "alice", "very secret pw", "manager")
    users.append_audit(store, user="alice", role="manager", client_id=None, route="/api/v1/auth/token",
                       outcome="200", model_version="v1")
    out = tmp_path / "audit.csv"
    users.export_audit(store, out)
    assert "very secret pw" not in out.read_text()
    assert "very secret pw" not in repr(users.list_users(store))


def test_audit_sync_mode_is_validated(monkeypatch):
    from scoring.users import _audit_sync

    assert _audit_sync() == "NORMAL"
    monkeypatch.setenv("SCORING_AUDIT_SYNC", "full")
    assert _audit_sync() == "FULL"
    monkeypatch.setenv("SCORING_AUDIT_SYNC", "sometimes")
    with pytest.raises(ValueError, match="SCORING_AUDIT_SYNC"):
        _audit_sync()
