"""Shadow scoring in the API: the challenger decides what the champion has just answered, once the answer is
sent (response.call_on_close), and both land in `shadow_scores`; GET /api/v1/monitoring/challenger compares them.

The answer is the champion's alone and never waits for the challenger: its features and policy inputs, computed
once for the champion, are handed over as they are, and the challenger needs no SHAP. A challenger that fails is
logged (its exception's type only: the text may quote an applicant's values) and counted in the metrics.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Blueprint, after_this_request, current_app, jsonify, request

from api import metrics
from api.audit import audit
from api.auth import require
from api.errors import ApiError
from api.request_id import request_id

bp = Blueprint("shadow", __name__)
log = logging.getLogger("api")
METRICS_CACHE_SECONDS = 30.0  # the gauges read the table at most this often per worker
_metrics_lock = threading.Lock()
_metrics_cache: dict = {}  # store path -> (monotonic time read, compared, disagreeing)


def score_after_answer(decided) -> None:
    """Have the pinned challenger (if any) decide the applicants of `decided` after this request's answer."""
    challenger = current_app.config.get("CHALLENGER")
    if challenger is None:
        return
    store, rid = current_app.config["STORE_PATH"], request_id()

    def shadow():  # after the answer: no app or request context here, only what was captured
        from scoring.shadow.log import write_rows
        from scoring.shadow.rows import shadow_rows

        try:
            write_rows(store, shadow_rows(decided, challenger, source="api", request_id=rid))
        except Exception as exc:  # noqa: BLE001 - the champion's answer is sent; the challenger never fails it
            metrics.count_shadow_failure()
            log.error("shadow scoring failed (%s) on request %s", type(exc).__name__, rid)

    @after_this_request
    def _after(response):
        response.call_on_close(shadow)
        return response


@bp.get("/api/v1/monitoring/challenger")
@require("manager")
def challenger():
    """Champion and challenger compared per period: agreement, swap set, mean PD, AUC where outcomes are known."""
    from scoring.shadow import PERIODS, compare

    period = request.args.get("period", "month")
    if period not in PERIODS:  # the spec's enum answers first; kept for a route called without it
        audit(None, "refused 422 invalid_query")
        allowed = f"must be one of {', '.join(PERIODS)}"
        raise ApiError(422, "invalid_query", f"period {allowed}", [{"field": "period", "message": allowed}])
    # the store's location (a file or a postgresql:// URL) and the champion serving: what the rows name
    result = compare(current_app.config["STORE_PATH"], period, champion=current_app.config["BUNDLE"].version)
    audit(None, "ok")
    return jsonify(result)


def metric_lines(store_path) -> list[str]:
    """The gauges of the last 24 hours of `shadow_scores`, read at most every METRICS_CACHE_SECONDS: the share of
    rows whose outcomes differ (absent without rows) and how many rows there were."""
    from scoring.shadow.log import last_day

    key = str(store_path)
    with _metrics_lock:
        cached = _metrics_cache.get(key)
    if cached is None or time.monotonic() - cached[0] > METRICS_CACHE_SECONDS:
        try:
            compared, differ = last_day(store_path)
        except Exception as exc:  # noqa: BLE001 - the metrics page answers without the gauges
            log.error("shadow metrics not read (%s)", type(exc).__name__)
            return []
        cached = (time.monotonic(), compared, differ)
        with _metrics_lock:
            _metrics_cache[key] = cached
    _, compared, differ = cached
    lines = [
        "# HELP scoring_shadow_compared Applications scored by both champion and challenger in the window.",
        "# TYPE scoring_shadow_compared gauge",
        f'scoring_shadow_compared{{window="24h"}} {compared}',
    ]
    if compared:
        lines += [
            "# HELP scoring_shadow_disagreement_ratio Share of the last 24 h's shadow scores whose champion and "
            "challenger outcomes differ.",
            "# TYPE scoring_shadow_disagreement_ratio gauge",
            f"scoring_shadow_disagreement_ratio {differ / compared:.6f}",
        ]
    return lines
