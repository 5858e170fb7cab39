"""Prometheus text metrics kept per worker process: requests, errors, latency histograms per route, scores."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict

from flask import Flask, current_app, g, has_app_context, request

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_lock = threading.Lock()
_requests: dict = defaultdict(int)
_latency: dict = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
_latency_sum: dict = defaultdict(float)
_scores: dict = defaultdict(int)
_shadow_failures = 0


def count_score(decision: str, grade: str) -> None:
    with _lock:
        _scores[(decision, grade)] += 1


def count_shadow_failure() -> None:
    """A challenger that failed to score what the champion answered (api/shadow.py)."""
    global _shadow_failures
    with _lock:
        _shadow_failures += 1


def register(app: Flask) -> None:
    @app.before_request
    def _start():
        g.started = time.perf_counter()

    @app.after_request
    def _record(response):
        route = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        with _lock:
            _requests[(request.method, route, response.status_code)] += 1
            buckets = _latency[route]
            for i, bound in enumerate(BUCKETS):
                if elapsed <= bound:
                    buckets[i] += 1
                    break
            else:
                buckets[-1] += 1
            _latency_sum[route] += elapsed
        return response


def render(ready: bool | None = None) -> str:
    """`ready`: whether /ready would answer 200 now, published as the gauge scoring_ready (1 or 0)."""
    pid = os.getpid()
    lines = [
        "# HELP api_requests_total Requests served by this worker, by method, route and status.",
        "# TYPE api_requests_total counter",
    ]
    with _lock:
        for (method, route, status), n in sorted(_requests.items()):
            lines.append(
                f'api_requests_total{{worker="{pid}",method="{method}",route="{route}",status="{status}"}} {n}'
            )
        lines += [
            "# HELP api_errors_total Responses with status 5xx.",
            "# TYPE api_errors_total counter",
            f'api_errors_total{{worker="{pid}"}} {sum(n for (_, _, s), n in _requests.items() if s >= 500)}',
            "# HELP api_request_seconds Request latency by route.",
            "# TYPE api_request_seconds histogram",
        ]
        for route, buckets in sorted(_latency.items()):
            cumulative = 0
            for bound, n in zip(BUCKETS, buckets, strict=False):
                cumulative += n
                lines.append(f'api_request_seconds_bucket{{worker="{pid}",route="{route}",le="{bound}"}} {cumulative}')
            cumulative += buckets[-1]
            lines.append(f'api_request_seconds_bucket{{worker="{pid}",route="{route}",le="+Inf"}} {cumulative}')
            lines.append(f'api_request_seconds_sum{{worker="{pid}",route="{route}"}} {_latency_sum[route]:.6f}')
            lines.append(f'api_request_seconds_count{{worker="{pid}",route="{route}"}} {cumulative}')
        lines += ["# HELP api_scores_total Scores served, by decision and grade.", "# TYPE api_scores_total counter"]
        for (decision, grade), n in sorted(_scores.items()):
            lines.append(f'api_scores_total{{worker="{pid}",decision="{decision}",grade="{grade}"}} {n}')
    from api.monitoring import metric_lines  # the drift gauges (scoring_score_psi ...), cached per worker

    lines += metric_lines()
    if ready is not None:
        lines += [
            "# HELP scoring_ready 1 when this worker can serve (/ready answers 200), else 0.",
            "# TYPE scoring_ready gauge",
            f'scoring_ready{{worker="{pid}"}} {int(ready)}',
        ]
    lines += [
        "# HELP scoring_shadow_failures_total Challenger failures in shadow scoring (the champion answered).",
        "# TYPE scoring_shadow_failures_total counter",
        f'scoring_shadow_failures_total{{worker="{pid}"}} {_shadow_failures}',
    ]
    if has_app_context():  # the audit commits, and the shadow gauges from the shadow_scores table (cached per worker)
        from api.shadow import metric_lines

        queue = current_app.extensions["audit_commit"]
        lines += [
            "# HELP scoring_audit_entries_total Audit entries this worker committed.",
            "# TYPE scoring_audit_entries_total counter",
            f'scoring_audit_entries_total{{worker="{pid}"}} {queue.entries}',
            "# HELP scoring_audit_commits_total Audit transactions this worker committed (one holds the entries of "
            "the requests that reached theirs together).",
            "# TYPE scoring_audit_commits_total counter",
            f'scoring_audit_commits_total{{worker="{pid}"}} {queue.commits}',
        ]
        lines += metric_lines(current_app.config["STORE_PATH"])
    return "\n".join(lines) + "\n"
