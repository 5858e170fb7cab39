"""Flask scoring API: create_app() verifies and loads the model once per worker and opens the client store."""

from __future__ import annotations

import logging
import sys

from flask import Flask
from flask.sessions import SessionInterface

from api.jsonio import OrjsonProvider
from api.models_state import ModelsConfig
from scoring.config import secret_key, settings
from scoring.imports import refused


def _lean_lightgbm() -> None:
    """Import lightgbm without its scikit-learn wrappers, plotting and Arrow input, which serving never uses: per
    worker, scikit-learn with the scipy.stats it loads is about 45 MB, matplotlib ~25 MB, pyarrow ~30 MB.

    Only what is not loaded yet is refused, and pandas is imported first, as it would be anyway: a process whose
    pandas has pyarrow (a command, a test) keeps it; an API worker's pandas comes without it (deploy/gunicorn.conf.py).
    Training imports scikit-learn itself when it runs; nothing here plots with lightgbm."""
    if "lightgbm" in sys.modules:
        return
    import pandas  # noqa: F401  (with pyarrow unless the worker left it out: pandas' Parquet needs it from the start)

    with refused("sklearn", "matplotlib", "pyarrow"):
        import lightgbm  # noqa: F401


_lean_lightgbm()


class _ApiFlask(Flask):
    json_provider_class = OrjsonProvider
    config_class = ModelsConfig  # BUNDLE and POLICY: the pair a request started with (api/models_state.py)


class _NoSessions(SessionInterface):
    """The API keeps no state between requests: Flask's null session, without decoding a cookie each time."""

    def open_session(self, app, request):
        return None


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app from the settings (scoring.config), with Flask config keys in `test_config` taking precedence.

    Refuses a tampered model and a bad policy file (PolicyError naming file, rule and reason).
    `app.config["SETTINGS"]` keeps the settings the app was built from.
    """
    from api import (
        audit,
        auth,
        availability,
        campaign,
        clients,
        counterfactuals,
        decisions,
        errors,
        features,
        health,
        io,
        letter,
        metrics,
        model,
        models,
        models_state,
        monitoring,
        openapi,
        request_id,
        reviews,
        score,
        shadow,
        verify,
    )
    from scoring.bundle import verified_files
    from scoring.registry import bundle_dir
    from scoring.store import open_store

    app = _ApiFlask(__name__)
    s = settings()
    app.config.update(
        SETTINGS=s,
        STORE_PATH=s.store_location,  # a SQLite file's Path or a postgresql:// URL: scoring.store takes either
        MODELS_DIR=s.models_dir,
        POLICY_PATH=s.policy_path,
        TOKEN_TTL=s.token_ttl_seconds,
        MAX_CONTENT_LENGTH=s.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(app.config["STORE_PATH"])
    app.json.sort_keys = False
    app.session_interface = _NoSessions()  # bearer tokens only: no cookie session to open on every request
    logging.basicConfig(level=s.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # the deciding model's files verified before anything else is opened: a tampered model stops the start first
    verified_files(bundle_dir(app.config["MODELS_DIR"]))
    app.config["STORE"] = open_store(app.config["STORE_PATH"])
    audit.register(app)
    # BUNDLE and POLICY, followed after a promotion; ModelIntegrityError propagates: a worker never serves from an
    # unverified model, and PolicyError: it never decides under a policy half read
    models_state.install(app)
    # "//" in a path is a JSON 404, not a redirect whose Location is built from the caller's Host header
    app.url_map.merge_slashes = False
    errors.register(app)
    availability.register(app)
    io.register(app, openapi.SPEC)

    @app.after_request
    def _nosniff(response):
        # JSON answers are never sniffed into HTML or script by a browser that is sent one
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    metrics.register(app)
    request_id.register(app)
    for blueprint in (
        health.bp,
        auth.bp,
        model.bp,
        models.bp,
        features.bp,
        clients.bp,
        decisions.bp,
        campaign.bp,
        counterfactuals.bp,
        score.bp,
        shadow.bp,
        verify.bp,
        letter.bp,
        reviews.bp,
        monitoring.bp,
        openapi.bp,
    ):
        app.register_blueprint(blueprint)
    return app
