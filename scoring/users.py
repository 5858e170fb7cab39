"""API users (scrypt-hashed passwords, roles), kept in the client store (a kept table: a SQLite file's, or the
PostgreSQL store's every node reads); the audit log is in scoring.audit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
from datetime import datetime, timezone

from scoring.store import describe_location
from scoring.store.connection import connect, execute, kept_write

ROLES = ("manager", "customer", "service")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_MIN_PASSWORD = 12
_MIN_STRENGTH = 3  # zxcvbn score 0..4: 3 resists an offline guess of a slow hash; 0-2 are common or near-common
_MAX_PASSWORD = 1024
# scrypt cost: ~16 MiB and a few tens of ms per check, which slows guessing without hurting a sign-in
_N, _R, _P = 2**14, 8, 1


def _where(store) -> str:
    """The store named for a message: a file's path, never a database URL."""
    return describe_location(getattr(store, "path", store))


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024, dklen=32)


def _encode(password: str) -> str:
    salt = secrets.token_bytes(16)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(_hash(password, salt)).decode()}"


def _verify(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        salt_b, digest_b = base64.b64decode(salt), base64.b64decode(digest)
        computed = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt_b,
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
            dklen=len(digest_b),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, digest_b)


_DUMMY_HASH = None


def _dummy_hash() -> str:
    """A real hash to check unknown usernames against, so timing does not reveal which usernames exist."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _encode(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def _check_username(username) -> str:
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise ValueError("username must be 1 to 64 characters among letters, digits and _ . @ -")
    return username


def check_password(username: str, password) -> None:
    """The password policy of add_user and set_password: ValueError saying what to change."""
    if not isinstance(password, str) or not (_MIN_PASSWORD <= len(password) <= _MAX_PASSWORD):
        raise ValueError(f"password must be {_MIN_PASSWORD} to {_MAX_PASSWORD} characters long")
    if isinstance(username, str) and username.lower() in password.lower():
        raise ValueError("password must not contain the username")
    from zxcvbn import zxcvbn  # its bundled lists of common passwords, words and names work offline

    verdict = zxcvbn(password[:100], user_inputs=[username])  # its cost grows with length; 100 is plenty
    if verdict["score"] < _MIN_STRENGTH:
        hint = verdict["feedback"].get("warning") or "it is too easy to guess"
        raise ValueError(f"password refused: {hint.rstrip('.')}; use a longer passphrase of uncommon words")


def _new_epoch() -> int:
    """A random epoch: a token carries it, so a changed (or removed and re-added) user never revives old tokens."""
    return secrets.randbits(62) + 1


def add_user(store, username: str, password: str, role: str, client_id: int | None = None) -> dict:
    """Add a user; customers must name a client id that exists in the store, other roles must not."""
    _check_username(username)
    check_password(username, password)
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    con = connect(store)
    if role == "customer":
        if client_id is None:
            raise ValueError("a customer needs --client-id: the client file they may see")
        try:
            client_id = int(client_id)
        except (TypeError, ValueError):
            raise ValueError(f"client id must be an integer, got {client_id!r}") from None
        try:
            known = execute(con, "SELECT 1 FROM scores WHERE client_id = ?", (client_id,)).fetchone()
        except sqlite3.OperationalError:
            known = None
        if known is None:
            raise ValueError(f"client id {client_id} is not in the store {_where(store)}")
    elif client_id is not None:
        raise ValueError(f"only customers are bound to a client id; a {role} must not have one")
    try:
        with kept_write(store) as con:
            execute(
                con,
                "INSERT INTO users (username, password_hash, role, client_id, created_at, token_epoch) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (username, _encode(password), role, client_id, _now(), _new_epoch()),
            )
    except sqlite3.IntegrityError:
        raise ValueError(f"user {username!r} already exists; remove it first to change it") from None
    return {"username": username, "role": role, "client_id": client_id}


def set_password(store, username: str, password: str) -> None:
    """Change a password (same policy as add_user); every token issued before stops working at once."""
    _check_username(username)
    check_password(username, password)
    with kept_write(store) as con:
        cur = execute(
            con,
            "UPDATE users SET password_hash = ?, token_epoch = ? WHERE username = ?",
            (_encode(password), _new_epoch(), username),
        )
    if cur.rowcount == 0:
        raise ValueError(f"no user named {username!r}")


def revoke_tokens(store, username: str) -> None:
    """Sign the user out everywhere: tokens carry the epoch, and every worker reads it with the user row."""
    with kept_write(store) as con:
        execute(con, "UPDATE users SET token_epoch = ? WHERE username = ?", (_new_epoch(), username))


def remove_user(store, username: str) -> None:
    _check_username(username)
    with kept_write(store) as con:
        cur = execute(con, "DELETE FROM users WHERE username = ?", (username,))
    if cur.rowcount == 0:
        raise ValueError(f"no user named {username!r}")


def list_users(store) -> list[dict]:
    rows = execute(connect(store), "SELECT username, role, client_id FROM users ORDER BY username").fetchall()
    return [{"username": u, "role": r, "client_id": c} for u, r, c in rows]


def get_user(store, username: str) -> dict | None:
    if not isinstance(username, str) or not _USERNAME.match(username):
        return None
    row = execute(
        connect(store), "SELECT username, role, client_id, token_epoch FROM users WHERE username = ?", (username,)
    ).fetchone()
    return None if row is None else {"username": row[0], "role": row[1], "client_id": row[2], "epoch": row[3]}


def authenticate(store, username: str, password: str) -> dict | None:
    """{username, role, client_id, epoch} if the password matches, else None (same work whether the user exists)."""
    row = None
    if isinstance(username, str) and _USERNAME.match(username):
        row = execute(
            connect(store),
            "SELECT username, role, client_id, password_hash, token_epoch FROM users WHERE username = ?",
            (username,),
        ).fetchone()
    if not isinstance(password, str) or len(password) > _MAX_PASSWORD:
        password = ""
    ok = _verify(password, row[3] if row else _dummy_hash())
    if row is None or not ok:
        return None
    return {"username": row[0], "role": row[1], "client_id": row[2], "epoch": row[4]}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
