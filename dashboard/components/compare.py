"""Compared with others: one feature's distribution (repaid vs defaulted) and two features against each other."""

from __future__ import annotations

from dash import Dash, Input, Output, State, dcc, html

from dashboard import api_client, session
from dashboard.components import charts
from dashboard.components.common import expired_marker, failed
from dashboard.i18n import t

DEFAULTS = ("EXT_SOURCE_MEAN", "EXT_SOURCE_2", "CREDIT_TO_INCOME", "AMT_CREDIT")


def layout(lang: str, role: str):
    """Pickers set to sensible defaults in the layout, so both charts load with the rest of the view.

    Each picker's search index over all feature names costs the browser ~0.1 s per picker: the pickers start with
    their chosen option only and get the full list, kept in the page, once the charts are drawn.
    """
    options, dist, x, y, pairs = _choices(lang, role)
    return html.Section(
        [
            html.H2(t("compare_title", lang)),
            dcc.Store(id="feature-options", data=options),
            dcc.Store(id="pair-options", data=pairs),
            html.Div(
                [
                    html.Label(t("feature_pick", lang), htmlFor="dist-feature"),
                    dcc.Dropdown(id="dist-feature", options=_only(options, dist), value=dist, clearable=False),
                ],
                className="field",
            ),
            dcc.Loading(html.Div(id="dist-panel")),
            html.Div(
                [
                    html.Div(
                        [
                            html.Label(t("x_pick", lang), htmlFor="biv-x"),
                            dcc.Dropdown(id="biv-x", options=_only(pairs, x), value=x, clearable=False),
                        ],
                        className="field",
                    ),
                    html.Div(
                        [
                            html.Label(t("y_pick", lang), htmlFor="biv-y"),
                            dcc.Dropdown(id="biv-y", options=_only(pairs, y), value=y, clearable=False),
                        ],
                        className="field",
                    ),
                ],
                className="filters",
            ),
            dcc.Loading(html.Div(id="biv-panel")),
        ],
        className="card",
    )


def _only(options: list[dict], value) -> list[dict]:
    return [o for o in options if o["value"] == value]


def _choices(lang: str, role: str):
    """The pickers' options and defaults from the API's feature list (see _pickers)."""
    user = session.user()
    if user is None:
        return [], None, None, None, []
    try:
        items = api_client.get(api_client.features_path(), user["token"], lang=lang)["items"]
    except (api_client.ApiUnavailable, api_client.ApiRefused, api_client.AuthExpired):
        return [], None, None, None, []  # the charts then say what failed
    return _pickers(items, role)


def _pickers(items: list[dict], role: str):
    """Model features as picker options, the default feature, two numeric defaults for the bivariate plot and its
    options (a customer's: the features with 2-D grids)."""
    options = [{"label": i["label"], "value": i["name"]} for i in items if i["in_model"]]
    names = {o["value"] for o in options}
    picks = [d for d in DEFAULTS if d in names] + [o["value"] for o in options]
    numeric = [i["name"] for i in items if i["type"] == "numeric" and i["name"] in names]
    pairs = options
    if role == "customer":  # a customer's 2-D grids exist for pairs of the API's grid features only
        grid = [i["name"] for i in items if i.get("in_grid")]
        numeric = [p for p in grid if p in numeric] + [p for p in grid if p not in numeric]
        picks = picks + [p for p in grid if p not in picks]
        pairs = [o for o in options if o["value"] in grid]
    x = next((p for p in picks if p in numeric), None)
    y = next((p for p in picks if p in numeric and p != x), None)
    return options, picks[0] if picks else None, x, y, pairs


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
    except api_client.ApiRefused as exc:  # e.g. a pair of features without a customer grid: say which exist
        return failed(lang, exc.message)
    except api_client.ApiUnavailable:
        return failed(lang)
    fig, text = chart(data, lang)
    return [
        dcc.Graph(id=graph_id, figure=fig, config={"displaylogo": False}),
        html.P(text, id=summary_id, className="summary"),
    ]


def _distribution(feature, requested):
    return (
        _chart_panel(
            api_client.distribution_path(feature),
            {"bins": 30, "requested": requested},
            charts.distribution,
            "dist-graph",
            "dist-summary",
        )
        if feature
        else None
    )


def _bivariate(x, y, requested):
    return _chart_panel(
        api_client.bivariate_path(),
        {"x": x, "y": y, "sample": 1000, "requested": requested},
        charts.bivariate,
        "biv-graph",
        "biv-summary",
    )


def register(app: Dash) -> None:
    """The comparison's callbacks on `app`: the two charts, and the pickers' full lists once both are drawn."""
    app.callback(Output("dist-panel", "children"), Input("dist-feature", "value"), Input("client-id", "data"))(
        _distribution
    )
    app.callback(
        Output("biv-panel", "children"), Input("biv-x", "value"), Input("biv-y", "value"), Input("client-id", "data")
    )(_bivariate)
    # the whole list once the view is drawn (in the browser: no round trip); a picker keeps its chosen value
    app.clientside_callback(
        """function(dist, biv, options, pairs) {
            // both charts first; one no_update per output (a lone one breaks the renderer's zip of outputs)
            const skip = window.dash_clientside.no_update;
            if (!dist || !biv) { return [skip, skip, skip]; }
            const all = options || [], two = pairs || [];
            // after the next paint: the charts show before the pickers build their search indexes
            return new Promise(done => requestAnimationFrame(() => setTimeout(() => done([all, two, two]), 0)));
        }""",
        Output("dist-feature", "options", allow_duplicate=True),
        Output("biv-x", "options", allow_duplicate=True),
        Output("biv-y", "options", allow_duplicate=True),
        Input("dist-panel", "children"),
        Input("biv-panel", "children"),
        State("feature-options", "data"),
        State("pair-options", "data"),
        prevent_initial_call=True,
    )
