"""Figures with their text summaries: score gauge, SHAP waterfall, global importance, distribution, bivariate."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.components.common import BLUE, DECISION_STYLE, GREY, INK, ORANGE, SKY, VERMILION, figure_layout
from dashboard.i18n import NBSP, number, percent, t


def _logodds(value: float, lang: str, signed: bool = False) -> str:
    """A log-odds contribution with the language's decimal mark (+0,17 in French)."""
    text = number(abs(value), lang, 2)
    return ("+" if value >= 0 else "−") + text if signed else ("−" if value < 0 else "") + text


def gauge(score: dict, lang: str) -> go.Figure:
    colour, _ = DECISION_STYLE[score["decision"]]
    top = max(0.4, min(1.0, score["pd"] * 1.5), score["threshold"] * 2)
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=100 * score["pd"],
            number={"suffix": " %", "valueformat": ".1f", "font": {"color": INK}},
            gauge={
                "axis": {"range": [0, 100 * top], "ticksuffix": " %"},
                "bar": {"color": colour, "thickness": 0.35},
                "steps": [
                    {"range": [0, 100 * score["threshold"]], "color": "#dcebf7"},
                    {"range": [100 * score["threshold"], 100 * top], "color": "#fbe3d4"},
                ],
                "threshold": {"line": {"color": INK, "width": 4}, "thickness": 0.9, "value": 100 * score["threshold"]},
            },
        )
    )
    # the axis labels stand outside the arc: margins wide enough for "100 %" at the ends and the top label
    fig.update_layout(**figure_layout(height=230, margin={"l": 55, "r": 55, "t": 35, "b": 10}))
    return fig


def gauge_summary(score: dict, lang: str) -> str:
    return t(
        "gauge_summary",
        lang,
        pd=percent(score["pd"], lang),
        threshold=percent(score["threshold"], lang),
        grade=score["grade"],
        decision=t(score["decision"], lang),
    )


def _points(share: float, lang: str) -> str:
    """A difference of PD (0..1) in signed percentage points: +2.3 pts; two decimals under a tenth of a point."""
    value = 100 * share
    text = number(abs(value), lang, 2 if abs(value) < 0.095 else 1)
    return ("+" if value >= 0 else "−") + text + NBSP + t("points_unit", lang)


def _path(exp: dict, lang: str, units: str) -> tuple[list, list, list]:
    """The waterfall as walked, top to bottom: the average client, each contribution in the API's order (largest
    first), all the others, this client; in log-odds, or in PD (%) with each step's percentage points."""
    items = exp["contributions"]
    labels = [t("base", lang)] + [f"{c['label']} = {c['display']}" for c in items]
    if units == "pd":
        values = [100 * exp["base_pd"]] + [100 * c["pd_points"] for c in items]
        others, final = 100 * exp["others"]["pd_points"], 100 * exp["final_pd"]
    else:
        values = [exp["base_value"]] + [c["shap"] for c in items]
        others, final = exp["others"]["shap"], exp["raw_score"]
    if exp["others"]["count"]:
        labels.append(f"{t('others', lang)} ({exp['others']['count']})")
        values.append(others)
    return labels + [t("final", lang)], values + [final], ["absolute"] + ["relative"] * (len(values) - 1) + ["total"]


def waterfall(exp: dict, lang: str, units: str = "log-odds") -> go.Figure:
    """`units` "pd": the same SHAP path in probability of default (the API's units=pd fields), else log-odds."""
    labels, values, measures = _path(exp, lang, units)
    if units == "pd":
        text = [
            percent(v / 100, lang) if m != "relative" else _points(v / 100, lang)
            for v, m in zip(values, measures, strict=True)
        ]
    else:
        text = [_logodds(v, lang, signed=m == "relative") for v, m in zip(values, measures, strict=True)]
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=labels,
            x=values,
            measure=measures,
            # the start and the end inside their bars (they reach the axis's edge), each step beside its bar
            textposition=["outside" if m == "relative" else "inside" for m in measures],
            insidetextanchor="middle",
            cliponaxis=False,  # a label beyond the last bar draws into the margin, not cut at the axis
            text=text,
            increasing={"marker": {"color": VERMILION}},
            decreasing={"marker": {"color": BLUE}},
            totals={"marker": {"color": GREY}},
            connector={"line": {"color": "#999"}},
        )
    )
    fig.update_layout(
        **figure_layout(
            height=110 + 34 * len(labels),
            margin={"l": 10, "r": 70, "t": 10, "b": 50},
            xaxis_title=t("waterfall_axis_pd" if units == "pd" else "waterfall_axis", lang),
            showlegend=False,
        )
    )
    fig.update_yaxes(automargin=True, autorange="reversed")  # read top to bottom, as the path is walked
    return fig


def waterfall_label(exp: dict, lang: str, audience: str) -> str:
    """What the PD-point bars are, from where to where: the start is the PD at the model's average log-odds."""
    key = "waterfall_pd_label_you" if audience == "customer" else "waterfall_pd_label"
    return t(key, lang, base=percent(exp["base_pd"], lang), final=percent(exp["final_pd"], lang))


def waterfall_summary(exp: dict, lang: str, units: str = "log-odds") -> str:
    if units == "pd":
        parts = [
            f"{c['label']} ({c['display']}): {t('raises' if c['shap'] > 0 else 'lowers', lang)} "
            f"{_points(c['pd_points'], lang)}"
            for c in exp["contributions"][:5]
        ]
        return t("waterfall_summary_pd", lang, base=percent(exp["base_pd"], lang), items="; ".join(parts))
    parts = [
        f"{c['label']} ({c['display']}): {t('raises' if c['shap'] > 0 else 'lowers', lang)} "
        f"{_logodds(c['shap'], lang, signed=True)}"
        for c in exp["contributions"][:5]
    ]
    return t("waterfall_summary", lang, base=_logodds(exp["base_value"], lang), items="; ".join(parts))


def importance(items: list[dict], lang: str) -> go.Figure:
    items = list(reversed(items))
    fig = go.Figure(
        go.Bar(
            x=[i["mean_abs_shap"] for i in items],
            y=[i["label"] for i in items],
            orientation="h",
            marker_color=SKY,
            marker_line_color=BLUE,
            marker_line_width=1,
        )
    )
    fig.update_layout(**figure_layout(height=60 + 26 * len(items), xaxis_title=t("importance_axis", lang)))
    fig.update_yaxes(automargin=True)
    return fig


def distribution(dist: dict, lang: str) -> tuple[go.Figure, str]:
    repaid_total = max(sum(dist["repaid"]), 1)
    default_total = max(sum(dist["defaulted"]), 1)
    if dist["kind"] == "categorical":
        x = dist["categories"]
    else:
        edges = dist["edges"]
        x = [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)]
    fig = go.Figure(
        [
            go.Bar(x=x, y=[100 * v / repaid_total for v in dist["repaid"]], name=t("repaid", lang), marker_color=BLUE),
            go.Bar(
                x=x,
                y=[100 * v / default_total for v in dist["defaulted"]],
                name=t("defaulted", lang),
                marker_color=ORANGE,
                marker_pattern_shape="/",
            ),
        ]
    )
    fig.update_layout(
        **figure_layout(
            barmode="group",
            yaxis_title=t("share_axis", lang),
            xaxis_title=dist["label"],
            legend={"orientation": "h", "y": 1.12},
        )
    )
    client = dist.get("client")
    label = dist["label"]
    if client is None or client.get("value") is None:
        return fig, t("dist_missing", lang, label=label)
    if dist["kind"] == "numeric":
        fig.add_vline(
            x=client["value"],
            line_width=3,
            line_dash="dash",
            line_color=INK,
            annotation_text=t("this_client", lang),
            annotation_position="top",
        )
        pct = client.get("percentile")
        text = t(
            "dist_summary",
            lang,
            label=label,
            value=client["display"],
            pct=f"{number(pct, lang)}{NBSP}%" if pct is not None else "—",
        )
    else:
        text = t("dist_summary_cat", lang, label=label, value=client["display"])
    return fig, text


def bivariate(data: dict, lang: str) -> tuple[go.Figure, str]:
    client = data.get("client") or {}
    if data["kind"] == "points":
        pts = data["points"]
        # SVG, not WebGL: without a GPU (headless browsers, remote desktops) a WebGL context alone costs ~0.3 s
        fig = go.Figure(
            go.Scatter(
                x=[p["x"] for p in pts],
                y=[p["y"] for p in pts],
                mode="markers",
                name=t("clients_count", lang),
                marker={
                    "color": [p["pd"] for p in pts],
                    "colorscale": "Cividis",
                    "size": 6,
                    "opacity": 0.7,
                    "colorbar": {"title": {"text": t("pd", lang)}, "tickformat": ".0%"},
                },
            )
        )
        text = t("biv_points", lang, n=len(pts))
    else:
        dens = data["density"]
        xe, ye = dens["x_edges"], dens["y_edges"]
        xs = xe if dens["x_kind"] == "categorical" else [(a + b) / 2 for a, b in zip(xe, xe[1:], strict=False)]
        ys = ye if dens["y_kind"] == "categorical" else [(a + b) / 2 for a, b in zip(ye, ye[1:], strict=False)]
        counts = [list(col) for col in zip(*dens["counts"], strict=False)]  # rows = y
        fig = go.Figure(
            go.Heatmap(x=xs, y=ys, z=counts, colorscale="Blues", colorbar={"title": {"text": t("clients_count", lang)}})
        )
        text = t("biv_density", lang)
    if client.get("x") is not None and client.get("y") is not None:
        fig.add_trace(
            go.Scatter(
                x=[client["x"]],
                y=[client["y"]],
                mode="markers",
                name=t("this_client", lang),
                marker={"symbol": "star", "size": 20, "color": VERMILION, "line": {"color": INK, "width": 2}},
            )
        )
    fig.update_layout(
        **figure_layout(
            height=380, xaxis_title=data["x_label"], yaxis_title=data["y_label"], legend={"orientation": "h", "y": 1.1}
        )
    )
    return fig, text
