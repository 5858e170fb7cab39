"""Pre-approved offers of the store's last campaign: the ranked list and its CSV for managers, one client's offer
for a manager or that client. Every answer is audited: an offer names a client, their PD and what they can borrow."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, current_app, g, jsonify

from api.audit import audit
from api.auth import check_client_access, require
from api.errors import ApiError, not_found
from api.io import choice_arg, int_arg, lang_arg, number_arg

bp = Blueprint("campaign", __name__)

OFFER_FIELDS = ("rank", "client_id", "pd", "grade", "amount", "annuity", "term_months", "annual_rate", "dsti")
CUSTOMER_FIELDS = ("client_id", "amount", "annuity", "term_months", "annual_rate")  # no rank, no DSTI computed on them
_CSV_PAGE = 1000


def _store():
    return current_app.config["STORE"]


def _filters() -> dict:
    """grade, min_amount and max_amount as the list and the export read them (a reversed range finds nothing)."""
    return {
        "grade": choice_arg("grade", tuple(current_app.config["BUNDLE"].grades.names)),
        "min_amount": number_arg("min_amount", 0, 1e12),
        "max_amount": number_arg("max_amount", 0, 1e12),
    }


@bp.get("/api/v1/campaign/offers")
@require("manager")
def offers():
    limit, offset = int_arg("limit", 20, 1, 200), int_arg("offset", 0, 0, 10**9)
    result = _store().list_offers(**_filters(), limit=limit, offset=offset)
    audit(None, f"listed {len(result['items'])} offers")
    data_source = _store().meta().get("data_source")
    return jsonify({**result, "limit": limit, "offset": offset, "data_source": data_source})


@bp.get("/api/v1/campaign/offers.csv")
@require("manager")
def offers_csv():
    store, filters = _store(), _filters()
    first = store.list_offers(**filters, limit=_CSV_PAGE)
    if first["campaign"] is None:
        raise ApiError(404, "no_campaign", "no campaign has been run on this store: `python -m scoring campaign`")
    audit(None, f"exported {first['total']} offers")

    def rows():
        page, offset = first, 0
        yield _csv_lines([OFFER_FIELDS])
        while page["items"]:
            yield _csv_lines([[offer[f] for f in OFFER_FIELDS] for offer in page["items"]])
            offset += len(page["items"])
            page = store.list_offers(**filters, limit=_CSV_PAGE, offset=offset)

    source = store.meta().get("data_source") or "unknown"
    return Response(
        rows(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="offers-{source}.csv"', "X-Data-Source": source},
    )


def _csv_lines(rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@bp.get("/api/v1/clients/<client_id>/offer")
@require("manager", "customer")
def client_offer(client_id):
    cid = check_client_access(client_id)
    lang = lang_arg()
    offer = _store().get_offer(cid)
    if offer is None:
        audit(cid, "not_found")
        raise not_found("offer")
    audit(cid, "ok")
    campaign = offer["campaign"]
    if g.user["role"] == "customer":
        body = {f: offer[f] for f in CUSTOMER_FIELDS}
        return jsonify({**body, "message": campaign["message"][lang], "run_at": campaign["run_at"]})
    campaign = {k: v for k, v in campaign.items() if k != "message"}
    return jsonify(
        {**{f: offer[f] for f in OFFER_FIELDS}, "message": offer["campaign"]["message"][lang], "campaign": campaign}
    )
