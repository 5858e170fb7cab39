"""JSON errors {"error": {"code", "message", "fields"?}} for every failure; never a trace to the caller."""

from __future__ import annotations

import logging
import os
import secrets
import traceback

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("api")


class ApiError(Exception):
    """An error the caller can act on: HTTP status, stable code, message, optional per-field problems."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields
        self.headers = headers or {}  # e.g. Retry-After on a 429


def not_found(what: str = "client") -> ApiError:
    """Same answer for an unknown id and an id the caller may not see: nothing leaks which ids exist."""
    return ApiError(404, "not_found", f"{what} not found")


def error_body(code: str, message: str, fields: list[dict] | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        from api.audit import audit_refusal

        audit_refusal(exc.status, exc.code)  # 401/403/404/429 on any route, unless the route recorded it already
        return jsonify(error_body(exc.code, exc.message, exc.fields)), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        codes = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "body_too_large",
            415: "unsupported_media_type",
        }
        messages = {
            404: "no such route",
            405: "method not allowed on this route",
            413: f"request body larger than {app.config['MAX_CONTENT_LENGTH']} bytes",
        }
        code = codes.get(exc.code, "http_error")
        response = jsonify(error_body(code, messages.get(exc.code, exc.description or exc.name)))
        response.status_code = exc.code or 500
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        from api.availability import failure_reason, unavailable

        reason = failure_reason(exc)
        if reason:  # the store went away or broke under a running worker: say so, never a 500
            log.error("store unavailable: %s (%s on %s)", reason, type(exc).__name__, _route())
            return _api_error(unavailable(reason))
        # The type, the place in our code, the route and a reference only: an exception's message and a traceback's
        # values may hold an applicant's amounts (DuckDB and pandas quote them), a password or a token.
        rid = g.get("request_id") or secrets.token_hex(8)  # api/request_id.py, echoed as X-Request-ID
        log.error("unexpected error %s at %s on %s (request %s)", type(exc).__name__, _where(exc), _route(), rid)
        response = jsonify(error_body("internal_error", f"internal error; reference {rid}"))
        response.headers["X-Request-ID"] = rid
        return response, 500


def _route() -> str:
    """The URL rule (e.g. GET /api/v1/clients/<client_id>), never the raw path or query."""
    rule = request.url_rule
    return f"{request.method} {rule.rule if rule is not None else '(no route)'}"


def _where(exc: BaseException) -> str:
    """File, line and function where `exc` was raised: enough to find the bug, no value of the request."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}site-packages{os.sep}" not in f.filename] or frames
    if not ours:
        return "(unknown)"
    last = ours[-1]
    return (
        f"{os.path.basename(os.path.dirname(last.filename))}/{os.path.basename(last.filename)}:{last.lineno} "
        f"in {last.name}"
    )
