"""Counterfactuals: what would change the decision, for a stored client or a posted applicant; each read audited.

The engine is scoring.counterfactuals; this blueprint only finds the client, checks who may read it and words
the answer for its reader (customers read "you", managers and services "the client").
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, jsonify

from api.audit import audit, audited_read
from api.auth import check_client_access, require
from api.decisions import stored_decision_row
from api.errors import ApiError
from api.io import applicant_body, lang_arg
from scoring.counterfactuals import Client, body, search

bp = Blueprint("counterfactuals", __name__)
log = logging.getLogger("api")


def stored_client(cid: int) -> Client | None:
    """The engine's view of a stored client (application, features, stored policy inputs); None when unknown.

    409 on a store without decisions (no policy inputs) or with decisions made under another policy."""
    decision = stored_decision_row(cid)
    client = current_app.config["STORE"].get_client(cid) if decision is not None else None
    if client is None:
        return None
    return Client(client["application"], client["features"], decision["policy_inputs"])


def stored_counterfactuals(cid: int, lang: str, audience: str) -> dict | None:
    """The answer body for stored client `cid` in `lang` (en, fr) for `audience` (customer, manager); None for
    an unknown id. For other helpers (the decision letter): no access check or audit here, the caller's route
    does both."""
    client = stored_client(cid)
    if client is None:
        return None
    found = search(current_app.config["BUNDLE"], current_app.config["POLICY"], client)
    return body(found, lang, audience, cid)


def _audience() -> str:
    return "customer" if g.user["role"] == "customer" else "manager"


@bp.get("/api/v1/clients/<client_id>/counterfactuals")
@require("manager", "customer")
def for_client(client_id):
    cid = check_client_access(client_id)
    lang = lang_arg()
    answer = audited_read(
        cid, lambda: stored_counterfactuals(cid, lang, _audience()), lambda found: f"counterfactuals {found['status']}"
    )
    return jsonify(answer)


@bp.post("/api/v1/score/counterfactuals")
@require("manager", "service")
def for_applicant():
    from scoring.decision.service import applicant_frames
    from scoring.features import features_and_policy_inputs_from_records

    lang = lang_arg()
    application, history = applicant_body()
    app_frame, tables = applicant_frames([(application, history)])
    try:
        features, policy_inputs = features_and_policy_inputs_from_records(app_frame, tables)
    except ValueError:  # validation passed, so this is ours to fix; the text may quote values: never echoed
        log.error("features of a validated applicant failed (counterfactuals)")
        raise ApiError(422, "invalid_applicant", "the applicant's records could not be turned into features") from None
    client = Client.from_frames(app_frame.iloc[0].to_dict(), features.iloc[0], policy_inputs.iloc[0])
    found = search(current_app.config["BUNDLE"], current_app.config["POLICY"], client)
    audit(None, f"counterfactuals {found.status}")
    return jsonify(body(found, lang, "manager", None))
