"""Which model a worker serves, followed without restart: the bundle paired with the store generation it scored.

Each request stats the alias file (models/registry.json) and the store file (~4 us) and compares them with what
the worker last saw. On a change it reads the store's model version: when that is a registry version other than
the one served, its bundle is verified and loaded (with the policy on its grades) and requests from then on use it.
A promotion writes the alias file, then swaps the store (scoring.registry.promotion): until the new store is in
place the worker keeps the old pair, so a bundle and a store of different versions never serve together. Each
request pins the pair it started with in its WSGI environ (ModelsConfig): a request still in flight finishes on it.
A folder holding one bundle directly (the layout before the registry) is served as before: loaded once.
"""

from __future__ import annotations

import logging
import os

from flask import Config, has_request_context, request

log = logging.getLogger("api")
_PINNED = ("BUNDLE", "POLICY")
_ENVIRON_KEY = "scoring.models_pair"  # on the request itself: each request its own, whatever context it shares


class ModelsConfig(Config):
    """app.config whose BUNDLE and POLICY, inside a request, are the pair the request started with."""

    def __getitem__(self, key):
        if key in _PINNED and has_request_context():
            pair = request.environ.get(_ENVIRON_KEY)
            if pair is not None:
                return pair[_PINNED.index(key)]
        return super().__getitem__(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


def _stat(path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class ModelsState:
    """The worker's (bundle, policy) pair and what it was chosen from."""

    def __init__(self, models_dir, store, store_path, policy_path):
        from scoring import registry

        self.models_dir, self.store, self.store_path, self.policy_path = models_dir, store, store_path, policy_path
        self.alias_path = registry.alias_path(models_dir)
        self.seen = (_stat(self.alias_path), _stat(store_path))
        self.pair = self._load(self._wanted())  # errors propagate: a worker never starts on an unverified model

    def _wanted(self) -> str | None:
        """The version to serve: the store's when the registry holds it, else the champion (None: legacy layout)."""
        from scoring import registry

        if not registry.is_registry(self.models_dir):
            return None
        state = registry.read_registry(self.models_dir)
        try:
            built_with = self.store.meta().get("model_version")
        except Exception:  # noqa: BLE001 - no readable store yet: the champion (readiness reports the store)
            built_with = None
        if built_with is not None and built_with in registry.version_names(self.models_dir):
            return built_with
        return state["champion"]

    def _load(self, version: str | None) -> tuple:
        from scoring import registry
        from scoring.bundle import ModelBundle
        from scoring.decision import load_policy

        if version is None:
            bundle = ModelBundle.load(self.models_dir)
        else:
            bundle = registry.load_version(self.models_dir, version)
        return bundle, load_policy(self.policy_path, grades=bundle.grades)

    def current(self) -> tuple:
        """The pair to serve this request with; reloads only when the alias or the store file changed."""
        seen = (_stat(self.alias_path), _stat(self.store_path))
        if seen != self.seen:
            self.seen = seen
            self._follow()
        return self.pair

    def _follow(self) -> None:
        try:
            version = self._wanted()
            if version is None or version == self.pair[0].version:
                return
            pair = self._load(version)
        except Exception as exc:  # noqa: BLE001 - a bad alias file or bundle: keep serving the verified pair
            log.error("model not switched, still serving %s: %s", self.pair[0].version, exc)
            return
        log.info("model switched from %s to %s", self.pair[0].version, pair[0].version)
        self.pair = pair


def install(app) -> ModelsState:
    """The startup pair in app.config (BUNDLE, POLICY), and a check before every request."""
    state = ModelsState(
        app.config["MODELS_DIR"], app.config["STORE"], app.config["STORE_PATH"], app.config["POLICY_PATH"]
    )
    app.config["BUNDLE"], app.config["POLICY"] = state.pair
    app.extensions["models_state"] = state

    @app.before_request
    def _pin_models():
        pair = request.environ[_ENVIRON_KEY] = state.current()
        # outside requests (CLI, tests reading app.config) the latest pair is what app.config holds
        dict.__setitem__(app.config, "BUNDLE", pair[0])
        dict.__setitem__(app.config, "POLICY", pair[1])

    return state
