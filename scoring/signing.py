"""Ed25519 signatures of model bundles: training holds the private key, serving only the public key.

Asymmetric on purpose: an API node (which can write models/) holds no key that could sign a model.
Both keys live outside models/ (SCORING_SIGNING_KEY, SCORING_VERIFY_KEY), raw 32-byte keys in base64 text files.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scoring.config import settings

# what is signed is this prefix + the manifest: a signature made for anything else never verifies a bundle
_DOMAIN = b"scoring model bundle manifest v1\n"
_RAW = serialization.Encoding.Raw


class SigningKeyError(ValueError):
    """A key file that is missing, unreadable or does not pair with the other key."""


def key_id(public: Ed25519PublicKey) -> str:
    """Short fingerprint of a public key, shown in messages (not a secret, not a check on its own)."""
    raw = public.public_bytes(_RAW, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _read_key(path: Path, what: str) -> bytes:
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except FileNotFoundError:
        raise SigningKeyError(f"{what} {path} not found") from None
    except (ValueError, OSError) as exc:
        raise SigningKeyError(f"{what} {path} is unreadable ({type(exc).__name__})") from None
    if len(raw) != 32:
        raise SigningKeyError(f"{what} {path} is not a raw Ed25519 key (32 bytes in base64)")
    return raw


def _write_new(path: Path, text: str, mode: int) -> None:
    """Create `path` with `mode` from the start (never readable by others, even for an instant)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def load_verify_key(path: Path | None = None) -> Ed25519PublicKey:
    """The public key bundles must be signed for; never created here (serving must not mint its own trust)."""
    path = Path(path) if path is not None else settings().verify_key_path
    return Ed25519PublicKey.from_public_bytes(_read_key(path, "model verify key"))


def load_or_create_signing_key(path: Path | None = None, verify_path: Path | None = None) -> Ed25519PrivateKey:
    """The training key; made (0600) with its public key (0644) when neither exists yet."""
    path = Path(path) if path is not None else settings().signing_key_path
    verify_path = Path(verify_path) if verify_path is not None else settings().verify_key_path
    if not path.exists():
        if verify_path.exists():
            raise SigningKeyError(
                f"model signing key {path} is missing but a verify key exists at {verify_path}: "
                "restore the signing key, or remove the verify key to start a new key pair"
            )
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        try:
            _write_new(path, base64.b64encode(raw).decode(), 0o600)
        except FileExistsError:
            pass  # another process made one at the same moment: use it
    private = Ed25519PrivateKey.from_private_bytes(_read_key(path, "model signing key"))
    public_text = base64.b64encode(private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)).decode()
    if not verify_path.exists():
        try:
            _write_new(verify_path, public_text, 0o644)
        except FileExistsError:
            pass
    if key_id(load_verify_key(verify_path)) != key_id(private.public_key()):
        raise SigningKeyError(
            f"model signing key {path} does not pair with the verify key {verify_path}: "
            "serving would refuse every model signed with it"
        )
    return private


def sign(private: Ed25519PrivateKey, manifest: bytes) -> str:
    """Signature file text: key id and base64 signature of the manifest."""
    signature = base64.b64encode(private.sign(_DOMAIN + manifest)).decode()
    return f"ed25519 {key_id(private.public_key())} {signature}\n"


def verify(public: Ed25519PublicKey, manifest: bytes, signature_text: str) -> str | None:
    """None when `signature_text` signs `manifest` with `public`'s key, else why not."""
    parts = signature_text.split()
    if len(parts) != 3 or parts[0] != "ed25519":
        return "malformed signature file"
    try:
        signature = base64.b64decode(parts[2], validate=True)
        public.verify(signature, _DOMAIN + manifest)
    except (ValueError, InvalidSignature):
        if parts[1] != key_id(public):
            return f"signed with another key (key id {parts[1]}, trusted key {key_id(public)})"
        return "the signature does not match the manifest: altered files"
    return None
