"""Which models a worker serves, followed without restart: the bundle paired with the store generation it scored,
and the registry's challenger beside it for shadow scoring.

Each request first pins its store generation (ClientStore.pin_generation: its reads use that generation to the
end, whichever is switched in meanwhile) and compares the pinned generation's key and a stat of the alias file
(models/registry.json) with what the worker last saw. On a change it reads the pinned generation's model version:
when that is a registry version other than the one served, its bundle is verified and loaded (with the policy on
its grades) and requests from then on use it; the challenger the alias file names is loaded (verified) the same
way. A promotion writes the alias file, then swaps the store (scoring.registry.promotion): until the new store is
in place the worker keeps the old pair, so a bundle and a store of different versions never serve together. Each
request pins the pair (and the challenger) it started with in its WSGI environ (ModelsConfig): a request still in
flight finishes on them, reading the generation they scored. A folder holding one bundle directly (the layout
before the registry) is served as before: loaded once, without a challenger.
"""

from __future__ import annotations

import logging
import os

from flask import Config, has_request_context, request

log = logging.getLogger("api")
_PINNED = ("BUNDLE", "POLICY", "CHALLENGER")
_ENVIRON_KEY = "scoring.models_pair"  # on the request itself: each request its own, whatever context it shares


class ModelsConfig(Config):
    """app.config whose BUNDLE, POLICY and CHALLENGER ((bundle, policy) or None), inside a request, are those the
    request started with."""

    def __getitem__(self, key):
        if key in _PINNED and has_request_context():
            pinned = request.environ.get(_ENVIRON_KEY)
            if pinned is not None:
                return pinned[_PINNED.index(key)]
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
    """The worker's (bundle, policy) pair, its challenger, and what they were chosen from."""

    def __init__(self, models_dir, store, policy_path):
        from scoring import registry

        self.models_dir, self.store, self.policy_path = models_dir, store, policy_path
        self.alias_path = registry.alias_path(models_dir)
        self.seen = (_stat(self.alias_path), self._generation())
        self.pair = self._load(self._wanted())  # errors propagate: a worker never starts on an unverified model
        self.challenger = self._challenger()

    def _generation(self):
        try:
            return self.store.pin_generation()
        except Exception:  # noqa: BLE001 - no readable store: readiness says so; the pair stays as it is
            return None

    def _wanted(self) -> str | None:
        """The version to serve: the pinned store generation's when the registry holds it, else the champion
        (None: legacy layout)."""
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

    def _challenger(self) -> tuple | None:
        """The challenger's (bundle, policy), kept when unchanged; None without one (or when it fails: logged)."""
        from scoring.shadow.challenger import challenger_version, load_challenger

        try:
            wanted = challenger_version(self.models_dir)
        except Exception as exc:  # noqa: BLE001 - a bad alias file: no shadow scoring, the champion serves on
            log.error("challenger not followed: %s", exc)
            return None
        held = getattr(self, "challenger", None)
        if wanted is None or wanted == self.pair[0].version:
            return None
        if held is not None and held[0].version == wanted:
            return held
        loaded = load_challenger(self.models_dir, self.pair[0].version, self.policy_path)
        if loaded is not None:
            log.info("challenger %s loaded for shadow scoring", wanted)
        return loaded

    def current(self) -> tuple:
        """(bundle, policy, challenger) to serve this request with, its store generation pinned first; reloads
        only when the alias file or the store generation changed."""
        seen = (_stat(self.alias_path), self._generation())
        if seen != self.seen:
            self.seen = seen
            self._follow()
        return (*self.pair, self.challenger)

    def _follow(self) -> None:
        try:
            version = self._wanted()
            if version is not None and version != self.pair[0].version:
                pair = self._load(version)
                log.info("model switched from %s to %s", self.pair[0].version, pair[0].version)
                self.pair = pair
        except Exception as exc:  # noqa: BLE001 - a bad alias file or bundle: keep serving the verified pair
            log.error("model not switched, still serving %s: %s", self.pair[0].version, exc)
        self.challenger = self._challenger()


def install(app) -> ModelsState:
    """The startup pair in app.config (BUNDLE, POLICY, CHALLENGER), and a pin before every request."""
    state = ModelsState(app.config["MODELS_DIR"], app.config["STORE"], app.config["POLICY_PATH"])
    app.config["BUNDLE"], app.config["POLICY"] = state.pair
    app.config["CHALLENGER"] = state.challenger
    app.extensions["models_state"] = state

    @app.before_request
    def _pin_models():
        pinned = request.environ[_ENVIRON_KEY] = state.current()
        # outside requests (CLI, tests reading app.config) the latest pair is what app.config holds
        for key, value in zip(_PINNED, pinned, strict=True):
            dict.__setitem__(app.config, key, value)

    return state
