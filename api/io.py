"""Reading request input strictly: JSON bodies and bounded query parameters, each failure a clear 4xx."""

from __future__ import annotations

from flask import request

from api.errors import ApiError


def json_body():
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid_json", "body is not valid JSON")
    return data


def int_arg(name: str, default: int | None, low: int, high: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            422, "invalid_query", f"{name} must be an integer", [{"field": name, "message": "must be an integer"}]
        ) from None
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ApiError(
            422, "invalid_query", f"{name} must be {bounds}", [{"field": name, "message": f"must be {bounds}"}]
        )
    return value


def lang_arg() -> str:
    lang = request.args.get("lang", "en")
    if lang not in ("en", "fr"):
        raise ApiError(
            422, "invalid_query", "lang must be en or fr", [{"field": "lang", "message": "must be en or fr"}]
        )
    return lang


def choice_arg(name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if raw not in choices:
        raise ApiError(
            422,
            "invalid_query",
            f"{name} must be one of {', '.join(choices)}",
            [{"field": name, "message": f"must be one of {', '.join(choices)}"}],
        )
    return raw
