"""Population stability index: bins made on the training reference, shares per bin, and the index itself.

PSI = sum over bins of (a - e) * ln(a / e), with e the reference's share of a bin and a the monitored period's.
A bin empty on one side would make ln(a / e) infinite: both shares are first raised to a small floor (the levels
file's psi.empty_bin_share, 0.0001), without renormalising; a bin empty on both sides then adds nothing.

A number's bins are the deciles of the reference (fewer when values tie: the edges are made unique), plus a bin of
its own for a missing (or non-finite) value. A category's bins are the categories holding at least
rare_category_share of the reference, one bin pooling the rare and unseen ones, and one for a missing value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

OTHER = "(other)"


def numeric_spec(values, bins: int) -> dict:
    """Bins of a number on its reference values, with the reference's share of each."""
    x = _numbers(values)
    known = x[np.isfinite(x)]
    if len(known):
        edges = np.unique(np.quantile(known, np.arange(1, bins) / bins))
    else:
        edges = np.array([], dtype="float64")
    spec = {"kind": "numeric", "edges": [float(e) for e in edges]}
    spec["shares"] = _shares(counts(spec, x))
    return spec


def categorical_spec(values, rare_share: float) -> dict:
    """Bins of a category: the common levels of the reference, the rare ones pooled, missing apart."""
    labels = _labels(values)
    n = len(labels)
    levels = pd.Series([v for v in labels if v is not None], dtype=object).value_counts().to_dict()
    kept = sorted((v for v, c in levels.items() if n and c / n >= rare_share), key=lambda v: (-levels[v], v))
    spec = {"kind": "categorical", "categories": kept}
    spec["shares"] = _shares(counts(spec, labels))
    return spec


def counts(spec: dict, values) -> np.ndarray:
    """How many of `values` fall in each bin of `spec` (the last bin: missing)."""
    if spec["kind"] == "numeric":
        x = _numbers(values)
        edges = np.asarray(spec["edges"], dtype="float64")
        finite = np.isfinite(x)
        idx = np.searchsorted(edges, x[finite], side="right")
        out = np.bincount(idx, minlength=len(edges) + 1).astype("float64")
        return np.append(out, float((~finite).sum()))
    position = {c: i for i, c in enumerate(spec["categories"])}
    other, missing = len(position), len(position) + 1
    idx = [missing if v is None else position.get(v, other) for v in _labels(values)]
    return np.bincount(np.asarray(idx, dtype="int64"), minlength=len(position) + 2).astype("float64")


def bin_labels(spec: dict) -> list[str]:
    """A readable name per bin: '< 0.12', '0.12 to 0.35', '>= 0.9', a category, '(other)', '(missing)'."""
    if spec["kind"] == "categorical":
        return [*spec["categories"], OTHER, "(missing)"]
    edges = spec["edges"]
    if not edges:
        return ["(all)", "(missing)"]
    inner = [f"{a:.4g} to {b:.4g}" for a, b in zip(edges, edges[1:], strict=False)]
    return [f"< {edges[0]:.4g}", *inner, f">= {edges[-1]:.4g}", "(missing)"]


def psi(expected, actual, floor: float) -> float:
    """The index between two vectors of shares (each summing to 1), empty bins raised to `floor`."""
    e = np.maximum(np.asarray(expected, dtype="float64"), floor)
    a = np.maximum(np.asarray(actual, dtype="float64"), floor)
    if e.shape != a.shape:
        raise ValueError(f"PSI of {a.size} bins against a reference of {e.size}")
    return float(np.sum((a - e) * np.log(a / e)))


def psi_of(spec: dict, values, floor: float) -> float | None:
    """PSI of `values` against the reference `spec`; None for no values."""
    c = counts(spec, values)
    total = c.sum()
    return None if total == 0 else psi(spec["shares"], c / total, floor)


def _shares(c: np.ndarray) -> list[float]:
    total = c.sum()
    return [float(v / total) if total else 0.0 for v in c]


def _numbers(values) -> np.ndarray:
    """Floats, None and non-numbers as NaN (a missing value)."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values.astype("float64", copy=False)
    out = np.empty(len(values), dtype="float64")
    for i, v in enumerate(values):
        number = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        out[i] = float(v) if number else math.nan
    return out


def _labels(values) -> list:
    """Category labels as text; None (and NaN) for a missing value."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        else:
            out.append(str(v))
    return out
