"""Population views released to customers: fixed groups, minimum group size and differential-privacy noise.

Everything a customer sees about other clients comes from the rows written here once per store generation:
groups fixed at build time (the request chooses nothing), every shown figure computed over at least
MIN_GROUP clients, and counts and PD sums noised by diffprivlib mechanisms, drawn once and stored, so that
repeating or combining queries cannot average the noise out. Plain rows (no SQLite-only types) so another SQL
backend can hold them. Only the build (and explain-all) draws noise: API workers never import diffprivlib.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3

import numpy as np

from scoring.config import settings
from scoring.store import schema
from scoring.store.blobs import sample_column
from scoring.store.interface import AggregatesMissing, NotReleased

MIN_GROUP = 50  # no count, rate or mean shown to a customer describes fewer clients
HIST_BINS = 10  # at most this many quantile groups per numeric feature in a histogram
GRID_BINS = 8  # and per axis of a 2-D grid
OTHER = "other"


def release_settings() -> dict:
    """Release parameters (read at build time only): ε per released table (one histogram, one grid's counts, one
    grid's PD sums), how many top features get 2-D grids, and the smallest group, never below MIN_GROUP."""
    s = settings()
    return {"epsilon": s.dp_epsilon, "grid_features": s.dp_grid_features, "min_group": max(MIN_GROUP, s.min_group)}


# ----------------------------------------------------------------------------------------------- groups
def _round(value: float) -> float:
    """Two significant digits: a group edge never carries one client's exact value."""
    return float(f"{value:.2g}")


def _merge_small(counts: list[int], min_group: int) -> list[int]:
    """Indices of the interior edges to keep after merging every group under min_group into a neighbour."""
    keep = list(range(len(counts) - 1))  # edge k separates group k and k+1
    counts = list(counts)
    while len(counts) > 1 and min(counts) < min_group:
        i = int(np.argmin(counts))
        j = i - 1 if i == len(counts) - 1 or (i > 0 and counts[i - 1] <= counts[i + 1]) else i + 1
        lo = min(i, j)
        counts[lo : lo + 2] = [counts[lo] + counts[lo + 1]]
        del keep[lo]
    return keep


def numeric_groups(values: np.ndarray, bins: int, min_group: int) -> dict | None:
    """Quantile groups with rounded edges, merged until each holds min_group clients; open-ended end groups."""
    known = values[~np.isnan(values)]
    if len(known) < min_group:
        return None
    edges = sorted({_round(q) for q in np.quantile(known, np.arange(1, bins) / bins)})
    counts = np.bincount(np.searchsorted(edges, known, side="right"), minlength=len(edges) + 1).tolist()
    edges = [edges[k] for k in _merge_small(counts, min_group)]
    lo, hi = _round(np.quantile(known, 0.01)), _round(np.quantile(known, 0.99))
    lo, hi = min([lo, *edges]), max([hi, *edges])
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    bounds = [lo, *edges, hi]
    return {"kind": "numeric", "edges": edges, "bounds": bounds}


def categorical_groups(codes: np.ndarray, cats: list[str], min_group: int) -> dict | None:
    """Categories of min_group clients or more; the rest merged into "other" (with the smallest one if needed)."""
    counts = np.bincount(codes[codes >= 0], minlength=len(cats))
    kept = [i for i in range(len(cats)) if counts[i] >= min_group]
    rest = [i for i in range(len(cats)) if counts[i] < min_group and counts[i] > 0]
    if rest and counts[rest].sum() < min_group:
        if not kept:
            return None
        rest.append(kept.pop(int(np.argmin(counts[kept]))))
    groups = [[cats[i]] for i in kept] + ([sorted(cats[i] for i in rest)] if rest else [])
    labels = [cats[i] for i in kept] + ([OTHER] if rest else [])
    return {"kind": "categorical", "labels": labels, "members": groups} if groups else None


def assign(spec: dict, values: np.ndarray, cats: list[str] | None) -> np.ndarray:
    """Group index per sample row; -1 = missing value (or a category outside every group)."""
    if spec["kind"] == "numeric":
        idx = np.searchsorted(spec["edges"], np.nan_to_num(values), side="right")
        return np.where(np.isnan(values), -1, idx)
    lookup = np.full(len(cats) + 1, -1)  # the last slot answers code -1 (missing)
    for g, members in enumerate(spec["members"]):
        for name in members:
            lookup[cats.index(name)] = g
    return lookup[values.astype(int)]


# ----------------------------------------------------------------------------------------------- noise
class _Noise:
    """diffprivlib mechanisms seeded from a fresh secret: the draws are stored, the seed is never kept."""

    def __init__(self, epsilon: float):
        from diffprivlib.mechanisms import Geometric, Laplace

        state = np.random.RandomState(np.random.MT19937(np.random.SeedSequence(secrets.randbits(128))))
        self._count = Geometric(epsilon=epsilon, sensitivity=1, random_state=state)
        self._sum = Laplace(epsilon=epsilon, sensitivity=1.0, random_state=state)  # one PD lies in [0, 1]

    def counts(self, values) -> np.ndarray:
        return np.array([max(0, int(self._count.randomise(int(v)))) for v in np.ravel(values)]).reshape(
            np.shape(values)
        )

    def sums(self, values) -> np.ndarray:
        return np.array([self._sum.randomise(float(v)) for v in np.ravel(values)]).reshape(np.shape(values))


# ----------------------------------------------------------------------------------------------- build
def _sample(con: sqlite3.Connection):
    """Sample columns as written by the store build: {name: (values, categories or None)}."""
    return {
        name: sample_column(kind, blob, cats)
        for name, kind, blob, cats in con.execute("SELECT name, kind, data, categories FROM sample")
    }


def _spec(column, bins: int, min_group: int):
    values, cats = column
    return categorical_groups(values, cats, min_group) if cats is not None else numeric_groups(values, bins, min_group)


def _group_rows(feature: str, axis: str, spec: dict) -> list[tuple]:
    if spec["kind"] == "numeric":
        b = spec["bounds"]
        return [(feature, axis, g, None, b[g], b[g + 1], None) for g in range(len(b) - 1)]
    return [
        (feature, axis, g, label, None, None, json.dumps(members))
        for g, (label, members) in enumerate(zip(spec["labels"], spec["members"], strict=True))
    ]


def _histograms(con, sample: dict, features: list[str], noise: _Noise, min_group: int) -> int:
    target = sample["__target__"][0]
    written = 0
    for f in features:
        spec = _spec(sample[f], HIST_BINS, min_group)
        if spec is None:
            continue
        idx = assign(spec, *sample[f])
        size = len(spec["bounds"]) - 1 if spec["kind"] == "numeric" else len(spec["labels"])
        true = np.stack([np.bincount(idx[(idx >= 0) & (target == t)], minlength=size) for t in (0, 1)], axis=1)
        noisy = noise.counts(true)
        rows = [(f, "", g, 0, None, int(noisy[g, 0]), int(noisy[g, 1]), None) for g in range(size)]
        missing = idx < 0
        if missing.sum() >= min_group:  # a small missing group is not shown as its own group
            m = noise.counts([(missing & (target == 0)).sum(), (missing & (target == 1)).sum()])
            rows.append((f, "", -1, 0, None, int(m[0]), int(m[1]), None))
            con.execute("INSERT INTO population_groups VALUES (?, 'hist', -1, 'missing', NULL, NULL, NULL)", (f,))
        con.executemany("INSERT INTO population_groups VALUES (?, ?, ?, ?, ?, ?, ?)", _group_rows(f, "hist", spec))
        con.executemany("INSERT INTO population_cells VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        written += 1
    return written


def grid_features(sample: dict, importance: list[dict], k: int, min_group: int) -> list[str]:
    """The k most important model features that have grid groups, most important first."""
    out = []
    for item in importance:
        f = item["feature"]
        if f in sample and not f.startswith("__") and _spec(sample[f], GRID_BINS, min_group) is not None:
            out.append(f)
        if len(out) == k:
            break
    return out


def _grids(con, sample: dict, features: list[str], noise: _Noise, min_group: int, old_counts: dict) -> int:
    """Counts and mean PD per cell for each pair (x before y in importance order); kept noisy counts reused."""
    pds = np.nan_to_num(sample["__pd__"][0])
    specs = {f: _spec(sample[f], GRID_BINS, min_group) for f in features}
    for f, spec in specs.items():
        con.executemany("INSERT INTO population_groups VALUES (?, ?, ?, ?, ?, ?, ?)", _group_rows(f, "grid", spec))
    index = {f: assign(specs[f], *sample[f]) for f in features}
    pairs = 0
    for a, x in enumerate(features):
        for y in features[a + 1 :]:
            nx, ny = (
                len(s["bounds"]) - 1 if s["kind"] == "numeric" else len(s["labels"]) for s in (specs[x], specs[y])
            )
            ok = (index[x] >= 0) & (index[y] >= 0)
            cell = index[x][ok] * ny + index[y][ok]
            true = np.bincount(cell, minlength=nx * ny).reshape(nx, ny)
            sums = noise.sums(np.bincount(cell, weights=pds[ok], minlength=nx * ny).reshape(nx, ny))
            kept = old_counts.get((x, y))
            if kept is None and (y, x) in old_counts:  # the importance order changed: same cells, transposed
                kept = old_counts[(y, x)].T
            counts = kept if kept is not None and kept.shape == true.shape else noise.counts(true)
            rows = []
            for i in range(nx):
                for j in range(ny):
                    shown = true[i, j] >= min_group and counts[i, j] >= min_group
                    mean = float(min(max(sums[i, j] / counts[i, j], 0.0), 1.0)) if shown else None
                    rows.append((x, y, i, j, int(counts[i, j]) if shown else None, None, None, mean))
            con.executemany("INSERT INTO population_cells VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            pairs += 1
    return pairs


def release(con: sqlite3.Connection, importance: list[dict], *, keep_counts: bool = False) -> dict:
    """(Re)write every customer aggregate from the sample table; returns the release description kept in meta.

    keep_counts (explain-all): histograms and grid counts do not depend on the model, so their noisy values are
    kept rather than drawn again (fresh noise on the same counts could be averaged); PD sums are redrawn only
    when the sample's PDs changed, for the same reason.
    """
    cfg = release_settings()
    schema.create_tables(con, (schema.POPULATION_GROUPS, schema.POPULATION_CELLS))  # absent from an older store
    sample = _sample(con)
    digest = hashlib.sha256(np.ascontiguousarray(sample["__pd__"][0]).tobytes()).hexdigest()
    row = con.execute("SELECT value FROM meta WHERE key = 'aggregation'").fetchone()
    before = json.loads(row[0]) if row else {}
    grid = grid_features(sample, importance, cfg["grid_features"], cfg["min_group"])
    if keep_counts and before.get("pd_digest") == digest and before.get("grid_features") == grid:
        return before  # same PDs, same grid features: nothing new to release
    features = [n for n in sample if not n.startswith("__")]
    old = {}
    hist_kept = keep_counts and con.execute("SELECT count(*) FROM population_cells WHERE y = ''").fetchone()[0]
    if keep_counts:
        for x, y, i, j, n in con.execute("SELECT x, y, xg, yg, n FROM population_cells WHERE y <> ''"):
            old.setdefault((x, y), {})[(i, j)] = n
    old_counts = {}
    for pair, cells in old.items():
        shape = (max(i for i, _ in cells) + 1, max(j for _, j in cells) + 1)
        arr = np.zeros(shape, dtype=int)
        for (i, j), n in cells.items():
            arr[i, j] = -1 if n is None else n  # suppressed before: stays suppressed (-1 < min_group)
        old_counts[pair] = arr
    noise = _Noise(cfg["epsilon"])
    if hist_kept:
        con.execute("DELETE FROM population_groups WHERE axis = 'grid'")
        con.execute("DELETE FROM population_cells WHERE y <> ''")
        hist = int(
            con.execute("SELECT count(DISTINCT feature) FROM population_groups WHERE axis = 'hist'").fetchone()[0]
        )
    else:
        con.execute("DELETE FROM population_groups")
        con.execute("DELETE FROM population_cells")
        hist = _histograms(con, sample, features, noise, cfg["min_group"])
    pairs = _grids(con, sample, grid, noise, cfg["min_group"], old_counts)
    out = {
        "fixed": True,
        "min_group": cfg["min_group"],
        "mechanism": "geometric (counts), laplace (PD sums)",
        "library": "diffprivlib",
        "epsilon": cfg["epsilon"],
        "histograms": hist,
        "grid_pairs": pairs,
        "grid_features": grid,
        "epsilon_per_client": cfg["epsilon"] * (hist + 2 * pairs),
        "pd_digest": digest,
    }
    con.execute("INSERT OR REPLACE INTO meta VALUES ('aggregation', ?)", (json.dumps(out),))
    return out


# ----------------------------------------------------------------------------------------------- read
def _rows(con, sql: str, params: tuple) -> list[tuple]:
    try:
        return con.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # a store built before these tables
        raise AggregatesMissing("this store holds no customer aggregates: run build-store or explain-all") from None


def _groups(con, feature: str, axis: str) -> list[tuple]:
    return _rows(
        con,
        "SELECT grp, label, lo, hi FROM population_groups WHERE feature = ? AND axis = ? ORDER BY grp",
        (feature, axis),
    )


def _axis(groups: list[tuple], kind: str) -> dict:
    shown = [g for g in groups if g[0] >= 0]
    if kind == "categorical":
        return {"categories": [g[1] for g in shown]}
    return {"edges": [g[2] for g in shown] + [shown[-1][3]] if shown else []}


def read_distribution(con, feature: str, kind: str) -> dict:
    """A customer's histogram: fixed groups, noisy repaid/defaulted counts, the missing group only when large."""
    groups = _groups(con, feature, "hist")
    cells = {
        g: (r, d)
        for g, r, d in _rows(
            con, "SELECT xg, repaid, defaulted FROM population_cells WHERE x = ? AND y = '' ORDER BY xg", (feature,)
        )
    }
    shown = [g[0] for g in groups if g[0] >= 0]
    repaid, defaulted = [cells[g][0] for g in shown], [cells[g][1] for g in shown]
    miss = cells.get(-1)
    out = {
        "kind": kind,
        "feature": feature,
        "repaid": repaid,
        "defaulted": defaulted,
        "missing": sum(miss) if miss else None,
        "missing_repaid": miss[0] if miss else None,
        "missing_defaulted": miss[1] if miss else None,
        "n": sum(repaid) + sum(defaulted) + (sum(miss) if miss else 0),
    }
    return {**out, **_axis(groups, kind)}


def read_density(con, x: str, y: str, kinds: tuple[str, str]) -> dict:
    """A customer's 2-D grid (x, y) or its transpose; NotReleased for a pair outside the grid set."""
    sql = "SELECT xg, yg, n, mean_pd FROM population_cells WHERE x = ? AND y = ?"
    rows = _rows(con, sql, (x, y))
    if not rows:
        rows = [(j, i, n, m) for i, j, n, m in _rows(con, sql, (y, x))]
    if not rows or x == y:
        raise NotReleased(f"no 2-D view of {x} and {y}")
    nx, ny = max(r[0] for r in rows) + 1, max(r[1] for r in rows) + 1
    counts = [[None] * ny for _ in range(nx)]
    means = [[None] * ny for _ in range(nx)]
    for i, j, n, m in rows:
        counts[i][j], means[i][j] = n, m
    xa, ya = (_axis(_groups(con, f, "grid"), k) for f, k in ((x, kinds[0]), (y, kinds[1])))
    edges = [a.get("edges", a.get("categories")) for a in (xa, ya)]
    return {
        "x": x,
        "y": y,
        "x_kind": kinds[0],
        "y_kind": kinds[1],
        "x_edges": edges[0],
        "y_edges": edges[1],
        "counts": counts,
        "mean_pd": means,
        "n": sum(c for row in counts for c in row if c is not None),
    }
