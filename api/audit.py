"""Appending who read or scored what to the durable audit log."""

from __future__ import annotations

from flask import current_app, g, request

from scoring import users


def audit(client_id, outcome: str) -> None:
    user = getattr(g, "user", None) or {}
    users.append_audit(
        current_app.config["STORE_PATH"],
        user=user.get("username"),
        role=user.get("role"),
        client_id=client_id,
        route=f"{request.method} {request.path}",
        outcome=outcome,
        model_version=current_app.config["BUNDLE"].version,
    )
