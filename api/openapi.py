"""OpenAPI 3.0 description of the routes and a small self-contained docs page (no CDN: VPS may be offline)."""

from __future__ import annotations

import html

from flask import Blueprint, Response, jsonify

from scoring.applicant_schema import applicant_spec
from scoring.store import REVIEW_OUTCOMES, REVIEW_REASON_PATTERN, REVIEW_TEXT_MAX, REVIEW_TEXT_PATTERN

bp = Blueprint("openapi", __name__)

_ERROR = {"$ref": "#/components/schemas/Error"}
_ID = {
    "name": "client_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
}
_UNAVAILABLE = {
    "description": "The client store cannot serve (error code store_unavailable)",
    "content": {"application/json": {"schema": _ERROR}},
}
_CLIENT_ERROR = {"description": "Client error", "content": {"application/json": {"schema": _ERROR}}}
_LANG = {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["en", "fr"]}}
_UNITS_PARAM = {"name": "units", "in": "query", "schema": {"type": "string", "enum": ["log-odds", "pd"]}}
_UNITS_DOC = (
    "units=pd (a customer's default; log-odds otherwise) adds the same SHAP path walked in probability of default: "
    "base_pd (the PD at the model's average log-odds, SHAP's base value), final_pd (the client's PD), and pd_points "
    "per contribution and for others (the PD after the step minus before it, 0..1), which add up to "
    "final_pd - base_pd"
)
_OFFSET = {
    "name": "offset",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 0, "maximum": 1000000000},
}
_AMOUNT = {"type": "number", "minimum": 0, "maximum": 1e12}
_OFFER_FILTERS = (
    {
        "name": "grade",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": [f"G{i}" for i in range(1, 9)]},
    },
    {"name": "min_amount", "in": "query", "required": False, "schema": _AMOUNT},
    {"name": "max_amount", "in": "query", "required": False, "schema": _AMOUNT},
)


def _q(name, schema, required=False):
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _op(summary, params=(), body=None, auth=True, roles="manager, customer"):
    op = {
        "summary": summary + (f" (roles: {roles})" if auth else ""),
        "parameters": list(params),
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            "4XX": _CLIENT_ERROR,
            "503": _UNAVAILABLE,
        },
    }
    if not auth:
        op["security"] = []
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


_REVIEW_ID = {
    "name": "review_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
}
_REASON = {"type": "string", "maxLength": REVIEW_TEXT_MAX, "pattern": REVIEW_REASON_PATTERN}
_REVIEW_OUTCOME = {  # api/reviews.py also refuses a "change" to the outcome that was reviewed
    "oneOf": [
        {
            "type": "object",
            "required": ["result", "reason"],
            "additionalProperties": False,
            "properties": {"result": {"type": "string", "enum": ["upheld"]}, "reason": _REASON},
        },
        {
            "type": "object",
            "required": ["result", "reason", "new_outcome"],
            "additionalProperties": False,
            "properties": {
                "result": {"type": "string", "enum": ["changed"]},
                "reason": _REASON,
                "new_outcome": {"type": "string", "enum": list(REVIEW_OUTCOMES)},
            },
        },
    ]
}


def _created(op: dict) -> dict:
    """An operation answering 201 Created."""
    responses = {("201" if status == "200" else status): answer for status, answer in op["responses"].items()}
    return {**op, "responses": responses}


_APPLICANT = applicant_spec()  # the same rules as scoring.applicant_schema validates
_THEIRS = {
    "type": "object",
    "additionalProperties": False,
    "description": "what the main pipeline computed; a part not sent is not compared",
    "properties": {
        "factors": {
            "type": "object",
            "description": "feature or policy input name -> value (number, text or null)",
            "additionalProperties": {"nullable": True, "oneOf": [{"type": "number"}, {"type": "string"}]},
        },
        "stop_factors": {"type": "array", "items": {"type": "string", "minLength": 1}, "nullable": True},
        "pd": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
        "outcome": {
            "type": "string",
            "enum": ["approve", "counter_offer", "refer", "decline", "technical_refusal"],
            "nullable": True,
        },
    },
}
_VERIFICATION = {
    "type": "object",
    "required": ["application", "theirs"],
    "additionalProperties": False,
    "properties": {**_APPLICANT["properties"], "theirs": _THEIRS},
}

SPEC = {
    "openapi": "3.0.3",
    "info": {
        "title": "Credit scoring API",
        "version": "1",
        "description": "PD, risk grade, decision and SHAP explanation (log-odds) per client.",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "fields": {"type": "array", "items": {"type": "object"}},
                        },
                    }
                },
            }
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/health": {"get": _op("Liveness", auth=False)},
        "/ready": {
            "get": {
                **_op("Readiness: model verified, store reachable", auth=False),
                "responses": {
                    "200": {"description": "ready"},
                    "4XX": _CLIENT_ERROR,
                    "503": {"description": "not ready: store or model cannot serve"},
                },
            }
        },
        "/metrics": {
            "get": {
                **_op("Prometheus metrics (per worker)", auth=False),
                "responses": {
                    "200": {"description": "text", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "4XX": _CLIENT_ERROR,
                },
            }
        },
        "/api/v1/auth/token": {
            "post": _op(
                "Sign in: a signed, expiring bearer token",
                auth=False,
                body={
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string", "minLength": 1},
                        "password": {"type": "string", "minLength": 1},
                    },
                },
            )
        },
        "/api/v1/auth/logout": {
            "post": _op("Sign out: every token of the caller stops working at once", roles="manager, customer, service")
        },
        "/api/v1/model": {"get": _op("Model card, grade scale, threshold")},
        "/api/v1/models": {
            "get": _op(
                "Model registry: versions with kind, training date, AUC, ECE, threshold and aliases (champion, "
                "challenger); the version serving",
                roles="manager",
            )
        },
        "/api/v1/monitoring/challenger": {
            "get": _op(
                "Shadow scoring: champion and challenger compared per day, ISO week or month (agreement, swap in and "
                "out, mean PD, AUC where outcomes are known)",
                [_q("period", {"type": "string", "enum": ["day", "week", "month"]})],
                roles="manager",
            )
        },
        "/api/v1/monitoring/stability": {
            "get": _op(
                "Population stability per day, ISO week or month: PSI of the score and of the top features (by "
                "importance) against the training reference, the level (stable, watch, act; levels in "
                "policies/monitoring.yaml); PSI null below the minimum applications; 409 reference_missing",
                [
                    _q("period", {"type": "string", "enum": ["day", "week", "month"]}),
                    _q("top", {"type": "integer", "minimum": 1, "maximum": 50}),
                ],
                roles="manager",
            )
        },
        "/api/v1/monitoring/performance": {
            "get": _op(
                "Performance per period once outcomes are imported: AUC, Gini, predicted and observed default rate, "
                "approval rate; observed against predicted default rate by grade; the reviews' override rate",
                [_q("period", {"type": "string", "enum": ["day", "week", "month"]})],
                roles="manager",
            )
        },
        "/api/v1/model/importance": {
            "get": _op(
                "Global importance (mean |SHAP|)", [_q("top", {"type": "integer", "minimum": 1, "maximum": 200}), _LANG]
            )
        },
        "/api/v1/features": {"get": _op("Features: names, labels, groups, types", [_LANG])},
        "/api/v1/features/{name}/distribution": {
            "get": _op(
                "Histogram repaid vs defaulted; client's percentile. Managers choose `bins`; customers get "
                "groups fixed when the store was built (each of 50+ clients, noisy counts; `bins` ignored, "
                "see `aggregation`)",
                [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    _q("bins", {"type": "integer", "minimum": 2, "maximum": 100}),
                    _q("client_id", {"type": "integer", "minimum": 0}),
                    _LANG,
                ],
            )
        },
        "/api/v1/features/bivariate": {
            "get": _op(
                "Two features: points with PD (managers) or, for customers, a 2-D grid fixed when the store "
                "was built (pairs of the `in_grid` features; cells of 50+ clients, noisy counts and mean PD; "
                "422 for other pairs)",
                [
                    _q("x", {"type": "string", "minLength": 1}, True),
                    _q("y", {"type": "string", "minLength": 1}, True),
                    _q("sample", {"type": "integer", "minimum": 1, "maximum": 5000}),
                    _q("bins", {"type": "integer", "minimum": 2, "maximum": 50}),
                    _q("client_id", {"type": "integer", "minimum": 0}),
                    _LANG,
                ],
            )
        },
        "/api/v1/clients": {
            "get": _op(
                "Paged client list with PD and grade",
                [
                    _q("search", {"type": "string", "pattern": "^[0-9]{0,18}$"}),
                    _q("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                    _q("offset", {"type": "integer", "minimum": 0, "maximum": 1000000000}),
                    _q("grade", {"type": "string", "enum": [f"G{i}" for i in range(1, 9)]}),
                    _q("decision", {"type": "string", "enum": ["approve", "decline"]}),
                ],
                roles="manager",
            )
        },
        "/api/v1/clients/{client_id}": {
            "get": _op("Client file: grouped fields with labels and units, history", [_ID, _LANG])
        },
        "/api/v1/clients/{client_id}/score": {"get": _op("PD, grade, decision, threshold, model version", [_ID])},
        "/api/v1/clients/{client_id}/decision": {
            "get": _op(
                "The stored decision: outcome, stop factors, score, affordability, offer, model and policy versions "
                "(managers: the full record; customers, own id only: outcome, reasons and offer in their language); "
                "409 decisions_missing on a store built before decisions were stored, decisions_stale when they "
                "were made under another policy than the one served",
                [_ID, _LANG],
            )
        },
        "/api/v1/clients/{client_id}/explanation": {
            "get": _op(
                "SHAP contributions (log-odds) and reasons in words (customers: you; managers: the client); "
                + _UNITS_DOC,
                [_ID, _q("top", {"type": "integer", "minimum": 1, "maximum": 50}), _LANG, _UNITS_PARAM],
            )
        },
        "/api/v1/clients/{client_id}/what-if": {
            "post": _op(
                "Simulation: PD and decision after changes in the counterfactuals' vocabulary (amount, annuity, goods "
                "price; TERM_MONTHS: the annuity follows at the product's rate; DOWN_PAYMENT: the credit falls by it; "
                "BUREAU_DEBT_PAYDOWN: paid off the active bureau debt, at most that debt); nothing stored",
                [_ID],
                roles="manager",
                body={
                    "type": "object",
                    "required": ["changes"],
                    "properties": {
                        "changes": {
                            "type": "object",
                            "additionalProperties": False,
                            "minProperties": 1,
                            "properties": {
                                f: {
                                    "type": "number",
                                    "minimum": 0,
                                    "exclusiveMinimum": True,
                                    "maximum": 1e10,
                                    "exclusiveMaximum": True,
                                }
                                for f in ("AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "DOWN_PAYMENT")
                                + ("BUREAU_DEBT_PAYDOWN",)
                            }
                            | {"TERM_MONTHS": {"type": "integer", "minimum": 1, "maximum": 120}},
                        }
                    },
                },
            )
        },
        "/api/v1/clients/{client_id}/counterfactuals": {
            "get": _op(
                "Counterfactuals: the smallest changes the client can act on (amount, term, down payment, paying "
                "down current debts) that would make the outcome approve, each re-scored (PD, grade, outcome, "
                "offer), ranked by size; status already_approved, options or none with the blocking reasons "
                "(managers; a customer, own id only, in their words)",
                [_ID, _LANG],
            )
        },
        "/api/v1/campaign/offers": {
            "get": _op(
                "Pre-approved offers of the last campaign (python -m scoring campaign) in rank order (PD, lowest "
                "first), with the campaign's date, policy and model versions; a reversed amount range finds nothing",
                [*_OFFER_FILTERS, _q("limit", {"type": "integer", "minimum": 1, "maximum": 200}), _OFFSET],
                roles="manager",
            )
        },
        "/api/v1/campaign/offers.csv": {
            "get": {
                **_op(
                    "The same offers as CSV, all pages (404 no_campaign before the first)",
                    _OFFER_FILTERS,
                    roles="manager",
                ),
                "responses": {
                    "200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                    "4XX": _CLIENT_ERROR,
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/api/v1/clients/{client_id}/offer": {
            "get": _op(
                "The client's pre-approved offer and its message in the language asked (managers; a customer, own "
                "id only); 404 when the client has none",
                [_ID, _LANG],
            )
        },
        "/api/v1/clients/{client_id}/letter": {
            "get": {
                **_op(
                    "The decision letter of a declined or counter-offered client as print-ready HTML (A4, no script): "
                    "decision and date, score and grade range, principal reasons, rules that applied, what could "
                    "change, how to ask for a human review (managers; a customer, own id only); 409 no_letter for "
                    "another outcome, decisions_missing or decisions_stale as the decision route",
                    [_ID, _LANG],
                ),
                "responses": {
                    "200": {"description": "HTML letter", "content": {"text/html": {"schema": {"type": "string"}}}},
                    "4XX": _CLIENT_ERROR,
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/api/v1/clients/{client_id}/reviews": {
            "post": _created(
                _op(
                    "Ask for a human review of the client's decision, with a comment (a customer for their own id, a "
                    "manager on their behalf); 409 review_open while one is open",
                    [_ID],
                    body={
                        "type": "object",
                        "required": ["comment"],
                        "additionalProperties": False,
                        "properties": {
                            "comment": {"type": "string", "maxLength": REVIEW_TEXT_MAX, "pattern": REVIEW_TEXT_PATTERN}
                        },
                    },
                )
            ),
            "get": _op("The client's review requests, newest first (a customer, own id only)", [_ID]),
        },
        "/api/v1/reviews": {
            "get": _op(
                "The review queue: open requests oldest first, or closed ones newest first",
                [
                    _q("status", {"type": "string", "enum": ["open", "closed"]}),
                    _q("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                    _OFFSET,
                ],
                roles="manager",
            )
        },
        "/api/v1/reviews/stats": {
            "get": _op(
                "Reviews open, closed, upheld and changed, and the override rate (changed / closed), also by month",
                roles="manager",
            )
        },
        "/api/v1/reviews/{review_id}": {
            "get": _op("One review request (a customer: their own, without who reviewed it)", [_REVIEW_ID])
        },
        "/api/v1/reviews/{review_id}/outcome": {
            "post": _op(
                "Record the outcome of an open review: upheld, or changed to a new outcome, with the reason; "
                "409 review_closed when it has one",
                [_REVIEW_ID],
                body=_REVIEW_OUTCOME,
                roles="manager",
            )
        },
        "/api/v1/verify": {
            "post": _op(
                "Verify the main pipeline: our decision recomputed from the same records, and every discrepancy "
                "[{kind: factor|stop_factor|score|outcome, name, theirs, ours, tolerance}] beyond the policy's "
                "verification tolerances; status match or discrepancies",
                body=_VERIFICATION,
                roles="manager, service",
            )
        },
        "/api/v1/verify/batch": {
            "post": _op(
                "Verify up to 1,000 applications, all or nothing: a summary and one report each",
                roles="manager, service",
                body={
                    "type": "object",
                    "required": ["items"],
                    "additionalProperties": False,
                    "properties": {"items": {"type": "array", "minItems": 1, "maxItems": 1000, "items": _VERIFICATION}},
                },
            )
        },
        "/api/v1/score": {
            "post": _op(
                "Score and decide a new applicant (nothing stored): PD, grade, SHAP and the decision object under "
                "`decision`; 200 for every valid applicant, a technical refusal (outcome technical_refusal, its "
                "{code, field, message} list) with pd, grade and contributions absent or null; " + _UNITS_DOC,
                [_LANG, _UNITS_PARAM],
                body=_APPLICANT,
                roles="manager, service",
            )
        },
        "/api/v1/score/counterfactuals": {
            "post": _op(
                "Counterfactuals of a new applicant (body as POST /score; nothing stored), answered as for a stored "
                "client with client_id null",
                [_LANG],
                body=_APPLICANT,
                roles="manager, service",
            )
        },
        "/api/v1/score/batch": {
            "post": _op(
                "Score and decide up to 1,000 applicants, all or nothing (each result as POST /score)",
                [_LANG, _UNITS_PARAM],
                roles="manager, service",
                body={
                    "type": "object",
                    "required": ["applicants"],
                    "additionalProperties": False,
                    "properties": {
                        "applicants": {"type": "array", "minItems": 1, "maxItems": 1000, "items": _APPLICANT}
                    },
                },
            )
        },
    },
}


@bp.get("/api/v1/openapi.json")
def spec():
    return jsonify(SPEC)


@bp.get("/api/v1/docs")
def docs():
    rows = []
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}</td><td>{html.escape(params)}</td></tr>"
            )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Credit scoring API</title>"
        "<style>body{font-family:sans-serif;margin:2rem;color:#1a1a1a}"
        "td,th{padding:.3rem .6rem;border-bottom:1px solid #ccc;"
        "text-align:left}</style></head><body><h1>Credit scoring API</h1><p>Machine-readable spec: "
        "<a href='/api/v1/openapi.json'>/api/v1/openapi.json</a>. Every /api/v1 route except sign-in needs "
        "<code>Authorization: Bearer &lt;token&gt;</code> from <code>POST /api/v1/auth/token</code>. "
        "SHAP contributions are in log-odds.</p><table><tr><th>Method</th><th>Path</th><th>What</th>"
        "<th>Parameters</th></tr>" + "".join(rows) + "</table></body></html>"
    )
    return Response(page, mimetype="text/html")
