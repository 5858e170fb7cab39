"""The Human review card (Consumer Credit Directive 2023/2225, Art. 18): a customer gives their view and asks a
person to review the automated decision, then reads the answer; a manager sees the open request on the client's
page and records the outcome (upheld, or changed with the new decision) and its reason, above the past reviews.

The card is filled with the view's other cards (one parallel round trip); sending a request or an outcome
re-renders it from the API's answer.
"""

from __future__ import annotations

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import api_client, session
from dashboard.components.card import Card
from dashboard.components.common import expired_marker, failed
from dashboard.i18n import lead, t

TEXT_MAX = 2000  # the API's bound on a comment or a reason
OUTCOMES = ("approve", "counter_offer", "refer", "decline")


def _calls(client_id: int, lang: str):
    return {"reviews": (api_client.client_reviews_path(client_id), {})}


def _outcome(outcome, lang: str) -> str:
    return t(outcome, lang) if outcome else "—"


def _date(stamp) -> str:
    return (stamp or "")[:10]


def _answer(review: dict, lang: str) -> str:
    if review["result"] == "changed":
        return t(
            "review_answer_changed",
            lang,
            date=_date(review["reviewed_at"]),
            outcome=_outcome(review["new_outcome"], lang),
        )
    return t("review_answer_upheld", lang, date=_date(review["reviewed_at"]))


def _text_area(element_id: str, label: str, lang: str, required: bool = False):
    return html.Div(
        [
            html.Label(t(label, lang), htmlFor=element_id),
            dcc.Textarea(id=element_id, maxLength=TEXT_MAX, rows=4, required=required, className="review-text"),
        ],
        className="field wide",
    )


def _request_form(lang: str):
    """A customer's request: their comment and the button."""
    return html.Div(
        [
            _text_area("review-comment", "review_comment_label", lang),
            html.Button(t("review_send", lang), id="review-send", className="primary"),
        ],
        className="review-form",
    )


def _pending(review: dict, lang: str, role: str):
    """The open request: when it was asked, on which decision, the comment (and for managers, who filed it)."""
    if role == "manager":
        line = t(
            "review_open_manager",
            lang,
            date=_date(review["requested_at"]),
            by=review["requested_by"],
            outcome=_outcome(review["decision_outcome"], lang),
        )
    else:
        line = t("review_pending", lang, date=_date(review["requested_at"]))
    comment = review["comment"] or t("review_no_comment", lang)
    return html.Div(
        [
            html.P(line, id="review-status"),
            html.Blockquote(comment, id="review-open-comment", className="review-comment"),
        ],
        id="review-open",
        className="review-open",
    )


def _outcome_form(review: dict, lang: str):
    """A manager's outcome: upheld or changed, the new decision when changed, and the reason the customer reads."""
    choices = [o for o in OUTCOMES if o != review["decision_outcome"]]
    return html.Div(
        [
            dcc.Store(id="review-open-id", data=review["id"]),
            html.Div(
                [
                    html.Fieldset(
                        [
                            html.Legend(t("review_result_legend", lang)),
                            dcc.RadioItems(
                                id="review-result",
                                options=[{"label": t(f"review_{r}", lang), "value": r} for r in ("upheld", "changed")],
                                value="upheld",
                                inline=True,
                            ),
                        ],
                        className="field",
                    ),
                    html.Fieldset(
                        [
                            html.Legend(t("review_new_outcome_legend", lang)),
                            dcc.RadioItems(
                                id="review-new-outcome",
                                options=[{"label": t(o, lang), "value": o} for o in choices],
                                inline=True,
                            ),
                        ],
                        className="field",
                    ),
                ],
                className="filters",
            ),
            _text_area("review-reason", "review_reason_label", lang, required=True),
            html.Button(t("review_record", lang), id="review-record", className="primary"),
        ],
        className="review-form",
    )


def _past(reviews: list[dict], lang: str, role: str):
    """Answered reviews, newest first: the answer, the reason, and the comment it answered."""
    if not reviews:
        return None
    items = []
    for review in reviews:
        parts = [
            html.Strong(_answer(review, lang)),
            html.P([lead("review_reason", lang), review["reason"]]),
            html.P([lead("review_comment", lang), review["comment"] or "—"], className="muted small"),
        ]
        if role == "manager":
            parts.append(html.P(t("review_by", lang, by=review["reviewer"]), className="muted small"))
        items.append(html.Li(parts))
    return html.Div([html.H3(t("review_history", lang)), html.Ul(items, id="review-history")])


def render(answers: dict, lang: str, role: str, message=None):
    reviews = answers["reviews"]["items"]
    open_review = next((r for r in reviews if r["status"] == "open"), None)
    closed = [r for r in reviews if r["status"] == "closed"]
    parts = [html.P(t(f"review_right_{role}", lang), className="summary")]
    if role == "customer" and closed and open_review is None:
        parts.append(html.P(_answer(closed[0], lang), id="review-answer", className="notice"))
    if open_review is not None:
        parts.append(_pending(open_review, lang, role))
        if role == "manager":
            parts.append(_outcome_form(open_review, lang))
    elif role == "customer":
        parts.append(_request_form(lang))
    else:
        parts.append(html.P(t("review_none_open", lang), id="review-status"))
    parts.append(html.Div(message, id="review-message", **{"aria-live": "polite"}))
    parts.append(_past(closed, lang, role))
    return [part for part in parts if part is not None]


CARD = Card(id="reviews-panel", title="review_title", calls=_calls, render=render)


# ---------------------------------------------------------------------------------------------- sending
def _refusal(exc: api_client.ApiRefused, lang: str):
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in exc.fields) or exc.message
    return html.P(t("invalid", lang, msg=detail), role="alert", className="failed")


def _after(user: dict, cid: int, lang: str, send):
    """Run `send()` (a POST), then the card again from the API with a note saying how it went."""
    try:
        send()
        note = html.P(t("review_saved", lang), className="notice", role="status")
    except api_client.AuthExpired:
        return expired_marker()
    except api_client.ApiRefused as exc:
        note = _refusal(exc, lang)
    except api_client.ApiUnavailable:
        note = failed(lang)
    try:
        listed = api_client.get(api_client.client_reviews_path(cid), user["token"])
    except api_client.AuthExpired:
        return expired_marker()
    except (api_client.ApiRefused, api_client.ApiUnavailable):
        return failed(lang)
    return render({"reviews": listed}, lang, user["role"], note)


def _send(n_clicks, comment, requested):
    user, lang = session.user(), session.lang()
    cid = session.allowed_client(requested)
    if user is None or not n_clicks or cid is None:
        return no_update
    body = {"comment": comment or ""}
    return _after(user, cid, lang, lambda: api_client.post(api_client.client_reviews_path(cid), user["token"], body))


def _record(n_clicks, review_id, result, new_outcome, reason, requested):
    user, lang = session.user(), session.lang()
    cid = session.allowed_client(requested)
    if user is None or user["role"] != "manager" or not n_clicks or cid is None:
        return no_update
    body = {"result": result, "reason": reason or ""}
    if result == "changed":
        body["new_outcome"] = new_outcome
    path = api_client.review_outcome_path(review_id)
    return _after(user, cid, lang, lambda: api_client.post(path, user["token"], body))


def register(app: Dash) -> None:
    """The card's two forms on `app`: a customer's request and a manager's outcome, each re-rendering the card."""
    app.callback(
        Output("reviews-panel", "children", allow_duplicate=True),
        Input("review-send", "n_clicks"),
        State("review-comment", "value"),
        State("client-id", "data"),
        prevent_initial_call=True,
    )(_send)
    app.callback(
        Output("reviews-panel", "children", allow_duplicate=True),
        Input("review-record", "n_clicks"),
        State("review-open-id", "data"),
        State("review-result", "value"),
        State("review-new-outcome", "value"),
        State("review-reason", "value"),
        State("client-id", "data"),
        prevent_initial_call=True,
    )(_record)
