"""Client routes: the paged list (managers), the file, the score and the explanation, each read audited."""

from __future__ import annotations

import pandas as pd
from flask import Blueprint, current_app, jsonify, request

from api import explanation, metrics
from api.audit import audit
from api.auth import check_client_access, require
from api.errors import ApiError, not_found
from api.io import choice_arg, int_arg, lang_arg
from scoring import labels
from scoring.decision.service import decide_features
from scoring.store import DecisionsMissing

bp = Blueprint("clients", __name__)


def _store():
    return current_app.config["STORE"]


@bp.get("/api/v1/clients")
@require("manager")
def index():
    search = request.args.get("search", "")  # exactly as the spec says: digits, no blanks
    if search and (not search.isdigit() or len(search) > 18):
        raise ApiError(
            422,
            "invalid_query",
            "search must be the digits of a client id (a prefix)",
            [{"field": "search", "message": "digits only, at most 18"}],
        )
    limit = int_arg("limit", 20, 1, 200)
    offset = int_arg("offset", 0, 0, 10**9)
    grades = tuple(current_app.config["BUNDLE"].grades.names)
    result = _store().list_clients(
        search=search or None,
        limit=limit,
        offset=offset,
        grade=choice_arg("grade", grades),
        decision=choice_arg("decision", ("approve", "decline")),
    )
    audit(None, f"listed {len(result['items'])}")  # ids with their PD: a read of each listed client's score
    return jsonify({**result, "limit": limit, "offset": offset})


SCORE_FIELDS = ("client_id", "pd", "grade", "decision", "threshold", "model_version")


def _score(cid: int) -> dict:
    score = _store().get_score(cid)
    if score is None:
        raise not_found()
    return {k: score[k] for k in SCORE_FIELDS}


@bp.get("/api/v1/clients/<client_id>")
@require("manager", "customer")
def file(client_id):
    cid = check_client_access(client_id)
    lang = lang_arg()
    client = _store().get_client(cid)
    if client is None:
        audit(cid, "not_found")
        raise not_found()
    audit(cid, "ok")
    return jsonify(
        {
            "client_id": cid,
            "split": client["split"],
            "data_source": _store().meta().get("data_source"),
            "groups": labels.describe_application(client["application"], lang),
            "history": labels.history_summary(client["features"], lang),
        }
    )


@bp.get("/api/v1/clients/<client_id>/score")
@require("manager", "customer")
def score(client_id):
    cid = check_client_access(client_id)
    try:
        out = _score(cid)
    except ApiError:
        audit(cid, "not_found")
        raise
    audit(cid, "ok")
    metrics.count_score(out["decision"], out["grade"])
    return jsonify(out)


@bp.get("/api/v1/clients/<client_id>/explanation")
@require("manager", "customer")
def explain(client_id):
    cid = check_client_access(client_id)
    top = int_arg("top", 10, 1, 50)
    lang = lang_arg()
    units = explanation.units_arg()
    stored = _store().get_explanation(cid, top=top)
    if stored is None:
        audit(cid, "not_found")
        raise not_found()
    audit(cid, "ok")
    score = {k: stored[k] for k in SCORE_FIELDS}
    return jsonify(
        explanation.payload(
            stored["base_value"],
            stored["shap"],
            stored["values"],
            stored["shap_total"],
            stored["n_features"],
            lang,
            score,
            stored["generation"],
            units=units,
            audience=explanation.audience(),
        )
    )


@bp.post("/api/v1/clients/<client_id>/what-if")
@require("manager")
def what_if(client_id):
    """Simulation: the client's PD and decision after changes in the vocabulary of scoring.counterfactuals (the
    loan asked, its term, a down payment, paying down bureau debt), applied by the engine's one function; the
    store is untouched."""
    from api.io import json_body
    from scoring.counterfactuals import Client, apply_changes, check_changes

    cid = check_client_access(client_id)
    body = json_body()
    changes = body.get("changes") if isinstance(body, dict) else None
    if not isinstance(changes, dict) or not changes:
        raise ApiError(422, "invalid_body", 'body must be {"changes": {field: value}}', check_changes(None, {}, 0))
    client = _store().get_client(cid)
    if client is None:
        raise not_found()
    bundle, policy = current_app.config["BUNDLE"], current_app.config["POLICY"]
    stored = _stored_policy_inputs(cid)
    engine = Client(client["application"], client["features"], stored or {})
    current = {"AMT_CREDIT": engine.number("AMT_CREDIT"), "BUREAU_ACTIVE_DEBT": engine.number("BUREAU_ACTIVE_DEBT")}
    problems = check_changes(changes, current, int(policy.technical.term_months_max))
    if problems:
        raise ApiError(422, "invalid_what_if", "the simulation has invalid fields", problems)
    rate, index = policy.affordability.annual_rate, pd.Index([cid], name="SK_ID_CURR")
    features, policy_inputs = apply_changes(engine, [changes], rate, index=index)
    if stored is None:
        simulated, record = bundle.score(features).iloc[0], None
    else:
        decided = decide_features(bundle, policy, features, policy_inputs)
        simulated, record = decided.scores.iloc[0], decided.decisions.decision(0).to_dict()
    audit(cid, "what-if")
    return jsonify(
        {
            "simulation": True,
            "stored_unchanged": True,
            "changes": changes,
            "current": _score(cid),
            "simulated": {
                "pd": float(simulated["pd"]),
                "grade": simulated["grade"],
                "decision": simulated["decision"],
                "threshold": bundle.threshold,
                "decision_record": record,
            },
        }
    )


def _stored_policy_inputs(cid: int) -> dict | None:
    """The client's stored policy inputs (the history does not change in a what-if); None on a store without."""
    try:
        stored = _store().get_decision(cid)
    except DecisionsMissing:
        return None
    return None if stored is None else stored["policy_inputs"]
