"""What would change the decision: the API's counterfactual options in plain sentences, each with its new PD and
outcome; a manager can load an option into the what-if (components.whatif runs it), a customer only reads them."""

from __future__ import annotations

from dash import dcc, html

from dashboard import api_client
from dashboard.components.card import Card
from dashboard.components.common import DECISION_STYLE, loan_terms
from dashboard.i18n import lead, percent, t

LOAD_TYPE = "cf-load"  # the pattern-matching id of the load buttons: {"type": LOAD_TYPE, "rank": rank}
DATA_ID = "cf-what-if"  # a Store of each option's what-if changes by rank, for the what-if to load


def _calls(client_id: int, lang: str):
    return {"counterfactuals": (api_client.client_counterfactuals_path(client_id), {"lang": lang})}


def _outcome(outcome: str, lang: str):
    colour, mark = DECISION_STYLE.get(outcome, DECISION_STYLE["technical_refusal"])
    return html.Span(
        [html.Span(mark, **{"aria-hidden": "true"}), " ", t(outcome, lang) if outcome in DECISION_STYLE else outcome],
        className="decision",
        style={"color": colour},
    )


def _offer(offer: dict | None, lang: str):
    if not offer or not {"amount", "term_months", "annuity", "annual_rate"} <= set(offer):
        return None
    return html.P([lead("offer", lang), loan_terms(offer, lang)], className="muted")


def _option(option: dict, lang: str, role: str):
    rank = option["rank"]
    result = t("cf_result", lang, pd=percent(option["pd"], lang), grade=option["grade"])
    parts = [
        html.P(html.Strong(option["summary"]), id=f"cf-option-{rank}"),
        html.P([result, " ", _outcome(option["outcome"], lang)], className="cf-result"),
        _offer(option.get("offer"), lang),
    ]
    if role == "manager" and option.get("what_if"):
        parts.append(
            html.Button(
                t("cf_load", lang),
                id={"type": LOAD_TYPE, "rank": rank},
                className="secondary",
                **{"aria-describedby": f"cf-option-{rank}"},
            )
        )
    return html.Li(parts, className="cf-option")


def render(answers: dict, lang: str, role: str):
    """The message, what blocks whatever the loan, and the options; None (a refused call): nothing to offer."""
    answer = answers["counterfactuals"]
    if answer is None:
        return html.P(t("cf_unavailable", lang), className="muted", id="cf-message")
    parts = [html.P(answer["message"], id="cf-message", className=f"cf-{answer['status']}")]
    if answer.get("blocking"):
        parts += [
            html.H3(t("cf_blocking", lang)),
            html.Ul([html.Li(b["message"]) for b in answer["blocking"]], id="cf-blocking"),
        ]
    options = answer.get("options") or []
    if options:
        parts.append(html.Ol([_option(o, lang, role) for o in options], id="cf-options", className="cf-options"))
    if role == "manager" and options:
        parts.append(dcc.Store(id=DATA_ID, data={str(o["rank"]): o for o in options if o.get("what_if")}))
    return parts


# optional: a store built before decisions were kept (409) or a client without a decision has no options to show
CARD = Card(id="counterfactual-panel", title="cf_title", calls=_calls, render=render, optional=("counterfactuals",))
