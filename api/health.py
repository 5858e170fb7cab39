"""Liveness, readiness (model verified, store reachable) and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from api import metrics
from api.availability import store_problem

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})


def readiness() -> tuple[str | None, dict]:
    """Why this worker cannot serve (None when it can) and the store's meta: /ready answers it, /metrics gauges it."""
    bundle = current_app.config["BUNDLE"]
    reason = store_problem(current_app.config["STORE_PATH"])
    meta = {}
    if reason is None:
        try:
            meta = current_app.config["STORE"].meta()
        except Exception as exc:  # noqa: BLE001 - any store failure means not ready; the type is enough to say why
            reason = f"client store unreadable ({type(exc).__name__})"
    if reason is None and meta.get("model_features", bundle.feature_names) != list(bundle.feature_names):
        reason = "the client store was built for another model's features (run `python -m scoring explain-all`)"
    return reason, meta


@bp.get("/ready")
def ready():
    """503 unless this worker can serve: the store file is there and is a store, and it fits the loaded model."""
    bundle = current_app.config["BUNDLE"]
    reason, meta = readiness()
    if reason:
        return jsonify({"status": "not_ready", "reason": reason}), 503
    return jsonify(
        {
            "status": "ready",
            "model_version": bundle.version,
            "store_model_version": meta.get("model_version"),
            "data_source": meta.get("data_source"),
            "clients": meta.get("n_clients"),
        }
    )


@bp.get("/metrics")
def prometheus():
    return Response(metrics.render(ready=readiness()[0] is None), mimetype="text/plain; version=0.0.4")
