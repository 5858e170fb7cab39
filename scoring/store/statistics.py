"""Managers' population statistics: pure functions over the sample's arrays and the quantile grids of all clients.

A backend reads the columns (values, and categories for a categorical) and the grids its own way and hands them
here, so every backend gives the same figures. Customers never see these: theirs are in scoring.store.population.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from scoring.values import plain

MAX_BINS = 200
MIN_CELL = 5  # density cells with fewer clients get no mean PD: an aggregate must not describe one person


def check_bins(bins, upper: int = MAX_BINS) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 1 <= int(bins) <= upper:
        raise ValueError(f"bins must be an integer from 1 to {upper}")
    return int(bins)


def check_count(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or int(n) < 1:
        raise ValueError("n must be a positive integer")
    return int(n)


def known_number(feature: str, value) -> float | None:
    """A numeric feature's value as a float; None when missing; ValueError for something that is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{feature} is numeric; got {value!r}") from None
    return None if math.isnan(v) else v


def share_below(grid: np.ndarray, v: float) -> float:
    """Percent (0..100) of the clients below v, interpolated on the quantile grid."""
    steps = len(grid) - 1
    left, right = bisect.bisect_left(grid, v), bisect.bisect_right(grid, v)  # on a scalar: 10x np.searchsorted
    if left == 0:
        return 0.0
    if left > steps:
        return 100.0
    if left == right:  # strictly between two grid points: interpolate
        lo, hi = grid[left - 1], grid[left]
        frac = 0.0 if hi == lo else (v - lo) / (hi - lo)
        pos = left - 1 + frac
    else:
        pos = left
    return float(min(max(100.0 * pos / steps, 0.0), 100.0))


def _range(grid: np.ndarray | None, values: np.ndarray) -> tuple[float, float]:
    """Axis range from the 0.5 % and 99.5 % quantiles over all clients (tails fold into the end bins)."""
    if grid is None:
        known = values[~np.isnan(values)]
        lo, hi = (float(known.min()), float(known.max())) if len(known) else (0.0, 1.0)
    else:
        step = (len(grid) - 1) / 200
        lo, hi = float(grid[int(round(step))]), float(grid[int(round(len(grid) - 1 - step))])
        if lo == hi:
            lo, hi = float(grid[0]), float(grid[-1])
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def axis(kind: str, column: tuple, bins: int, grid: np.ndarray | None) -> tuple[np.ndarray, dict]:
    """Bin index per sample row (-1 = missing) and the axis description (numeric edges or categories)."""
    values, cats = column
    if kind == "categorical":
        return values.astype(int), {"kind": "categorical", "edges": list(cats), "categories": list(cats)}
    lo, hi = _range(grid, values)
    edges = np.linspace(lo, hi, bins + 1)
    idx = np.full(len(values), -1)
    known = ~np.isnan(values)
    idx[known] = np.clip(np.searchsorted(edges, np.clip(values[known], lo, hi), side="right") - 1, 0, bins - 1)
    return idx, {"kind": "numeric", "edges": [float(e) for e in edges]}


def distribution(feature: str, target: np.ndarray, idx: np.ndarray, ax: dict, bins: int) -> dict:
    """Histogram of one feature's bins (see axis) split by repaid (0) and defaulted (1); missing counted apart."""
    kind = ax["kind"]
    size = len(ax["categories"]) if kind == "categorical" else bins
    known = idx >= 0
    repaid = np.bincount(idx[known & (target == 0)], minlength=size)
    defaulted = np.bincount(idx[known & (target == 1)], minlength=size)
    out = {
        "kind": kind,
        "feature": feature,
        "repaid": repaid.tolist(),
        "defaulted": defaulted.tolist(),
        "missing": int((~known).sum()),
        "missing_repaid": int((~known & (target == 0)).sum()),
        "missing_defaulted": int((~known & (target == 1)).sum()),
        "n": int(len(target)),
    }
    if kind == "categorical":
        out["categories"] = ax["categories"]
    else:
        out["edges"] = ax["edges"]
    return out


def density(x: str, y: str, pds: np.ndarray, x_axis: tuple, y_axis: tuple) -> dict:
    """2-D counts and mean PD per cell of two features' bins (see axis); cells under MIN_CELL clients get no PD."""
    (xi, xa), (yi, ya) = x_axis, y_axis
    nx = len(xa["edges"]) - 1 if xa["kind"] == "numeric" else len(xa["categories"])
    ny = len(ya["edges"]) - 1 if ya["kind"] == "numeric" else len(ya["categories"])
    ok = (xi >= 0) & (yi >= 0)
    cell = xi[ok] * ny + yi[ok]
    counts = np.bincount(cell, minlength=nx * ny).reshape(nx, ny)
    sums = np.bincount(cell, weights=pds[ok], minlength=nx * ny).reshape(nx, ny)
    mean = [
        [(float(sums[i, j] / counts[i, j]) if counts[i, j] >= MIN_CELL else None) for j in range(ny)] for i in range(nx)
    ]
    return {
        "x": x,
        "y": y,
        "x_kind": xa["kind"],
        "y_kind": ya["kind"],
        "x_edges": xa["edges"],
        "y_edges": ya["edges"],
        "counts": counts.tolist(),
        "mean_pd": mean,
        "n": int(ok.sum()),
        "min_cell": MIN_CELL,
    }


def sample_points(ids: np.ndarray, pds: np.ndarray, x_column: tuple, y_column: tuple, n: int) -> list[dict]:
    """The first n sample rows (fixed random order) with both values known: {client_id, x, y, pd}."""
    (xv, xc), (yv, yc) = x_column, y_column
    rows = np.flatnonzero(_known(xv, xc) & _known(yv, yc))[:n]
    return [
        {"client_id": int(ids[i]), "x": _value(xv[i], xc), "y": _value(yv[i], yc), "pd": plain(pds[i])} for i in rows
    ]


def _known(values, cats) -> np.ndarray:
    return values >= 0 if cats is not None else ~np.isnan(values)


def _value(v, cats):
    return cats[int(v)] if cats is not None else float(v)
