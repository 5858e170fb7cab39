"""Inline SVG charts of the monitoring report: a line chart over periods (with level lines) and paired bars.

Plain SVG text, no script and no external resource, so the page reads offline and prints. Every chart has a
title and a table of its figures beside it in the report, for readers who cannot see it.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 16, 48
COLOURS = ("#1f5fa8", "#c2571a", "#2e7d32", "#6a1b9a")


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    return start if high == low else start + (value - low) * (end - start) / (high - low)


def _frame(title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def _axes(labels: list[str], low: float, high: float, fmt: str) -> tuple[list[str], callable, callable]:
    inner_w, inner_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return _LEFT + (i + 0.5) * inner_w / n

    def y(v: float) -> float:
        return _scale(v, low, high, _TOP + inner_h, _TOP)

    parts = [f'<rect x="{_LEFT}" y="{_TOP}" width="{inner_w}" height="{inner_h}" fill="#fff" stroke="#999"/>']
    for k in range(5):
        v = low + (high - low) * k / 4
        parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">{format(v, fmt)}</text>'
        )
    step = max(1, n // 12)
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - _BOTTOM + 16}" text-anchor="middle" font-size="11">'
                f"{escape(label)}</text>"
            )
    return parts, x, y


def line_chart(title: str, labels: list[str], series: dict[str, list], levels: dict | None = None, fmt=".2f") -> str:
    """Lines over the periods (None leaves a gap); `levels` {name: value} drawn as dashed horizontal lines."""
    values = [v for s in series.values() for v in s if v is not None] + list((levels or {}).values())
    high = max(values + [0.0]) * 1.15 or 1.0
    parts, x, y = _axes(labels, 0.0, high, fmt)
    for k, (name, value) in enumerate((levels or {}).items()):
        colour = "#b58900" if k == 0 else "#c62828"
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{colour}" '
            f'stroke-dasharray="6 4"/><text x="{WIDTH - _RIGHT - 4}" y="{y(value) - 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="{colour}">{escape(name)} {value:g}</text>'
        )
    for k, (name, points) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        run: list[str] = []
        for i, v in enumerate([*points, None]):
            if v is None:
                if len(run) > 1:
                    parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>')
                run = []
                continue
            run.append(f"{x(i):.1f},{y(v):.1f}")
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}"/>')
        parts.append(
            f'<text x="{_LEFT + 8 + 140 * k}" y="{HEIGHT - 10}" font-size="12" fill="{colour}">{escape(name)}</text>'
        )
    return _frame(title, parts)


def bar_chart(title: str, labels: list[str], series: dict[str, list], fmt=".2f") -> str:
    """Bars side by side per label, one colour per series (None: no bar)."""
    values = [v for s in series.values() for v in s if v is not None]
    high = max(values + [0.0]) * 1.15 or 1.0
    parts, x, y = _axes(labels, 0.0, high, fmt)
    n, k_all = max(len(labels), 1), max(len(series), 1)
    slot = (WIDTH - _LEFT - _RIGHT) / n * 0.8 / k_all
    for k, (name, points) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        for i, v in enumerate(points):
            if v is None:
                continue
            left = x(i) - slot * k_all / 2 + slot * k
            parts.append(
                f'<rect x="{left:.1f}" y="{y(v):.1f}" width="{slot * 0.9:.1f}" height="{y(0) - y(v):.1f}" '
                f'fill="{colour}"/>'
            )
        parts.append(
            f'<text x="{_LEFT + 8 + 160 * k}" y="{HEIGHT - 10}" font-size="12" fill="{colour}">{escape(name)}</text>'
        )
    return _frame(title, parts)
