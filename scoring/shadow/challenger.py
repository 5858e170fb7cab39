"""The challenger a models folder names: its bundle verified (registry.load_version) and the policy on its grades.

A registry folder names it in its alias file; a version folder inside a registry (what a promotion re-scores with)
belongs to its parent's registry. A legacy single-bundle folder has none. The challenger is never the champion.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("scoring.shadow")


def registry_root(models_dir) -> Path | None:
    """The registry `models_dir` is or belongs to (a version folder's parent); None for a legacy folder."""
    from scoring import registry

    base = Path(models_dir)
    if registry.is_registry(base):
        return base
    if registry.is_registry(base.parent) and base.name in registry.version_names(base.parent):
        return base.parent
    return None


def challenger_version(models_dir) -> str | None:
    """The challenger's version the registry names (None without a registry or a challenger)."""
    from scoring import registry

    root = registry_root(models_dir)
    return None if root is None else registry.read_registry(root).get("challenger")


def load_challenger(models_dir, champion_version: str, policy_path=None) -> tuple | None:
    """(bundle, policy) of the challenger, verified; None when there is none, it is the champion, or it fails to
    load (logged: a broken challenger never stops the champion's work)."""
    from scoring import registry
    from scoring.decision import load_policy

    try:
        version = challenger_version(models_dir)
        if version is None or version == champion_version:
            return None
        bundle = registry.load_version(registry_root(models_dir), version)
        return bundle, load_policy(policy_path, grades=bundle.grades)
    except Exception as exc:  # noqa: BLE001 - any failure: no shadow scoring, the champion goes on
        log.error("challenger not loaded, no shadow scoring: %s", exc)
        return None
