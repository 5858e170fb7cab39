"""The managers' review page: the open human review requests, oldest first and paged, each linking to the
client's file where the outcome is recorded; and how often reviews change the decision (the override rate)."""

from __future__ import annotations

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard import api_client, session
from dashboard.components.common import client_link, expired_marker, failed, page_offset, pager
from dashboard.i18n import number, percent, t

PAGE = 20
PATH = "/reviews"


def layout(lang: str):
    return html.Section(
        [
            html.Div([dcc.Link(t("back", lang), href="/", className="back")]),
            html.H1(t("queue_title", lang)),
            html.Div(id="queue-stats", **{"aria-live": "polite"}),
            html.H2(t("queue_open", lang)),
            *pager("queue", lang),
        ],
        className="card",
    )


def _page(prev, nxt, offset):
    return page_offset("queue", ctx.triggered_id, offset, PAGE)


def _calls(offset: int) -> dict:
    return {
        "queue": (api_client.reviews_path(), {"status": "open", "limit": PAGE, "offset": offset}),
        "stats": (api_client.review_stats_path(), {}),
    }


def _results(offset):
    user, lang = session.user(), session.lang()
    if user is None or user["role"] != "manager":
        return no_update, no_update
    answers = api_client.get_many(user["token"], _calls(offset or 0))
    if any(isinstance(a, api_client.AuthExpired) for a in answers.values()):
        return expired_marker(), None
    queue, stats = answers["queue"], answers["stats"]
    return (
        failed(lang) if isinstance(queue, Exception) else table(queue, offset or 0, lang),
        failed(lang) if isinstance(stats, Exception) else summary(stats, lang),
    )


def table(page: dict, offset: int, lang: str):
    """One page of open requests: client, date asked, the decision under review, the customer's comment."""
    if not page["total"]:
        return html.P(t("queue_empty", lang), id="queue-count")
    rows = [
        html.Tr(
            [
                html.Td(client_link(review["client_id"], lang)),
                html.Td(review["requested_at"][:10]),
                html.Td(t(review["decision_outcome"], lang) if review["decision_outcome"] else "—"),
                html.Td(review["comment"] or "—", className="review-comment"),
            ]
        )
        for review in page["items"]
    ]
    start = offset + 1 if rows else 0
    count = t("queue_results", lang, total=number(page["total"], lang), start=start, end=offset + len(rows))
    heads = ("client", "queue_requested", "queue_decision", "review_comment")
    return [
        html.P(count, id="queue-count"),
        html.Table(
            [html.Thead(html.Tr([html.Th(t(h, lang), scope="col") for h in heads])), html.Tbody(rows)],
            id="queue-table",
            className="results",
        ),
    ]


def summary(stats: dict, lang: str):
    """Counts and the override rate (changed / answered), overall and by month of the answer."""
    rate = percent(stats["override_rate"], lang)
    line = t(
        "queue_stats",
        lang,
        open=number(stats["open"], lang),
        closed=number(stats["closed"], lang),
        upheld=number(stats["upheld"], lang),
        changed=number(stats["changed"], lang),
        rate=rate,
    )
    parts = [html.P(line, id="queue-override", className="notice")]
    if stats["months"]:
        heads = ("stats_month", "stats_answered", "review_upheld", "review_changed", "override_rate")
        rows = [
            html.Tr(
                [
                    html.Td(m["month"]),
                    html.Td(number(m["closed"], lang)),
                    html.Td(number(m["upheld"], lang)),
                    html.Td(number(m["changed"], lang)),
                    html.Td(percent(m["override_rate"], lang)),
                ]
            )
            for m in stats["months"]
        ]
        parts.append(
            html.Table(
                [html.Thead(html.Tr([html.Th(t(h, lang), scope="col") for h in heads])), html.Tbody(rows)],
                id="queue-months",
                className="results",
            )
        )
    return parts


def register(app: Dash) -> None:
    """The page's callbacks: the offset from the pager, then the page of requests and the figures."""
    app.callback(
        Output("queue-offset", "data"),
        Input("queue-prev", "n_clicks"),
        Input("queue-next", "n_clicks"),
        State("queue-offset", "data"),
        prevent_initial_call=True,
    )(_page)
    app.callback(
        Output("queue-results", "children"),
        Output("queue-stats", "children"),
        Input("queue-offset", "data"),
    )(_results)
