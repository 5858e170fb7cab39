"""Compared with others: one feature's distribution (repaid vs defaulted) and two features against each other."""

from __future__ import annotations

from dash import Input, Output, callback, dcc, html

from dashboard import api_client, session
from dashboard.components import charts
from dashboard.components.common import expired_marker, failed
from dashboard.i18n import t

DEFAULTS = ("EXT_SOURCE_MEAN", "EXT_SOURCE_2", "CREDIT_TO_INCOME", "AMT_CREDIT")


def layout(lang: str):
    return html.Section(
        [
            html.H2(t("compare_title", lang)),
            html.Div(
                [
                    html.Label(t("feature_pick", lang), htmlFor="dist-feature"),
                    dcc.Dropdown(id="dist-feature", clearable=False),
                ],
                className="field",
            ),
            dcc.Loading(html.Div(id="dist-panel")),
            html.Div(
                [
                    html.Div(
                        [html.Label(t("x_pick", lang), htmlFor="biv-x"), dcc.Dropdown(id="biv-x", clearable=False)],
                        className="field",
                    ),
                    html.Div(
                        [html.Label(t("y_pick", lang), htmlFor="biv-y"), dcc.Dropdown(id="biv-y", clearable=False)],
                        className="field",
                    ),
                ],
                className="filters",
            ),
            dcc.Loading(html.Div(id="biv-panel")),
        ],
        className="card",
    )


@callback(
    Output("dist-feature", "options"),
    Output("dist-feature", "value"),
    Output("biv-x", "options"),
    Output("biv-x", "value"),
    Output("biv-y", "options"),
    Output("biv-y", "value"),
    Input("client-id", "data"),
)
def _options(_):
    user, lang = session.user(), session.lang()
    if user is None:
        return [], None, [], None, [], None
    try:
        items = api_client.get("/api/v1/features", user["token"], lang=lang)["items"]
    except (api_client.ApiUnavailable, api_client.ApiRefused, api_client.AuthExpired):
        return [], None, [], None, [], None
    options = [{"label": i["label"], "value": i["name"]} for i in items if i["in_model"]]
    names = {o["value"] for o in options}
    picks = [d for d in DEFAULTS if d in names] + [o["value"] for o in options]
    numeric = [i["name"] for i in items if i["type"] == "numeric" and i["name"] in names]
    x = next((p for p in picks if p in numeric), None)
    y = next((p for p in picks if p in numeric and p != x), None)
    return options, picks[0] if picks else None, options, x, options, y


def _chart_panel(path: str, params: dict, chart, graph_id: str, summary_id: str):
    """One population chart for the allowed client: figure plus its text summary, or a note saying what failed."""
    user, lang = session.user(), session.lang()
    cid = session.allowed_client(params.pop("requested"))
    if user is None or cid is None or not all(params.values()):
        return None
    try:
        data = api_client.get(path, user["token"], client_id=cid, lang=lang, **params)
    except api_client.AuthExpired:
        return expired_marker()
    except (api_client.ApiUnavailable, api_client.ApiRefused):
        return failed(lang)
    fig, text = chart(data, lang)
    return [
        dcc.Graph(id=graph_id, figure=fig, config={"displaylogo": False}),
        html.P(text, id=summary_id, className="summary"),
    ]


@callback(Output("dist-panel", "children"), Input("dist-feature", "value"), Input("client-id", "data"))
def _distribution(feature, requested):
    return (
        _chart_panel(
            f"/api/v1/features/{feature}/distribution",
            {"bins": 30, "requested": requested},
            charts.distribution,
            "dist-graph",
            "dist-summary",
        )
        if feature
        else None
    )


@callback(Output("biv-panel", "children"), Input("biv-x", "value"), Input("biv-y", "value"), Input("client-id", "data"))
def _bivariate(x, y, requested):
    return _chart_panel(
        "/api/v1/features/bivariate",
        {"x": x, "y": y, "sample": 1000, "requested": requested},
        charts.bivariate,
        "biv-graph",
        "biv-summary",
    )
