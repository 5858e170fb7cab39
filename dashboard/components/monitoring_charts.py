"""The monitoring page's figures, built from the API's monitoring answers: score PSI over time against its levels,
AUC and Gini over time, calibration by grade, challenger against champion. Each level is told by a symbol as well
as a colour, and the page puts a table or a sentence beside every figure."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.components.common import BLUE, GREY, INK, ORANGE, SKY, VERMILION, figure_layout
from dashboard.i18n import t

# a PSI level's colour and marker: colour-blind-safe hues, and a shape that says the same without colour
LEVEL_STYLE = {
    "stable": (BLUE, "circle"),
    "watch": (ORANGE, "diamond"),
    "act": (VERMILION, "triangle-up"),
}


def level_of(psi: float | None, levels: dict) -> str | None:
    """The level of a PSI as the API tells the score's: act from levels["act"], watch from levels["watch"]."""
    if psi is None:
        return None
    return "act" if psi >= levels["act"] else "watch" if psi >= levels["watch"] else "stable"


def _period_axis(keys: list[str]) -> dict:
    # periods are names ("2026-11", "2026-W48"), one tick each, oldest on the left
    return {"type": "category", "categoryorder": "array", "categoryarray": keys, "title": None}


def psi_over_time(stability: dict, lang: str) -> go.Figure:
    """The score's PSI per period, each point coloured and shaped by its level, the watch and act levels as lines."""
    levels, rows = stability["levels"], [p for p in stability["periods"] if p["score_psi"] is not None]
    keys = [p["period"] for p in stability["periods"]]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[p["period"] for p in rows],
            y=[p["score_psi"] for p in rows],
            mode="lines",
            line={"color": GREY, "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for level, (colour, symbol) in LEVEL_STYLE.items():
        points = [p for p in rows if p["level"] == level]
        fig.add_trace(
            go.Scatter(
                x=[p["period"] for p in points],
                y=[p["score_psi"] for p in points],
                mode="markers",
                name=t(f"mon_level_{level}", lang),
                marker={"color": colour, "symbol": symbol, "size": 12, "line": {"color": INK, "width": 1}},
                hovertemplate="%{x}: %{y:.3f}<extra>" + t(f"mon_level_{level}", lang) + "</extra>",
            )
        )
    top = max([p["score_psi"] for p in rows] + [levels["act"]]) * 1.2
    for level, dash in (("watch", "dash"), ("act", "solid")):
        value = levels[level]
        fig.add_hline(
            y=value,
            line={"color": LEVEL_STYLE[level][0], "dash": dash, "width": 2},
            annotation_text=f"{t(f'mon_level_{level}', lang)} {value:g}",
            annotation_position="top left",
            annotation_font_color=INK,
        )
    fig.update_layout(
        **figure_layout(height=320, margin={"l": 60, "r": 20, "t": 30, "b": 50}),
        xaxis=_period_axis(keys),
        yaxis={"title": t("mon_psi_axis", lang), "range": [0, top], "rangemode": "tozero", "gridcolor": "#e5e5e5"},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def auc_over_time(performance: dict, lang: str) -> go.Figure:
    """AUC and Gini of each period with outcomes."""
    rows = [p for p in performance["periods"] if p["auc"] is not None]
    fig = go.Figure()
    for key, label, colour, symbol in (("auc", "AUC", BLUE, "circle"), ("gini", "Gini", ORANGE, "square")):
        fig.add_trace(
            go.Scatter(
                x=[p["period"] for p in rows],
                y=[p[key] for p in rows],
                mode="lines+markers",
                name=label,
                line={"color": colour, "width": 2},
                marker={"symbol": symbol, "size": 9},
                hovertemplate="%{x}: %{y:.3f}<extra>" + label + "</extra>",
            )
        )
    fig.update_layout(
        **figure_layout(height=300, margin={"l": 60, "r": 20, "t": 30, "b": 50}),
        xaxis=_period_axis([p["period"] for p in performance["periods"]]),
        yaxis={"title": t("mon_auc_axis", lang), "range": [0, 1], "gridcolor": "#e5e5e5"},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def calibration(by_grade: list[dict], lang: str) -> go.Figure:
    """Observed default rate against predicted PD, a point per grade (named), and the diagonal where they agree."""
    rows = [g for g in by_grade if g["observed_rate"] is not None and g["predicted_pd"] is not None]
    top = 100 * max([max(g["predicted_pd"], g["observed_rate"]) for g in rows] + [0.05]) * 1.1
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            mode="lines",
            name=t("mon_calibration_diagonal", lang),
            line={"color": GREY, "dash": "dash"},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[100 * g["predicted_pd"] for g in rows],
            y=[100 * g["observed_rate"] for g in rows],
            mode="markers+text",
            text=[g["grade"] for g in rows],
            textposition="top center",
            name=t("mon_col_grade", lang),
            marker={"color": SKY, "size": 11, "line": {"color": INK, "width": 1}},
            hovertemplate="%{text}: %{x:.1f} % → %{y:.1f} %<extra></extra>",
        )
    )
    fig.update_layout(
        **figure_layout(height=340, margin={"l": 60, "r": 20, "t": 30, "b": 50}),
        xaxis={"title": t("mon_calibration_x", lang), "range": [0, top], "ticksuffix": " %", "gridcolor": "#e5e5e5"},
        yaxis={"title": t("mon_calibration_y", lang), "range": [0, top], "ticksuffix": " %", "gridcolor": "#e5e5e5"},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def challenger_over_time(challenger: dict, lang: str) -> go.Figure:
    """Per period: the share of same decisions, and both models' AUC once outcomes are known."""
    rows = challenger["periods"]
    series = (
        ("agreement", t("mon_col_agreement", lang), SKY, "circle", "dot"),
        ("auc_champion", t("mon_col_auc_champion", lang), BLUE, "square", "solid"),
        ("auc_challenger", t("mon_col_auc_challenger", lang), VERMILION, "diamond", "dash"),
    )
    fig = go.Figure()
    for key, label, colour, symbol, dash in series:
        points = [p for p in rows if p[key] is not None]
        if not points:
            continue
        fig.add_trace(
            go.Scatter(
                x=[p["period"] for p in points],
                y=[p[key] for p in points],
                mode="lines+markers",
                name=label,
                line={"color": colour, "width": 2, "dash": dash},
                marker={"symbol": symbol, "size": 9},
                hovertemplate="%{x}: %{y:.3f}<extra>" + label + "</extra>",
            )
        )
    fig.update_layout(
        **figure_layout(height=300, margin={"l": 60, "r": 20, "t": 30, "b": 50}),
        xaxis=_period_axis([p["period"] for p in rows]),
        yaxis={"title": t("mon_share_axis", lang), "range": [0, 1.05], "gridcolor": "#e5e5e5"},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig
