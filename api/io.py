"""Reading request input strictly: JSON bodies and bounded query parameters, each failure a clear 4xx."""

from __future__ import annotations

import re

import orjson
from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from api.errors import ApiError


def json_body():
    """The parsed body: strict JSON (no NaN or Infinity), nesting bounded, size limit also on chunked bodies."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    try:
        raw = request.get_data(cache=True)
        # a chunked body has no length: Werkzeug stops reading at the limit, so look for one byte more
        if limit and request.content_length is None and len(raw) >= limit and request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    except RequestEntityTooLarge:
        raise ApiError(413, "body_too_large", f"request body larger than {limit} bytes") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        detail = "nested deeper than 1024 levels" if "recursion" in str(exc) else "not valid JSON"
        raise ApiError(400, "invalid_json", f"body is {detail} (NaN and Infinity are not JSON numbers)") from None


def applicant_body() -> tuple[dict, dict]:
    """The posted applicant (application, history), validated by scoring.applicant_schema: 422 naming each invalid
    field."""
    from scoring.applicant_schema import ApplicantError, validate_applicant

    try:
        return validate_applicant(json_body())
    except ApplicantError as exc:
        raise ApiError(422, "invalid_applicant", "the applicant has invalid fields", exc.problems) from None


def _query_error(problems: list[dict]) -> ApiError:
    names = ", ".join(p["field"] for p in problems)
    return ApiError(422, "invalid_query", f"invalid query parameter(s): {names}", problems)


def int_arg(name: str, default: int | None, low: int, high: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _INTEGER.match(raw):  # int() would also take " 5", "+5" and "5_0", which the spec does not
        raise _query_error([{"field": name, "message": "must be an integer"}])
    value = int(raw)
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ApiError(
            422, "invalid_query", f"{name} must be {bounds}", [{"field": name, "message": f"must be {bounds}"}]
        )
    return value


def number_arg(name: str, low: float, high: float) -> float | None:
    """A finite decimal number from `low` to `high` (the spec's number check: io.check_query tests integers only)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not _DECIMAL.match(raw):  # float() would also take "nan", "inf", " 5" and "1_0"
        raise _query_error([{"field": name, "message": "must be a number"}])
    value = float(raw)
    if not low <= value <= high:
        raise _query_error([{"field": name, "message": f"must be from {low:g} to {high:g}"}])
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
    if raw is None:
        return None
    if raw not in choices:
        raise ApiError(
            422,
            "invalid_query",
            f"{name} must be one of {', '.join(choices)}",
            [{"field": name, "message": f"must be one of {', '.join(choices)}"}],
        )
    return raw


# --- query parameters as the OpenAPI spec declares them: one check for every route -------------------------
_INTEGER = re.compile(r"-?[0-9]{1,19}\Z")
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?([eE][-+]?[0-9]{1,3})?\Z")
_RULE_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _declared(spec: dict, rule: str, method: str) -> dict[str, dict]:
    """Query parameters of one operation in `spec` (name -> parameter object); none for an undescribed route."""
    op = spec["paths"].get(_RULE_PARAM.sub(r"{\1}", rule), {}).get("get" if method == "head" else method) or {}
    return {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}


def _value_problem(raw: str, schema: dict) -> str | None:
    """What is wrong with one query value under its (simple) schema: integer bounds, enum, length, pattern."""
    if schema.get("type") == "integer":
        if not _INTEGER.match(raw):
            return "must be an integer"
        value, low, high = int(raw), schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be from {low} to {high}" if high is not None else f"must be at least {low}"
        return None
    if "enum" in schema and raw not in schema["enum"]:
        return f"must be one of {', '.join(schema['enum'])}"
    if len(raw) < schema.get("minLength", 0):
        return "required, not empty"
    if "maxLength" in schema and len(raw) > schema["maxLength"]:
        return f"at most {schema['maxLength']} characters"
    if "pattern" in schema and not re.search(schema["pattern"], raw):
        return f"must match {schema['pattern']}"
    return None


def check_query(declared: dict[str, dict]) -> None:
    """422 naming every unknown, repeated, missing or invalid query parameter, `declared` being the route's."""
    problems = []
    for name in request.args:
        if name not in declared:
            problems.append(
                {
                    "field": name,
                    "message": "unknown query parameter"
                    + (f" (expected {', '.join(declared)})" if declared else " (this route takes none)"),
                }
            )
        elif len(request.args.getlist(name)) > 1:
            problems.append({"field": name, "message": "given more than once"})
        elif (problem := _value_problem(request.args[name], declared[name].get("schema", {}))) is not None:
            problems.append({"field": name, "message": problem})
    problems += [
        {"field": n, "message": "required"} for n, p in declared.items() if p.get("required") and n not in request.args
    ]
    if problems:
        raise _query_error(problems)


def register(app: Flask, spec: dict) -> None:
    """Every route takes exactly the query parameters its OpenAPI operation declares, valid as declared."""
    declared: dict[tuple[str, str], dict] = {}

    @app.before_request
    def _query_as_declared():
        if request.url_rule is None or request.method == "OPTIONS":
            return
        key = (request.url_rule.rule, request.method.lower())
        if key not in declared:
            declared[key] = _declared(spec, *key)
        check_query(declared[key])
