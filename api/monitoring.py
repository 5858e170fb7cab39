"""Drift and performance monitoring for managers: PSI per period against the training reference, and AUC, default
rates, approval and override rates once outcomes are imported (scoring.monitoring). Customers and services are
refused (403, audited); the levels file is read when the app starts, so a bad one stops the start."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, has_app_context, jsonify, request

from api.audit import audit
from api.auth import require
from api.errors import ApiError
from api.io import choice_arg, int_arg
from scoring.monitoring.levels import load_levels
from scoring.monitoring.periods import PERIODS

bp = Blueprint("monitoring", __name__)
log = logging.getLogger("api")
bp.record_once(lambda state: state.app.extensions.setdefault("monitoring_levels", load_levels()))
MAX_TOP = 50


def record_scored(decided, applicants: list[tuple[dict, dict]]) -> None:
    """Record the applications just scored (scored_applications), in one insert; a failure is logged, never raised:
    the answer does not depend on the monitoring record."""
    from scoring.monitoring import records

    bundle = current_app.config["BUNDLE"]
    rid = g.get("request_id") or records.new_request_id(request.headers.get("X-Request-ID"))
    ids = [app.get("SK_ID_CURR") for app, _ in applicants]
    try:
        rows = records.rows_of(bundle, decided, source="api", request_id=rid, client_ids=ids, scored_at=records.now())
        records.record(current_app.config["STORE_PATH"], rows)
    except Exception as exc:  # noqa: BLE001 - its type only: a message may quote an applicant's values
        log.error("scored applications not recorded (%s) on request %s", type(exc).__name__, rid)


def metric_lines() -> list[str]:
    """The drift gauges for /metrics (scoring.monitoring.gauges, cached per worker); none outside an app, or when
    the tables cannot be read (logged: the metrics page still answers)."""
    from scoring.monitoring.gauges import gauge_lines

    if not has_app_context() or "monitoring_levels" not in current_app.extensions:
        return []
    config = current_app.config
    try:
        return gauge_lines(config["STORE_PATH"], config["STORE"], config["BUNDLE"], levels())
    except Exception as exc:  # noqa: BLE001 - the other metrics are served anyway
        log.error("monitoring gauges not computed (%s)", type(exc).__name__)
        return []


def levels():
    return current_app.extensions["monitoring_levels"]


def _period() -> str:
    return choice_arg("period", PERIODS) or "month"


@bp.get("/api/v1/monitoring/stability")
@require("manager")
def stability():
    from scoring.monitoring.stability import NoReference
    from scoring.monitoring.stability import stability as report

    period = _period()
    top = int_arg("top", levels().top_features, 1, MAX_TOP)
    config = current_app.config
    try:
        result = report(config["STORE_PATH"], config["STORE"], config["BUNDLE"], period, top, levels())
    except NoReference:
        audit(None, "refused 409 reference_missing")
        raise ApiError(
            409,
            "reference_missing",
            "the model serving has no training reference and the store was scored by another model",
        ) from None
    audit(None, f"read monitoring stability {period}")
    return jsonify(result)


@bp.get("/api/v1/monitoring/performance")
@require("manager")
def performance():
    from scoring.monitoring.performance import performance as report

    period = _period()
    config = current_app.config
    result = report(config["STORE_PATH"], config["STORE"], period, levels())
    audit(None, f"read monitoring performance {period}")
    return jsonify(result)
