"""The dashboard's settings: each declared once (variable, default, meaning), read from the environment or a mapping.

Apart from the API's own settings on purpose: the dashboard reaches the API over HTTP only and shares no code with it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from flask import current_app, has_app_context

CONFIG_KEY = "DASHBOARD_SETTINGS"  # where the app factory keeps them in the Flask config


@dataclass(frozen=True)
class DashboardSettings:
    api_url: str
    api_timeout: float
    secret_key: str | None  # None: a random key kept in secret_file
    secret_file: Path
    secure_cookie: bool

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> DashboardSettings:
        """From a mapping of variable names to values (tests, a file); a missing or blank one takes its default."""
        return cls(**{spec.attr: spec.read(values) for spec in SETTINGS})

    @classmethod
    def from_env(cls) -> DashboardSettings:
        return cls.from_mapping(os.environ)


def _url(env: str, raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{env} must be an http(s) URL such as http://127.0.0.1:5000, got {raw!r}")
    return raw.rstrip("/")


def _positive_seconds(env: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{env} must be a positive number of seconds, got {raw!r}")
    return value


def _switch(env: str, raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(f"{env} must be 0 or 1, got {raw!r}")
    return raw == "1"


@dataclass(frozen=True)
class Setting:
    """One variable: its name, its default as the docs show it, what it does, and how its text becomes a value."""

    env: str
    attr: str
    default: str
    description: str
    parse: Callable[[str, str], object] = lambda env, raw: raw
    default_is_value: bool = True  # False: `default` only describes what happens when the variable is unset

    def read(self, values: Mapping[str, str]):
        raw = (values.get(self.env) or "").strip()
        if not raw and not self.default_is_value:
            return None
        return self.parse(self.env, raw or self.default)


SETTINGS = (
    Setting("DASHBOARD_API_URL", "api_url", "http://127.0.0.1:5000", "where the dashboard reaches the API", _url),
    Setting(
        "DASHBOARD_API_TIMEOUT",
        "api_timeout",
        "5",
        "seconds before an API call counts as failed (banner shown)",
        _positive_seconds,
    ),
    Setting(
        "DASHBOARD_SECRET_KEY",
        "secret_key",
        "random, kept in DASHBOARD_SECRET_FILE",
        "encrypts and authenticates the session cookie (Fernet, key derived by HKDF); set it in production, "
        "shared by all workers",
        default_is_value=False,
    ),
    Setting(
        "DASHBOARD_SECRET_FILE",
        "secret_file",
        "data/processed/.dashboard_secret",
        "where the generated key is kept (mode 0600)",
        lambda env, raw: Path(raw),
    ),
    Setting(
        "DASHBOARD_SECURE_COOKIE",
        "secure_cookie",
        "0",
        "1 behind HTTPS: the session cookie is sent over TLS only",
        _switch,
    ),
)


def current() -> DashboardSettings:
    """The settings of the app serving this request; outside one (a script, a test), the environment's, read now."""
    if has_app_context() and CONFIG_KEY in current_app.config:
        return current_app.config[CONFIG_KEY]
    return DashboardSettings.from_env()
