"""Verification of the main credit pipeline (scoring.decision.verify): one application, or a batch of them."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from api.audit import audit
from api.auth import require
from api.errors import ApiError
from api.io import json_body
from scoring.applicant_schema import ApplicantError, validate_applicant
from scoring.decision.verify import TheirsError, parse_theirs, summary, verify_applicants

bp = Blueprint("verify", __name__)
MAX_BATCH = 1000
_KEYS = ("application", "history", "theirs")


def _item(body, prefix: str) -> tuple[tuple[dict, dict], object]:
    """(applicant, theirs) of one body, or ApplicantError naming every bad field (prefixed)."""
    if not isinstance(body, dict):
        raise ApplicantError([{"field": prefix or "body", "message": f"must be an object of {', '.join(_KEYS)}"}])
    where = f"{prefix}." if prefix else ""
    problems = [
        {"field": f"{where}{k}", "message": f"unknown field (expected {', '.join(_KEYS)})"}
        for k in body
        if k not in _KEYS
    ]
    applicant = theirs = None
    try:
        applicant = validate_applicant({k: v for k, v in body.items() if k in ("application", "history")})
    except ApplicantError as exc:
        problems += [{**p, "field": f"{where}{p['field']}"} for p in exc.problems]
    try:
        theirs = parse_theirs(body.get("theirs"), f"{where}theirs")
    except TheirsError as exc:
        problems += exc.problems
    if problems:
        raise ApplicantError(problems)
    return applicant, theirs


def _verified(items: list[tuple[tuple[dict, dict], object]]) -> list[dict]:
    config = current_app.config
    try:
        return verify_applicants(config["BUNDLE"], config["POLICY"], [a for a, _ in items], [t for _, t in items])
    except ValueError:  # validation passed, so this is ours to fix; the text may quote values: never echoed
        raise ApiError(
            422, "invalid_applicant", "the application's records could not be turned into features"
        ) from None


@bp.post("/api/v1/verify")
@require("manager", "service")
def verify_one():
    try:
        item = _item(json_body(), "")
    except ApplicantError as exc:
        raise ApiError(
            422, "invalid_verification", "the verification request has invalid fields", exc.problems
        ) from None
    report = _verified([item])[0]
    audit(None, f"verified {report['status']}")
    return jsonify(report)


@bp.post("/api/v1/verify/batch")
@require("manager", "service")
def verify_batch():
    body = json_body()
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or len(body) > 1:
        raise ApiError(
            422,
            "invalid_body",
            'body must be {"items": [ {application, history?, theirs}, ... ]}',
            [{"field": "items", "message": "required non-empty list, the only field"}],
        )
    if len(items) > MAX_BATCH:
        raise ApiError(413, "batch_too_large", f"at most {MAX_BATCH} items per batch, got {len(items)}")
    parsed, problems = [], []
    for i, raw in enumerate(items):
        try:
            parsed.append(_item(raw, f"items.{i}"))
        except ApplicantError as exc:
            problems += exc.problems
    if problems:  # all or nothing, as /score/batch
        raise ApiError(422, "invalid_verification", f"{len(problems)} invalid field(s); nothing was verified", problems)
    reports = _verified(parsed)
    audit(None, f"verified batch of {len(reports)}")
    return jsonify({"summary": summary(reports), "results": reports})
