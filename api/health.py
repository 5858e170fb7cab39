"""Liveness, readiness (model verified, store reachable) and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from api import metrics

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready():
    try:
        meta = current_app.config["STORE"].meta()
    except Exception as exc:  # noqa: BLE001 - any store failure means not ready; the type is enough to say why
        return jsonify({"status": "not_ready", "reason": f"client store unreachable ({type(exc).__name__})"}), 503
    bundle = current_app.config["BUNDLE"]
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
    return Response(metrics.render(), mimetype="text/plain; version=0.0.4")
