"""The client view: score gauge, reasons, SHAP waterfall, global importance and the file, fetched in parallel."""

from __future__ import annotations

from dash import Input, Output, callback, dcc, html

from dashboard import api_client, session
from dashboard.components import charts, compare, whatif
from dashboard.components.common import DECISION_STYLE, expired_marker, failed
from dashboard.i18n import t

_GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


def layout(client_id: int, lang: str, role: str):
    back = [dcc.Link(t("back", lang), href="/", className="back")] if role == "manager" else []
    sections = [
        html.Div(back + [html.H1([t("client", lang), f" {client_id}"], id="client-title")]),
        dcc.Store(id="client-id", data=client_id),
        html.Div(id="client-notice"),
        html.Div(
            [
                html.Section(
                    [html.H2(t("score_title", lang)), dcc.Loading(html.Div(id="score-panel"))],
                    className="card score",
                    **{"aria-labelledby": "client-title"},
                ),
                html.Section(
                    [html.H2(t("why_title", lang)), dcc.Loading(html.Div(id="reasons-panel"))], className="card"
                ),
            ],
            className="row",
        ),
        html.Section(
            [html.H2(t("waterfall_title", lang)), dcc.Loading(html.Div(id="waterfall-panel"))], className="card"
        ),
    ]
    if role == "manager":
        sections.append(whatif.layout(lang))
    sections += [
        compare.layout(lang),
        html.Section(
            [html.H2(t("importance_title", lang)), dcc.Loading(html.Div(id="importance-panel"))], className="card"
        ),
        html.Section([html.H2(t("file_title", lang)), dcc.Loading(html.Div(id="file-panel"))], className="card"),
    ]
    return html.Div(sections)


def _score_panel(score: dict, lang: str):
    colour, mark = DECISION_STYLE[score["decision"]]
    return [
        dcc.Graph(id="gauge", figure=charts.gauge(score, lang), config={**_GRAPH_CONFIG, "staticPlot": True}),
        html.P(charts.gauge_summary(score, lang), id="gauge-summary", className="summary"),
        html.Div(
            [
                html.Span(t("grade", lang) + " ", className="muted"),
                html.Strong(score["grade"], id="grade-value"),
                html.Span(
                    [html.Span(mark, **{"aria-hidden": "true"}), " ", t(score["decision"], lang)],
                    id="decision-value",
                    className="decision-badge",
                    style={"borderColor": colour, "color": colour},
                ),
            ],
            className="grade-line",
        ),
        html.P([t("model_version", lang), ": ", html.Code(score["model_version"])], className="muted small"),
    ]


def _reasons_panel(exp: dict):
    items = []
    for reason in exp["reasons"]:
        up = reason["direction"] == "raises_risk"
        items.append(
            html.Li(
                [
                    html.Span("▲ " if up else "▼ ", **{"aria-hidden": "true"}, className="up" if up else "down"),
                    reason["sentence"],
                ],
                className="reason",
            )
        )
    return html.Ol(items, id="reasons-list")


def _file_panel(file: dict, lang: str):
    blocks = []
    for group in file["groups"]:
        if not group["fields"]:
            continue
        rows = [html.Tr([html.Th(f["label"], scope="row"), html.Td(f["display"])]) for f in group["fields"]]
        blocks.append(
            html.Details(
                [html.Summary(group["title"]), html.Table(html.Tbody(rows), className="kv")],
                open=group["group"] in ("income_employment", "loan"),
            )
        )
    history = [html.Tr([html.Th(h["label"], scope="row"), html.Td(h["display"])]) for h in file["history"]]
    blocks.append(
        html.Details(
            [html.Summary(t("history_title", lang)), html.Table(html.Tbody(history), className="kv")], open=True
        )
    )
    return blocks


@callback(
    Output("score-panel", "children"),
    Output("reasons-panel", "children"),
    Output("waterfall-panel", "children"),
    Output("importance-panel", "children"),
    Output("file-panel", "children"),
    Output("client-notice", "children"),
    Output("api-banner", "children", allow_duplicate=True),
    Input("client-id", "data"),
    prevent_initial_call="initial_duplicate",
)
def _load(requested):
    user, lang = session.user(), session.lang()
    cid = session.allowed_client(requested)
    if user is None or cid is None:
        return [expired_marker()] + [None] * 6
    results = api_client.get_many(
        user["token"],
        {
            "score": (api_client.client_score_path(cid), {}),
            "exp": (api_client.client_explanation_path(cid), {"top": 8, "lang": lang}),
            "file": (api_client.client_path(cid), {"lang": lang}),
            "imp": (api_client.importance_path(), {"top": 12, "lang": lang}),
            "model": (api_client.model_path(), {}),
        },
    )
    if any(isinstance(r, api_client.AuthExpired) for r in results.values()):
        return [expired_marker()] + [None] * 6
    if isinstance(results["score"], api_client.ApiRefused):
        msg = html.P(t("not_found", lang), role="alert", className="failed")
        return [msg, None, None, None, None, None, None]
    down = any(isinstance(r, api_client.ApiUnavailable) for r in results.values())
    banner = html.Div(t("api_down", lang), className="banner", role="alert") if down else None
    ok = {k: v for k, v in results.items() if not isinstance(v, Exception)}
    model = ok.get("model")
    notice = None
    if model and model.get("data_source") == "synthetic":
        notice = html.P(t("synthetic", lang), className="synthetic", role="note")
    score = _score_panel(ok["score"], lang) if "score" in ok else failed(lang)
    reasons = _reasons_panel(ok["exp"]) if "exp" in ok else failed(lang)
    if "exp" in ok:
        waterfall = [
            dcc.Graph(id="waterfall", figure=charts.waterfall(ok["exp"], lang), config=_GRAPH_CONFIG),
            html.P(charts.waterfall_summary(ok["exp"], lang), className="summary"),
        ]
    else:
        waterfall = failed(lang)
    if "imp" in ok:
        items = ok["imp"]["items"]
        importance = [
            dcc.Graph(id="importance", figure=charts.importance(items, lang), config=_GRAPH_CONFIG),
            html.P(t("importance_summary", lang, items=", ".join(i["label"] for i in items[:5])), className="summary"),
        ]
    else:
        importance = failed(lang)
    file = _file_panel(ok["file"], lang) if "file" in ok else failed(lang)
    return score, reasons, waterfall, importance, file, notice, banner
