"""The client's file card: the application's fields by group, and the credit history, as the API words them."""

from __future__ import annotations

from dash import html

from dashboard import api_client
from dashboard.components.card import Card
from dashboard.i18n import t

_OPEN = ("income_employment", "loan")  # the groups a manager reads first


def _calls(client_id: int, lang: str):
    return {"file": (api_client.client_path(client_id), {"lang": lang})}


def _table(rows: list[dict]):
    return html.Table(
        html.Tbody([html.Tr([html.Th(row["label"], scope="row"), html.Td(row["display"])]) for row in rows]),
        className="kv",
    )


def _render(answers: dict, lang: str, role: str):
    file = answers["file"]
    blocks = [
        html.Details([html.Summary(group["title"]), _table(group["fields"])], open=group["group"] in _OPEN)
        for group in file["groups"]
        if group["fields"]
    ]
    blocks.append(html.Details([html.Summary(t("history_title", lang)), _table(file["history"])], open=True))
    return blocks


CARD = Card(id="file-panel", title="file_title", calls=_calls, render=_render)
