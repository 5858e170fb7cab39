"""The decision letter's page: the API's print-ready HTML, fetched with the signed-in user's token and served as
it came, under a policy that lets it load and run nothing. A customer only ever gets their own letter."""

from __future__ import annotations

from html import escape

from flask import Flask, make_response, redirect, request

from dashboard import api_client
from dashboard import session as user_session
from dashboard.i18n import LANGS, t

# the letter is self-contained (inline CSS, no script, no image): a page that needs nothing else
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
OUTCOMES = ("decline", "counter_offer")  # the outcomes the API writes a letter for


def href(client_id: int, lang: str) -> str:
    """The link to a client's letter in `lang`, as the Decision card shows it."""
    return f"/letter/{int(client_id)}?lang={lang}"


def _page(body, status: int, lang: str):
    return _secured(make_response(body, status), lang)


def _notice(message: str, status: int, lang: str):
    """A plain page in the user's language when there is no letter to show (none, not found, API down)."""
    page = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(t("title", lang))}</title>'
        f'</head><body><main><h1>{escape(t("title", lang))}</h1><p role="alert">{escape(message)}</p>'
        f'<p><a href="/">{escape(t("letter_back", lang))}</a></p></main></body></html>'
    )
    return _page(page, status, lang)


def _secured(response, lang: str):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"  # a client's decision: not kept by the browser or a proxy
    response.headers["Content-Language"] = lang
    return response


def letter(client_id: str):
    user = user_session.user()
    if user is None:
        return redirect("/logout?reason=expired" if user_session.expired() else "/")
    lang = request.args.get("lang") if request.args.get("lang") in LANGS else user_session.lang()
    cid = user_session.allowed_client(client_id)  # a customer's own id, whatever the URL says
    if cid is None or (user["role"] == "customer" and str(cid) != client_id):
        return _notice(t("not_found", lang), 404, lang)
    try:
        page = api_client.get_text(api_client.client_letter_path(cid), user["token"], "text/html", lang=lang)
    except api_client.AuthExpired:
        return redirect("/logout?reason=expired")
    except api_client.ApiRefused as exc:
        message = t("letter_none", lang) if exc.status == 409 else t("not_found", lang)
        return _notice(message, exc.status if exc.status in (404, 409) else 404, lang)
    except api_client.ApiUnavailable:
        return _notice(t("chart_failed", lang), 503, lang)
    return _page(page, 200, lang)


def register(server: Flask) -> None:
    server.add_url_rule("/letter/<client_id>", "decision_letter", letter, methods=["GET"])
