"""A stored client's decision: the full record for managers, the customer's own words for the customer."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from api.audit import audited_read
from api.auth import check_client_access, require
from api.errors import ApiError
from api.io import lang_arg
from scoring.decision.record import customer_view
from scoring.decision.service import stored_decision
from scoring.store import DecisionsMissing

bp = Blueprint("decisions", __name__)


def stored_decision_row(cid: int) -> dict | None:
    """What the store keeps of the client's decision (ClientStore.get_decision); None for an unknown id.

    409 when the store holds no decisions, or holds those of another policy than the one the app serves."""
    store, policy = current_app.config["STORE"], current_app.config["POLICY"]
    try:
        stored = store.get_decision(cid)
    except DecisionsMissing as exc:
        raise ApiError(409, "decisions_missing", str(exc)) from None
    if stored is not None and stored["policy"]["sha256"] != policy.sha256:
        raise ApiError(
            409,
            "decisions_stale",
            f"the store's decisions were made under policy {stored['policy']['version']} "
            f"({stored['policy']['sha256'][:12]}), the API serves {policy.version} ({policy.sha256[:12]}): "
            "run `python -m scoring explain-all` with this policy",
        )
    return stored


def stored_record(cid: int) -> dict | None:
    """The stored client's decision record (to_dict), rebuilt under the app's policy; None for an unknown id (409s
    as stored_decision_row)."""
    stored = stored_decision_row(cid)
    return None if stored is None else stored_decision(stored, current_app.config["POLICY"]).to_dict()


@bp.get("/api/v1/clients/<client_id>/decision")
@require("manager", "customer")
def decision(client_id):
    cid = check_client_access(client_id)
    lang = lang_arg()
    record = audited_read(cid, lambda: stored_record(cid))
    if g.user["role"] == "customer":
        return jsonify({"client_id": cid, "decision": customer_view(record, lang)})
    return jsonify({"client_id": cid, "decision": record})
