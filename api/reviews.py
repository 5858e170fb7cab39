"""Human review of an automated decision (Consumer Credit Directive 2023/2225, Art. 18): a customer (or a manager
on their behalf) asks for one with a comment, managers work the queue and record the outcome, the customer reads
the answer; managers see the override rate. Every step is audited; a customer reaching for another client's
request gets the same 404 as for an unknown one."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, g, jsonify

from api.audit import audit
from api.auth import check_client_access, require
from api.errors import ApiError, not_found
from api.io import choice_arg, int_arg, json_body
from scoring.store import (
    REVIEW_OUTCOMES,
    REVIEW_REASON_PATTERN,
    REVIEW_RESULTS,
    REVIEW_TEXT_MAX,
    REVIEW_TEXT_PATTERN,
    ReviewConflict,
)

bp = Blueprint("reviews", __name__)

# what a customer reads of a review: never who reviewed it, nor who filed it
CUSTOMER_FIELDS = (
    "id",
    "client_id",
    "status",
    "requested_at",
    "comment",
    "decision_outcome",
    "reviewed_at",
    "result",
    "new_outcome",
    "reason",
)


def _store():
    return current_app.config["STORE"]


def _shown(review: dict) -> dict:
    if g.user["role"] == "customer":
        return {k: review[k] for k in CUSTOMER_FIELDS}
    return review


def _refused(client_id, exc: ApiError) -> ApiError:
    """`exc`, audited (the error handler records 401, 403, 404 and 429 by itself, not 409 or 422)."""
    audit(client_id, f"refused {exc.status} {exc.code}")
    return exc


def _text_problem(value, *, reason: bool = False) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > REVIEW_TEXT_MAX:
        return f"at most {REVIEW_TEXT_MAX} characters"
    if not re.search(REVIEW_TEXT_PATTERN, value):
        return "control characters are not allowed (tab and newline are)"
    if reason and not re.search(REVIEW_REASON_PATTERN, value):
        return "required, not blank"
    return None


def _body(allowed: tuple[str, ...], required: tuple[str, ...]) -> tuple[dict, list[dict]]:
    """The JSON object sent, and the problems of its fields: unknown or missing ones."""
    body = json_body()
    if not isinstance(body, dict):
        return {}, [{"field": "body", "message": f"must be a JSON object with {', '.join(allowed)}"}]
    problems = [{"field": k, "message": "unknown field"} for k in body if k not in allowed]
    problems += [{"field": k, "message": "required"} for k in required if k not in body]
    return body, problems


def _invalid(problems: list[dict]) -> ApiError:
    names = ", ".join(p["field"] for p in problems)
    return ApiError(422, "invalid_review", f"invalid field(s): {names}", problems)


def _review_id(review_id) -> int:
    """The review id as int; the same 404 as an unknown one for anything that cannot be one."""
    if not (review_id.isascii() and review_id.isdigit() and len(review_id) <= 19 and int(review_id) < 2**63):
        raise not_found("review")
    return int(review_id)


def _readable(review_id) -> dict:
    """The review if the signed-in user may see it (a manager, or the customer whose client it concerns)."""
    review = _store().get_review(_review_id(review_id))
    if review is None:
        raise not_found("review")
    if g.user["role"] == "customer" and g.user.get("client_id") != review["client_id"]:
        audit(review["client_id"], f"denied review {review['id']}")
        raise not_found("review")
    return review


@bp.post("/api/v1/clients/<client_id>/reviews")
@require("manager", "customer")
def request_review(client_id):
    cid = check_client_access(client_id)
    body, problems = _body(("comment",), ("comment",))
    if not problems and (problem := _text_problem(body["comment"])):
        problems.append({"field": "comment", "message": problem})
    if problems:
        raise _refused(cid, _invalid(problems))
    try:
        review = _store().request_review(cid, g.user["username"], body["comment"])
    except ReviewConflict as exc:
        message = f"this client already has an open review request (#{exc.review.get('id')}): wait for its answer"
        raise _refused(cid, ApiError(409, "review_open", message)) from None
    if review is None:
        audit(cid, "not_found")
        raise not_found()
    audit(cid, f"review {review['id']} requested")
    return jsonify(_shown(review)), 201


@bp.get("/api/v1/clients/<client_id>/reviews")
@require("manager", "customer")
def client_reviews(client_id):
    cid = check_client_access(client_id)
    items = _store().client_reviews(cid)
    if not items and _store().get_score(cid) is None:  # as every client route: an unknown client is a 404
        audit(cid, "not_found")
        raise not_found()
    audit(cid, f"read {len(items)} reviews")
    return jsonify({"client_id": cid, "items": [_shown(r) for r in items]})


@bp.get("/api/v1/reviews")
@require("manager")
def queue():
    status = choice_arg("status", ("open", "closed")) or "open"
    limit, offset = int_arg("limit", 20, 1, 200), int_arg("offset", 0, 0, 10**9)
    result = _store().list_reviews(status, limit=limit, offset=offset)
    audit(None, f"listed {len(result['items'])} {status} reviews")
    return jsonify({**result, "status": status, "limit": limit, "offset": offset})


@bp.get("/api/v1/reviews/stats")
@require("manager")
def stats():
    result = _store().review_stats()
    audit(None, "read review stats")
    return jsonify(result)


@bp.get("/api/v1/reviews/<review_id>")
@require("manager", "customer")
def review(review_id):
    found = _readable(review_id)
    audit(found["client_id"], f"read review {found['id']}")
    return jsonify(_shown(found))


@bp.post("/api/v1/reviews/<review_id>/outcome")
@require("manager")
def outcome(review_id):
    found = _readable(review_id)
    cid = found["client_id"]
    body, problems = _body(("result", "reason", "new_outcome"), ("result", "reason"))
    result, new_outcome = body.get("result"), body.get("new_outcome")
    if "result" in body and result not in REVIEW_RESULTS:
        problems.append({"field": "result", "message": f"must be one of {', '.join(REVIEW_RESULTS)}"})
    if "reason" in body and (problem := _text_problem(body["reason"], reason=True)):
        problems.append({"field": "reason", "message": problem})
    if result == "changed" and new_outcome not in REVIEW_OUTCOMES:
        problems.append({"field": "new_outcome", "message": f"a change needs one of {', '.join(REVIEW_OUTCOMES)}"})
    elif result == "changed" and new_outcome == found["decision_outcome"]:
        problems.append({"field": "new_outcome", "message": f"the decision was already {new_outcome}: upheld"})
    elif result == "upheld" and "new_outcome" in body:
        problems.append({"field": "new_outcome", "message": "only a changed decision has a new outcome"})
    if problems:
        raise _refused(cid, _invalid(problems))
    try:
        closed = _store().close_review(found["id"], g.user["username"], result, body["reason"], new_outcome)
    except ReviewConflict as exc:
        raise _refused(
            cid, ApiError(409, "review_closed", f"review #{exc.review['id']} already has its outcome")
        ) from None
    except ValueError as exc:  # the store's own check (the same rules): "field: what is wrong"
        field, _, message = str(exc).partition(": ")
        raise _refused(cid, _invalid([{"field": field, "message": message}])) from None
    if closed is None:  # gone since it was read: nothing in the store deletes reviews, but say so plainly
        audit(cid, "not_found")
        raise not_found("review")
    audit(cid, f"review {closed['id']} closed {result}" + (f" to {new_outcome}" if new_outcome else ""))
    return jsonify(closed)
