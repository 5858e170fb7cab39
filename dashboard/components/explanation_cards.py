"""The two cards of one client's SHAP explanation: the reasons in plain sentences, and the waterfall of effects.

The explanation is asked once, in PD units (the API then sends the exact log-odds and the same path in PD points):
customers read PD points; managers switch between the two without another call to the API.
"""

from __future__ import annotations

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import api_client, session
from dashboard.components import charts
from dashboard.components.card import Card
from dashboard.components.common import GRAPH_CONFIG
from dashboard.i18n import t

UNITS = ("log-odds", "pd")


def _calls(client_id: int, lang: str):
    """The same call for both cards, so the view asks for the explanation once."""
    return {"explanation": (api_client.client_explanation_path(client_id), {"top": 8, "lang": lang, "units": "pd"})}


def _reasons(answers: dict, lang: str, role: str):
    """The API words the sentences for the caller's role: "you" for a customer, "the client" for a manager."""
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


def chart(explanation: dict, lang: str, role: str, units: str) -> list:
    """The waterfall in `units`, what its bars are (PD points: from the average client's PD to this one) and the
    same figures in a sentence."""
    if units not in UNITS or (units == "pd" and "base_pd" not in explanation):
        units = "log-odds"  # an answer without the PD path (an API asked for log-odds) still draws exactly
    parts = [dcc.Graph(id="waterfall", figure=charts.waterfall(explanation, lang, units), config=GRAPH_CONFIG)]
    if units == "pd":
        audience = "customer" if role == "customer" else "manager"
        parts.insert(0, html.P(charts.waterfall_label(explanation, lang, audience), id="waterfall-label"))
        parts.append(html.P(t("waterfall_pd_note", lang), className="muted small"))
    parts.append(html.P(charts.waterfall_summary(explanation, lang, units), className="summary"))
    return parts


def _waterfall(answers: dict, lang: str, role: str):
    explanation = answers["explanation"]
    if role != "manager":
        return html.Div(chart(explanation, lang, role, "pd"), id="waterfall-view")
    switch = html.Fieldset(
        [
            html.Legend(t("units_legend", lang)),
            dcc.RadioItems(
                id="waterfall-units",
                options=[{"label": t(f"units_{u.replace('-', '_')}", lang), "value": u} for u in UNITS],
                value="log-odds",
                inline=True,
            ),
        ],
        className="field units",
    )
    return [
        switch,
        dcc.Store(id="waterfall-data", data=explanation),
        html.Div(chart(explanation, lang, role, "log-odds"), id="waterfall-view", **{"aria-live": "polite"}),
    ]


def _switch_units(units, explanation):
    """A manager's switch: the same answer redrawn in the other units (no API call)."""
    user = session.user()
    if user is None or user["role"] != "manager" or not explanation:
        return no_update
    return chart(explanation, session.lang(), "manager", units)


def register(app: Dash) -> None:
    """The managers' unit switch (a customer has none, so the callback never runs for them)."""
    app.callback(
        Output("waterfall-view", "children"),
        Input("waterfall-units", "value"),
        State("waterfall-data", "data"),
        prevent_initial_call=True,
    )(_switch_units)


REASONS = Card(id="reasons-panel", title="why_title", calls=_calls, render=_reasons)
WATERFALL = Card(id="waterfall-panel", title="waterfall_title", calls=_calls, render=_waterfall)
