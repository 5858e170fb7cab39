"""Promotion and rollback: a new store generation scored by the new champion, then alias and store switched together.

The store package computes the generation and swaps it in (scoring.store.regenerate: a re-scored copy, the kept
tables caught up, then the switch, under the rebuild lock that audit and user writes share; on PostgreSQL a new
generation schema, switched in under the store's write lock); the alias file names the new champion at the
switch. API workers pair a bundle with the store generation built with it (api/models_state.py): they switch
when they see the new generation, so no request is served by the new store and the old bundle or the reverse. A
failure before the switch leaves the old store and the old alias file.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from scoring import audit
from scoring import registry as reg
from scoring.store import regenerate, store_exists, store_model_version


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def store_version(store_path) -> str | None:
    """The model version the store's scores were computed with (None when there is no store yet)."""
    return store_model_version(store_path)


def promote(models_dir, store_path, version: str, *, user: str, action: str = "promote", policy_path=None) -> dict:
    """Make `version` the champion with a store generation scored by it; returns {version, previous, clients}."""
    models_dir = Path(models_dir)
    state = reg.read_registry(models_dir)
    bundle = reg.load_version(models_dir, version)  # RegistryError / ModelIntegrityError: nothing changes
    if state["champion"] == version and store_version(store_path) == version:
        raise reg.RegistryError(f"{version} is already the champion")
    old_aliases = reg.alias_path(models_dir).read_bytes()
    switched = []

    def name_the_champion():
        reg.set_champion(models_dir, bundle.version, user, action)
        switched.append(True)

    try:
        n = regenerate(
            store_path, reg.version_dir(models_dir, version), on_switch=name_the_champion, policy_path=policy_path
        )
    except BaseException:
        if switched and not _scored_by(store_path, version):  # the alias was written but the store not swapped
            reg._write_durably(reg.alias_path(models_dir), old_aliases.decode())
        raise
    return {"version": version, "previous": state["champion"], "clients": n}


def _scored_by(store_path, version: str) -> bool:
    """Whether the live store generation was scored by `version`; False when it cannot be read (a database lost
    at the commit of its switch): the old alias is then restored, which a worker never pairs with the wrong store
    (it serves the version the store names)."""
    try:
        return store_version(store_path) == version
    except Exception:  # noqa: BLE001 - the caller re-raises the failure that brought it here
        return False


def rollback(models_dir, store_path, *, user: str, policy_path=None) -> dict:
    """Back to the champion the last promotion replaced, by the same mechanism."""
    return promote(
        models_dir, store_path, reg.rollback_target(models_dir), user=user, action="rollback", policy_path=policy_path
    )


def record(store_path, *, user: str, command: str, outcome: str, version: str | None) -> None:
    """An audit entry for a registry command (role "cli"), when there is a store to hold it."""
    if store_exists(store_path):  # no store yet: nothing to record the command in
        audit.append_audit(
            store_path,
            user=user,
            role="cli",
            client_id=None,
            route=f"models {command}",
            outcome=outcome,
            model_version=version,
        )
