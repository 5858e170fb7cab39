"""A request id on every request: the caller's (or the proxy's) X-Request-ID when it is a plain token, else a new
one; kept in flask.g, echoed as a response header, and what the shadow score log names a request by."""

from __future__ import annotations

import re
import secrets

from flask import Flask, g, request

HEADER = "X-Request-ID"
# a token, never free text: the id lands in a table, and a caller's text must not carry personal data into it
_ACCEPTED = re.compile(r"[A-Za-z0-9-]{8,64}\Z")


def request_id() -> str:
    """This request's id (a new one outside a request's before_request, e.g. in error handling)."""
    if "request_id" not in g:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _ACCEPTED.match(given) else secrets.token_hex(16)
    return g.request_id


def register(app: Flask) -> None:
    @app.before_request
    def _take_request_id():
        request_id()

    @app.after_request
    def _echo_request_id(response):
        response.headers.setdefault(HEADER, request_id())
        return response
