"""Periods of the monitoring reports: a day ("2026-11-30"), an ISO week ("2026-W48") or a month ("2026-11").

A record's period is that of the UTC date of its ISO timestamp; `start` is the first day and `end` the day after
the last (exclusive), both ISO dates.
"""

from __future__ import annotations

from datetime import date, timedelta

PERIODS = ("day", "week", "month")


def check_period(period) -> str:
    if period not in PERIODS:
        raise ValueError(f"period: must be one of {', '.join(PERIODS)}, got {period!r}")
    return period


def period_of(day: date, period: str) -> tuple[str, date, date]:
    """(key, start, end exclusive) of the period holding `day`."""
    if period == "day":
        return day.isoformat(), day, day + timedelta(days=1)
    if period == "week":
        year, week, weekday = day.isocalendar()
        start = day - timedelta(days=weekday - 1)
        return f"{year}-W{week:02d}", start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        return f"{start.year}-{start.month:02d}", start, end
    raise ValueError(check_period(period))


def day_of(timestamp: str) -> date:
    """The UTC date of an ISO timestamp as recorded ('2026-11-30T08:00:00.000+00:00')."""
    return date.fromisoformat(timestamp[:10])


def group(timestamps, period: str) -> dict[str, dict]:
    """{key: {period, start, end, rows: [positions]}} of the timestamps, keys oldest first."""
    check_period(period)
    out: dict[str, dict] = {}
    seen: dict[str, tuple] = {}
    for i, stamp in enumerate(timestamps):
        day = stamp[:10]
        if day not in seen:
            seen[day] = period_of(day_of(stamp), period)
        key, start, end = seen[day]
        entry = out.get(key)
        if entry is None:
            entry = out[key] = {"period": key, "start": start.isoformat(), "end": end.isoformat(), "rows": []}
        entry["rows"].append(i)
    return dict(sorted(out.items(), key=lambda item: item[1]["start"]))
