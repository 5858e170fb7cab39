"""The signed-in user, kept in Flask's signed HttpOnly session cookie: never in the URL or a browser store."""

from __future__ import annotations

import time

from flask import session


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
