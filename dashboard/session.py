"""The signed-in user, kept in an encrypted HttpOnly session cookie: never in the URL, a browser store, or readable."""

from __future__ import annotations

import base64
import hmac
import secrets
import time

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature


class _FernetSerializer:
    """Encrypts and authenticates the session (Fernet: AES-128-CBC + HMAC-SHA256), so the API token is unreadable."""

    def __init__(self, secret: str | bytes):
        raw = secret.encode() if isinstance(secret, str) else secret
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dashboard session cookie").derive(raw)
        self._fernet, self._json = Fernet(base64.urlsafe_b64encode(key)), TaggedJSONSerializer()

    def dumps(self, value) -> str:
        return self._fernet.encrypt(self._json.dumps(value).encode()).decode("ascii")

    def loads(self, value, max_age=None):
        try:
            plain = self._fernet.decrypt(value.encode() if isinstance(value, str) else value, ttl=max_age)
        except InvalidToken:
            raise BadSignature("session cookie is not ours") from None  # Flask then starts an empty session
        return self._json.loads(plain.decode())


class EncryptedSessions(SecureCookieSessionInterface):
    """Flask's cookie session with the cookie encrypted rather than only signed."""

    def get_signing_serializer(self, app):
        return _FernetSerializer(app.secret_key) if app.secret_key else None


def csrf_token() -> str:
    """This browser's anti-forgery token, put in the sign-in form and checked when it is posted."""
    if not session.get("csrf"):
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_valid(sent) -> bool:
    expected = session.get("csrf")
    return bool(expected) and isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


def expired() -> bool:
    return bool(session.get("token")) and time.time() >= session.get("expires_at", 0)


def user() -> dict | None:
    if not session.get("token") or expired():
        return None
    return {
        "token": session["token"],
        "role": session.get("role"),
        "client_id": session.get("client_id"),
        "username": session.get("username"),
    }


def lang() -> str:
    return session.get("lang", "en") if session.get("lang") in ("en", "fr") else "en"


def allowed_client(requested) -> int | None:
    """The client a view may show: a customer's own id whatever was asked; a manager's choice otherwise."""
    current = user()
    if current is None:
        return None
    if current["role"] == "customer":
        return current["client_id"]
    try:
        return int(requested)
    except (TypeError, ValueError):
        return None
