"""JSON errors {"error": {"code", "message", "fields"?}} for every failure; never a trace to the caller."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("api")


class ApiError(Exception):
    """An error the caller can act on: HTTP status, stable code, message, optional per-field problems."""

    def __init__(self, status: int, code: str, message: str, fields: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
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
        # logged with the route only: request bodies and ids may hold personal data
        log.exception("unexpected error: %s", type(exc).__name__)
        return jsonify(error_body("internal_error", "internal error; it has been logged")), 500
