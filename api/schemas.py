"""Validation of new applicants: Kaggle field names and types, plausible values, each problem named by field."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from scoring.tables import SCHEMAS

_PY = {"int": int, "float": float, "str": str}
MAX_HISTORY_ROWS = 5000
PENSIONER_DAYS = 365243
REQUIRED = ("AMT_INCOME_TOTAL", "AMT_CREDIT", "DAYS_BIRTH")


def _model(table: str, skip: tuple = ()) -> type[BaseModel]:
    fields = {c: (Optional[_PY[k]], None) for c, k in SCHEMAS[table].items() if c not in skip}
    return create_model(f"{table}_record", __config__=ConfigDict(extra="forbid", strict=True), **fields)


APPLICATION = _model("application_test")
HISTORY = {name: _model(name) for name in SCHEMAS if not name.startswith("application")}


def _loc(prefix: str, err: dict) -> str:
    return ".".join([prefix, *(str(p) for p in err["loc"])]) if prefix else ".".join(str(p) for p in err["loc"])


def _plausibility(app: dict) -> list[dict]:
    problems = []

    def bad(field, message):
        problems.append({"field": f"application.{field}", "message": message})

    for field in REQUIRED:
        if app.get(field) is None:
            bad(field, "required")
    for field in ("AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY"):
        if app.get(field) is not None and not 0 < app[field] < 1e10:
            bad(field, "must be positive and below 10 billion")
    if app.get("AMT_GOODS_PRICE") is not None and not 0 <= app["AMT_GOODS_PRICE"] < 1e10:
        bad("AMT_GOODS_PRICE", "must be from 0 to 10 billion")
    birth = app.get("DAYS_BIRTH")
    if birth is not None and not -120 * 365.25 <= birth <= -18 * 365.25:
        bad("DAYS_BIRTH", "age must be from 18 to 120 years (days before the application, negative)")
    employed = app.get("DAYS_EMPLOYED")
    if employed is not None and employed != PENSIONER_DAYS:
        if employed > 0:
            bad("DAYS_EMPLOYED", "must be negative (days before the application) or 365243 for no employment")
        elif birth is not None and employed < birth:
            bad("DAYS_EMPLOYED", "employment cannot be longer than the applicant's life")
    for field in ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"):
        if app.get(field) is not None and not 0 <= app[field] <= 1:
            bad(field, "must be from 0 to 1")
    for field in ("CNT_CHILDREN", "CNT_FAM_MEMBERS"):
        if app.get(field) is not None and not 0 <= app[field] <= 30:
            bad(field, "must be from 0 to 30")
    return problems


def validate_applicant(body) -> tuple[dict, dict[str, list[dict]]]:
    """(application fields, history records per table) or ValueError carrying the per-field problems."""
    if not isinstance(body, dict):
        raise ApplicantError([{"field": "", "message": "body must be a JSON object with 'application'"}])
    unknown = [k for k in body if k not in ("application", "history")]
    problems = [{"field": k, "message": "unknown field (expected application, history)"} for k in unknown]
    application, history = {}, {}
    raw_app = body.get("application")
    if not isinstance(raw_app, dict):
        problems.append({"field": "application", "message": "required object of Kaggle application fields"})
    else:
        try:
            application = APPLICATION.model_validate(raw_app).model_dump(exclude_none=True)
            problems += _plausibility(application)
        except ValidationError as exc:
            problems += [{"field": _loc("application", e), "message": e["msg"]} for e in exc.errors()]
    raw_history = body.get("history") or {}
    if not isinstance(raw_history, dict):
        problems.append({"field": "history", "message": "must be an object of table name -> list of records"})
        raw_history = {}
    for table, records in raw_history.items():
        if table not in HISTORY:
            problems.append({"field": f"history.{table}", "message": f"unknown table (expected {', '.join(HISTORY)})"})
            continue
        if not isinstance(records, list) or len(records) > MAX_HISTORY_ROWS:
            problems.append(
                {"field": f"history.{table}", "message": f"must be a list of at most {MAX_HISTORY_ROWS} records"}
            )
            continue
        rows = []
        for i, record in enumerate(records):
            try:
                rows.append(HISTORY[table].model_validate(record).model_dump())
            except ValidationError as exc:
                problems += [{"field": _loc(f"history.{table}.{i}", e), "message": e["msg"]} for e in exc.errors()]
        history[table] = rows
    if problems:
        raise ApplicantError(problems)
    return application, history


class ApplicantError(ValueError):
    def __init__(self, problems: list[dict]):
        super().__init__("; ".join(f"{p['field']}: {p['message']}" for p in problems))
        self.problems = problems
