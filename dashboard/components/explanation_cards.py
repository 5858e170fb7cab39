"""The two cards of one client's SHAP explanation: the reasons in plain sentences, and the waterfall of effects."""

from __future__ import annotations

from dash import dcc, html

from dashboard import api_client
from dashboard.components import charts
from dashboard.components.card import Card
from dashboard.components.common import GRAPH_CONFIG


def _calls(client_id: int, lang: str):
    """The same call for both cards, so the view asks for the explanation once."""
    return {"explanation": (api_client.client_explanation_path(client_id), {"top": 8, "lang": lang})}


def _reasons(answers: dict, lang: str, role: str):
    items = []
    for reason in answers["explanation"]["reasons"]:
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


def _waterfall(answers: dict, lang: str, role: str):
    explanation = answers["explanation"]
    return [
        dcc.Graph(id="waterfall", figure=charts.waterfall(explanation, lang), config=GRAPH_CONFIG),
        html.P(charts.waterfall_summary(explanation, lang), className="summary"),
    ]


REASONS = Card(id="reasons-panel", title="why_title", calls=_calls, render=_reasons)
WATERFALL = Card(id="waterfall-panel", title="waterfall_title", calls=_calls, render=_waterfall)
