"""The model registry for managers: versions, aliases, kinds, dates and headline metrics, and which one serves."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from api.audit import audit
from api.auth import require
from api.errors import ApiError

bp = Blueprint("models", __name__)


@bp.get("/api/v1/models")
@require("manager")
def versions():
    from scoring import registry

    models_dir = current_app.config["MODELS_DIR"]
    try:
        rows = registry.describe(models_dir)
        state = registry.read_registry(models_dir) if registry.is_registry(models_dir) else {}
    except registry.RegistryIntegrityError:
        audit(None, "refused 503 registry_unverified")
        raise ApiError(503, "registry_unverified", "the model registry's alias file does not verify") from None
    audit(None, "ok")
    champion = next((r["version"] for r in rows if "champion" in r["aliases"]), None)
    return jsonify(
        {
            "serving": current_app.config["BUNDLE"].version,
            "champion": champion,
            "challenger": state.get("challenger"),
            "registry": bool(state),
            "versions": [_public(r) for r in rows],
        }
    )


def _public(row: dict) -> dict:
    """A refused version is named without its problem's text (which holds server paths)."""
    if not row["verified"]:
        return {"version": row["version"], "aliases": row["aliases"], "verified": False}
    return {k: row[k] for k in ("version", "aliases", "verified", "kind", "trained_at", "auc", "ece", "threshold")}
