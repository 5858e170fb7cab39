"""The campaign page for managers: the pre-approved offers of the last campaign, filtered by grade and amount,
paged, each linking to the client's file, and the same filtered list as a CSV export read from the API."""

from __future__ import annotations

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard import api_client, session
from dashboard.components.common import client_link, expired_marker, failed, page_offset, pager
from dashboard.i18n import money, number, percent, t

PAGE = 20
PATH = "/campaign"


def layout(lang: str):
    grades = [{"label": t("any", lang), "value": ""}] + [{"label": f"G{i}", "value": f"G{i}"} for i in range(1, 9)]

    def amount_field(key: str, element_id: str):
        return html.Div(
            [
                html.Label(t(key, lang), htmlFor=element_id),
                dcc.Input(id=element_id, type="number", min=0, step=500, debounce=0.5, autoComplete="off"),
            ],
            className="field",
        )

    return html.Section(
        [
            html.Div([dcc.Link(t("back", lang), href="/", className="back")]),
            html.H1(t("campaign_title", lang)),
            html.Div(id="campaign-notice"),
            html.Div(
                [
                    html.Fieldset(
                        [
                            html.Legend(t("grade_filter", lang)),
                            dcc.RadioItems(id="campaign-grade", options=grades, value="", inline=True),
                        ],
                        className="field",
                    ),
                    amount_field("min_amount", "campaign-min"),
                    amount_field("max_amount", "campaign-max"),
                    html.Button(t("download_csv", lang), id="campaign-download-button", className="secondary"),
                    dcc.Download(id="campaign-download"),
                ],
                className="filters",
            ),
            *pager("campaign", lang),
        ],
        className="card",
    )


def filters(grade, min_amount, max_amount) -> dict:
    """The API's query parameters for the chosen filters (empty ones left out; a blank number box is None)."""
    return {"grade": grade or None, "min_amount": min_amount, "max_amount": max_amount}


def _page(prev, nxt, grade, low, high, offset):
    return page_offset("campaign", ctx.triggered_id, offset, PAGE)


def _manager():
    user = session.user()
    return user if user is not None and user["role"] == "manager" else None


def _results(offset, grade, low, high):
    user, lang = _manager(), session.lang()
    if user is None:
        return no_update, no_update
    try:
        page = api_client.get(
            api_client.campaign_offers_path(),
            user["token"],
            **filters(grade, low, high),
            limit=PAGE,
            offset=offset or 0,
        )
    except api_client.AuthExpired:
        return expired_marker(), None
    except api_client.ApiRefused as exc:
        return html.P(t("invalid", lang, msg=exc.message), role="alert"), no_update
    except api_client.ApiUnavailable:
        return failed(lang), None
    return table(page, offset or 0, lang), notice(page, lang)


def notice(page: dict, lang: str):
    """What the list is: synthetic data or not, and the campaign's date, policy and model."""
    parts = []
    if page.get("data_source") == "synthetic":
        parts.append(html.P(t("synthetic", lang), className="synthetic", role="note"))
    campaign = page["campaign"]
    if campaign is not None:
        meta = t(
            "campaign_meta",
            lang,
            date=campaign["run_at"][:10],
            offers=number(campaign["offers"], lang),
            scored=number(campaign["clients_scored"], lang),
            policy=campaign["policy_version"],
            model=campaign["model_version"],
        )
        parts.append(html.P(meta, id="campaign-meta", className="muted"))
    return parts


def table(page: dict, offset: int, lang: str):
    """One page of offers: a count line and a table linking each client to their file."""
    if page["campaign"] is None:
        return html.P(t("no_campaign", lang), id="campaign-none")
    rows = [
        html.Tr(
            [
                html.Td(str(offer["rank"])),
                html.Td(client_link(offer["client_id"], lang)),
                html.Td(percent(offer["pd"], lang)),
                html.Td(offer["grade"]),
                html.Td(money(offer["amount"], lang)),
                html.Td(money(offer["annuity"], lang)),
                html.Td(number(offer["term_months"], lang)),
            ]
        )
        for offer in page["items"]
    ]
    start = offset + 1 if page["items"] else 0
    summary = t("offers_results", lang, total=number(page["total"], lang), start=start, end=offset + len(rows))
    heads = ("rank", "client", "pd", "grade", "amount_col", "monthly_col", "months_col")
    return [
        html.P(summary, id="campaign-count"),
        html.Table(
            [html.Thead(html.Tr([html.Th(t(h, lang), scope="col") for h in heads])), html.Tbody(rows)],
            id="campaign-table",
            className="results",
        ),
    ]


def _download(n_clicks, grade, low, high):
    user, lang = _manager(), session.lang()
    if user is None or not n_clicks:
        return no_update, no_update
    try:
        text = api_client.get_text(
            api_client.campaign_offers_csv_path(), user["token"], "text/csv", **filters(grade, low, high)
        )
    except api_client.AuthExpired:
        return no_update, expired_marker()
    except api_client.ApiRefused as exc:
        return no_update, html.P(t("invalid", lang, msg=exc.message), role="alert")
    except api_client.ApiUnavailable:
        return no_update, failed(lang)
    name = "offers" + (f"-{grade}" if grade else "") + ".csv"
    return {"content": text, "filename": name, "type": "text/csv", "base64": False}, no_update


def register(app: Dash) -> None:
    """The page's callbacks: the offset (a new filter starts over), the results and notice, the CSV download."""
    app.callback(
        Output("campaign-offset", "data"),
        Input("campaign-prev", "n_clicks"),
        Input("campaign-next", "n_clicks"),
        Input("campaign-grade", "value"),
        Input("campaign-min", "value"),
        Input("campaign-max", "value"),
        State("campaign-offset", "data"),
        prevent_initial_call=True,
    )(_page)
    app.callback(
        Output("campaign-results", "children"),
        Output("campaign-notice", "children"),
        Input("campaign-offset", "data"),
        Input("campaign-grade", "value"),
        Input("campaign-min", "value"),
        Input("campaign-max", "value"),
    )(_results)
    app.callback(
        Output("campaign-download", "data"),
        Output("campaign-results", "children", allow_duplicate=True),
        Input("campaign-download-button", "n_clicks"),
        State("campaign-grade", "value"),
        State("campaign-min", "value"),
        State("campaign-max", "value"),
        prevent_initial_call=True,
    )(_download)
