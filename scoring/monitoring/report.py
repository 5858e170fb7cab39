"""The monitoring report for the risk committee: one self-contained HTML page that opens offline.

The same figures as the API's monitoring routes (stability, performance) and the shadow comparison, each chart an
inline SVG beside a table of its figures; no script and no external resource (styles inline). Labelled synthetic
when the store's data is.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from pathlib import Path

from scoring.monitoring import charts
from scoring.monitoring.levels import Levels, load_levels
from scoring.monitoring.performance import performance
from scoring.monitoring.stability import stability

_STYLE = (
    "body{font-family:Georgia,serif;margin:2rem auto;max-width:60rem;color:#1a1a1a;line-height:1.4}"
    "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;"
    "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
    ".synthetic{background:#fff3cd;border:1px solid #d4a017;padding:.5rem 1rem}"
    ".watch{background:#fff3cd}.act{background:#f8d7da}.note{color:#555;font-size:.85rem}"
    "@media print{h2{break-after:avoid}svg{max-width:100%}}"
)


def figure(value, digits: int = 4) -> str:
    """A figure as the report prints it: `digits` decimals, an em dash for none."""
    return "—" if value is None else f"{value:.{digits}f}"


def _table(head: list[str], rows: list[list], classes: list[list[str]] | None = None) -> str:
    out = ["<table><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr>"]
    for r, row in enumerate(rows):
        out.append("<tr>")
        for c, cell in enumerate(row):
            css = classes[r][c] if classes else ""
            out.append(f'<td class="{css}">{escape(str(cell))}</td>' if css else f"<td>{escape(str(cell))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _stability_section(result: dict, levels: Levels) -> str:
    periods = result["periods"]
    labels = [p["period"] for p in periods]
    ref = result["reference"]
    chart = charts.line_chart(
        "Score PSI per period",
        labels,
        {"score PSI": [p["score_psi"] for p in periods]},
        levels={"watch": levels.watch, "act": levels.act},
    )
    rows = [[p["period"], p["n"], figure(p["score_psi"]), p["level"] or "—"] for p in periods]
    css = [["", "", p["level"] or "", p["level"] or ""] for p in periods]
    features = result["features"]
    f_rows = [[f, *(figure(p["feature_psi"].get(f)) for p in periods)] for f in features]
    f_css = [["", *(levels.level(p["feature_psi"].get(f)) or "" for p in periods)] for f in features]
    return (
        "<h2>Population stability (PSI)</h2>"
        f"<p>Reference: model {escape(ref['model_version'])}, {ref['n']:,} training rows, taken from the "
        f"{'bundle' if ref['source'] == 'bundle' else 'store (training split; the bundle predates references)'}. "
        f"Levels: watch from {levels.watch:g}, act from {levels.act:g}; no PSI below {levels.min_applications} "
        "applications in a period.</p>"
        + chart
        + _table(["period", "applications", "score PSI", "level"], rows, css)
        + "<h3>Feature PSI (top features by importance)</h3>"
        + _table(["feature", *labels], f_rows, f_css)
    )


def _performance_section(result: dict) -> str:
    periods = result["periods"]
    labels = [p["period"] for p in periods]
    auc_chart = charts.line_chart("AUC per period", labels, {"AUC": [p["auc"] for p in periods]})
    rate_chart = charts.line_chart(
        "Approval rate per period",
        labels,
        {"approval rate": [p["approval_rate"] for p in periods]},
    )
    rows = [
        [
            p["period"],
            p["n_scored"],
            p["n_outcomes"],
            figure(p["approval_rate"]),
            figure(p["predicted_default_rate"]),
            figure(p["observed_default_rate"]),
            figure(p["auc"]),
            figure(p["gini"]),
        ]
        for p in periods
    ]
    grades = result["by_grade"]
    calibration = charts.bar_chart(
        "Predicted and observed default rate by grade",
        [g["grade"] for g in grades],
        {"predicted PD": [g["predicted_pd"] for g in grades], "observed rate": [g["observed_rate"] for g in grades]},
    )
    g_rows = [[g["grade"], g["n"], figure(g["predicted_pd"]), figure(g["observed_rate"])] for g in grades]
    override = result["override_rate"]
    return (
        "<h2>Performance</h2>"
        + auc_chart
        + _table(["period", "scored", "outcomes", "approval rate", "predicted DR", "observed DR", "AUC", "Gini"], rows)
        + "<h3>Approval and override rates</h3>"
        + rate_chart
        + f"<p>Override rate of the human reviews (changed / closed): <strong>{figure(override)}</strong>.</p>"
        + "<h3>Calibration by grade (applications with an outcome)</h3>"
        + (
            calibration + _table(["grade", "n", "predicted PD", "observed rate"], g_rows)
            if grades
            else "<p>No outcome imported yet (<code>python -m scoring outcomes import FILE</code>).</p>"
        )
    )


def _challenger_section(store, period: str) -> str:
    try:
        from scoring.shadow.compare import compare
    except ImportError:
        return "<h2>Challenger versus champion</h2><p>Shadow scoring is not available in this version.</p>"
    result = compare(store, period)
    periods = result.get("periods") or []
    if not result.get("challenger") or not periods:
        return "<h2>Challenger versus champion</h2><p>No shadow scores recorded (no challenger in the registry).</p>"
    keys = ("n", "agreement", "swap_in", "swap_out", "mean_pd_champion", "mean_pd_challenger", "n_outcomes")
    rows = [
        [
            p["period"],
            *(p[k] if isinstance(p[k], int) else figure(p[k]) for k in keys),
            figure(p["auc_champion"]),
            figure(p["auc_challenger"]),
        ]
        for p in periods
    ]
    chart = charts.line_chart(
        "AUC of champion and challenger per period",
        [p["period"] for p in periods],
        {"champion": [p["auc_champion"] for p in periods], "challenger": [p["auc_challenger"] for p in periods]},
    )
    return (
        f"<h2>Challenger versus champion</h2><p>Champion {escape(str(result['champion']))}, challenger "
        f"{escape(str(result['challenger']))}.</p>"
        + chart
        + _table(["period", *keys, "AUC champion", "AUC challenger"], rows)
    )


def render_report(location, store, bundle, period: str = "month", levels: Levels | None = None) -> str:
    """The page's HTML."""
    levels = levels or load_levels()
    stab = stability(location, store, bundle, period, levels.top_features, levels)
    perf = performance(location, store, period, levels)
    synthetic = stab["data_source"] == "synthetic"
    banner = (
        '<p class="synthetic"><strong>Synthetic demo data.</strong> These figures describe a generated portfolio, '
        "not real clients.</p>"
        if synthetic
        else ""
    )
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Model monitoring report ({escape(period)})</title><style>{_STYLE}</style></head><body>"
        f"<h1>Model monitoring report</h1>{banner}"
        f"<p>Model {escape(bundle.version)}; periods: {escape(period)}; made {made}; data: "
        f"{'synthetic' if synthetic else 'real'}.</p>"
        + _stability_section(stab, levels)
        + _performance_section(perf)
        + _challenger_section(store, period)
        + '<p class="note">Made by <code>python -m scoring monitor report</code>; levels from '
        f"{escape(Path(levels.source).name)}.</p></body></html>"
    )


def write_report(out, location, store, bundle, period: str = "month") -> str:
    """Write the page to `out` (atomically); a one-line summary of what it holds."""
    page = render_report(location, store, bundle, period)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return f"{page.count('<svg')} charts, {len(page) // 1024} KB"
