"""Shared pieces: colour-blind-safe palette, failure notes, figure defaults."""

from __future__ import annotations

from dash import dcc, html

from dashboard.i18n import money, number, percent, t

# Okabe-Ito: distinguishable with every common colour-vision deficiency; decisions also carry text and a symbol
BLUE, ORANGE, VERMILION, SKY, GREY, INK = "#0072B2", "#E69F00", "#D55E00", "#56B4E9", "#6b6b6b", "#1a1a1a"
# text colours darkened from the chart hues to keep 4.5:1 contrast on white
DECISION_STYLE = {
    "approve": ("#005a9c", "✔"),
    "counter_offer": ("#005a9c", "◐"),
    "refer": ("#7a5200", "?"),
    "decline": ("#a63d00", "✖"),
    "technical_refusal": ("#4d4d4d", "⚠"),
}
GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


def failed(lang: str, detail: str | None = None):
    return html.P([t("chart_failed", lang)] + ([" ", detail] if detail else []), className="failed", role="alert")


def figure_layout(**extra) -> dict:
    base = {
        "margin": {"l": 10, "r": 10, "t": 30, "b": 40},
        "font": {"color": INK, "size": 13},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "height": 320,
    }
    base.update(extra)
    return base


def expired_marker():
    """Rendered when the API refuses the token; assets/session.js then sends the browser to sign in again."""
    return html.Div(className="expired-marker", hidden=True)


def pager(prefix: str, lang: str) -> list:
    """A paged list's offset store and its Previous / Next buttons (ids `<prefix>-offset`, -prev, -next)."""
    return [
        dcc.Store(id=f"{prefix}-offset", data=0),
        html.Div(id=f"{prefix}-results", **{"aria-live": "polite"}),
        html.Div(
            [
                html.Button(t("previous", lang), id=f"{prefix}-prev", className="secondary"),
                html.Button(t("next", lang), id=f"{prefix}-next", className="secondary"),
            ],
            className="pager",
        ),
    ]


def page_offset(prefix: str, triggered_id, offset, size: int) -> int:
    """The offset after a click on the pager of `prefix`; any other change (a filter) starts over."""
    if triggered_id == f"{prefix}-next":
        return (offset or 0) + size
    if triggered_id == f"{prefix}-prev":
        return max((offset or 0) - size, 0)
    return 0


def client_link(client_id: int, lang: str):
    """A client's id linking to their file (managers' lists)."""
    return dcc.Link(str(client_id), href=f"/client/{client_id}", title=f"{t('open', lang)} {client_id}")


def loan_terms(offer: dict, lang: str) -> str:
    """An offer's amount, term, instalment and rate in one sentence (decision card, counterfactual options)."""
    return t(
        "offer_terms",
        lang,
        amount=money(offer["amount"], lang),
        months=number(offer["term_months"], lang),
        annuity=money(offer["annuity"], lang),
        rate=percent(offer["annual_rate"], lang),
    )
