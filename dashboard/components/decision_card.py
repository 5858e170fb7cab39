"""The Decision card: the lender's outcome, the rules that fired in plain words, the affordability figures, the
offer, and the client's pre-approved offer when a campaign made one.

A manager reads the full decision record (every fired rule with the value seen and its threshold); a customer
gets the API's customer view, whose messages are already in their language and which never shows the thresholds.
"""

from __future__ import annotations

from dash import html

from dashboard import api_client, letter
from dashboard.components.card import Card
from dashboard.components.common import DECISION_STYLE, loan_terms
from dashboard.i18n import lead, money, number, percent, t


def _calls(client_id: int, lang: str):
    return {
        "decision": (api_client.client_decision_path(client_id), {"lang": lang}),
        "offer": (api_client.client_offer_path(client_id), {"lang": lang}),
    }


def _words(message, lang: str) -> str:
    """A message of the record: a {en, fr} mapping (managers' record) or already one language (customers')."""
    return message if isinstance(message, str) else message.get(lang) or message["en"]


def _outcome(decision: dict, lang: str, role: str):
    outcome = decision["outcome"]
    colour, mark = DECISION_STYLE[outcome]
    return html.Div(
        [
            html.Span(
                [html.Span(mark, **{"aria-hidden": "true"}), " ", t(outcome, lang)],
                id="decision-outcome",
                className="decision-badge",
                style={"borderColor": colour, "color": colour},
            ),
            html.P(t(f"outcome_{outcome}_{role}", lang), className="summary"),
        ],
        className="grade-line",
    )


def _reasons(decision: dict, lang: str):
    """The steps that set the outcome, in the words written for customers."""
    reasons = decision["reasons"]
    if not reasons:
        return None
    return html.Div(
        [
            html.H3(t("decision_reasons", lang)),
            html.Ul([html.Li(_words(r["message"], lang)) for r in reasons], id="decision-reasons"),
        ]
    )


def _rule_line(factor: dict, lang: str) -> list:
    seen = ", ".join(f"{name} = {number(value, lang, 2)}" for name, value in factor["values"].items())
    rule = f"{factor['comparison']} {number(factor['threshold'], lang, 2)}"
    return [
        html.Code(factor["code"]),
        f" ({t('rule_' + factor['action'], lang)}): {factor['description']} ",
        html.Span(t("rule_seen", lang, seen=seen, rule=rule), className="muted"),
    ]


def _fired_rules(decision: dict, lang: str):
    """Managers: every rule that fired, the value seen against its threshold (info rules included)."""
    fired = [f for f in decision.get("stop_factors", []) if f["result"] == "fired"]
    items = [html.Li(_rule_line(f, lang)) for f in fired] or [html.Li(t("no_rule_fired", lang))]
    return html.Div([html.H3(t("rules_fired", lang)), html.Ul(items, id="decision-rules")])


def _technical(decision: dict, lang: str):
    issues = decision["technical_issues"]
    if not issues:
        return None
    return html.Div(
        [
            html.H3(t("technical_issues", lang)),
            html.Ul([html.Li([html.Code(i["field"]), ": ", i["message"]]) for i in issues], id="decision-technical"),
        ]
    )


_MONEY_ROWS = (  # (field of the affordability step, i18n key); a customer's view has no max_amount
    ("income", "afford_income"),
    ("existing_debt_service", "afford_existing"),
    ("requested_amount", "afford_requested"),
    ("new_annuity", "afford_new_annuity"),
    ("max_amount", "afford_max_amount"),
)


def _affordability(decision: dict, lang: str):
    figures = decision["affordability"]
    if figures["result"] == "not_evaluated":
        return html.Div(
            [html.H3(t("affordability", lang)), html.P(t("afford_not_evaluated", lang), id="decision-affordability")]
        )
    rows = [html.Tr([html.Th(t("afford_dsti", lang), scope="row"), html.Td(_dsti(figures, lang))])]
    rows += [
        html.Tr([html.Th(t(key, lang), scope="row"), html.Td(money(figures[field], lang))])
        for field, key in _MONEY_ROWS
        if figures.get(field) is not None
    ]
    return html.Div(
        [
            html.H3(t("affordability", lang)),
            html.Table(html.Tbody(rows), id="decision-affordability", className="results"),
        ]
    )


def _dsti(figures: dict, lang: str) -> str:
    return t("afford_dsti_value", lang, dsti=percent(figures["dsti"], lang), cap=percent(figures["dsti_cap"], lang))


def _offer(decision: dict, lang: str):
    offer = decision["offer"]
    if offer is None:
        return None
    # a referred application keeps the offer its affordability allows, for the reviewer to confirm
    heading = (
        "offer_if_approved"
        if decision["outcome"] == "refer"
        else "counter_offer"
        if offer["counter_offer"]
        else "offer"
    )
    body = [html.H3(t(heading, lang)), html.P(loan_terms(offer, lang))]
    if offer.get("message"):
        body.append(html.P(_words(offer["message"], lang), className="muted"))
    return html.Div(body, id="decision-offer")


def _pre_approved(offer: dict | None, lang: str, role: str):
    """The campaign's offer to this client (python -m scoring campaign), when there is one."""
    if offer is None:
        return None
    body = [html.H3(t("pre_approved", lang)), html.P(loan_terms(offer, lang)), html.P(offer["message"])]
    if role == "manager":
        campaign = offer["campaign"]
        body.append(
            html.P(
                t(
                    "pre_approved_rank",
                    lang,
                    rank=offer["rank"],
                    total=campaign["offers"],
                    date=campaign["run_at"][:10],
                ),
                className="muted small",
            )
        )
    return html.Div(body, id="pre-approved-offer", className="offer")


def _versions(decision: dict, lang: str):
    policy = decision["policy"]
    return html.P(
        [lead("policy_version", lang), html.Code(policy["version"]), " · ", lead("model_version", lang)]
        + [html.Code(decision["model_version"])],
        className="muted small",
    )


def _letter_link(client_id: int, decision: dict, lang: str):
    """A declined or counter-offered application's printable letter (dashboard/letter.py), in a new tab."""
    if decision["outcome"] not in letter.OUTCOMES:
        return None
    link = html.A(
        t("letter_link", lang),
        href=letter.href(client_id, lang),
        target="_blank",
        rel="noopener noreferrer",
        id="decision-letter",
    )
    return html.P(link, className="letter-link")


def render(answers: dict, lang: str, role: str):
    decision = answers["decision"]["decision"]
    parts = [
        _outcome(decision, lang, role),
        _letter_link(answers["decision"]["client_id"], decision, lang),
        _reasons(decision, lang),
        _fired_rules(decision, lang) if role == "manager" else None,
        _technical(decision, lang),
        _affordability(decision, lang) if decision["outcome"] != "technical_refusal" else None,
        _offer(decision, lang),
        _pre_approved(answers["offer"], lang, role),
        _versions(decision, lang),
    ]
    return [part for part in parts if part is not None]


CARD = Card(id="decision-panel", title="decision_title", calls=_calls, render=render, optional=("offer",))
