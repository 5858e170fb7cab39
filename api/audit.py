"""Appending who read, scored or was refused what to the durable audit log: one entry per request at most."""

from __future__ import annotations

import logging

import orjson
from flask import current_app, g, request

from api.audit_commit import GroupCommit
from scoring import audit as audit_log

log = logging.getLogger("api")
REFUSALS = (401, 403, 404, 429)  # every such answer, on any route, leaves an entry


def _route() -> str:
    """The URL rule, never the raw path: ids go in their own column and no caller-chosen text reaches the log."""
    rule = request.url_rule
    return f"{request.method} {rule.rule if rule is not None else '(no route)'}"


def _append(user: str | None, role: str | None, client_id, outcome: str) -> None:
    g.audited = True
    bundle = current_app.config.get("BUNDLE")
    entry = audit_log.entry(
        user=user,
        role=role,
        client_id=client_id,
        route=_route(),
        outcome=outcome,
        model_version=getattr(bundle, "version", None),
    )
    # committed with the worker's other requests' entries (api/audit_commit.py)
    current_app.extensions["audit_commit"].append(entry)


def register(app) -> None:
    """The app's queue of audit entries: one per worker, as the app is."""
    app.extensions["audit_commit"] = GroupCommit(app.config["STORE_PATH"])


def audit(client_id, outcome: str) -> None:
    """Record that the signed-in user was shown (or refused) `client_id`'s data; raises if it cannot be recorded."""
    user = g.get("user") or {}
    _append(user.get("username"), user.get("role"), client_id, outcome)


def audited_read(client_id, fetch, outcome="ok"):
    """`fetch()`'s answer about `client_id`, every way it can end audited: a refusal it raises (ApiError, e.g. a 409)
    is recorded and raised again, None is recorded as not_found and answered 404, anything else is recorded as
    `outcome` (a text, or a function of the answer) and returned."""
    from api.errors import ApiError, not_found

    try:
        found = fetch()
    except ApiError as exc:
        audit(client_id, f"refused {exc.status} {exc.code}")
        raise
    if found is None:
        audit(client_id, "not_found")
        raise not_found()
    audit(client_id, outcome(found) if callable(outcome) else outcome)
    return found


def _claimed_username() -> str | None:
    """The username a sign-in attempt named (never its password), read back from the already-read body."""
    if request.endpoint != "auth.token" or request.mimetype != "application/json":
        return None
    try:
        body = orjson.loads(request.get_data(cache=True))
    except Exception:  # noqa: BLE001 - an unreadable body names nobody
        return None
    name = body.get("username") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


def audit_refusal(status: int, code: str) -> None:
    """Called by the error handler: a refusal not yet recorded by the route gets its entry, with the id asked for."""
    if status not in REFUSALS or g.get("audited"):
        return
    user = g.get("user") or {}
    asked = (request.view_args or {}).get("client_id", request.args.get("client_id"))
    try:
        _append(user.get("username") or _claimed_username(), user.get("role"), asked, f"refused {status} {code}")
    except Exception:  # noqa: BLE001 - the refusal is answered anyway; the failure is logged without request data
        log.exception("audit entry of a refusal could not be written")
