"""The score card: gauge of the probability of default against the threshold, grade, decision and model version."""

from __future__ import annotations

from dash import dcc, html

from dashboard import api_client
from dashboard.components import charts
from dashboard.components.card import Card
from dashboard.components.common import DECISION_STYLE, GRAPH_CONFIG
from dashboard.i18n import lead, t


def _calls(client_id: int, lang: str):
    return {"score": (api_client.client_score_path(client_id), {})}


def _render(answers: dict, lang: str, role: str):
    score = answers["score"]
    colour, mark = DECISION_STYLE[score["decision"]]
    return [
        dcc.Graph(id="gauge", figure=charts.gauge(score, lang), config={**GRAPH_CONFIG, "staticPlot": True}),
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
        html.P([lead("model_version", lang), html.Code(score["model_version"])], className="muted small"),
    ]


# the view's first card: a refused score means there is no such client, and its panel says so
CARD = Card(
    id="score-panel",
    title="score_title",
    calls=_calls,
    render=_render,
    class_name="card score",
    labelled_by="client-title",
)
