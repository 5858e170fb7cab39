"""A declined or counter-offered client's decision letter as print-ready HTML (scoring.letter), for managers and
for the client's own customer token; every read and refusal audited."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from api.audit import audited_read
from api.auth import check_client_access, require
from api.counterfactuals import stored_counterfactuals
from api.decisions import stored_record
from api.errors import ApiError
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


def _page(cid: int, lang: str) -> str | None:
    """The letter's HTML; None for an unknown id, 409 for an outcome that gets no letter (or stale decisions)."""
    record = stored_record(cid)
    if record is None:
        return None
    if record["outcome"] not in OUTCOMES:
        raise ApiError(
            409,
            "no_letter",
            f"client {cid}'s outcome is {record['outcome']}: a decision letter is written for a declined "
            "or counter-offered application only",
        )
    changes = stored_counterfactuals(cid, lang, "customer")  # what the client could change, in the reader's words
    if changes is None:
        return None
    return letter_html(
        current_app.config["STORE"],
        cid,
        record,
        grade_names=tuple(current_app.config["BUNDLE"].grades.names),
        lender=current_app.config["LETTER"],
        lang=lang,
        counterfactuals=changes,
    )


@bp.get("/api/v1/clients/<client_id>/letter")
@require("manager", "customer")
def letter(client_id):
    cid = check_client_access(client_id)
    lang = lang_arg()
    page = audited_read(cid, lambda: _page(cid, lang))
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
