"""What a store build writes, computed apart from where it goes: the rows of each table, whatever the backend.

The raw tables become features once (Parquet in a work folder), then chunks of clients are scored and explained
into the rows of `clients` and `scores`, the labelled sample is gathered on the way, and the quantiles and `meta`
close the build. The SQLite build (build.py) inserts these rows; a PostgreSQL build would COPY the same ones.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.store.blobs import pack, pack_json, unpack, unpack_json

CHUNK_CLIENTS = 20_000
N_QUANTILES = 1001
_SAMPLE_SEED = 20240601


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_generation() -> str:
    """A fresh store generation: every lookup names the one it read, and caches keyed by it follow a change."""
    return secrets.token_hex(8)


def meta_rows(values: dict) -> list[tuple[str, str]]:
    return [(k, json.dumps(v)) for k, v in values.items()]


# ----------------------------------------------------------------------------------------------- inputs
def raw_frames(data_dir, workdir: Path) -> tuple[Path, Path, Path]:
    """Features, policy inputs and application rows of every client written once to Parquet, then read back chunk
    by chunk."""

    from scoring import features
    from scoring.tables import duckdb_views

    feats, inputs = workdir / "features.parquet", workdir / "policy_inputs.parquet"
    apps = workdir / "applications.parquet"
    # the whole feature frame once in memory, dropped before the chunked part
    frame, policy_inputs = features.build_features_and_policy_inputs(data_dir)
    frame.reset_index().to_parquet(feats, index=False, row_group_size=20_000)
    policy_inputs.reset_index().to_parquet(inputs, index=False, row_group_size=20_000)
    del frame, policy_inputs
    con = features.batch_connection()
    try:
        con.execute(f"SET temp_directory = '{workdir / 'spill'}'")
        duckdb_views(con, data_dir)
        con.execute(
            f"COPY (SELECT * FROM applications ORDER BY SK_ID_CURR) TO '{apps}' (FORMAT parquet, ROW_GROUP_SIZE 20000)"
        )
    finally:
        con.close()
    return feats, inputs, apps


def chunks(feats: Path, inputs: Path, apps: Path, chunk: int):
    """(features, policy inputs, applications) DataFrames of `chunk` clients at a time, in client-id order."""
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
            p = con.execute(f"SELECT * FROM '{inputs}' {where}").df().set_index("SK_ID_CURR")
            p.index = f.index
            a = con.execute(f"SELECT * FROM '{apps}' {where}").df()
            yield f, p, a
    finally:
        con.close()


# ----------------------------------------------------------------------------------------------- clients, scores
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
    return [pack_json(list(row)) for row in rows]


def score_columns(scores: pd.DataFrame) -> tuple[list, list, list, list]:
    """pd, grade, decision and raw_score as plain lists, the order of the scores table's columns after the id."""
    return (
        scores["pd"].astype(float).tolist(),
        scores["grade"].tolist(),
        scores["decision"].tolist(),
        scores["raw_score"].astype(float).tolist(),
    )


def shap_blobs(contributions: np.ndarray):
    """Each client's SHAP vector as stored (float32), one at a time."""
    return (pack(row, "float32") for row in contributions)


class ScoredChunk:
    """One chunk of clients scored, explained and decided (scoring.decision.service): the rows of `clients`,
    `scores` and `decisions`, in id order."""

    def __init__(self, decided, apps: pd.DataFrame, numeric: list[str], categorical: list[str]):
        feats = decided.features
        self.ids = feats.index.to_numpy(dtype="int64")
        self.scores, self.base, self._contrib = decided.scores, decided.base, decided.contributions
        self._decided = decided
        self.num = feats[numeric].to_numpy(dtype="float64", na_value=np.nan)
        self.cat = feats[categorical].astype(object).where(feats[categorical].notna(), None).to_numpy()
        self._apps = apps.set_index("SK_ID_CURR").loc[self.ids]

    def client_rows(self):
        """(client_id, split, application, num, cat, shap), made one at a time as they are written."""
        applications = _application_blobs(self._apps.reset_index())
        return zip(
            self.ids.tolist(),
            (str(s) for s in self._apps["SPLIT"]),
            applications,
            (pack(row, "float64") for row in self.num),
            (pack_json(row.tolist()) for row in self.cat),
            shap_blobs(self._contrib),
            strict=True,
        )

    def score_rows(self):
        return zip(self.ids.tolist(), *score_columns(self.scores), strict=True)

    def decision_rows(self):
        return decision_rows(self.ids, self._decided.decisions, self._decided.policy_inputs)


def decision_rows(ids: np.ndarray, decisions, policy_inputs: pd.DataFrame):
    """(client_id, outcome, offer_amount, offer_annuity, fired, policy inputs) per client, policy inputs in
    POLICY_INPUTS order (the meta's policy_input_names)."""
    from scoring.features import POLICY_INPUTS

    summary = decisions.summary()
    inputs = policy_inputs[POLICY_INPUTS].to_numpy(dtype="float64", na_value=np.nan)
    return zip(
        ids.tolist(),
        summary["outcome"].tolist(),
        _nullable(summary["offer_amount"]),
        _nullable(summary["offer_annuity"]),
        summary["fired"].tolist(),
        (pack(row, "float64") for row in inputs),
        strict=True,
    )


def _nullable(column: pd.Series) -> list:
    return [None if v != v else v for v in column.astype(float).tolist()]


def stored_policy_inputs(ids: list[int], blobs, names: list[str]) -> pd.DataFrame:
    """The policy inputs of stored clients, as decide_many reads them."""
    return pd.DataFrame(np.vstack([unpack(b, "float64") for b in blobs]), columns=names, index=ids)


def stored_features(ids: list[int], num_blobs, cat_blobs, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """The feature frame of stored clients, as the bundle reads it (explain-all re-scores from it)."""
    frame = pd.DataFrame(np.vstack([unpack(b, "float64") for b in num_blobs]), columns=numeric, index=ids)
    cats = pd.DataFrame([unpack_json(b) for b in cat_blobs], columns=categorical, index=ids)
    return pd.concat([frame, cats.astype(object).where(cats.notna(), np.nan)], axis=1)


# ----------------------------------------------------------------------------------------------- statistics, meta
def quantile_rows(feats: Path, numeric: list[str]):
    """(feature, n known, grid) of each numeric feature over all clients, one column in memory at a time."""
    import pyarrow.parquet as pq

    probs = np.linspace(0.0, 1.0, N_QUANTILES)
    source = pq.ParquetFile(feats)
    for col in numeric:
        values = source.read(columns=[col]).column(0).to_numpy(zero_copy_only=False).astype("float64")
        known = values[~np.isnan(values)]
        blob = pack(np.quantile(known, probs), "float64") if len(known) else None
        yield col, int(len(known)), blob


class Sample:
    """The labelled sample: a fixed random order of labelled clients, its columns filled as chunks are scored."""

    def __init__(self, target: pd.Series, size: int, numeric: list[str], categorical: list[str]):
        labelled = np.sort(target.index.to_numpy(dtype="int64"))
        self.ids = np.random.default_rng(_SAMPLE_SEED).permutation(labelled)[:size]  # sample_points(n): the first n
        self._target = target.loc[self.ids].to_numpy()
        self._pos = pd.Series(np.arange(len(self.ids)), index=self.ids)
        self._numeric, self._categorical = numeric, categorical
        self._num = np.full((len(self.ids), len(numeric)), np.nan)
        self._cat = np.full((len(self.ids), len(categorical)), None, dtype=object)
        self._pd = np.full(len(self.ids), np.nan)

    def add(self, chunk: ScoredChunk) -> None:
        hit = np.isin(chunk.ids, self.ids)
        pos = self._pos.loc[chunk.ids[hit]].to_numpy()
        self._num[pos], self._cat[pos] = chunk.num[hit], chunk.cat[hit]
        self._pd[pos] = chunk.scores["pd"].to_numpy()[hit]

    def rows(self) -> list[tuple]:
        """(name, kind, data, categories): client ids, target and PD, then each feature (categories as codes)."""
        rows = [
            ("__client_id__", "id", pack(self.ids, "int64"), None),
            ("__target__", "target", pack(self._target, "int8"), None),
            ("__pd__", "pd", pack(self._pd, "float64"), None),
        ]
        rows += [(name, "numeric", pack(self._num[:, j], "float64"), None) for j, name in enumerate(self._numeric)]
        for j, name in enumerate(self._categorical):
            values = self._cat[:, j]
            cats = sorted({v for v in values if v is not None})
            index = {c: i for i, c in enumerate(cats)}
            codes = np.array([-1 if v is None else index[v] for v in values], dtype="int16")
            rows.append((name, "categorical", pack(codes, "int16"), json.dumps(cats)))
        return rows


def build_meta(
    bundle,
    data_dir,
    *,
    n_clients: int,
    features: list[str],
    numeric: list[str],
    categorical: list[str],
    base_value: float,
    sample_size: int,
    max_client_id: int,
    policy,
) -> dict:
    """The `meta` table of a new store: what it was built from, its feature layout and a new generation."""
    from scoring.tables import SCHEMAS, data_source

    return {
        "model_version": bundle.version,
        "data_source": data_source(data_dir),
        "n_clients": n_clients,
        "threshold": bundle.threshold,
        "built_at": now(),
        "feature_names": list(features),
        "numeric_features": numeric,
        "categorical_features": categorical,
        "model_features": list(bundle.feature_names),
        "base_value": float(base_value),
        "sample_size": int(sample_size),
        "max_client_id": int(max_client_id),
        "application_fields": list(SCHEMAS["application_test"]),
        **policy_meta(policy),
        "generation": new_generation(),
    }


def policy_meta(policy) -> dict:
    """What the stored decisions were made with: the policy's version and hash, the layout of the inputs kept."""
    from scoring.features import POLICY_INPUTS

    return {
        "policy": {"version": policy.version, "sha256": policy.sha256, "label": policy.label},
        "policy_input_names": list(POLICY_INPUTS),
        "decided_at": now(),
    }
