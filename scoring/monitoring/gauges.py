"""Prometheus gauges of drift, computed from the tables and kept for metrics_cache_seconds (30 s) per worker.

  scoring_score_psi{period="day"|"week"|"month"}   PSI of the score in the most recent period of that length
                                                   holding recorded applications; absent below min_applications
  scoring_feature_psi{feature="...",period="month"} PSI of each of the top features in that month (same rule)
  scoring_monitored_applications{period=...}        the recorded applications in that period (0 before any)

Only applications scored by the reference's model version count, as in the stability report. The alert rules
(deploy/prometheus) are written against exactly these names.
"""

from __future__ import annotations

import threading
import time

from scoring.monitoring import periods, records
from scoring.monitoring.levels import Levels
from scoring.monitoring.reference import reference_for
from scoring.monitoring.stability import period_psi, top_features

_cache: dict = {}
_lock = threading.Lock()


def gauge_lines(location, store, bundle, levels: Levels, *, clock=time.monotonic) -> list[str]:
    """The gauges' lines in the Prometheus text format, from this worker's cache when fresh enough."""
    key = (str(location), bundle.version)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and clock() - hit[0] < levels.metrics_cache_seconds:
            return hit[1]
    lines = compute(location, store, bundle, levels)
    with _lock:
        _cache.clear()
        _cache[key] = (clock(), lines)
    return lines


def compute(location, store, bundle, levels: Levels) -> list[str]:
    reference = reference_for(bundle, store)
    if reference is None:
        return []
    version = reference["model_version"]
    latest = records.latest_day(location, version)
    counts, score_psi, feature_psi = {}, {}, {}
    if latest is not None:
        day = periods.day_of(latest)
        spans = {p: periods.period_of(day, p) for p in periods.PERIODS}
        since = min(start for _, start, _ in spans.values()).isoformat()
        rows = records.read(location, model_version=version, since=since, features=True)
        features = top_features(bundle, reference, levels.top_features)
        for name, (_, start, end) in spans.items():
            start, end = start.isoformat(), end.isoformat()
            chosen = [r for r in rows if start <= r[0][:10] < end]
            result = period_psi(reference, features if name == "month" else [], chosen, levels)
            counts[name], score_psi[name] = result["n"], result["score_psi"]
            if name == "month":
                feature_psi = result["feature_psi"]
    lines = [
        "# HELP scoring_score_psi PSI of the score in the latest period holding recorded applications, against the "
        "training reference (absent below the minimum count).",
        "# TYPE scoring_score_psi gauge",
    ]
    lines += [f'scoring_score_psi{{period="{p}"}} {v:.6f}' for p, v in score_psi.items() if v is not None]
    lines += [
        "# HELP scoring_feature_psi PSI of a top feature in the latest month holding recorded applications.",
        "# TYPE scoring_feature_psi gauge",
    ]
    lines += [
        f'scoring_feature_psi{{feature="{_label(f)}",period="month"}} {v:.6f}'
        for f, v in feature_psi.items()
        if v is not None
    ]
    lines += [
        "# HELP scoring_monitored_applications Recorded applications in the latest period of each length.",
        "# TYPE scoring_monitored_applications gauge",
    ]
    lines += [f'scoring_monitored_applications{{period="{p}"}} {counts.get(p, 0)}' for p in periods.PERIODS]
    return lines


def _label(value: str) -> str:
    """A label value as the text format spells it (backslash, quote and newline escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
