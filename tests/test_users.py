"""Users (hashed passwords, roles, customer binding) and the store connection helper; the audit log: test_audit.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from scoring import users

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def store(scores_only_store) -> Path:
    return scores_only_store


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
    assert (
        users.authenticate(store, "alice", "correct horse").items()
        >= {"username": "alice", "role": "manager", "client_id": None}.items()
    )
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("eve", "long enough phrase", "admin"), "unknown role 'admin'"),
        (("eve", "long enough phrase", "customer"), "needs --client-id"),
        (("eve", "long enough phrase", "customer", 999), "client id 999 is not in the store"),
        (("eve", "long enough phrase", "manager", 100002), "only customers are bound to a client id"),
        (("eve", "short", "manager"), "password must be"),
        (("bad name!", "long enough phrase", "manager"), "username must be"),
        (("", "long enough phrase", "manager"), "username must be"),
    ],
)
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


def test_audit_sync_mode_is_validated(monkeypatch):
    from scoring.store.connection import audit_sync

    assert audit_sync() == "NORMAL"
    monkeypatch.setenv("SCORING_AUDIT_SYNC", "full")
    assert audit_sync() == "FULL"
    monkeypatch.setenv("SCORING_AUDIT_SYNC", "sometimes")
    with pytest.raises(ValueError, match="SCORING_AUDIT_SYNC"):
        audit_sync()
