"""Shadow scoring in the API: the challenger decides what the champion has just answered, once the answer is
sent (response.call_on_close: queued, then decided with the worker's other queued requests in one pass, within
FLUSH_SECONDS), and both land in `shadow_scores`; GET /api/v1/monitoring/challenger compares them.

The answer is the champion's alone and never waits for the challenger: its features and policy inputs, computed
once for the champion, are handed over as they are, and the challenger needs no SHAP. A challenger that fails is
logged (its exception's type only: the text may quote an applicant's values) and counted in the metrics.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import threading
import time

from flask import Blueprint, after_this_request, current_app, jsonify, request

from api import metrics
from api.audit import audit
from api.auth import require
from api.errors import ApiError
from api.request_id import request_id
from scoring.shadow.rows import now

bp = Blueprint("shadow", __name__)
log = logging.getLogger("api")
# queued applicants decided together by the challenger (_Queue); bench/shadow.py: 32 made the p99 x1.17, 8 x1.03
FLUSH_APPLICANTS = 8
FLUSH_SECONDS = 1.0  # the longest a queued applicant waits for the challenger
EXIT_WAIT_SECONDS = 10.0  # the longest flush_queue (a worker's exit) waits for the flusher's pass in hand
METRICS_CACHE_SECONDS = 30.0  # the gauges read the table at most this often per worker
_metrics_lock = threading.Lock()
_metrics_cache: dict = {}  # store path -> (monotonic time read, compared, disagreeing)


def score_after_answer(decided) -> None:
    """Queue the applicants of `decided` for the pinned challenger (if any), once this request's answer is sent."""
    challenger = current_app.config.get("CHALLENGER")
    if challenger is None:
        return
    item = (current_app.config["STORE_PATH"], challenger, decided, request_id(), now())

    @after_this_request
    def _after(response):
        response.call_on_close(lambda: _worker_queue().add(item))  # after the answer: no app or request context there
        return response


class _Queue:
    """This worker's requests waiting for the challenger. Decided one at a time, each applicant paid the
    challenger's fixed cost (frames, encoder, policy: about 2 ms), which a keep-alive client's next request waited
    for; decided together, that cost is paid once per FLUSH_APPLICANTS. One long-lived flusher thread decides what
    waits longer than FLUSH_SECONDS, so a quiet worker logs its last requests too (a timer per batch started an OS
    thread each time), and the worker decides what is left as it exits.

    Made in the process that uses it (_worker_queue), so its Condition and thread are of the same kind: real
    threads in the API's gevent workers (threading left unpatched), greenlets where threading is patched; either
    way the flusher waits on the Condition with a timeout and a request never waits for it."""

    def __init__(self):
        self.pid = os.getpid()
        self.ready = threading.Condition()  # guards what follows; wakes the flusher
        self.items, self.applicants = [], 0  # queued requests, and their applicants (a batch brings several)
        self.since = 0.0  # monotonic time the oldest queued request was queued
        self.busy = False  # the flusher is deciding what it took
        self.thread = threading.Thread(target=self._flusher, name="shadow-flusher", daemon=True)

    def add(self, item) -> None:
        with self.ready:
            if not self.items:
                self.since = time.monotonic()
                self.ready.notify()  # the flusher waits for the first request, then until it is due
            self.items.append(item)
            self.applicants += len(item[2].features)
            if self.applicants < FLUSH_APPLICANTS:
                return
            items = self._take()
        _decide(items)

    def flush(self) -> None:
        """Decide what is queued now, then wait (EXIT_WAIT_SECONDS at most) for a pass the flusher has in hand."""
        with self.ready:
            items = self._take()
        _decide(items)
        with self.ready:
            self.ready.wait_for(lambda: not self.busy, timeout=EXIT_WAIT_SECONDS)

    def _take(self) -> list:
        items, self.items, self.applicants = self.items, [], 0
        return items

    def _flusher(self) -> None:
        while True:
            items = self._due()
            try:
                _decide(items)
            except Exception as exc:  # noqa: BLE001 - the flusher outlives any pass: the next ones still log
                log.error("shadow flush failed (%s)", type(exc).__name__)
            with self.ready:
                self.busy = False
                self.ready.notify_all()

    def _due(self) -> list:
        """The queue, taken once its oldest request has waited FLUSH_SECONDS (read each time: tests change it)."""
        with self.ready:
            while True:
                left = self.since + FLUSH_SECONDS - time.monotonic() if self.items else None
                if left is not None and left <= 0:
                    self.busy = True
                    return self._take()
                self.ready.wait(left)


_queue: _Queue | None = None
_queue_made = threading.Lock()  # held only to make the queue: nothing inside waits


def _worker_queue() -> _Queue:
    """This process's queue, made (and its flusher started) on first use; a forked worker makes its own, since a
    fork copies no thread and the parent's queued requests are the parent's to decide."""
    global _queue
    queue = _queue
    if queue is not None and queue.pid == os.getpid():
        return queue
    with _queue_made:
        made = _queue is None or _queue.pid != os.getpid()
        if made:
            _queue = _Queue()
        queue = _queue
    if made:  # started outside the lock: a green thread's start yields to the hub
        queue.thread.start()
    return queue


def _decide(items: list) -> None:
    """The challenger's rows of the queued requests, one pass per run of requests with the same store and
    challenger, logged; a failure is logged (its type only: the text may quote an applicant) and counted."""
    from scoring.shadow.log import write_rows
    from scoring.shadow.rows import shadow_rows_of_many

    runs = itertools.groupby(items, key=lambda item: (item[0], id(item[1])))  # same store, same challenger
    for _, run in runs:
        group = list(run)
        try:
            passes = [(decided, rid, None, at) for _, _, decided, rid, at in group]
            write_rows(group[0][0], shadow_rows_of_many(passes, group[0][1], source="api"))
        except Exception as exc:  # noqa: BLE001 - the champion's answers are sent; the challenger never fails them
            for _ in group:
                metrics.count_shadow_failure()
            log.error("shadow scoring failed (%s) on %d request(s)", type(exc).__name__, len(group))


def flush_queue() -> None:
    """Decide and log whatever this worker has queued (tests, and a worker about to exit)."""
    queue = _queue
    if queue is not None and queue.pid == os.getpid():
        queue.flush()


atexit.register(flush_queue)


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
