"""Dash app factory: sign-in through the API, routing by role, the header with language switch and sign-out."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from dash import Dash, Input, Output, dcc, html
from flask import make_response, redirect, request, session

from dashboard import api_client, letter, settings
from dashboard import session as user_session
from dashboard.components import (
    campaign,
    client_view,
    compare,
    explanation_cards,
    monitoring,
    review_queue,
    reviews,
    search,
    whatif,
)
from dashboard.components.common import expired_marker
from dashboard.i18n import LANGS, t


def _secret_key(conf: settings.DashboardSettings) -> str:
    """DASHBOARD_SECRET_KEY, else a random key in a file shared by every worker (mode 0600)."""
    if conf.secret_key:
        return conf.secret_key
    path = conf.secret_file
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class _Dash(Dash):
    def interpolate_index(self, **kwargs):
        # the page language follows the user's choice (WCAG 3.1.1)
        return super().interpolate_index(**kwargs).replace("<html>", f'<html lang="{user_session.lang()}">', 1)


def _same_origin() -> bool:
    """A sign-in post comes from a page of this site: its Origin (else its Referer) names this host."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    return source is None or urlparse(source).netloc == request.host  # "null" (sandboxed, opaque) is refused


def _forwarded_for() -> str:
    """The chain the API reads the browser's address from: what a proxy in front said, then who connected here."""
    received = request.headers.get("X-Forwarded-For", "").strip()
    peer = request.remote_addr or "unknown"
    return f"{received}, {peer}" if received else peer


def _content_security_policy(app: Dash) -> str:
    """Scripts from this site only, plus Dash's own inline scripts by hash; no framing, no foreign form target."""
    scripts = " ".join(["'self'", *app.csp_hashes()])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def _safe_next(target: str | None) -> str:
    parsed = urlparse(target or "/")
    return (
        parsed.path if not parsed.netloc and parsed.path.startswith("/") and not parsed.path.startswith("//") else "/"
    )


def _login_layout(lang: str, message: str | None):
    notice = [html.P(message, className="notice", role="alert")] if message else []
    return html.Main(
        [
            html.Section(
                [
                    html.H1(t("title", lang)),
                    *notice,
                    html.Form(
                        [
                            html.Label(t("username", lang), htmlFor="username"),
                            dcc.Input(
                                id="username", name="username", type="text", autoComplete="username", required=True
                            ),
                            html.Label(t("password", lang), htmlFor="password"),
                            dcc.Input(
                                id="password",
                                name="password",
                                type="password",
                                autoComplete="current-password",
                                required=True,
                            ),
                            # login CSRF: a cross-site page cannot know this browser's token
                            dcc.Input(id="csrf", name="csrf_token", type="hidden", value=user_session.csrf_token()),
                            html.Button(t("sign_in", lang), id="sign-in", type="submit", className="primary"),
                        ],
                        action="/auth/login",
                        method="POST",
                        className="login-form",
                    ),
                ],
                className="card login",
            ),
        ],
        id="main",
    )


def _header(user: dict, lang: str):
    other = "fr" if lang == "en" else "en"
    return html.Header(
        [
            html.A(t("skip", lang), href="#main", className="skip"),
            html.Span(t("title", lang), className="brand"),
            html.Nav(
                [
                    *_manager_links(user, lang),
                    html.A(t("language", lang), href=f"/lang/{other}", id="lang-switch", lang=other, hrefLang=other),
                    html.Span(user["username"], className="muted"),
                    html.A(t("sign_out", lang), href="/logout", id="sign-out"),
                ]
            ),
        ],
        className="header",
    )


def _manager_links(user: dict, lang: str) -> list:
    """The review queue and the monitoring page, one click from every manager's page."""
    if user["role"] != "manager":
        return []
    return [
        dcc.Link(t("reviews_link", lang), href=review_queue.PATH, id="reviews-link"),
        dcc.Link(t("monitoring_link", lang), href=monitoring.PATH, id="monitoring-link"),
    ]


def serve_layout():
    user, lang = user_session.user(), user_session.lang()
    if user is None:
        # the layout is fetched by /_dash-layout, not the page URL: one-shot notices travel in the session
        reason = session.pop("notice", None)
        if user_session.expired():
            session.clear()
            session["lang"] = lang
            reason = "expired"
        messages = {
            "expired": t("expired", lang),
            "bad_credentials": t("bad_credentials", lang),
            "too_many_attempts": t("too_many_attempts", lang),
            "signed_out": t("signed_out", lang),
            "api_down": t("api_down", lang),
        }
        return _login_layout(lang, messages.get(reason))
    return html.Div(
        [
            _header(user, lang),
            html.Div(id="api-banner", role="status"),
            dcc.Location(id="url"),
            html.Main(id="main", tabIndex="-1"),
        ]
    )


def _route(pathname):
    user, lang = user_session.user(), user_session.lang()
    if user is None:
        return expired_marker()
    if user["role"] == "customer":  # a customer's view is their own file, whatever the URL says
        return client_view.layout(user["client_id"], lang, "customer")
    if user["role"] != "manager":
        return html.P(t("not_found", lang), role="alert")
    if pathname == campaign.PATH:
        return campaign.layout(lang)
    if pathname == review_queue.PATH:
        return review_queue.layout(lang)
    if pathname == monitoring.PATH:
        return monitoring.layout(lang)
    if pathname and pathname.startswith("/client/"):
        try:
            return client_view.layout(int(pathname.rsplit("/", 1)[-1]), lang, "manager")
        except ValueError:
            return html.P(t("not_found", lang), role="alert")
    return search.layout(lang)


def create_app(config: Mapping[str, str] | None = None) -> Dash:
    """A new dashboard app (as Flask's tutorial factory): settings from `config`, a mapping of DASHBOARD_* values
    (tests), else from the environment; each app gets its own callbacks, so several can live in one process."""
    conf = settings.DashboardSettings.from_env() if config is None else settings.DashboardSettings.from_mapping(config)
    app = _Dash(
        __name__,
        title="Prêt à dépenser",
        suppress_callback_exceptions=True,
        update_title=None,
        # the charting library loads with the first page, not when the first client view needs it
        eager_loading=True,
        assets_folder=str(Path(__file__).with_name("assets")),
    )
    server = app.server
    server.secret_key = _secret_key(conf)
    server.session_interface = user_session.EncryptedSessions()
    server.config.update(
        {settings.CONFIG_KEY: conf},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=conf.secure_cookie,
    )
    app.layout = serve_layout
    app.callback(Output("main", "children"), Input("url", "pathname"))(_route)
    for component in (
        search,
        client_view,
        whatif,
        compare,
        campaign,
        explanation_cards,
        reviews,
        review_queue,
        monitoring,
    ):
        component.register(app)
    letter.register(server)  # /letter/<client id>: the decision letter, a page of its own

    @server.before_request
    def _own_client_url():
        """A customer who edits the URL to another client's id is sent to their own: never another id's URL."""
        user = user_session.user()
        if request.method == "GET" and user and user["role"] == "customer" and request.path.startswith("/client/"):
            own = f"/client/{user['client_id']}"
            if request.path != own:
                return redirect(own)
        return None

    @server.post("/auth/login")
    def _login():
        lang = user_session.lang()
        if not _same_origin() or not user_session.csrf_valid(request.form.get("csrf_token")):
            page = f'<!doctype html><html lang="{lang}"><p>{t("form_refused", lang)}</p><p><a href="/">OK</a></p>'
            return make_response(page, 403)
        try:
            token = api_client.sign_in(
                request.form.get("username", ""), request.form.get("password", ""), forwarded_for=_forwarded_for()
            )
        except api_client.ApiUnavailable:
            session["notice"] = "api_down"
            return redirect("/")
        except (api_client.ApiRefused, api_client.AuthExpired) as exc:
            session["notice"] = "too_many_attempts" if getattr(exc, "status", None) == 429 else "bad_credentials"
            return redirect("/")
        session.clear()
        session.update(
            token=token["access_token"],
            role=token["role"],
            client_id=token.get("client_id"),
            username=token.get("username"),
            lang=lang,
            expires_at=time.time() + token["expires_in"] - 1,
        )
        return redirect("/")

    @server.get("/logout")
    def _logout():
        lang = user_session.lang()
        if session.get("token"):
            # revoked in the API: a copy of this cookie replayed later serves nothing
            with contextlib.suppress(api_client.ApiUnavailable):
                api_client.sign_out(session["token"])
        session.clear()
        session["lang"] = lang
        session["notice"] = "expired" if request.args.get("reason") == "expired" else "signed_out"
        return redirect("/")

    @server.get("/lang/<code>")
    def _language(code):
        if code in LANGS:
            session["lang"] = code
        return redirect(_safe_next(request.referrer and urlparse(request.referrer).path))

    csp = []  # built at the first response, once every callback (and its inline script) is registered

    @server.after_request
    def _headers(response):
        if not csp:
            csp.append(_content_security_policy(app))
        response.headers.setdefault("Content-Security-Policy", csp[0])  # the letter's page sets a stricter one
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        return response

    return app


@functools.cache
def _served() -> Dash:
    return create_app()


def __getattr__(name: str):
    """`dashboard.app:server` for gunicorn: built from the environment when first asked for, not on import."""
    if name == "server":
        return _served().server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
