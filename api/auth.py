"""Who may see what: signed expiring tokens, roles, and the one rule that a customer sees only their own file."""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict

from flask import Blueprint, current_app, g, jsonify, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from api.errors import ApiError, not_found
from api.io import json_body
from scoring import signin_limits, users
from scoring.config import settings

bp = Blueprint("auth", __name__)
bp.record_once(lambda state: state.app.extensions.setdefault("verified_tokens", _VerifiedTokens()))
_SALT = "scoring-api-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue_token(user: dict) -> str:
    # "e": the user's token epoch; a password change, a removal or a sign-out moves it, which revokes the token
    return _serializer().dumps(
        {"u": user["username"], "r": user["role"], "c": user.get("client_id"), "e": user["epoch"]}
    )


class _VerifiedTokens:
    """Tokens whose signature was already checked, with their signing time: an HMAC and a decode saved per request.

    Only the signature check is cached; expiry is checked on every use, and the user on every request.
    """

    def __init__(self, size: int = 4096):
        self._size, self._lock, self._items = size, threading.Lock(), OrderedDict()

    def get(self, token: str):
        with self._lock:
            item = self._items.get(token)
            if item is not None:
                self._items.move_to_end(token)
            return item

    def put(self, token: str, claims, signed_at: float) -> None:
        with self._lock:
            self._items[token] = (claims, signed_at)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _verified_claims(token: str):
    ttl = current_app.config["TOKEN_TTL"]
    cache = current_app.extensions["verified_tokens"]
    hit = cache.get(token)
    if hit is None:
        try:
            claims, signed = _serializer().loads(token, max_age=ttl, return_timestamp=True)
        except SignatureExpired:
            raise ApiError(401, "token_expired", "token expired; sign in again") from None
        except BadSignature:
            raise ApiError(401, "invalid_token", "token is invalid or was not issued by this service") from None
        hit = (claims, signed.timestamp())
        cache.put(token, *hit)
    claims, signed_at = hit
    if time.time() - signed_at > ttl:
        raise ApiError(401, "token_expired", "token expired; sign in again")
    return claims


def _current_user() -> dict:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(401, "missing_token", "Authorization: Bearer <token> header is required")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "invalid_token", "Authorization header must be 'Bearer <token>'")
    data = _verified_claims(token.strip())
    if not isinstance(data, dict) or not {"u", "r"} <= set(data):
        raise ApiError(401, "invalid_token", "token is invalid or was not issued by this service")
    # a removed user, one whose role changed, or whose tokens were revoked, loses access at once, on every worker
    user = users.get_user(current_app.config["STORE_PATH"], data["u"])
    if user is None or user["role"] != data["r"] or user.get("client_id") != data.get("c"):
        raise ApiError(401, "invalid_token", "token no longer matches an active user; sign in again")
    if user["epoch"] != data.get("e"):
        raise ApiError(401, "token_revoked", "token was revoked (sign-out or password change); sign in again")
    return user


def require(*roles: str):
    """Route decorator: a valid token of one of `roles`; the user lands in flask.g.user."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            g.user = _current_user()
            if g.user["role"] not in roles:
                raise ApiError(403, "forbidden", f"role {g.user['role']} may not use this route")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def check_client_access(client_id) -> int:
    """The client id as int if the signed-in user may see that client, else the same 404 as an unknown id."""
    from api.audit import audit

    user = g.user
    # ASCII digits only: int() would also read " 1\n", "1_0" or other scripts' digits as an id
    if isinstance(client_id, str) and not (client_id.isascii() and client_id.isdigit() and len(client_id) <= 19):
        raise not_found()
    try:
        cid = int(client_id)
    except (TypeError, ValueError):
        raise not_found() from None
    if not 0 <= cid < 2**63:  # not a storable id: nobody's file
        raise not_found()
    if user["role"] == "manager":
        return cid
    if user["role"] == "customer" and user.get("client_id") == cid:
        return cid
    audit(cid, "denied")
    raise not_found()


def sees_individual_rows() -> bool:
    """Customers get population views only as aggregates, never other clients' rows."""
    return g.user["role"] == "manager"


@bp.post("/api/v1/auth/token")
def token():
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", "body must be a JSON object with username and password")
    fields = [
        {"field": f, "message": "required string"}
        for f in ("username", "password")
        if not isinstance(body.get(f), str) or not body.get(f)
    ]
    if fields:
        raise ApiError(422, "invalid_body", "username and password are required", fields)
    store, username, address = current_app.config["STORE_PATH"], body["username"][:200], client_address()
    wait = signin_limits.retry_after(store, username, address)  # before scrypt: a refused flood costs little
    if wait:
        _tarpit(wait)
        raise ApiError(
            429,
            "too_many_attempts",
            f"too many sign-in attempts; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    user = users.authenticate(store, body["username"], body["password"])
    if user is None:
        signin_limits.record_failure(store, username, address)
        raise ApiError(401, "bad_credentials", "wrong username or password")
    signin_limits.record_success(store, username, address)
    return jsonify(
        {
            "access_token": issue_token(user),
            "token_type": "Bearer",
            "expires_in": current_app.config["TOKEN_TTL"],
            "role": user["role"],
            "client_id": user.get("client_id"),
            "username": user["username"],
        }
    )


@bp.post("/api/v1/auth/logout")
def logout():
    """Sign out everywhere: every token of the caller stops working at once, on every worker."""
    user = _current_user()
    users.revoke_tokens(current_app.config["STORE_PATH"], user["username"])
    return jsonify({"revoked": True, "username": user["username"]})


def _tarpit(wait: int) -> None:
    """Hold a refused sign-in for SCORING_SIGNIN_TARPIT seconds (1) before answering, when the worker is gevent's.

    A flood on a few connections then makes a few attempts a second instead of hundreds, and leaves the CPU to
    other users; in gevent the sleep only parks this connection's greenlet. In a sync or thread worker it would
    hold a process or thread per attacker connection, so there the answer is immediate.
    """
    try:
        import gevent
        from gevent import monkey
    except ImportError:
        return
    if monkey.is_module_patched("socket"):  # a gevent worker (which leaves `time` unpatched: deploy/gunicorn.conf.py)
        gevent.sleep(min(settings().signin_tarpit, wait))


def client_address() -> str:
    """The caller's address, for the sign-in limits: the TCP peer, unless the peer is a trusted proxy.

    From a peer in SCORING_TRUSTED_PROXIES (default the loopback: a proxy or the dashboard on this host), the
    rightmost X-Forwarded-For entry that is not itself a trusted proxy, i.e. the first address no one of ours
    vouches for; earlier entries may be forged by the client. `none` trusts no peer: the header is then ignored.
    """
    peer = request.remote_addr or "unknown"
    trusted = settings().trusted_proxies
    if peer not in trusted:
        return peer
    chain = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    return next((hop[:100] for hop in reversed(chain) if hop not in trusted), peer)
