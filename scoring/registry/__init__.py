"""Model registry: signed bundles side by side in `models/<version>/`, aliases `champion` and `challenger` in a
signed `models/registry.json`.

The alias file is signed with the model signing key (another domain than bundle manifests), so an edited file is
refused; the bundle an alias names is verified again whenever it is loaded. A folder holding one bundle directly
(the layout before the registry) is a registry of one: its bundle is the champion and nothing can be promoted.
Promotion (scoring.registry.promotion) re-scores a copy of the store with the new champion before it switches both.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from scoring import signing
from scoring.bundle import CARD_JSON, MANIFEST, ModelBundle, ModelIntegrityError, bundle_files, verified_files

REGISTRY_FILE = "registry.json"
RETIRED = "retired"
_DOMAIN = b"scoring model registry aliases v1\n"  # a bundle manifest's signature never verifies an alias file
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_HISTORY_KEPT = 200


class RegistryError(ValueError):
    """A registry command refused: unknown version, retiring the champion, nothing to roll back to..."""


class RegistryIntegrityError(ModelIntegrityError):
    """An alias file that is unsigned, altered, signed with another key, or names versions that are not there."""


def alias_path(models_dir) -> Path:
    return Path(models_dir) / REGISTRY_FILE


def is_registry(models_dir) -> bool:
    return alias_path(models_dir).exists()


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- the alias file ---------------------------------------------------------------------------------------------
def _payload(state: dict) -> bytes:
    return json.dumps(state, sort_keys=True, separators=(",", ":")).encode()


def read_registry(models_dir, verify_key=None) -> dict:
    """The aliases and history, once their signature checks; RegistryIntegrityError otherwise."""
    path = alias_path(models_dir)
    try:
        doc = json.loads(path.read_bytes())
        state, signature = doc["registry"], doc["signature"]
        parts = signature.split()
        if len(parts) != 3 or parts[0] != "ed25519" or not isinstance(state, dict):
            raise ValueError("malformed")
    except FileNotFoundError:
        raise RegistryIntegrityError(f"{path} is missing: not a model registry") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RegistryIntegrityError(f"{path} is not a signed alias file: refusing it") from None
    try:
        public = verify_key if verify_key is not None else signing.load_verify_key()
    except signing.SigningKeyError as exc:
        raise RegistryIntegrityError(f"cannot verify {path}: {exc} (set SCORING_VERIFY_KEY)") from None
    try:
        public.verify(base64.b64decode(parts[2], validate=True), _DOMAIN + _payload(state))
    except (ValueError, InvalidSignature):
        raise RegistryIntegrityError(f"{path}: the signature does not match the aliases: altered file") from None
    for alias in ("champion", "challenger"):
        value = state.get(alias)
        if value is not None and not (isinstance(value, str) and _VERSION.match(value)):
            raise RegistryIntegrityError(f"{path}: {alias} {value!r} is not a version name")
    state.setdefault("history", [])
    return state


def _write_registry(models_dir, state: dict, signing_key=None) -> None:
    """Signed, then written beside and renamed over the old file (fsync of file and folder): all or nothing."""
    private = signing_key if signing_key is not None else signing.load_or_create_signing_key()
    state = {**state, "history": state.get("history", [])[-_HISTORY_KEPT:]}
    signature = base64.b64encode(private.sign(_DOMAIN + _payload(state))).decode()
    text = json.dumps(
        {"registry": state, "signature": f"ed25519 {signing.key_id(private.public_key())} {signature}"}, indent=2
    )
    _write_durably(alias_path(models_dir), text + "\n")


def _write_durably(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


# --- versions ---------------------------------------------------------------------------------------------------
def check_version_name(version) -> str:
    if not isinstance(version, str) or not _VERSION.match(version) or version == RETIRED:
        raise RegistryError(f"{version!r} is not a version name (letters, digits, '.', '_', '-')")
    return version


def version_dir(models_dir, version: str) -> Path:
    return Path(models_dir) / check_version_name(version)


def version_names(models_dir) -> list[str]:
    """Version folders (holding a manifest) of a registry, oldest name first; the legacy layout has none."""
    base = Path(models_dir)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and _VERSION.match(p.name) and (p / MANIFEST).exists())


def load_version(models_dir, version: str, verify_key=None) -> ModelBundle:
    """A registry version's bundle, verified; RegistryError when there is no such version."""
    folder = version_dir(models_dir, version)
    if not (folder / MANIFEST).exists():
        raise RegistryError(f"no model version {version} in {models_dir}")
    bundle = ModelBundle.load(folder, verify_key)
    if bundle.version != version:
        raise ModelIntegrityError(f"{folder} holds model {bundle.version}, not {version}: refusing it")
    return bundle


def champion(models_dir) -> str | None:
    """The champion's version (registry), or None for the legacy layout (whose bundle decides)."""
    return read_registry(models_dir)["champion"] if is_registry(models_dir) else None


def bundle_dir(models_dir) -> Path:
    """Where the bundle that decides is: the folder itself (legacy layout), else the champion's version folder."""
    base = Path(models_dir)
    if not is_registry(base):
        return base
    version = read_registry(base)["champion"]
    if version is None:
        raise ModelIntegrityError(f"the model registry {base} has no champion yet; train or add a model first")
    return version_dir(base, version)


def describe(models_dir) -> list[dict]:
    """Each version: kind, trained date, AUC, ECE, threshold (from its card), aliases, and whether it verifies.

    Read from the verified card alone: listing unpickles no model."""
    base = Path(models_dir)
    if not is_registry(base):
        return [_row(base, None, ["champion"])] if (base / MANIFEST).exists() else []
    state = read_registry(base)
    return [
        _row(base / name, name, [a for a in ("champion", "challenger") if state.get(a) == name])
        for name in version_names(base)
    ]


def _row(folder: Path, name: str | None, aliases: list[str]) -> dict:
    try:
        card = json.loads(verified_files(folder)[CARD_JSON])
        if not isinstance(card, dict) or not isinstance(card.get("version"), str):
            raise ModelIntegrityError(f"{folder / CARD_JSON} is not a model card")
        if name is not None and card["version"] != name:
            raise ModelIntegrityError(f"{folder} holds model {card['version']}, not {name}")
    except (ModelIntegrityError, ValueError) as exc:
        return {"version": name or folder.name, "aliases": aliases, "verified": False, "problem": str(exc)}
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    model = card.get("model") if isinstance(card.get("model"), dict) else {}
    policy = card.get("policy") if isinstance(card.get("policy"), dict) else {}
    return {
        "version": card["version"],
        "aliases": aliases,
        "verified": True,
        "kind": model.get("kind", "lightgbm"),
        "trained_at": card.get("created_at"),
        "auc": _first(metrics, ("cv_auc", "oof_auc")),
        "ece": _first(metrics, ("ece_calibrated",)),
        "threshold": _first(policy, ("threshold",)),
        "data_source": card.get("data_source"),
    }


def _first(values: dict, names) -> float | None:
    for name in names:
        value = values.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


# --- changes ----------------------------------------------------------------------------------------------------
def init_registry(models_dir, user: str) -> str | None:
    """Turn a folder into a registry: a bundle held directly moves into its version folder and becomes champion."""
    base = Path(models_dir)
    if is_registry(base):
        raise RegistryError(f"{base} is already a model registry")
    base.mkdir(parents=True, exist_ok=True)
    version = None
    if (base / MANIFEST).exists():
        bundle = ModelBundle.load(base)  # never adopt a bundle that does not verify
        version = check_version_name(bundle.version)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=base))
        for name in bundle_files(base):
            (base / name).rename(staging / name)
        staging.rename(base / version)
    history = [{"at": now(), "user": user, "action": "init", "champion": version, "previous": None}]
    _write_registry(base, {"champion": version, "challenger": None, "history": history})
    return version


def add_version(models_dir, source, user: str) -> str:
    """Copy a verified bundle folder into the registry as `<version>/`; it becomes champion when there is none."""
    base = Path(models_dir)
    state = read_registry(base)
    bundle = ModelBundle.load(source)
    version = check_version_name(bundle.version)
    target = base / version
    if target.exists() or (base / RETIRED / version).exists():
        raise RegistryError(f"model version {version} is already in {base}")
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=base))
    try:
        for name in bundle_files(source):
            shutil.copy2(Path(source) / name, staging / name)
        ModelBundle.load(staging)  # the copy verifies too
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if state["champion"] is None:
        state["history"].append({"at": now(), "user": user, "action": "add", "champion": version, "previous": None})
        _write_registry(base, {**state, "champion": version})
    return version


def set_champion(models_dir, version: str, user: str, action: str) -> dict:
    """Write the alias file with `version` as champion (the caller has made its store generation); the new state."""
    state = read_registry(models_dir)
    previous = state["champion"]
    state["history"].append({"at": now(), "user": user, "action": action, "champion": version, "previous": previous})
    new = {**state, "champion": version}
    if new.get("challenger") == version:
        new["challenger"] = None  # a version is never compared with itself
    _write_registry(models_dir, new)
    return new


def rollback_target(models_dir) -> str:
    """The champion the last promotion or rollback replaced."""
    state = read_registry(models_dir)
    for entry in reversed(state["history"]):
        if entry.get("champion") == state["champion"] and entry.get("action") in ("promote", "rollback"):
            previous = entry.get("previous")
            if previous and (Path(models_dir) / previous / MANIFEST).exists():
                return previous
            break
    raise RegistryError("nothing to roll back to: the champion was not made by a promotion, or its predecessor left")


def set_challenger(models_dir, version: str | None, user: str) -> dict:
    state = read_registry(models_dir)
    if version is not None:
        if version == state["champion"]:
            raise RegistryError(f"{version} is the champion; a challenger is another version")
        load_version(models_dir, version)  # exists and verifies
    state["history"].append({"at": now(), "user": user, "action": "challenger", "challenger": version})
    new = {**state, "challenger": version}
    _write_registry(models_dir, new)
    return new


def retire(models_dir, version: str, user: str, store_version: str | None = None) -> Path:
    """Move a version folder to `retired/`; never the champion nor the version the store was built with."""
    base = Path(models_dir)
    state = read_registry(base)
    folder = version_dir(base, version)
    if not folder.is_dir():
        raise RegistryError(f"no model version {version} in {base}")
    if version == state["champion"]:
        raise RegistryError(f"{version} is the champion: promote another version before retiring it")
    if version == store_version:
        raise RegistryError(f"the client store was built with {version}: promote the champion again first")
    (base / RETIRED).mkdir(exist_ok=True)
    target = base / RETIRED / version
    if target.exists():
        raise RegistryError(f"{target} already exists")
    state["history"].append({"at": now(), "user": user, "action": "retire", "version": version})
    new = {**state, "challenger": None if state.get("challenger") == version else state.get("challenger")}
    folder.rename(target)
    _write_registry(base, new)
    return target
