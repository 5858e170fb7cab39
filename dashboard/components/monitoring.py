"""The managers' monitoring page: whether the applicants still look like the training data (PSI of the score and of
the top features), whether the scores still predict the outcomes (AUC, Gini, calibration by grade), and how the
challenger would have decided; by day, week or month. Each part says plainly when it has nothing to show yet or
when the API did not answer, so one missing answer never blanks the page."""

from __future__ import annotations

from dash import Dash, Input, Output, dcc, html, no_update

from dashboard import api_client, session
from dashboard.components import monitoring_charts as charts
from dashboard.components.common import GRAPH_CONFIG, expired_marker, failed
from dashboard.i18n import lead, number, percent, t

PATH = "/monitoring"
PERIODS = ("day", "week", "month")
TOP_FEATURES = 10
SECTIONS = ("stability", "performance", "challenger")
# background of a PSI cell by level (text stays #1a1a1a: at least 12:1 on each)
_CELL = {"stable": "#e8f1fa", "watch": "#ffeeb8", "act": "#fbd3c0", None: "#f0f0f0"}
_MARK = {"stable": "", "watch": " ◆", "act": " ▲", None: ""}


def layout(lang: str):
    period = html.Fieldset(
        [
            html.Legend(t("mon_period", lang)),
            dcc.RadioItems(
                id="monitoring-period",
                options=[{"label": t(f"mon_{p}", lang), "value": p} for p in PERIODS],
                value="month",
                inline=True,
            ),
        ],
        className="field",
    )
    head = html.Section(
        [
            html.Div([dcc.Link(t("back", lang), href="/", className="back")]),
            html.H1(t("mon_title", lang)),
            html.P(t("mon_intro", lang), className="muted"),
            html.Div(period, className="filters"),
            html.Div(id="monitoring-notice"),
        ],
        className="card",
    )
    parts = [
        html.Section(
            [
                html.H2(t(f"mon_{name}", lang), id=f"monitoring-{name}-title"),
                dcc.Loading(html.Div(id=f"monitoring-{name}")),
            ],
            className="card",
            **{"aria-labelledby": f"monitoring-{name}-title"},
        )
        for name in SECTIONS
    ]
    return html.Div([head, *parts])


def calls(period: str) -> dict:
    return {
        "stability": (api_client.monitoring_stability_path(), {"period": period, "top": TOP_FEATURES}),
        "performance": (api_client.monitoring_performance_path(), {"period": period}),
        "challenger": (api_client.monitoring_challenger_path(), {"period": period}),
    }


def _results(period):
    user, lang = session.user(), session.lang()
    if user is None or user["role"] != "manager":
        return (no_update,) * (1 + len(SECTIONS))
    answers = api_client.get_many(user["token"], calls(period if period in PERIODS else "month"))
    if any(isinstance(a, api_client.AuthExpired) for a in answers.values()):
        return expired_marker(), None, None, None
    return page(answers, lang)


def page(answers: dict, lang: str) -> tuple:
    """The notice and each section from the three answers (a body, or the exception its call raised)."""
    renders = {"stability": stability, "performance": performance, "challenger": challenger}
    return (notice(answers, lang), *(_section(answers[name], renders[name], lang) for name in SECTIONS))


def _section(answer, render, lang: str):
    if isinstance(answer, api_client.ApiRefused):
        message = t("mon_managers_only", lang) if answer.status == 403 else answer.message
        return html.P(message, className="failed", role="alert")
    if isinstance(answer, Exception):  # the API down, slow or answering 5xx
        return failed(lang)
    return render(answer, lang)


def notice(answers: dict, lang: str):
    sources = [a.get("data_source") for a in answers.values() if isinstance(a, dict)]
    if "synthetic" in sources:
        return html.P(t("synthetic", lang), className="synthetic", role="note", id="monitoring-synthetic")
    return None


def _psi(value, lang: str) -> str:
    return number(value, lang, 3) if value is not None else "—"


def _level_text(level: str | None, lang: str) -> str:
    return t(f"mon_level_{level or 'none'}", lang) + _MARK[level]


def _table(heads: list[str], rows: list, element_id: str, lang: str, caption: str | None = None):
    parts = [html.Caption(caption)] if caption else []
    parts += [html.Thead(html.Tr([html.Th(t(h, lang), scope="col") for h in heads])), html.Tbody(rows)]
    return html.Div(html.Table(parts, id=element_id, className="results"), style={"overflowX": "auto"})


def stability(body: dict, lang: str):
    """The score's PSI over time with its levels, the latest period in a sentence, every period in a table, and
    the heat table of the top features' PSI."""
    periods, levels, ref = body["periods"], body["levels"], body["reference"]
    reference = t(
        "mon_reference",
        lang,
        n=number(ref["n"], lang),
        model=ref["model_version"],
        source=t(f"mon_source_{ref['source']}", lang) if ref["source"] in ("bundle", "store") else ref["source"],
    )
    parts = [html.P(reference, id="psi-reference", className="muted")]
    if not periods:
        return [*parts, html.P(t("mon_no_applications", lang), id="psi-empty", className="notice")]
    latest = periods[-1]
    if latest["score_psi"] is None:
        summary = t("mon_psi_summary_none", lang, period=latest["period"])
    else:
        level = t(f"mon_level_{latest['level']}", lang)
        summary = t("mon_psi_summary", lang, period=latest["period"], psi=_psi(latest["score_psi"], lang), level=level)
    rows = [
        html.Tr(
            [
                html.Th(p["period"], scope="row"),
                html.Td(number(p["n"], lang)),
                html.Td(_psi(p["score_psi"], lang)),
                html.Td(_level_text(p["level"], lang), className=f"level-{p['level'] or 'none'}"),
            ]
        )
        for p in periods
    ]
    heads = ["mon_col_period", "mon_col_applications", "mon_col_psi", "mon_col_level"]
    parts += [
        html.P(
            t("mon_levels", lang, watch=number(levels["watch"], lang, 2), act=number(levels["act"], lang, 2)),
            className="summary",
        ),
        dcc.Graph(id="psi-chart", figure=charts.psi_over_time(body, lang), config=GRAPH_CONFIG),
        html.P(summary, id="psi-summary", className="summary"),
        _table(heads, rows, "psi-table", lang),
    ]
    if body["features"]:
        parts += [html.H3(t("mon_features", lang)), feature_table(body, lang)]
    return parts


def feature_table(body: dict, lang: str):
    """Top features (rows) by period (columns): each PSI with its level's background and mark."""
    levels, periods = body["levels"], body["periods"]
    rows = []
    for name in body["features"]:
        cells = [html.Th(name, scope="row")]
        for p in periods:
            value = p["feature_psi"].get(name)
            level = charts.level_of(value, levels)
            cells.append(
                html.Td(
                    _psi(value, lang) + _MARK[level],
                    style={"backgroundColor": _CELL[level]},
                    title=_level_text(level, lang),
                )
            )
        rows.append(html.Tr(cells))
    head = html.Thead(
        html.Tr(
            [html.Th(t("mon_col_feature", lang), scope="col")] + [html.Th(p["period"], scope="col") for p in periods]
        )
    )
    table = html.Table(
        [html.Caption(t("mon_features_caption", lang)), head, html.Tbody(rows)],
        id="feature-psi-table",
        className="results",
    )
    return html.Div(table, style={"overflowX": "auto"})


def performance(body: dict, lang: str):
    """Rates per period; AUC and Gini over time and calibration by grade once outcomes are imported."""
    periods = body["periods"]
    parts = [
        html.P(lead("mon_override", lang) + percent(body.get("override_rate"), lang), id="override-line"),
    ]
    if not periods:
        return [*parts, html.P(t("mon_no_applications", lang), id="performance-empty", className="notice")]
    with_outcomes = [p for p in periods if p["n_outcomes"]]
    if not with_outcomes:
        parts.append(html.P(t("mon_no_outcomes", lang), id="outcomes-empty", className="notice"))
    rows = [
        html.Tr(
            [
                html.Th(p["period"], scope="row"),
                html.Td(number(p["n_scored"], lang)),
                html.Td(number(p["n_outcomes"], lang)),
                html.Td(percent(p["approval_rate"], lang)),
                html.Td(percent(p["predicted_default_rate"], lang)),
                html.Td(percent(p["observed_default_rate"], lang)),
                html.Td(number(p["auc"], lang, 3)),
                html.Td(number(p["gini"], lang, 3)),
            ]
        )
        for p in periods
    ]
    heads = ["mon_col_period", "mon_col_scored", "mon_col_outcomes", "mon_col_approval", "mon_col_predicted"]
    parts.append(_table([*heads, "mon_col_observed", "mon_col_auc", "mon_col_gini"], rows, "performance-table", lang))
    with_auc = [p for p in periods if p["auc"] is not None]
    if with_auc:
        last = with_auc[-1]
        auc = t(
            "mon_auc_summary",
            lang,
            period=last["period"],
            auc=number(last["auc"], lang, 3),
            gini=number(last["gini"], lang, 3),
        )
        parts += [
            dcc.Graph(id="auc-chart", figure=charts.auc_over_time(body, lang), config=GRAPH_CONFIG),
            html.P(auc, id="auc-summary", className="summary"),
        ]
    grades = [g for g in body["by_grade"] if g["observed_rate"] is not None]
    if grades:
        parts += [html.H3(t("mon_calibration", lang)), *calibration(body["by_grade"], lang)]
    return parts


def calibration(by_grade: list[dict], lang: str) -> list:
    rows = [
        html.Tr(
            [
                html.Th(g["grade"], scope="row"),
                html.Td(number(g["n"], lang)),
                html.Td(percent(g["predicted_pd"], lang)),
                html.Td(percent(g["observed_rate"], lang)),
            ]
        )
        for g in by_grade
    ]
    heads = ["mon_col_grade", "mon_col_applications", "mon_col_predicted_pd", "mon_col_observed"]
    return [
        dcc.Graph(id="calibration-chart", figure=charts.calibration(by_grade, lang), config=GRAPH_CONFIG),
        html.P(t("mon_calibration_summary", lang), className="summary"),
        _table(heads, rows, "calibration-table", lang),
    ]


def challenger(body: dict, lang: str):
    """Champion and challenger side by side per period, or why there is nothing to compare."""
    if body.get("challenger") is None:
        return html.P(t("mon_no_challenger", lang), id="challenger-none", className="notice")
    line = t("mon_champion_line", lang, champion=body["champion"], challenger=body["challenger"])
    parts = [html.P(line, id="challenger-line")]
    periods = body["periods"]
    if not periods:
        return [*parts, html.P(t("mon_no_comparison", lang), id="challenger-empty", className="notice")]
    rows = [
        html.Tr(
            [
                html.Th(p["period"], scope="row"),
                html.Td(number(p["n"], lang)),
                html.Td(percent(p["agreement"], lang)),
                html.Td(number(p["swap_in"], lang)),
                html.Td(number(p["swap_out"], lang)),
                html.Td(percent(p["mean_pd_champion"], lang)),
                html.Td(percent(p["mean_pd_challenger"], lang)),
                html.Td(number(p["n_outcomes"], lang)),
                html.Td(number(p["auc_champion"], lang, 3)),
                html.Td(number(p["auc_challenger"], lang, 3)),
            ]
        )
        for p in periods
    ]
    heads = ["mon_col_period", "mon_col_applications", "mon_col_agreement", "mon_col_swap_in", "mon_col_swap_out"]
    heads += ["mon_col_pd_champion", "mon_col_pd_challenger", "mon_col_outcomes"]
    heads += ["mon_col_auc_champion", "mon_col_auc_challenger"]
    return [
        *parts,
        dcc.Graph(id="challenger-chart", figure=charts.challenger_over_time(body, lang), config=GRAPH_CONFIG),
        _table(heads, rows, "challenger-table", lang),
        html.P(t("mon_swaps_note", lang), className="summary"),
    ]


def register(app: Dash) -> None:
    """One callback: the chosen period's three answers, fetched in parallel, fill the notice and the sections."""
    app.callback(
        Output("monitoring-notice", "children"),
        *(Output(f"monitoring-{name}", "children") for name in SECTIONS),
        Input("monitoring-period", "value"),
    )(_results)
