"""The global importance card: what the model relies on across all clients (mean |SHAP|)."""

from __future__ import annotations

from dash import dcc, html

from dashboard import api_client
from dashboard.components import charts
from dashboard.components.card import Card
from dashboard.components.common import GRAPH_CONFIG
from dashboard.i18n import t


def _calls(client_id: int, lang: str):
    return {"importance": (api_client.importance_path(), {"top": 12, "lang": lang})}


def _render(answers: dict, lang: str, role: str):
    items = answers["importance"]["items"]
    return [
        dcc.Graph(id="importance", figure=charts.importance(items, lang), config=GRAPH_CONFIG),
        html.P(t("importance_summary", lang, items=", ".join(i["label"] for i in items[:5])), className="summary"),
    ]


CARD = Card(id="importance-panel", title="importance_title", calls=_calls, render=_render)
