"""The SQLite backend: point lookups and population statistics from the store file, one connection per thread.

One file (WAL) holds, per client, the raw application row, the features, the precomputed PD/grade/decision and
the SHAP vector, plus the quantiles over all clients and a fixed labelled sample stored column-wise, so that an
API worker answers every question from a few rows and never loads the portfolio. Every read names the store
generation it comes from; explain-all changes it, and the per-generation caches follow.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from scoring.reasons import top_indices
from scoring.store import offers, population, reviews, statistics
from scoring.store.blobs import sample_column, unpack, unpack_json
from scoring.store.connection import connect
from scoring.store.interface import ClientStore, DecisionsMissing
from scoring.store.pins import GenerationPins, file_key
from scoring.values import plain

_GENERATION = "(SELECT value FROM meta WHERE key = 'generation')"


def _stored_id(client_id) -> int | None:
    """The client id as SQLite stores it (a 64-bit integer); None for a value no row can have."""
    try:
        cid = int(client_id)
    except (TypeError, ValueError):
        return None
    return cid if -(2**63) <= cid < 2**63 else None


class SQLiteStore(ClientStore):
    """The store file at `path`, opened read-only; small LRU caches of what does not change within a generation."""

    _CACHE_SIZE = 96

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"client store {self.path} not found: run `python -m scoring build-store`")
        self._lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()
        self._static: dict | None = None
        self._pins = GenerationPins(self.path)

    # --- plumbing -------------------------------------------------------------------------------------------
    def _con(self):
        return self._pins.connection() or connect(self.path, readonly=True)

    # --- store generations: scoring.store.pins --------------------------------------------------------------
    def generation_key(self):
        return file_key(self.path)

    def pin_generation(self):
        return self._pins.pin()

    def _cached(self, key, compute):
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self._CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def _layout(self, generation: str | None = None) -> dict:
        """Feature lists, positions and quantile grids of one store generation (explain-all bumps `generation`).

        Lookups pass the generation read in the same statement as their row, so row and layout always match
        and a lookup costs no extra query; other callers let it be read here.
        """
        if generation is None:
            (generation,) = self._con().execute(f"SELECT {_GENERATION}").fetchone()
        static = self._static
        if static is None or static["generation"] != generation:
            raw = dict(self._con().execute("SELECT key, value FROM meta").fetchall())
            m = {k: json.loads(v) for k, v in raw.items()}
            numeric = {f: i for i, f in enumerate(m["numeric_features"])}
            categorical = {f: i for i, f in enumerate(m["categorical_features"])}
            model = m.get("model_features", [])
            static = {
                "generation": raw["generation"],
                "meta": m,
                "numeric": numeric,
                "categorical": categorical,
                "quantiles": {},  # model feature i: numeric column model_numeric[i], or a category column
                "model_numeric": np.array([numeric.get(f, 0) for f in model], dtype="int64"),
                "model_categorical": {i: categorical[f] for i, f in enumerate(model) if f in categorical},
            }
            self._static = static
        return static

    def _kind(self, feature: str, lay: dict | None = None) -> str:
        lay = lay or self._layout()
        if not isinstance(feature, str):
            raise KeyError(feature)
        if feature in lay["numeric"]:
            return "numeric"
        if feature in lay["categorical"]:
            return "categorical"
        raise KeyError(feature)

    def _row(self, client_id, sql: str) -> tuple[int | None, tuple | None]:
        """The client id as stored and its row by `sql` (one `?`); (None, None) for an id no row can have."""
        cid = _stored_id(client_id)
        return (None, None) if cid is None else (cid, self._con().execute(sql, (cid,)).fetchone())

    # --- meta and point lookups ---------------------------------------------------------------------------------
    def meta(self) -> dict:
        m = dict(self._layout()["meta"])
        keep = (
            "model_version",
            "data_source",
            "n_clients",
            "threshold",
            "built_at",
            "feature_names",
            "numeric_features",
            "categorical_features",
            "model_features",
            "base_value",
            "sample_size",
            "explained_at",
            "policy",
            "decided_at",
        )
        return {k: m[k] for k in keep if k in m}

    @staticmethod
    def _features(lay: dict, num_blob, cat_blob) -> dict:
        m = lay["meta"]
        numbers = unpack(num_blob, "float64").tolist()  # Python floats in one call; NaN -> None below
        values = dict(zip(m["numeric_features"], [None if v != v else v for v in numbers], strict=True))
        values.update(zip(m["categorical_features"], unpack_json(cat_blob), strict=True))
        return {f: values.get(f) for f in m["feature_names"]}

    def get_client(self, client_id) -> dict | None:
        from scoring.tables import SCHEMAS

        cid, row = self._row(
            client_id, f"SELECT split, application, num, cat, {_GENERATION} FROM clients WHERE client_id = ?"
        )
        if row is None:
            return None
        lay = self._layout(row[4])
        fields = lay["meta"].get("application_fields") or list(SCHEMAS["application_test"])
        application = dict(zip(fields, unpack_json(row[1]), strict=True))
        application.pop("TARGET", None)
        features = self._features(lay, row[2], row[3])
        out = {"client_id": cid, "split": row[0], "application": application, "features": features}
        from scoring.labels import HISTORY_SUMMARY_FEATURES

        out["history"] = {f: features[f] for f in HISTORY_SUMMARY_FEATURES if f in features}
        return out

    def get_score(self, client_id) -> dict | None:
        cid, row = self._row(
            client_id, f"SELECT pd, grade, decision, raw_score, {_GENERATION} FROM scores WHERE client_id = ?"
        )
        if row is None:
            return None
        return self._score(cid, *row[:4], self._layout(row[4])["meta"])

    @staticmethod
    def _score(cid: int, pd_value, grade, decision, raw_score, m: dict) -> dict:
        return {
            "client_id": cid,
            "pd": pd_value,
            "grade": grade,
            "decision": decision,
            "threshold": m["threshold"],
            "model_version": m["model_version"],
            "raw_score": raw_score,
        }

    def get_decision(self, client_id) -> dict | None:
        try:
            cid, row = self._row(
                client_id,
                "SELECT d.outcome, d.offer_amount, d.offer_annuity, d.fired, d.policy_inputs, c.num, c.cat, s.pd, "
                f"s.grade, {_GENERATION} FROM decisions d JOIN clients c ON c.client_id = d.client_id "
                "JOIN scores s ON s.client_id = d.client_id WHERE d.client_id = ?",
            )
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise DecisionsMissing(
                    "this store was built before decisions were stored: rebuild it with `python -m scoring build-store`"
                ) from None
            raise
        if row is None:
            return None
        lay = self._layout(row[9])
        m = lay["meta"]
        inputs = unpack(row[4], "float64").tolist()
        return {
            "client_id": cid,
            "outcome": row[0],
            "offer_amount": row[1],
            "offer_annuity": row[2],
            "fired": row[3].split(";") if row[3] else [],
            "pd": row[7],
            "grade": row[8],
            "threshold": m["threshold"],
            "model_version": m["model_version"],
            "policy": m["policy"],
            "features": self._features(lay, row[5], row[6]),
            "policy_inputs": dict(zip(m["policy_input_names"], map(plain, inputs), strict=True)),
        }

    def get_explanation(self, client_id, top: int | None = None) -> dict | None:
        """Score and SHAP read in one statement; base_value + shap_total == raw_score up to float32 rounding."""
        cid, row = self._row(
            client_id,
            f"SELECT c.num, c.cat, c.shap, s.pd, s.grade, s.decision, s.raw_score, "
            f"{_GENERATION} FROM clients c JOIN scores s ON s.client_id = c.client_id "
            "WHERE c.client_id = ?",
        )
        if row is None:
            return None
        lay = self._layout(row[7])
        m = lay["meta"]
        model = m["model_features"]
        contributions = unpack(row[2], "float32")
        shown = top_indices(contributions, top)
        names = [model[i] for i in shown]
        numbers = unpack(row[0], "float64")[lay["model_numeric"][shown]].tolist()
        values = dict(zip(names, (None if v != v else v for v in numbers), strict=True))  # NaN -> None
        categorical = lay["model_categorical"].keys() & shown
        if categorical:
            cats = unpack_json(row[1])
            for i in categorical:
                values[model[i]] = cats[lay["model_categorical"][i]]
        shap = contributions[shown].tolist()
        return {
            **self._score(cid, *row[3:7], m),
            "base_value": m["base_value"],
            "shap": dict(zip(names, shap, strict=True)),
            "values": values,
            "shap_total": float(contributions.sum(dtype="float64")),
            "n_features": len(model),
            "generation": lay["generation"],
        }

    def list_clients(self, search=None, limit: int = 20, offset: int = 0, grade=None, decision=None) -> dict:
        limit = max(0, min(int(limit), 1000))
        offset = max(0, int(offset))
        where, params = [], []
        if grade is not None:
            where.append("grade = ?")
            params.append(str(grade))
        if decision is not None:
            where.append("decision = ?")
            params.append(str(decision))
        ranges = None
        if search is not None and str(search).strip():
            ranges = self._prefix_ranges(str(search).strip())
            if not ranges:
                return {"total": 0, "items": []}
        cond = " AND ".join(where)
        con = self._con()
        if ranges is None:
            base = "SELECT client_id, pd, grade, decision FROM scores" + (f" WHERE {cond}" if cond else "")
            count_sql, count_params = "SELECT count(*) FROM scores" + (f" WHERE {cond}" if cond else ""), params
            sql, sql_params = base + " ORDER BY client_id LIMIT ? OFFSET ?", [*params, limit, offset]
        else:
            parts, all_params = [], []
            for lo, hi in ranges:
                parts.append(
                    "SELECT client_id, pd, grade, decision FROM scores WHERE client_id BETWEEN ? AND ?"
                    + (f" AND {cond}" if cond else "")
                )
                all_params += [lo, hi, *params]
            union = " UNION ALL ".join(parts)
            count_sql, count_params = f"SELECT count(*) FROM ({union}) AS hits", all_params
            sql = f"SELECT * FROM ({union}) AS hits ORDER BY client_id LIMIT ? OFFSET ?"
            sql_params = [*all_params, limit, offset]
        total = con.execute(count_sql, count_params).fetchone()[0]
        items = [{"client_id": r[0], "pd": r[1], "grade": r[2], "decision": r[3]} for r in con.execute(sql, sql_params)]
        return {"total": total, "items": items}

    def list_offers(self, grade=None, min_amount=None, max_amount=None, limit: int = 20, offset: int = 0) -> dict:
        return offers.list_offers(self._con(), grade, min_amount, max_amount, limit, offset)

    def get_offer(self, client_id) -> dict | None:
        cid = _stored_id(client_id)
        return None if cid is None else offers.get_offer(self._con(), cid)

    # --- human review requests: scoring.store.reviews -------------------------------------------------------
    def request_review(self, client_id, requested_by: str, comment: str) -> dict | None:
        cid = _stored_id(client_id)
        reviewed = None if cid is None else reviews.reviewed_decision(self, cid)
        return None if reviewed is None else reviews.request_review(self.path, cid, requested_by, comment, reviewed)

    def client_reviews(self, client_id) -> list[dict]:
        cid = _stored_id(client_id)
        return [] if cid is None else reviews.client_reviews(self._con(), cid)

    def list_reviews(self, status=None, limit: int = 20, offset: int = 0) -> dict:
        return reviews.list_reviews(self._con(), status, limit, offset)

    def get_review(self, review_id) -> dict | None:
        rid = _stored_id(review_id)
        return None if rid is None else reviews.get_review(self._con(), rid)

    def close_review(self, review_id, reviewer: str, result: str, reason: str, new_outcome=None) -> dict | None:
        rid = _stored_id(review_id)
        return None if rid is None else reviews.close_review(self.path, rid, reviewer, result, reason, new_outcome)

    def review_stats(self) -> dict:
        return reviews.review_stats(self._con())

    def _prefix_ranges(self, prefix: str) -> list[tuple[int, int]]:
        """Id ranges whose decimal form starts with `prefix`: 12 -> [12,12], [120,129], [1200,1299], ..."""
        if not prefix.isdigit() or not prefix.isascii() or len(prefix) > 18:
            return []
        if prefix.startswith("0"):
            return [(0, 0)] if prefix == "0" else []
        digits = len(str(self._layout()["meta"].get("max_client_id", 10**12)))
        value = int(prefix)
        return [(value * 10**k, (value + 1) * 10**k - 1) for k in range(0, max(digits - len(prefix), 0) + 1)]

    # --- population statistics ------------------------------------------------------------------------------
    def _quantile_grid(self, feature: str, lay: dict | None = None):
        """The feature's quantile grid (8 KB), kept for the store generation: all of them fit in 2-3 MB."""
        grids = (lay or self._layout())["quantiles"]
        if feature not in grids:
            row = self._con().execute("SELECT n, q FROM quantiles WHERE feature = ?", (feature,)).fetchone()
            grids[feature] = None if row is None or row[1] is None else unpack(row[1], "float64")
        return grids[feature]

    def percentile(self, feature: str, value) -> float | None:
        return self._percentile(feature, value, self._layout())

    def _percentile(self, feature: str, value, lay: dict) -> float | None:
        if self._kind(feature, lay) == "categorical":
            return None
        v = statistics.known_number(feature, value)
        grid = None if v is None else self._quantile_grid(feature, lay)
        return None if grid is None else statistics.share_below(grid, v)

    def percentiles(self, values: dict, generation: str | None = None) -> dict:
        out, lay = {}, self._layout(generation)
        for feature, value in values.items():
            try:
                out[feature] = self._percentile(feature, value, lay)
            except (KeyError, ValueError):
                continue
        return out

    def _column(self, name: str):
        """One sample column, (values, categories or None), kept for the store generation."""
        gen = self._layout()["generation"]

        def load():
            row = self._con().execute("SELECT kind, data, categories FROM sample WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise KeyError(name)
            return sample_column(*row)

        return self._cached(("s", gen, name), load)

    def _axis(self, feature: str, bins: int):
        kind = self._kind(feature)
        grid = self._quantile_grid(feature) if kind == "numeric" else None
        return statistics.axis(kind, self._column(feature), bins, grid)

    def distribution(self, feature: str, bins: int = 30) -> dict:
        self._kind(feature)
        bins = statistics.check_bins(bins)
        target, _ = self._column("__target__")
        return statistics.distribution(feature, target, *self._axis(feature, bins), bins)

    def released_distribution(self, feature: str) -> dict:
        kind = self._kind(feature)
        gen = self._layout()["generation"]
        return self._cached(("p1", gen, feature), lambda: population.read_distribution(self._con(), feature, kind))

    def released_density(self, x: str, y: str) -> dict:
        kinds = (self._kind(x), self._kind(y))
        gen = self._layout()["generation"]
        return self._cached(("p2", gen, x, y), lambda: population.read_density(self._con(), x, y, kinds))

    def aggregation(self) -> dict:
        return dict(self._layout()["meta"].get("aggregation") or {})

    def sample_points(self, x: str, y: str, n: int = 1000) -> list[dict]:
        self._kind(x), self._kind(y)
        n = statistics.check_count(n)
        ids, _ = self._column("__client_id__")
        pds, _ = self._column("__pd__")
        return statistics.sample_points(ids, pds, self._column(x), self._column(y), n)

    def density(self, x: str, y: str, bins: int = 20) -> dict:
        self._kind(x), self._kind(y)
        bins = statistics.check_bins(bins, 100)
        pds, _ = self._column("__pd__")
        return statistics.density(x, y, pds, self._axis(x, bins), self._axis(y, bins))
