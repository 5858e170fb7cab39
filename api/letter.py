"""A declined or counter-offered client's decision letter as print-ready HTML (scoring.letter), for managers and
for the client's own customer token; every read and refusal audited."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from api.audit import audit
from api.auth import check_client_access, require
from api.counterfactuals import stored_counterfactuals
from api.decisions import stored_record
from api.errors import ApiError, not_found
from api.io import lang_arg
from scoring.letter import OUTCOMES, letter_html, load_lender

bp = Blueprint("letter", __name__)

# the letter is self-contained: nothing to load, nothing to run, nowhere to post, no frame to sit in
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


@bp.record_once
def _load_lender(state) -> None:
    """Read once when the app is built, like the policy: a bad letter file stops the start, naming the field."""
    config = state.app.config
    config["LETTER"] = load_lender(config.get("LETTER_PATH") or config["SETTINGS"].letter_path)


@bp.get("/api/v1/clients/<client_id>/letter")
@require("manager", "customer")
def letter(client_id):
    cid = check_client_access(client_id)
    lang = lang_arg()
    try:
        record = stored_record(cid)
        if record is not None and record["outcome"] not in OUTCOMES:
            raise ApiError(
                409,
                "no_letter",
                f"client {cid}'s outcome is {record['outcome']}: a decision letter is written for a declined "
                "or counter-offered application only",
            )
        # what the client could change, in the words of the letter's reader
        changes = None if record is None else stored_counterfactuals(cid, lang, "customer")
    except ApiError as exc:
        audit(cid, f"refused {exc.status} {exc.code}")
        raise
    store = current_app.config["STORE"]
    if record is None or changes is None:
        audit(cid, "not_found")
        raise not_found()
    page = letter_html(
        store,
        cid,
        record,
        grade_names=tuple(current_app.config["BUNDLE"].grades.names),
        lender=current_app.config["LETTER"],
        lang=lang,
        counterfactuals=changes,
    )
    audit(cid, "ok")
    response = Response(page, mimetype="text/html")
    response.headers.update(
        {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",  # a client's decision: not kept by a shared cache or the browser
            "Referrer-Policy": "no-referrer",
            "Content-Disposition": f'inline; filename="decision-letter-{cid}-{lang}.html"',
        }
    )
    return response
