"""Building and re-scoring the SQLite store: rows from scoring.store.rows, written into a file swapped in whole.

A build writes `<path>.tmp` chunk by chunk without a journal, copies the kept tables (users, audit log, sign-in
attempts, reviews) from the store it replaces under the rebuild lock their writers share, then renames it into
place: readers follow the new file, a failed build leaves the old one untouched. explain-all re-scores in place in
one transaction; its chunk re-scoring (rescore) and the aggregates and meta after it (refresh_aggregates) are
also what a PostgreSQL store's explain-all runs (scoring.store.postgres_regenerate), so both backends agree.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from scoring import progress
from scoring.store import population, rows, schema
from scoring.store.blobs import pack, unpack
from scoring.store.connection import rebuild_lock
from scoring.store.location import postgres_url, sqlite_file


def build_store(
    data_dir,
    models_dir,
    store_path=None,
    *,
    sample_size: int = 20_000,
    chunk_size: int = rows.CHUNK_CLIENTS,
    policy_path=None,
) -> int:
    """Build the whole store into `<path>.tmp` chunk by chunk, then rename it into place; returns clients stored.

    Each client's decision is precomputed under the policy at `policy_path` (default SCORING_POLICY). A
    postgresql:// location is built by scoring.store.postgres_build from the same rows."""
    url = postgres_url(store_path)
    if url is not None:
        from scoring.store.postgres_build import build_postgres

        bundle, policy = _inputs(models_dir, sample_size, policy_path)
        shadow = _shadow_run(models_dir, policy_path, url)
        return build_postgres(
            url, data_dir, bundle, policy, sample_size=sample_size, chunk_size=chunk_size, shadow=shadow
        )
    path = sqlite_file(store_path)
    bundle, policy = _inputs(models_dir, sample_size, policy_path)
    shadow = _shadow_run(models_dir, policy_path, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".tmp")
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)

    # password hashes, client files and the audit log: owner-only from the first byte; SQLite gives its -wal and
    # -shm files the database file's mode
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    con = sqlite3.connect(tmp)
    try:
        # rows of ~2-3 KB: with 4 KB pages each would sit alone in a page and waste a third of the file
        con.execute("PRAGMA page_size=16384")
        con.execute("PRAGMA journal_mode=OFF")  # a failed build is thrown away whole, no journal needed
        con.execute("PRAGMA synchronous=OFF")
        schema.create_tables(con, schema.REBUILT)  # indexes after the bulk insert: faster than keeping them updated
        schema.ensure_kept(con)
        n = write_generation(
            _SQLiteWriter(con),
            data_dir,
            bundle,
            policy,
            sample_size=sample_size,
            chunk_size=chunk_size,
            work=path.parent,
            shadow=shadow,
        )
        con.commit()
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    # from the copy of the kept tables to the swap, no write to them: one landing in the old file would be lost
    with rebuild_lock(path):
        try:
            with progress.step("users, audit log, sign-ins and reviews from the old store"):
                _copy_kept(con, path)
            con.execute("PRAGMA journal_mode=WAL")
            con.close()
        except BaseException:
            con.close()
            tmp.unlink(missing_ok=True)
            raise
        _replace_file(tmp, path)
    shadow.write()  # the challenger's scores of this generation, now that it is the store
    return n


def _shadow_run(models_dir, policy_path, store):
    """The registry's challenger scoring the same portfolio (scoring.shadow.run), logged in `store`."""
    from scoring.shadow.run import ShadowRun

    return ShadowRun(models_dir, source="store", policy_path=policy_path, store=store)


def _inputs(models_dir, sample_size, policy_path):
    """The bundle and the policy a build scores and decides with (sample_size checked first)."""
    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy

    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
        raise ValueError("sample_size must be a positive integer")
    bundle = ModelBundle.load(models_dir)
    return bundle, load_policy(policy_path, grades=bundle.grades)


class _SQLiteWriter:
    """Where write_generation puts a SQLite build's rows: the new file's tables, a commit per chunk."""

    def __init__(self, con: sqlite3.Connection):
        self.con = con

    def chunk(self, chunk: rows.ScoredChunk) -> None:
        self.con.executemany("INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?)", chunk.client_rows())
        self.con.executemany("INSERT INTO scores VALUES (?, ?, ?, ?, ?)", chunk.score_rows())
        self.con.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?)", chunk.decision_rows())
        self.con.commit()

    def indexes(self) -> None:
        schema.create_indexes(self.con, schema.REBUILT)

    def rows(self, table: schema.Table, values) -> None:
        self.con.executemany(f"INSERT INTO {table.name} VALUES ({', '.join('?' * len(table.columns))})", values)

    def release(self, importance: list[dict]) -> None:
        population.release(self.con, importance)  # customers' aggregates, noised once for this generation


def write_generation(writer, data_dir, bundle, policy, *, sample_size: int, chunk_size: int, work, shadow=None) -> int:
    """Every row of a new store generation through `writer` (chunk, indexes, rows, release: _SQLiteWriter, or
    the PostgreSQL build's), whichever backend it writes to; returns clients written. `work`: where the
    features' temporary Parquet files go; `shadow`: a ShadowRun given each chunk's decisions."""
    from scoring.decision.service import decide_features
    from scoring.features import CATEGORICAL_FEATURES, load_target

    target = load_target(data_dir)
    with tempfile.TemporaryDirectory(prefix="store-", dir=work) as folder:
        with progress.step("features and policy inputs"):
            feats_file, inputs_file, apps_file = rows.raw_frames(data_dir, Path(folder))
        n, sample, chunk = 0, None, None
        total = _parquet_rows(apps_file)
        with progress.step("scoring, explaining, deciding, writing", total=total, unit="clients") as done:
            for feats, policy_inputs, apps in rows.chunks(feats_file, inputs_file, apps_file, chunk_size):
                if sample is None:
                    features = list(feats.columns)
                    categorical = [c for c in features if c in CATEGORICAL_FEATURES]
                    numeric = [c for c in features if c not in categorical]
                    sample = rows.Sample(target, sample_size, numeric, categorical)
                decided = decide_features(bundle, policy, feats, policy_inputs, explain=True)
                if shadow is not None:
                    shadow.add(decided, feats.index)
                chunk = rows.ScoredChunk(decided, apps, numeric, categorical)
                writer.chunk(chunk)
                sample.add(chunk)
                n += len(chunk.ids)
                done.update(len(chunk.ids))
        if n == 0:
            raise ValueError(f"{data_dir}: no application rows to store")
        with progress.step("indexes, quantiles"):
            writer.indexes()
            writer.rows(schema.QUANTILES, rows.quantile_rows(feats_file, numeric))
    with progress.step("sample, population aggregates"):
        writer.rows(schema.SAMPLE, sample.rows())
        writer.release(bundle.importance)
    meta = rows.build_meta(
        bundle,
        data_dir,
        n_clients=n,
        features=features,
        numeric=numeric,
        categorical=categorical,
        base_value=chunk.base,
        sample_size=len(sample.ids),
        max_client_id=chunk.ids[-1],
        policy=policy,
    )
    writer.rows(schema.META, rows.meta_rows(meta))
    return n


def _parquet_rows(path: Path) -> int:
    """Rows of a Parquet file, from its footer (no data read)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _copy_kept(con: sqlite3.Connection, old: Path) -> None:
    """The kept tables survive a rebuild (the audit log with its hash chain); columns an older store lacks take
    their defaults."""
    if not old.exists():
        return
    con.execute("ATTACH DATABASE ? AS old", (f"file:{old}?mode=ro",))
    try:
        present = {r[0] for r in con.execute("SELECT name FROM old.sqlite_master WHERE type='table'")}
        for table in schema.KEPT:
            if table.name not in present:
                continue
            there = {r[1] for r in con.execute(f"PRAGMA old.table_info({table.name})")}
            columns = ", ".join(c for c in table.column_names if c in there)
            con.execute(
                f"INSERT INTO main.{table.name} ({columns}) SELECT {columns} FROM old.{table.name} ORDER BY rowid"
            )
        con.commit()
    finally:
        con.execute("DETACH DATABASE old")


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


class Layout(NamedTuple):
    """How a store keeps its clients' features and policy inputs (its meta), as re-scoring reads them."""

    numeric: list[str]
    categorical: list[str]
    input_names: list[str] | None  # None: a store built before decisions were stored (scores only)


def stored_layout(meta: dict, bundle, decided: bool) -> Layout:
    """The layout of a store whose meta is `meta` (`decided`: it holds decisions); ValueError when the store lacks
    a feature the bundle reads (re-scoring cannot make it up: build-store)."""
    numeric, categorical = meta["numeric_features"], meta["categorical_features"]
    missing = [f for f in bundle.feature_names if f not in numeric and f not in categorical]
    if missing:
        raise ValueError(f"the store lacks model feature(s) {', '.join(missing[:10])}: rebuild it with build-store")
    return Layout(numeric, categorical, meta.get("policy_input_names") if decided else None)


class Rescored(NamedTuple):
    """One chunk of stored clients re-scored by `rescore`, in id order."""

    ids: list[int]
    shap: list[bytes]  # as stored (float32)
    scores: tuple  # rows.score_columns: pd, grade, decision, raw_score
    decisions: list[tuple] | None  # (outcome, offer_amount, offer_annuity, fired) per client; None when undecided
    base: float

    def score_rows(self):
        return zip(self.ids, *self.scores, strict=True)


def rescore(bundle, policy, layout: Layout, stored, shadow=None) -> Rescored:
    """Score, explain and decide one chunk of stored clients: `stored` holds (client_id, num, cat, policy_inputs)
    rows in id order, as either backend reads them; `shadow`: a ShadowRun given the chunk's decisions."""
    from scoring.decision.service import decide_features

    ids = [r[0] for r in stored]
    frame = rows.stored_features(ids, [r[1] for r in stored], [r[2] for r in stored], *layout[:2])
    if not layout.input_names:
        scores, base, contrib = bundle.score_and_explain(frame)
        return Rescored(ids, list(rows.shap_blobs(contrib)), rows.score_columns(scores), None, float(base))
    inputs = rows.stored_policy_inputs(ids, [r[3] for r in stored], layout.input_names)
    outcome = decide_features(bundle, policy, frame, inputs, explain=True)
    if shadow is not None:
        shadow.add(outcome, ids)
    decisions = [row[1:5] for row in rows.decision_rows(np.asarray(ids), outcome.decisions, inputs)]
    shap = list(rows.shap_blobs(outcome.contributions))
    return Rescored(ids, shap, rows.score_columns(outcome.scores), decisions, float(outcome.base))


def refresh_aggregates(con: sqlite3.Connection, bundle, policy, *, base: float, decided: bool, pds) -> None:
    """After re-scoring, in `con` (the store file, or a PostgreSQL build's in-memory copy of its sample,
    population and meta tables): the sample's PDs (`pds(ids)`: {client_id: new PD}), the customers' aggregates
    (counts kept, mean PD redrawn: population.release) and the meta naming the new model and generation."""
    sample_ids = unpack(con.execute("SELECT data FROM sample WHERE name = '__client_id__'").fetchone()[0], "int64")
    pd_by_id = pds(sample_ids.tolist())
    s_pd = np.array([pd_by_id.get(int(i), np.nan) for i in sample_ids], dtype="float64")
    con.execute("UPDATE sample SET data = ? WHERE name = '__pd__'", (pack(s_pd, "float64"),))
    population.release(con, bundle.importance, keep_counts=True)  # PD changed: mean PD redrawn, counts kept
    updates = {
        "model_version": bundle.version,
        "threshold": bundle.threshold,
        "base_value": float(base),
        "model_features": list(bundle.feature_names),
        "explained_at": rows.now(),
        "generation": rows.new_generation(),
    }
    if decided:
        updates.update({k: v for k, v in rows.policy_meta(policy).items() if k != "policy_input_names"})
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows.meta_rows(updates))


def explain_all(store_path, models_dir, *, chunk_size: int = rows.CHUNK_CLIENTS, policy_path=None, shadow=None) -> int:
    """Re-score every stored client with the current bundle from the stored features, in one transaction, and
    re-decide them under the policy at `policy_path` (default SCORING_POLICY) from their stored policy inputs;
    `shadow`: a ShadowRun given each chunk's decisions (the caller logs it once the generation is in place).
    A postgresql:// store gets a new generation instead, switched in whole (scoring.store.postgres_regenerate).

    A store built before decisions were stored keeps none (the policy inputs need the raw tables: build-store)."""
    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy

    url = postgres_url(store_path)
    if url is not None:
        from scoring.store.postgres_regenerate import explain_postgres

        return explain_postgres(url, models_dir, chunk_size=chunk_size, policy_path=policy_path, shadow=shadow)
    path = sqlite_file(store_path)
    if not path.exists():
        raise FileNotFoundError(f"client store {path} not found: build it first with `python -m scoring build-store`")
    bundle = ModelBundle.load(models_dir)
    policy = load_policy(policy_path, grades=bundle.grades)
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
        decided = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'decisions'").fetchone()
        layout = stored_layout(meta, bundle, decided is not None)
        joined = "d.policy_inputs FROM clients c LEFT JOIN decisions d USING (client_id)"
        inputs = joined if layout.input_names else "NULL FROM clients c"
        con.execute("BEGIN IMMEDIATE")
        last, n, base = -1, 0, meta.get("base_value", 0.0)
        explaining = progress.step("re-scoring, explaining, deciding", total=meta.get("n_clients"), unit="clients")
        with explaining as done:
            while True:
                stored = con.execute(
                    f"SELECT c.client_id, c.num, c.cat, {inputs} WHERE c.client_id > ? ORDER BY c.client_id LIMIT ?",
                    (last, chunk_size),
                ).fetchall()
                if not stored:
                    break
                chunk = rescore(bundle, policy, layout, stored, shadow)
                if chunk.decisions is not None:
                    con.executemany(
                        "UPDATE decisions SET outcome = ?, offer_amount = ?, offer_annuity = ?, fired = ? "
                        "WHERE client_id = ?",
                        (decision + (cid,) for decision, cid in zip(chunk.decisions, chunk.ids, strict=True)),
                    )
                con.executemany(
                    "UPDATE clients SET shap = ? WHERE client_id = ?", zip(chunk.shap, chunk.ids, strict=True)
                )
                con.executemany(
                    "UPDATE scores SET pd = ?, grade = ?, decision = ?, raw_score = ? WHERE client_id = ?",
                    zip(*chunk.scores, chunk.ids, strict=True),
                )
                last, n, base = chunk.ids[-1], n + len(chunk.ids), chunk.base
                done.update(len(chunk.ids))

        def pds(ids):
            sql = "SELECT client_id, pd FROM scores WHERE client_id IN (SELECT value FROM json_each(?))"
            return dict(con.execute(sql, (json.dumps(ids),)))

        refresh_aggregates(con, bundle, policy, base=base, decided=bool(layout.input_names), pds=pds)
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return n
