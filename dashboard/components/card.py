"""The contract of a client-view card: the API calls it needs, its section, and a pure render of the answers.

Every card of the view is filled by one callback (client_view) from one parallel round trip to the API, so a new
card is a new `Card` and its place on the page, not an edit of the loader. A card is shown to every role (Dash does
not run a callback whose outputs are missing): one that only some roles see owns its callbacks, as whatif does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from dash import dcc, html

from dashboard import api_client
from dashboard.components.common import failed
from dashboard.i18n import t

Calls = dict[str, tuple[str, dict]]  # a card's name for each answer -> (API path, query parameters)


@dataclass(frozen=True)
class Card:
    """`calls(client_id, lang)` names the API answers the card needs; `render(answers, lang, role)` turns them
    (name -> body) into the panel's children, without touching the session or the network."""

    id: str  # element id of the panel the loader fills
    title: str  # i18n key of the heading
    calls: Callable[[int, str], Calls]
    render: Callable[[dict, str, str], object]
    class_name: str = "card"
    labelled_by: str | None = None
    optional: tuple[str, ...] = ()  # answers the API may refuse (a 404: none there); render gets None for them

    def layout(self, lang: str, role: str):
        labels = {"aria-labelledby": self.labelled_by} if self.labelled_by else {}
        return html.Section(
            [html.H2(t(self.title, lang)), dcc.Loading(html.Div(id=self.id))], className=self.class_name, **labels
        )

    def answers(self, results: dict, client_id: int, lang: str) -> dict:
        """This card's answers (a body, or the exception its call raised) out of the view's shared results."""
        return {name: results[call_key(*call)] for name, call in self.calls(client_id, lang).items()}

    def panel(self, answers: dict, lang: str, role: str):
        """The rendered card, or a note saying it could not be loaded when any of its calls failed."""
        answers = {
            name: None if name in self.optional and isinstance(answer, api_client.ApiRefused) else answer
            for name, answer in answers.items()
        }
        if any(isinstance(answer, Exception) for answer in answers.values()):
            return failed(lang)
        return self.render(answers, lang, role)


@dataclass(frozen=True)
class Row:
    """Cards side by side."""

    cards: tuple[Card, ...]

    def layout(self, lang: str, role: str):
        return html.Div([card.layout(lang, role) for card in self.cards], className="row")


def call_key(path: str, params: dict) -> str:
    """One name per distinct call: cards asking the same path with the same parameters share one request."""
    return path + "?" + urlencode(sorted(params.items()))


def cards_on(page: Iterable) -> tuple[Card, ...]:
    """The cards of a page (parts with their own callbacks left out), top to bottom."""
    found = []
    for part in page:
        found += part.cards if isinstance(part, Row) else [part] if isinstance(part, Card) else []
    return tuple(found)


def calls_of(cards: Iterable[Card], client_id: int, lang: str) -> Calls:
    """Every call the cards need, once each, keyed by call_key."""
    return {call_key(*call): call for card in cards for call in card.calls(client_id, lang).values()}
