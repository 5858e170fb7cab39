"""Client search for managers: id prefix, grade and decision filters, paged results linking to each file."""

from __future__ import annotations

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard import api_client, session
from dashboard.components import campaign
from dashboard.components.common import DECISION_STYLE, client_link, expired_marker, failed, page_offset, pager
from dashboard.i18n import percent, t

PAGE = 20


def layout(lang: str):
    grades = [{"label": t("any", lang), "value": ""}] + [{"label": f"G{i}", "value": f"G{i}"} for i in range(1, 9)]
    decisions = [
        {"label": t("any", lang), "value": ""},
        {"label": t("approve", lang), "value": "approve"},
        {"label": t("decline", lang), "value": "decline"},
    ]
    return html.Section(
        [
            html.Div(
                [
                    html.H1(t("search_title", lang)),
                    dcc.Link(t("campaign_link", lang), href=campaign.PATH, id="campaign-link", className="back"),
                ],
                className="title-line",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Label(t("search_label", lang), htmlFor="search-input"),
                            dcc.Input(
                                id="search-input",
                                type="text",
                                inputMode="numeric",
                                debounce=0.3,
                                value="",
                                autoComplete="off",
                            ),
                        ],
                        className="field",
                    ),
                    html.Fieldset(
                        [
                            html.Legend(t("grade_filter", lang)),
                            dcc.RadioItems(id="search-grade", options=grades, value="", inline=True),
                        ],
                        className="field",
                    ),
                    html.Fieldset(
                        [
                            html.Legend(t("decision_filter", lang)),
                            dcc.RadioItems(id="search-decision", options=decisions, value="", inline=True),
                        ],
                        className="field",
                    ),
                ],
                className="filters",
            ),
            *pager("search", lang),
        ],
        className="card",
    )


def _page(prev, nxt, query, grade, decision, offset):
    return page_offset("search", ctx.triggered_id, offset, PAGE)


def _results(offset, query, grade, decision):
    user, lang = session.user(), session.lang()
    if user is None or user["role"] != "manager":
        return no_update
    query, offset = (query or "").strip(), offset or 0
    if query and not query.isdigit():
        return html.P(t("invalid", lang, msg=t("search_label", lang)), role="alert")
    try:
        page = api_client.get(
            api_client.clients_path(),
            user["token"],
            search=query or None,
            grade=grade or None,
            decision=decision or None,
            limit=PAGE,
            offset=offset,
        )
    except api_client.AuthExpired:
        return expired_marker()
    except (api_client.ApiUnavailable, api_client.ApiRefused):
        return failed(lang)
    return _table(page, offset, lang)


def _table(page: dict, offset: int, lang: str):
    """One page of the API's client list: a count line and a table linking each client to their file."""
    rows = []
    for item in page["items"]:
        colour, mark = DECISION_STYLE[item["decision"]]
        rows.append(
            html.Tr(
                [
                    html.Td(client_link(item["client_id"], lang)),
                    html.Td(percent(item["pd"], lang)),
                    html.Td(item["grade"]),
                    html.Td(
                        [html.Span(mark, **{"aria-hidden": "true"}), " ", t(item["decision"], lang)],
                        style={"color": colour},
                        className="decision",
                    ),
                ]
            )
        )
    start = offset + 1 if page["items"] else 0
    summary = t("results", lang, total=page["total"], start=start, end=offset + len(page["items"]))
    return [
        html.P(summary),
        html.Table(
            [
                html.Thead(
                    html.Tr(
                        [
                            html.Th(t("client", lang), scope="col"),
                            html.Th(t("pd", lang), scope="col"),
                            html.Th(t("grade", lang), scope="col"),
                            html.Th(t("decision", lang), scope="col"),
                        ]
                    )
                ),
                html.Tbody(rows),
            ],
            className="results",
        ),
    ]


def register(app: Dash) -> None:
    """The search callbacks on `app`: the page offset (a new query starts over), then the results."""
    app.callback(
        Output("search-offset", "data"),
        Input("search-prev", "n_clicks"),
        Input("search-next", "n_clicks"),
        Input("search-input", "value"),
        Input("search-grade", "value"),
        Input("search-decision", "value"),
        State("search-offset", "data"),
        prevent_initial_call=True,
    )(_page)
    app.callback(
        Output("search-results", "children"),
        Input("search-offset", "data"),
        Input("search-input", "value"),
        Input("search-grade", "value"),
        Input("search-decision", "value"),
    )(_results)
