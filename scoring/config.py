"""Every setting of the API, the CLI and the served processes, declared once: environment variable, default, meaning.

`settings()` reads the environment at call time (tests override it) and checks each value, naming the variable
that is wrong; `settings(mapping)` builds the same object from a mapping of variable names, as a test or an
embedding program does. `SETTINGS` is the declaration the README's configuration table is generated from
(scripts/settings_table.py; a test keeps the two equal). The dashboard has its own, dashboard/settings.py: it
shares no code with this package.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path


# ------------------------------------------------------------------------------------------------- parsers
def _text(env: str, raw: str) -> str:
    return raw


def _path(env: str, raw: str) -> Path:
    return Path(raw)


def _number(kind, *, zero_ok: bool = False) -> Callable[[str, str], float | int]:
    what = "a whole number" if kind is int else "a number"

    def parse(env: str, raw: str):
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(f"environment variable {env} must be {what}, got {raw!r}") from None
        if not math.isfinite(value) or not (value >= 0 if zero_ok else value > 0):
            sign = "zero or more" if zero_ok else "positive"
            raise ValueError(f"environment variable {env} must be {sign} and finite, got {raw!r}")
        return value

    return parse


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(env: str, raw: str) -> str:
        value = raw.upper()
        if value not in allowed:
            raise ValueError(f"environment variable {env} must be one of {', '.join(allowed)}, got {raw!r}")
        return value

    return parse


def _bounds(env: str, raw: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"environment variable {env} must be a comma list of numbers, got {raw!r}") from None


def _addresses(env: str, raw: str) -> frozenset[str]:
    """`none` trusts no peer; otherwise a comma list of peer addresses."""
    if raw.lower() == "none":
        return frozenset()
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


# -------------------------------------------------------------------------------------------- declaration
@dataclass(frozen=True)
class Setting:
    """One setting: the Settings field it fills, its variable, its default as a string, who reads it, its meaning."""

    field: str
    env: str
    default: str | None  # None: no value unless set (the description says what happens then)
    used_by: str
    description: str
    parse: Callable[[str, str], object] = _text
    shown_default: str = ""  # what the README shows when the default is not a literal value

    @property
    def documented_default(self) -> str:
        return self.shown_default or f"`{self.default}`"


GRADE_BOUNDS_DEFAULT = "0.009,0.017,0.03,0.05,0.08,0.10,0.28,1.0"
SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "SCORING_DATA", "data/raw", "CLI, demo", "folder of the raw tables", _path),
    Setting("models_dir", "SCORING_MODELS", "models", "CLI, API, demo", "model bundle folder", _path),
    Setting(
        "store",
        "SCORING_STORE",
        "data/processed/store.sqlite",
        "CLI, API, demo",
        "client store (clients, users, audit log): a SQLite file, or a `postgresql://` URL shared by every API "
        "node (docs/postgresql.md)",
    ),
    Setting(
        "token_secret",
        "SCORING_SECRET_KEY",
        None,
        "API",
        "key signing the tokens; set it in production, shared by all workers",
        shown_default="random, kept in `<store folder>/.secret_key` (mode 0600) or in a PostgreSQL store",
    ),
    Setting("token_ttl_seconds", "SCORING_TOKEN_TTL", "3600", "API", "token lifetime in seconds", _number(int)),
    Setting(
        "max_body_bytes", "SCORING_MAX_BODY", "1048576", "API", "largest request body in bytes (1 MiB)", _number(int)
    ),
    Setting(
        "signin_window",
        "SCORING_SIGNIN_WINDOW",
        "900",
        "API",
        "seconds over which failed sign-ins are counted",
        _number(float),
    ),
    Setting(
        "signin_max_per_address",
        "SCORING_SIGNIN_MAX_PER_ADDRESS",
        "20",
        "API",
        "failed sign-ins from one address in the window before `429`",
        _number(int),
    ),
    Setting(
        "signin_max_per_user",
        "SCORING_SIGNIN_MAX_PER_USER",
        "5",
        "API",
        "failed sign-ins of one username in the window before its back-off starts",
        _number(int),
    ),
    Setting(
        "signin_max_backoff",
        "SCORING_SIGNIN_MAX_BACKOFF",
        "300",
        "API",
        "longest wait (s) of the per-username back-off (2 s, 4 s, 8 s …)",
        _number(float),
    ),
    Setting(
        "signin_known_days",
        "SCORING_SIGNIN_KNOWN_DAYS",
        "30",
        "API",
        "an address the user signed in from within this many days skips the username back-off",
        _number(float),
    ),
    Setting(
        "signin_tarpit",
        "SCORING_SIGNIN_TARPIT",
        "1",
        "API",
        "seconds a refused (429) sign-in is held before the answer, in gevent workers only: a flood on a few "
        "connections slows to a few attempts a second; `0` answers at once",
        _number(float, zero_ok=True),
    ),
    Setting(
        "trusted_proxies",
        "SCORING_TRUSTED_PROXIES",
        "127.0.0.1,::1",
        "API",
        "peers whose `X-Forwarded-For` is believed (a proxy, or the dashboard, on this host); the sign-in limits "
        "then count the rightmost address none of them vouches for; `none`: the header is ignored",
        _addresses,
    ),
    Setting(
        "audit_key",
        "SCORING_AUDIT_KEY",
        None,
        "API, CLI",
        "key of the audit log's HMAC chain (`audit verify`); set it in production, apart from "
        "`SCORING_SECRET_KEY`, so that rotating the token key does not break verification",
        shown_default="derived from the API secret",
    ),
    Setting(
        "audit_sync",
        "SCORING_AUDIT_SYNC",
        "NORMAL",
        "API, CLI",
        "SQLite sync of the audit log (WAL): `NORMAL` keeps every committed entry across a crash of the process; "
        "`FULL` also across a power loss or kernel crash, at about 3 ms more per request",
        _choice("NORMAL", "FULL"),
    ),
    Setting(
        "signing_key_path",
        "SCORING_SIGNING_KEY",
        "data/processed/keys/model-signing.key",
        "train, demo",
        "Ed25519 private key that signs model bundles; made 0600 on first training; keep it off API machines",
        _path,
    ),
    Setting(
        "verify_key_path",
        "SCORING_VERIFY_KEY",
        "data/processed/keys/model-verify.pub",
        "API, CLI",
        "public key every bundle must be signed with; serving never creates one",
        _path,
    ),
    Setting(
        "dp_epsilon",
        "SCORING_DP_EPSILON",
        "0.5",
        "store build",
        "differential-privacy ε of each aggregate table released to customers",
        _number(float),
    ),
    Setting(
        "dp_grid_features",
        "SCORING_DP_GRID_FEATURES",
        "8",
        "store build",
        "how many of the model's top features get customers' 2-D grids (all their pairs)",
        _number(int),
    ),
    Setting(
        "min_group",
        "SCORING_MIN_GROUP",
        "50",
        "store build",
        "smallest group of clients any customer-facing count, rate or mean covers (values below 50 are raised to 50)",
        _number(int),
    ),
    Setting(
        "grade_bounds",
        "SCORING_GRADE_BOUNDS",
        GRADE_BOUNDS_DEFAULT,
        "training, store",
        "PD upper bounds of grades G1..G8 (last must be 1.0)",
        _bounds,
    ),
    Setting(
        "policy_path",
        "SCORING_POLICY",
        "policies/example.yaml",
        "decisions",
        "the lender's policy file (stop factors, affordability, technical tolerances); the default is an "
        "example for the lender to set",
        _path,
    ),
    Setting(
        "letter_path",
        "SCORING_LETTER",
        "policies/letter.yaml",
        "API",
        "the lender's details printed on decision letters (name, address, where and within how many days a "
        "customer asks for a human review); the default is an example for the lender to set",
        _path,
    ),
    Setting(
        "features_memory",
        "SCORING_FEATURES_MEMORY",
        "4GB",
        "CLI",
        "DuckDB memory limit of the batch feature build and of the store build (spills to disk beyond it)",
    ),
    Setting(
        "features_threads",
        "SCORING_FEATURES_THREADS",
        "2",
        "CLI",
        "DuckDB threads of the batch feature build and of the store build",
        _number(int),
    ),
    Setting(
        "header_timeout",
        "SCORING_HEADER_TIMEOUT",
        "5",
        "gunicorn",
        "seconds a client has to send its request line and headers; also the idle keep-alive",
        _number(int),
    ),
    Setting(
        "worker_connections",
        "SCORING_WORKER_CONNECTIONS",
        "1000",
        "gunicorn",
        "connections one gevent worker holds at once",
        _number(int),
    ),
    Setting(
        "worker_timeout",
        "SCORING_WORKER_TIMEOUT",
        "60",
        "gunicorn",
        "a request busy longer than this is killed (demo and tests use 120)",
        _number(int),
    ),
    Setting(
        "progress",
        "SCORING_PROGRESS",
        "auto",
        "CLI",
        "progress of the long commands on stderr: `auto` (a bar on a terminal, else a plain line every few "
        "seconds), `bar`, `lines` or `off` (as `--quiet`)",
        _choice("AUTO", "BAR", "LINES", "OFF"),
    ),
    Setting(
        "log_level",
        "LOG_LEVEL",
        "INFO",
        "API",
        "Python log level of the API",
        _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    ),
)


@dataclass(frozen=True)
class Settings:
    """The checked values of SETTINGS; one field per declared setting (a test keeps the two in step)."""

    data_dir: Path
    models_dir: Path
    store: str
    token_secret: str | None
    token_ttl_seconds: int
    max_body_bytes: int
    signin_window: float
    signin_max_per_address: int
    signin_max_per_user: int
    signin_max_backoff: float
    signin_known_days: float
    signin_tarpit: float
    trusted_proxies: frozenset[str]
    audit_key: str | None
    audit_sync: str
    signing_key_path: Path
    verify_key_path: Path
    dp_epsilon: float
    dp_grid_features: int
    min_group: int
    grade_bounds: tuple[float, ...]
    policy_path: Path
    letter_path: Path
    features_memory: str
    features_threads: int
    header_timeout: int
    worker_connections: int
    worker_timeout: int
    progress: str
    log_level: str

    @property
    def store_path(self) -> Path:
        """The store as a file path (the SQLite backend's location; ValueError for a postgresql:// URL)."""
        from scoring.store import sqlite_file

        return sqlite_file(self.store)

    @property
    def store_location(self) -> Path | str:
        """The store as its backend reads it: a SQLite file's Path, or a postgresql:// URL as text."""
        from scoring.store import store_location

        return store_location(self.store)

    @property
    def secret_key(self) -> str:
        return self.token_secret or secret_key(self.store_location)


def settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from `environ` (default: the process environment now); ValueError naming a bad variable."""
    if environ is None:
        # os.environ.get costs ~2 µs a call here (it encodes the key); the raw dict behind it answers the same
        # lookups in ~3 µs in all, so that per-request readers need not keep copies of their own
        raw = tuple(map(_ENVIRON_DATA.get, _ENV_KEYS))
        return _parsed(tuple(None if v is None else os.environ.decodevalue(v) for v in raw))
    return _parsed(tuple(environ.get(s.env) for s in SETTINGS))


_ENVIRON_DATA = os.environ._data  # noqa: SLF001  (the mapping os.environ reads and writes through)
_ENV_KEYS = tuple(os.environ.encodekey(s.env) for s in SETTINGS)


@functools.lru_cache(maxsize=16)
def _parsed(raw_values: tuple[str | None, ...]) -> Settings:
    """Parsing cached on the raw strings: read per request, the environment costs a few lookups, not a parse."""
    values = {}
    for spec, raw in zip(SETTINGS, raw_values, strict=True):
        text = (raw or "").strip()
        if not text:
            values[spec.field] = None if spec.default is None else spec.parse(spec.env, spec.default)
        else:
            values[spec.field] = spec.parse(spec.env, text)
    return Settings(**values)


def check_declaration() -> None:
    """Every Settings field is declared exactly once in SETTINGS (called by the tests)."""
    declared = [s.field for s in SETTINGS]
    if sorted(declared) != sorted(f.name for f in fields(Settings)) or len(set(declared)) != len(declared):
        raise AssertionError("scoring.config.SETTINGS and Settings disagree")


def secret_key(location) -> str:
    """SCORING_SECRET_KEY, else the store's own random key (scoring.store.secret), which all workers and nodes share."""
    env = settings().token_secret
    if env:
        return env
    from scoring.store import stored_secret

    return stored_secret(location)
