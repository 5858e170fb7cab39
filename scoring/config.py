"""Settings from environment variables with safe defaults, read at call time so tests can override."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    models_dir: Path
    store_path: Path
    token_ttl_seconds: int
    max_body_bytes: int

    @property
    def secret_key(self) -> str:
        return secret_key(self.store_path)


def positive_env(name: str, default, kind=int):
    """A positive number from the environment variable `name` (`kind` int or float), `default` when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"environment variable {name} must be {what}, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"environment variable {name} must be positive, got {raw!r}")
    return value


def settings() -> Settings:
    return Settings(
        data_dir=Path(os.environ.get("SCORING_DATA", "data/raw")),
        models_dir=Path(os.environ.get("SCORING_MODELS", "models")),
        store_path=Path(os.environ.get("SCORING_STORE", "data/processed/store.sqlite")),
        token_ttl_seconds=positive_env("SCORING_TOKEN_TTL", 3600),
        max_body_bytes=positive_env("SCORING_MAX_BODY", 1024 * 1024),
    )


def secret_key(store_path: Path) -> str:
    """SCORING_SECRET_KEY, else a random key kept beside the store so all workers share it."""
    env = os.environ.get("SCORING_SECRET_KEY", "").strip()
    if env:
        return env
    key_file = Path(store_path).parent / ".secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race: use its key
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(candidate)
    return candidate


def signing_key_path() -> Path:
    """SCORING_SIGNING_KEY: Ed25519 private key that training signs bundles with (kept outside models/)."""
    return Path(os.environ.get("SCORING_SIGNING_KEY", "").strip() or "data/processed/keys/model-signing.key")


def verify_key_path() -> Path:
    """SCORING_VERIFY_KEY: the public key a bundle must be signed for; all that serving needs."""
    return Path(os.environ.get("SCORING_VERIFY_KEY", "").strip() or "data/processed/keys/model-verify.pub")
