"""The client view: its cards, fetched in one parallel round trip and each rendered by its own pure helper."""

from __future__ import annotations

from dash import Dash, Input, Output, dcc, html

from dashboard import api_client, session
from dashboard.components import (
    compare,
    counterfactual_card,
    decision_card,
    explanation_cards,
    file_card,
    importance_card,
    reviews,
    score_card,
    whatif,
)
from dashboard.components.card import Row, call_key, calls_of, cards_on
from dashboard.components.common import expired_marker
from dashboard.i18n import t

# the page top to bottom: a card (filled by _load), a row of cards, or a part with its own callbacks
PAGE = (
    Row((score_card.CARD, explanation_cards.REASONS)),
    decision_card.CARD,  # right under the score and its reasons: the lender's decision built on them
    counterfactual_card.CARD,  # what would change that decision
    reviews.CARD,  # the right to a human review of that decision, and its answer
    explanation_cards.WATERFALL,
    whatif,
    compare,
    importance_card.CARD,
    file_card.CARD,
)
CARDS = cards_on(PAGE)
_MODEL = (api_client.model_path(), {})  # says whether the data is synthetic


def layout(client_id: int, lang: str, role: str):
    back = [dcc.Link(t("back", lang), href="/", className="back")] if role == "manager" else []
    parts = [part.layout(lang, role) for part in PAGE]
    return html.Div(
        [
            html.Div(back + [html.H1([t("client", lang), f" {client_id}"], id="client-title")]),
            dcc.Store(id="client-id", data=client_id),
            html.Div(id="client-notice"),
            *[part for part in parts if part is not None],  # None: a part this role does not see
        ]
    )


def _calls(client_id: int, lang: str) -> dict:
    """Every API call of the view, each once, keyed by call_key."""
    return {**calls_of(CARDS, client_id, lang), call_key(*_MODEL): _MODEL}


def _outputs(results: dict, client_id: int, lang: str, role: str) -> list:
    """The callback's outputs from the answers to _calls(): each card's panel, the data notice, the API banner.

    A refused token, or a client the API does not know, leaves one message in the first card and the rest empty.
    """
    if any(isinstance(result, api_client.AuthExpired) for result in results.values()):
        return _first_only(expired_marker())
    if isinstance(score_card.CARD.answers(results, client_id, lang)["score"], api_client.ApiRefused):
        return _first_only(html.P(t("not_found", lang), role="alert", className="failed"))
    down = any(isinstance(result, api_client.ApiUnavailable) for result in results.values())
    banner = html.Div(t("api_down", lang), className="banner", role="alert") if down else None
    model = results[call_key(*_MODEL)]
    notice = None
    if not isinstance(model, Exception) and model.get("data_source") == "synthetic":
        notice = html.P(t("synthetic", lang), className="synthetic", role="note")
    panels = [card.panel(card.answers(results, client_id, lang), lang, role) for card in CARDS]
    return [*panels, notice, banner]


def _first_only(message) -> list:
    return [message] + [None] * (len(CARDS) + 1)


def _load(requested):
    user, lang = session.user(), session.lang()
    cid = session.allowed_client(requested)
    if user is None or cid is None:
        return _first_only(expired_marker())
    return _outputs(api_client.get_many(user["token"], _calls(cid, lang)), cid, lang, user["role"])


def register(app: Dash) -> None:
    """The view's callback on `app`: one output per card, so a new card needs no edit here."""
    app.callback(
        *[Output(card.id, "children") for card in CARDS],
        Output("client-notice", "children"),
        Output("api-banner", "children", allow_duplicate=True),
        Input("client-id", "data"),
        prevent_initial_call="initial_duplicate",
    )(_load)
