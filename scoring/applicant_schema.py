"""Validation of new applicants as posted (API) or read from a file (verify): Kaggle field names and types,
plausible values, each problem named by field.

One table of field rules serves both the validation (pydantic, strict) and the OpenAPI description, so what
the spec allows is what the API accepts.
"""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model

from scoring.tables import NO_DATE_DAYS, SCHEMAS

MAX_HISTORY_ROWS = 5000
REQUIRED = ("AMT_INCOME_TOTAL", "AMT_CREDIT", "DAYS_BIRTH")
MAGNITUDE = 1e15  # beyond any Kaggle field; integers this size are still exact as float64
MAX_TEXT = 200  # the longest Kaggle category is under 60 characters
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"  # no control characters (NUL, line breaks...) in category values
_AGE = (-43830, -6575)  # days before the application: 18 to 120 years
# application field -> (minimum, maximum, minimum excluded, maximum excluded); other numbers: +-MAGNITUDE
RANGES = {
    **{f: (0, 1e10, True, True) for f in ("AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY")},
    "AMT_GOODS_PRICE": (0, 1e10, False, True),
    "DAYS_BIRTH": (*_AGE, False, False),
    "DAYS_EMPLOYED": (_AGE[0], NO_DATE_DAYS, False, False),  # and <= 0 unless 365243 (_plausibility)
    **{f: (0, 1, False, False) for f in ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3")},
    **{f: (0, 30, False, False) for f in ("CNT_CHILDREN", "CNT_FAM_MEMBERS")},
}
_DEFAULT_RANGE = (-MAGNITUDE, MAGNITUDE, False, False)
# day and month counts are relative to the application: beyond a thousand years they are no date at all, and the
# feature SQL orders records by them with integer arithmetic that must not overflow
_BY_PREFIX = {"DAYS_": (-400_000, 400_000, False, False), "MONTHS_": (-12_000, 12_000, False, False)}
_MESSAGES = {"string_pattern_mismatch": "must not contain control characters"}


def _range(field: str, ranges: dict) -> tuple:
    if field in ranges:
        return ranges[field]
    return next((r for prefix, r in _BY_PREFIX.items() if field.startswith(prefix)), _DEFAULT_RANGE)


def _type(kind: str, field: str, ranges: dict):
    if kind == "str":
        return Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=TEXT_PATTERN)]
    low, high, low_open, high_open = _range(field, ranges)
    bounds = {"gt" if low_open else "ge": low, "lt" if high_open else "le": high}
    if kind == "int":
        return Annotated[int, Field(**bounds)]
    return Annotated[float, Field(allow_inf_nan=False, **bounds)]


def _model(table: str, ranges: dict) -> type[BaseModel]:
    fields = {c: (Optional[_type(k, c, ranges)], None) for c, k in SCHEMAS[table].items()}
    return create_model(f"{table}_record", __config__=ConfigDict(extra="forbid", strict=True), **fields)


APPLICATION = _model("application_test", RANGES)
HISTORY = {name: _model(name, {}) for name in SCHEMAS if not name.startswith("application")}


def _problems(prefix: str, exc: ValidationError) -> list[dict]:
    """pydantic's errors as {field, message}; never the input value."""
    return [
        {"field": ".".join([prefix, *(str(p) for p in e["loc"])]), "message": _MESSAGES.get(e["type"], e["msg"])}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def _plausibility(app: dict) -> list[dict]:
    """Rules on values that the field types cannot say: required fields, employment within the applicant's life."""
    problems = [{"field": f"application.{f}", "message": "required"} for f in REQUIRED if app.get(f) is None]
    employed, birth = app.get("DAYS_EMPLOYED"), app.get("DAYS_BIRTH")
    if employed is not None and employed != NO_DATE_DAYS:
        if employed > 0:
            message = "must be negative (days before the application) or 365243 for no employment"
        elif birth is not None and employed < birth:
            message = "employment cannot be longer than the applicant's life"
        else:
            message = None
        if message:
            problems.append({"field": "application.DAYS_EMPLOYED", "message": message})
    return problems


def _records(table: str, records) -> tuple[list[dict], list[dict]]:
    if table not in HISTORY:
        return [], [{"field": f"history.{table}", "message": f"unknown table (expected {', '.join(HISTORY)})"}]
    if not isinstance(records, list) or len(records) > MAX_HISTORY_ROWS:
        return [], [{"field": f"history.{table}", "message": f"must be a list of at most {MAX_HISTORY_ROWS} records"}]
    rows, problems = [], []
    for i, record in enumerate(records):
        try:
            rows.append(HISTORY[table].model_validate(record).model_dump())
        except ValidationError as exc:
            problems += _problems(f"history.{table}.{i}", exc)
    return rows, problems


def validate_applicant(body) -> tuple[dict, dict[str, list[dict]]]:
    """(application fields, history records per table), or ApplicantError naming every bad field.

    The one validation of both scoring routes: what passes here always turns into features.
    """
    if not isinstance(body, dict):
        raise ApplicantError([{"field": "", "message": "must be a JSON object with 'application'"}])
    problems = [
        {"field": k, "message": "unknown field (expected application, history)"}
        for k in body
        if k not in ("application", "history")
    ]
    application, history = {}, {}
    raw_app = body.get("application")
    if not isinstance(raw_app, dict):
        problems.append({"field": "application", "message": "required object of Kaggle application fields"})
    else:
        try:
            application = APPLICATION.model_validate(raw_app).model_dump(exclude_none=True)
            problems += _plausibility(application)
        except ValidationError as exc:
            problems += _problems("application", exc)
    raw_history = body.get("history")
    if raw_history is not None and not isinstance(raw_history, dict):
        problems.append({"field": "history", "message": "must be an object of table name -> list of records"})
    for table, records in (raw_history if isinstance(raw_history, dict) else {}).items():
        rows, bad = _records(table, records)
        problems += bad
        history[table] = rows
    if problems:
        raise ApplicantError(problems)
    return application, history


class ApplicantError(ValueError):
    def __init__(self, problems: list[dict]):
        super().__init__("; ".join(f"{p['field']}: {p['message']}" for p in problems))
        self.problems = problems


# --- the same rules as OpenAPI 3.0 schemas ---------------------------------------------------------------
def _spec_field(kind: str, field: str, ranges: dict, nullable: bool = True) -> dict:
    if kind == "str":
        out = {"type": "string", "maxLength": MAX_TEXT, "pattern": TEXT_PATTERN}
    else:
        low, high, low_open, high_open = _range(field, ranges)
        out = {"type": "integer" if kind == "int" else "number", "minimum": low, "maximum": high}
        out.update({"exclusiveMinimum": True} if low_open else {})
        out.update({"exclusiveMaximum": True} if high_open else {})
    if field == "DAYS_EMPLOYED":  # negative, or the pensioner marker
        out = {
            "anyOf": [{**out, "maximum": 0, "nullable": nullable}, {"type": "integer", "enum": [NO_DATE_DAYS]}],
            "description": "days before the application (negative, not before DAYS_BIRTH), "
            f"or {NO_DATE_DAYS} for no employment",
        }
    return {**out, "nullable": True} if nullable and "type" in out else out


def _spec_record(table: str, ranges: dict, required: tuple = ()) -> dict:
    props = {c: _spec_field(k, c, ranges, nullable=c not in required) for c, k in SCHEMAS[table].items()}
    out = {"type": "object", "additionalProperties": False, "properties": props}
    return {**out, "required": list(required)} if required else out


def applicant_spec() -> dict:
    """The OpenAPI schema of one applicant, from the rules above (null = not given)."""
    history = {
        name: {"type": "array", "maxItems": MAX_HISTORY_ROWS, "items": _spec_record(name, {})} for name in HISTORY
    }
    return {
        "type": "object",
        "required": ["application"],
        "additionalProperties": False,
        "properties": {
            "application": {
                **_spec_record("application_test", RANGES, REQUIRED),
                "description": "Kaggle application fields; AMT_INCOME_TOTAL, AMT_CREDIT and DAYS_BIRTH "
                "required, others optional (null or absent: not given)",
            },
            "history": {
                "type": "object",
                "nullable": True,
                "additionalProperties": False,
                "properties": history,
                "description": "table name -> list of records in Kaggle field names",
            },
        },
    }
