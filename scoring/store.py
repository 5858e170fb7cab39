"""SQLite client store: built once from the raw tables and the model bundle; point lookups and population statistics.

One file (WAL) holds, per client, the raw application row, the features, the precomputed PD/grade/decision and the
SHAP vector, plus population statistics (quantiles over all clients, a fixed labelled sample stored column-wise)
so that an API worker answers every question from a few rows and never loads the portfolio.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import secrets
import sqlite3
import tempfile
import threading
import zlib
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from scoring import population
from scoring.reasons import top_indices

CHUNK_CLIENTS = 20_000
N_QUANTILES = 1001
MAX_BINS = 200
MIN_CELL = 5  # density cells with fewer clients get no mean PD: an aggregate must not describe one person
_SAMPLE_SEED = 20240601
_GENERATION = "(SELECT value FROM meta WHERE key = 'generation')"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE clients (client_id INTEGER PRIMARY KEY, split TEXT NOT NULL, application BLOB NOT NULL,
                      num BLOB NOT NULL, cat BLOB NOT NULL, shap BLOB NOT NULL);
CREATE TABLE scores (client_id INTEGER PRIMARY KEY, pd REAL NOT NULL, grade TEXT NOT NULL,
                     decision TEXT NOT NULL, raw_score REAL NOT NULL);
CREATE TABLE quantiles (feature TEXT PRIMARY KEY, n INTEGER NOT NULL, q BLOB);
CREATE TABLE sample (name TEXT PRIMARY KEY, kind TEXT NOT NULL, data BLOB NOT NULL, categories TEXT);
"""


# ----------------------------------------------------------------------------------------------- encoding
def _pack(array: np.ndarray, dtype: str) -> bytes:
    return zlib.compress(np.ascontiguousarray(array, dtype=dtype).tobytes(), 1)


def _unpack(blob: bytes, dtype: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype=dtype)


def _pack_json(obj) -> bytes:
    return zlib.compress(json.dumps(obj, separators=(",", ":"), allow_nan=False).encode(), 1)


def _unpack_json(blob: bytes):
    return json.loads(zlib.decompress(blob))


def _py(value):
    """A JSON-safe Python value: NaN/None -> None, numpy scalars -> int/float."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------------------------- build
def _raw_frames(data_dir, workdir: Path) -> tuple[Path, Path]:
    """Features and application rows of every client written once to Parquet, then read back chunk by chunk."""
    import duckdb

    from scoring import features
    from scoring.tables import duckdb_views

    feats, apps = workdir / "features.parquet", workdir / "applications.parquet"
    # the whole feature frame once in memory, dropped before the chunked part
    frame = features.build_features(data_dir)
    frame.reset_index().to_parquet(feats, index=False, row_group_size=20_000)
    del frame
    con = duckdb.connect(config={"threads": int(os.environ.get("SCORING_FEATURES_THREADS", "2")),
                                 "memory_limit": os.environ.get("SCORING_FEATURES_MEMORY", "2GB")})
    try:
        con.execute(f"SET temp_directory = '{workdir / 'spill'}'")
        duckdb_views(con, data_dir)
        con.execute(f"COPY (SELECT * FROM applications ORDER BY SK_ID_CURR) TO '{apps}' "
                    "(FORMAT parquet, ROW_GROUP_SIZE 20000)")
    finally:
        con.close()
    return feats, apps


def _chunks(feats: Path, apps: Path, chunk: int):
    """(features, applications) DataFrames of `chunk` clients at a time, in client-id order."""
    import duckdb

    from scoring.features import CATEGORICAL_FEATURES

    con = duckdb.connect(config={"threads": 1})
    try:
        ids = con.execute(f"SELECT SK_ID_CURR FROM '{apps}' ORDER BY 1").fetchnumpy()["SK_ID_CURR"]
        for start in range(0, len(ids), chunk):
            lo, hi = int(ids[start]), int(ids[min(start + chunk, len(ids)) - 1])
            where = f"WHERE SK_ID_CURR BETWEEN {lo} AND {hi} ORDER BY SK_ID_CURR"
            f = con.execute(f"SELECT * FROM '{feats}' {where}").df().set_index("SK_ID_CURR")
            f.index = f.index.astype("int64")
            for col in CATEGORICAL_FEATURES:
                if col in f.columns:
                    f[col] = f[col].astype(object).where(f[col].notna(), np.nan)
            a = con.execute(f"SELECT * FROM '{apps}' {where}").df()
            yield f, a
    finally:
        con.close()


def _application_blobs(apps: pd.DataFrame) -> list[bytes]:
    """Each raw row as compressed JSON, typed as the Kaggle schema says, in application_test order (never TARGET)."""
    from scoring.tables import SCHEMAS

    schema = SCHEMAS["application_test"]
    columns = {}
    for col, kind in schema.items():
        if col not in apps.columns:
            continue
        values = apps[col].astype(object).where(apps[col].notna(), None).tolist()
        if kind == "int":
            values = [None if v is None else int(v) for v in values]
        elif kind == "float":
            values = [None if v is None else float(v) for v in values]
        columns[col] = values
    rows = zip(*(columns.get(c, [None] * len(apps)) for c in schema), strict=True)
    # a list in schema order (nulls compress to almost nothing) is half the size of a dict repeating the names
    return [_pack_json(list(row)) for row in rows]


def _replace_file(tmp: Path, path: Path) -> None:
    """Atomic swap of a finished store into place; the old file's WAL is merged and removed first."""
    if path.exists():
        try:
            con = sqlite3.connect(path, timeout=30)
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.close()
        except sqlite3.DatabaseError:
            pass
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)


def _copy_users(con: sqlite3.Connection, old: Path) -> None:
    """Users and audit log (with its hash chain) survive a rebuild; columns an older store lacks take their defaults."""
    if not old.exists():
        return
    con.execute("ATTACH DATABASE ? AS old", (f"file:{old}?mode=ro",))
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM old.sqlite_master WHERE type='table'")}
        for table in ("users", "audit"):
            if table not in tables:
                continue
            new = [r[1] for r in con.execute(f"PRAGMA main.table_info({table})")]
            kept = {r[1] for r in con.execute(f"PRAGMA old.table_info({table})")}
            columns = ", ".join(c for c in new if c in kept)
            con.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM old.{table} ORDER BY rowid")
        con.commit()
    finally:
        con.execute("DETACH DATABASE old")


def _quantiles(con: sqlite3.Connection, feats: Path, numeric: list[str]) -> None:
    """Quantile grid of each numeric feature over all clients, one column in memory at a time."""
    import pyarrow.parquet as pq

    probs = np.linspace(0.0, 1.0, N_QUANTILES)
    source = pq.ParquetFile(feats)
    for col in numeric:
        values = source.read(columns=[col]).column(0).to_numpy(zero_copy_only=False).astype("float64")
        known = values[~np.isnan(values)]
        blob = _pack(np.quantile(known, probs), "float64") if len(known) else None
        con.execute("INSERT INTO quantiles VALUES (?, ?, ?)", (col, int(len(known)), blob))


def build_store(data_dir, models_dir, store_path=None, *, sample_size: int = 20_000,
                chunk_size: int = CHUNK_CLIENTS) -> int:
    """Build the whole store into `<path>.tmp` chunk by chunk, then rename it into place; returns clients stored."""
    from scoring.bundle import ModelBundle
    from scoring.features import CATEGORICAL_FEATURES, load_target
    from scoring.tables import SCHEMAS, data_source
    from scoring.users import ensure_schema

    if store_path is None:
        from scoring.config import settings

        store_path = settings().store_path
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
        raise ValueError("sample_size must be a positive integer")
    path = Path(store_path)
    bundle = ModelBundle.load(models_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".tmp")
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    target = load_target(data_dir)
    rng = np.random.default_rng(_SAMPLE_SEED)
    labelled = np.sort(target.index.to_numpy(dtype="int64"))
    sample_ids = rng.permutation(labelled)[:sample_size]  # fixed random order: sample_points(n) takes the first n
    sample_pos = pd.Series(np.arange(len(sample_ids)), index=sample_ids)

    # password hashes, client files and the audit log: owner-only from the first byte; SQLite gives its -wal and
    # -shm files the database file's mode
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    con = sqlite3.connect(tmp)
    try:
        # rows of ~2-3 KB: with 4 KB pages each would sit alone in a page and waste a third of the file
        con.execute("PRAGMA page_size=16384")
        con.execute("PRAGMA journal_mode=OFF")  # a failed build is thrown away whole, no journal needed
        con.execute("PRAGMA synchronous=OFF")
        con.executescript(_SCHEMA)
        ensure_schema(con)
        with tempfile.TemporaryDirectory(prefix="store-", dir=path.parent) as work:
            feats_file, apps_file = _raw_frames(data_dir, Path(work))
            n, numeric, categorical, base = 0, None, None, None
            s_num = s_cat = None
            s_pd = np.full(len(sample_ids), np.nan)
            for feats, apps in _chunks(feats_file, apps_file, chunk_size):
                if numeric is None:
                    all_features = list(feats.columns)
                    categorical = [c for c in feats.columns if c in CATEGORICAL_FEATURES]
                    numeric = [c for c in feats.columns if c not in categorical]
                    s_num = np.full((len(sample_ids), len(numeric)), np.nan)
                    s_cat = np.full((len(sample_ids), len(categorical)), None, dtype=object)
                ids = feats.index.to_numpy(dtype="int64")
                scores, base, contrib = bundle.score_and_explain(feats)
                num = feats[numeric].to_numpy(dtype="float64", na_value=np.nan)
                cat = feats[categorical].astype(object).where(feats[categorical].notna(), None).to_numpy()
                split = apps.set_index("SK_ID_CURR").loc[ids, "SPLIT"].to_numpy()
                app_blobs = _application_blobs(apps.set_index("SK_ID_CURR").loc[ids].reset_index())
                con.executemany("INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?)", (
                    (int(ids[i]), str(split[i]), app_blobs[i], _pack(num[i], "float64"),
                     _pack_json(cat[i].tolist()), _pack(contrib[i], "float32")) for i in range(len(ids))))
                con.executemany("INSERT INTO scores VALUES (?, ?, ?, ?, ?)", zip(
                    ids.tolist(), scores["pd"].astype(float).tolist(), scores["grade"].tolist(),
                    scores["decision"].tolist(), scores["raw_score"].astype(float).tolist(), strict=True))
                hit = np.isin(ids, sample_ids)
                pos = sample_pos.loc[ids[hit]].to_numpy()
                s_num[pos], s_cat[pos] = num[hit], cat[hit]
                s_pd[pos] = scores["pd"].to_numpy()[hit]
                n += len(ids)
                con.commit()
            if n == 0:
                raise ValueError(f"{data_dir}: no application rows to store")
            con.execute("CREATE INDEX scores_grade ON scores (grade, client_id)")
            con.execute("CREATE INDEX scores_decision ON scores (decision, client_id)")
            _quantiles(con, feats_file, numeric)
        _write_sample(con, sample_ids, target.loc[sample_ids].to_numpy(), s_pd, numeric, s_num, categorical, s_cat)
        population.release(con, bundle.importance)  # customers' aggregates, noised once for this generation
        meta = {"model_version": bundle.version, "data_source": data_source(data_dir), "n_clients": n,
                "threshold": bundle.threshold, "built_at": _now(), "feature_names": list(all_features),
                "numeric_features": numeric, "categorical_features": categorical,
                "model_features": list(bundle.feature_names), "base_value": float(base),
                "sample_size": int(len(sample_ids)), "max_client_id": int(ids[-1]),
                "application_fields": list(SCHEMAS["application_test"]),
                "generation": secrets.token_hex(8)}
        con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        con.commit()
        _copy_users(con, path)
        con.execute("PRAGMA journal_mode=WAL")
        con.close()
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    _replace_file(tmp, path)
    return n


def _write_sample(con, ids, target, pd_values, numeric, s_num, categorical, s_cat) -> None:
    rows = [("__client_id__", "id", _pack(ids, "int64"), None), ("__target__", "target", _pack(target, "int8"), None),
            ("__pd__", "pd", _pack(pd_values, "float64"), None)]
    rows += [(name, "numeric", _pack(s_num[:, j], "float64"), None) for j, name in enumerate(numeric)]
    for j, name in enumerate(categorical):
        values = s_cat[:, j]
        cats = sorted({v for v in values if v is not None})
        index = {c: i for i, c in enumerate(cats)}
        codes = np.array([-1 if v is None else index[v] for v in values], dtype="int16")
        rows.append((name, "categorical", _pack(codes, "int16"), json.dumps(cats)))
    con.executemany("INSERT INTO sample VALUES (?, ?, ?, ?)", rows)


def explain_all(store_path, models_dir, *, chunk_size: int = CHUNK_CLIENTS) -> int:
    """Re-score every stored client with the current bundle from the stored features, in one transaction."""
    from scoring.bundle import ModelBundle

    path = Path(store_path)
    if not path.exists():
        raise FileNotFoundError(f"client store {path} not found: build it first with `python -m scoring build-store`")
    bundle = ModelBundle.load(models_dir)
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
        numeric, categorical = meta["numeric_features"], meta["categorical_features"]
        missing = [f for f in bundle.feature_names if f not in numeric and f not in categorical]
        if missing:
            raise ValueError(f"the store lacks model feature(s) {', '.join(missing[:10])}: rebuild it with build-store")
        con.execute("BEGIN IMMEDIATE")
        last, n, base = -1, 0, meta.get("base_value", 0.0)
        while True:
            rows = con.execute("SELECT client_id, num, cat FROM clients WHERE client_id > ? ORDER BY client_id LIMIT ?",
                               (last, chunk_size)).fetchall()
            if not rows:
                break
            ids = [r[0] for r in rows]
            frame = pd.DataFrame(np.vstack([_unpack(r[1], "float64") for r in rows]), columns=numeric, index=ids)
            cats = pd.DataFrame([_unpack_json(r[2]) for r in rows], columns=categorical, index=ids)
            frame = pd.concat([frame, cats.astype(object).where(cats.notna(), np.nan)], axis=1)
            scores, base, contrib = bundle.score_and_explain(frame)
            con.executemany("UPDATE clients SET shap = ? WHERE client_id = ?",
                            ((_pack(contrib[i], "float32"), ids[i]) for i in range(len(ids))))
            con.executemany("UPDATE scores SET pd = ?, grade = ?, decision = ?, raw_score = ? WHERE client_id = ?",
                            zip(scores["pd"].astype(float).tolist(), scores["grade"].tolist(),
                                scores["decision"].tolist(), scores["raw_score"].astype(float).tolist(), ids,
                                strict=True))
            last, n = ids[-1], n + len(ids)
        sample_ids = _unpack(con.execute("SELECT data FROM sample WHERE name = '__client_id__'").fetchone()[0], "int64")
        pd_by_id = dict(con.execute("SELECT client_id, pd FROM scores WHERE client_id IN "
                                    "(SELECT value FROM json_each(?))", (json.dumps(sample_ids.tolist()),)))
        s_pd = np.array([pd_by_id.get(int(i), np.nan) for i in sample_ids], dtype="float64")
        con.execute("UPDATE sample SET data = ? WHERE name = '__pd__'", (_pack(s_pd, "float64"),))
        population.release(con, bundle.importance, keep_counts=True)  # PD changed: mean PD redrawn, counts kept
        updates = {"model_version": bundle.version, "threshold": bundle.threshold, "base_value": float(base),
                   "model_features": list(bundle.feature_names), "explained_at": _now(),
                   "generation": secrets.token_hex(8)}
        con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in updates.items()])
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return n


# ----------------------------------------------------------------------------------------------- read side
class ClientStore:
    """Read-only point lookups and population statistics; one SQLite connection per thread, small LRU caches."""

    _CACHE_SIZE = 96

    def __init__(self, path=None):
        if path is None:
            from scoring.config import settings

            path = settings().store_path
        self.path = Path(path)
        self._file = str(self.path)
        if not self.path.exists():
            raise FileNotFoundError(f"client store {self.path} not found: run `python -m scoring build-store`")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()
        self._static: dict | None = None

    # --- plumbing -------------------------------------------------------------------------------------------
    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        try:
            inode = os.stat(self._file).st_ino
        except FileNotFoundError:
            inode = None  # mid-swap or removed: keep answering from the file already open
        if con is not None and inode is not None and self._local.inode != inode:
            con.close()  # build-store renamed a new file into place: follow it
            con = None
        if con is None or getattr(self._local, "pid", None) != os.getpid():
            con = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, timeout=30)
            con.execute("PRAGMA query_only=ON")
            self._local.con, self._local.pid, self._local.inode = con, os.getpid(), inode
        return con

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
            static = {"generation": raw["generation"], "meta": m, "numeric": numeric, "categorical": categorical,
                      "quantiles": {},  # model feature i: numeric column model_numeric[i], or a category column
                      "model_numeric": np.array([numeric.get(f, 0) for f in model], dtype="int64"),
                      "model_categorical": {i: categorical[f] for i, f in enumerate(model) if f in categorical}}
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

    @staticmethod
    def _id(client_id) -> int | None:
        try:
            cid = int(client_id)
        except (TypeError, ValueError):
            return None
        return cid if -(2**63) <= cid < 2**63 else None

    # --- meta and point lookups ---------------------------------------------------------------------------------
    def meta(self) -> dict:
        m = dict(self._layout()["meta"])
        keep = ("model_version", "data_source", "n_clients", "threshold", "built_at", "feature_names",
                "numeric_features", "categorical_features", "model_features", "base_value", "sample_size",
                "explained_at")
        return {k: m[k] for k in keep if k in m}

    @staticmethod
    def _features(lay: dict, num_blob, cat_blob) -> dict:
        m = lay["meta"]
        numbers = _unpack(num_blob, "float64").tolist()  # Python floats in one call; NaN -> None below
        values = dict(zip(m["numeric_features"], [None if v != v else v for v in numbers], strict=True))
        values.update(zip(m["categorical_features"], _unpack_json(cat_blob), strict=True))
        return {f: values.get(f) for f in m["feature_names"]}

    def get_client(self, client_id) -> dict | None:
        """Raw application fields (all Kaggle fields, None when not given; never TARGET), features, history summary."""
        from scoring.tables import SCHEMAS

        cid = self._id(client_id)
        if cid is None:
            return None
        row = self._con().execute(f"SELECT split, application, num, cat, {_GENERATION} FROM clients "
                                  "WHERE client_id = ?", (cid,)).fetchone()
        if row is None:
            return None
        lay = self._layout(row[4])
        fields = lay["meta"].get("application_fields") or list(SCHEMAS["application_test"])
        application = dict(zip(fields, _unpack_json(row[1]), strict=True))
        application.pop("TARGET", None)
        features = self._features(lay, row[2], row[3])
        out = {"client_id": cid, "split": row[0], "application": application, "features": features}
        from scoring.labels import HISTORY_SUMMARY_FEATURES

        out["history"] = {f: features[f] for f in HISTORY_SUMMARY_FEATURES if f in features}
        return out

    def get_score(self, client_id) -> dict | None:
        cid = self._id(client_id)
        if cid is None:
            return None
        row = self._con().execute(f"SELECT pd, grade, decision, raw_score, {_GENERATION} FROM scores "
                                  "WHERE client_id = ?", (cid,)).fetchone()
        if row is None:
            return None
        return self._score(cid, *row[:4], self._layout(row[4])["meta"])

    @staticmethod
    def _score(cid: int, pd_value, grade, decision, raw_score, m: dict) -> dict:
        return {"client_id": cid, "pd": pd_value, "grade": grade, "decision": decision, "threshold": m["threshold"],
                "model_version": m["model_version"], "raw_score": raw_score}

    def get_explanation(self, client_id, top: int | None = None) -> dict | None:
        """Score and SHAP values (log-odds) read in one statement: the `top` largest by |SHAP| (all when None).

        `shap` and `values` hold those features, largest first; `shap_total` sums all of them, so
        base_value + shap_total == raw_score (float32 rounding) and the rest sums to shap_total - sum(shap).
        """
        cid = self._id(client_id)
        if cid is None:
            return None
        row = self._con().execute(
            f"SELECT c.num, c.cat, c.shap, s.pd, s.grade, s.decision, s.raw_score, {_GENERATION} "
            "FROM clients c JOIN scores s ON s.client_id = c.client_id WHERE c.client_id = ?", (cid,)).fetchone()
        if row is None:
            return None
        lay = self._layout(row[7])
        m = lay["meta"]
        model = m["model_features"]
        contributions = _unpack(row[2], "float32")
        shown = top_indices(contributions, top)
        names = [model[i] for i in shown]
        numbers = _unpack(row[0], "float64")[lay["model_numeric"][shown]].tolist()
        values = dict(zip(names, (None if v != v else v for v in numbers), strict=True))  # NaN -> None
        categorical = lay["model_categorical"].keys() & shown
        if categorical:
            cats = _unpack_json(row[1])
            for i in categorical:
                values[model[i]] = cats[lay["model_categorical"][i]]
        shap = contributions[shown].tolist()
        return {**self._score(cid, *row[3:7], m), "base_value": m["base_value"],
                "shap": dict(zip(names, shap, strict=True)), "values": values,
                "shap_total": float(contributions.sum(dtype="float64")), "n_features": len(model),
                "generation": lay["generation"]}

    def list_clients(self, search=None, limit: int = 20, offset: int = 0, grade=None, decision=None) -> dict:
        """Clients in id order with PD and grade; `search` is a client-id prefix (digits)."""
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
                parts.append("SELECT client_id, pd, grade, decision FROM scores WHERE client_id BETWEEN ? AND ?"
                             + (f" AND {cond}" if cond else ""))
                all_params += [lo, hi, *params]
            union = " UNION ALL ".join(parts)
            count_sql, count_params = f"SELECT count(*) FROM ({union})", all_params
            sql = f"SELECT * FROM ({union}) ORDER BY client_id LIMIT ? OFFSET ?"
            sql_params = [*all_params, limit, offset]
        total = con.execute(count_sql, count_params).fetchone()[0]
        items = [{"client_id": r[0], "pd": r[1], "grade": r[2], "decision": r[3]}
                 for r in con.execute(sql, sql_params)]
        return {"total": total, "items": items}

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
            grids[feature] = None if row is None or row[1] is None else _unpack(row[1], "float64")
        return grids[feature]

    def percentile(self, feature: str, value, lay: dict | None = None) -> float | None:
        """Share (0..100) of all clients with a known, lower value; None for a missing value or a categorical."""
        lay = lay or self._layout()
        if self._kind(feature, lay) == "categorical" or value is None or isinstance(value, bool):
            return None
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{feature} is numeric; got {value!r}") from None
        if math.isnan(v):
            return None
        q = self._quantile_grid(feature, lay)
        if q is None:
            return None
        steps = len(q) - 1
        left, right = bisect.bisect_left(q, v), bisect.bisect_right(q, v)  # on a scalar: 10x np.searchsorted
        if left == 0:
            return 0.0
        if left > steps:
            return 100.0
        if left == right:  # strictly between two grid points: interpolate
            lo, hi = q[left - 1], q[left]
            frac = 0.0 if hi == lo else (v - lo) / (hi - lo)
            pos = left - 1 + frac
        else:
            pos = left
        return float(min(max(100.0 * pos / steps, 0.0), 100.0))

    def percentiles(self, values: dict, generation: str | None = None) -> dict:
        """percentile() of several {feature: value}; unknown features are skipped.

        `generation`: that of the lookup the values come from (get_explanation), which saves reading it again.
        """
        out, lay = {}, self._layout(generation)
        for feature, value in values.items():
            try:
                out[feature] = self.percentile(feature, value, lay)
            except (KeyError, ValueError):
                continue
        return out

    def _column(self, name: str):
        gen = self._layout()["generation"]

        def load():
            row = self._con().execute("SELECT kind, data, categories FROM sample WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise KeyError(name)
            kind, blob, cats = row
            dtype = {"id": "int64", "target": "int8", "pd": "float64", "numeric": "float64", "categorical": "int16"}
            return _unpack(blob, dtype[kind]), (json.loads(cats) if cats else None)

        return self._cached(("s", gen, name), load)

    def _axis(self, feature: str, bins: int):
        """Bin index per sample row (-1 = missing) and the axis description (numeric edges or categories)."""
        kind = self._kind(feature)
        values, cats = self._column(feature)
        if kind == "categorical":
            return values.astype(int), {"kind": "categorical", "edges": list(cats), "categories": list(cats)}
        lo, hi = self._range(feature, values)
        edges = np.linspace(lo, hi, bins + 1)
        idx = np.full(len(values), -1)
        known = ~np.isnan(values)
        idx[known] = np.clip(np.searchsorted(edges, np.clip(values[known], lo, hi), side="right") - 1, 0, bins - 1)
        return idx, {"kind": "numeric", "edges": [float(e) for e in edges]}

    def _range(self, feature: str, values: np.ndarray) -> tuple[float, float]:
        """Axis range from the 0.5 % and 99.5 % quantiles over all clients (tails fold into the end bins)."""
        q = self._quantile_grid(feature)
        if q is None:
            known = values[~np.isnan(values)]
            lo, hi = (float(known.min()), float(known.max())) if len(known) else (0.0, 1.0)
        else:
            step = (len(q) - 1) / 200
            lo, hi = float(q[int(round(step))]), float(q[int(round(len(q) - 1 - step))])
            if lo == hi:
                lo, hi = float(q[0]), float(q[-1])
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        return lo, hi

    @staticmethod
    def _bins(bins, upper: int = MAX_BINS) -> int:
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 1 <= int(bins) <= upper:
            raise ValueError(f"bins must be an integer from 1 to {upper}")
        return int(bins)

    def distribution(self, feature: str, bins: int = 30) -> dict:
        """Histogram over the labelled sample split by repaid (0) and defaulted (1); missing values counted apart."""
        kind = self._kind(feature)
        bins = self._bins(bins)
        target, _ = self._column("__target__")
        idx, axis = self._axis(feature, bins)
        size = len(axis["categories"]) if kind == "categorical" else bins
        known = idx >= 0
        repaid = np.bincount(idx[known & (target == 0)], minlength=size)
        defaulted = np.bincount(idx[known & (target == 1)], minlength=size)
        out = {"kind": kind, "feature": feature, "repaid": repaid.tolist(), "defaulted": defaulted.tolist(),
               "missing": int((~known).sum()), "missing_repaid": int((~known & (target == 0)).sum()),
               "missing_defaulted": int((~known & (target == 1)).sum()), "n": int(len(target))}
        if kind == "categorical":
            out["categories"] = axis["categories"]
        else:
            out["edges"] = axis["edges"]
        return out

    def released_distribution(self, feature: str) -> dict:
        """A customer's histogram: groups and noisy counts fixed when the store was built (scoring.population)."""
        kind = self._kind(feature)
        gen = self._layout()["generation"]
        return self._cached(("p1", gen, feature), lambda: population.read_distribution(self._con(), feature, kind))

    def released_density(self, x: str, y: str) -> dict:
        """A customer's 2-D grid, precomputed for pairs of the grid features; population.NotReleased otherwise."""
        kinds = (self._kind(x), self._kind(y))
        gen = self._layout()["generation"]
        return self._cached(("p2", gen, x, y), lambda: population.read_density(self._con(), x, y, kinds))

    def aggregation(self) -> dict:
        """How customers' aggregates were released (min group, mechanism, epsilon, grid features); {} if none."""
        return dict(self._layout()["meta"].get("aggregation") or {})

    def sample_points(self, x: str, y: str, n: int = 1000) -> list[dict]:
        """Up to n labelled-sample clients with both values known (fixed random order) and their PD; managers only."""
        self._kind(x), self._kind(y)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or int(n) < 1:
            raise ValueError("n must be a positive integer")
        ids, _ = self._column("__client_id__")
        pds, _ = self._column("__pd__")
        (xv, xc), (yv, yc) = self._column(x), self._column(y)
        ok = self._known(xv, xc) & self._known(yv, yc)
        rows = np.flatnonzero(ok)[: int(n)]
        return [{"client_id": int(ids[i]), "x": self._value(xv[i], xc), "y": self._value(yv[i], yc),
                 "pd": _py(pds[i])} for i in rows]

    @staticmethod
    def _known(values, cats) -> np.ndarray:
        return values >= 0 if cats is not None else ~np.isnan(values)

    @staticmethod
    def _value(v, cats):
        return cats[int(v)] if cats is not None else float(v)

    def density(self, x: str, y: str, bins: int = 20) -> dict:
        """2-D counts and mean PD per cell over the labelled sample (aggregates; cells under 5 clients get no PD)."""
        self._kind(x), self._kind(y)
        bins = self._bins(bins, 100)
        pds, _ = self._column("__pd__")
        xi, xa = self._axis(x, bins)
        yi, ya = self._axis(y, bins)
        nx = len(xa["edges"]) - 1 if xa["kind"] == "numeric" else len(xa["categories"])
        ny = len(ya["edges"]) - 1 if ya["kind"] == "numeric" else len(ya["categories"])
        ok = (xi >= 0) & (yi >= 0)
        cell = xi[ok] * ny + yi[ok]
        counts = np.bincount(cell, minlength=nx * ny).reshape(nx, ny)
        sums = np.bincount(cell, weights=pds[ok], minlength=nx * ny).reshape(nx, ny)
        mean = [[(float(sums[i, j] / counts[i, j]) if counts[i, j] >= MIN_CELL else None) for j in range(ny)]
                for i in range(nx)]
        return {"x": x, "y": y, "x_kind": xa["kind"], "y_kind": ya["kind"], "x_edges": xa["edges"],
                "y_edges": ya["edges"], "counts": counts.tolist(), "mean_pd": mean, "n": int(ok.sum()),
                "min_cell": MIN_CELL}
