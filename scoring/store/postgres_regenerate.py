"""explain-all and promotion on a PostgreSQL store: a new generation re-scored from the live one, switched in whole.

The SQLite store re-scores its file in place (explain-all) or a copy of it (promotion). Here the new generation
schema is the copy: each chunk of the live generation's stored features and policy inputs is re-scored by the
code the SQLite path runs (scoring.store.build.rescore) and written with COPY; the client rows keep their
application, features and split, copied inside the database, with the new SHAP values. The sample, population
and meta tables are recomputed as on SQLite (build.refresh_aggregates, on an in-memory SQLite copy, as a build
releases its aggregates). The tables nothing re-scores (quantiles, the campaign and its offers, which `campaign`
may replace meanwhile) are copied at the switch, under the store's write lock.

Readers keep the live generation until the pointer names the new one (one transaction); the registry's
`on_switch` (the alias file naming the new champion) runs in that transaction, under the write lock, right before
the commit. A failure, or another build switched in meanwhile, drops the new schema: the store is as it was.
The kept tables (users, audit log, sign-ins, reviews, monitoring and shadow logs) are shared by every generation:
nothing to catch up.
"""

from __future__ import annotations

import json
import sqlite3

from scoring import progress
from scoring.store import postgres_schema as pg
from scoring.store import schema
from scoring.store.build import refresh_aggregates, rescore, stored_layout
from scoring.store.postgres_build import _STAGED, _connect, _drop, _new_generation, _switch, copy_rows

_RESCORED = (schema.CLIENTS, schema.SCORES, schema.DECISIONS)
_COPIED = tuple(t for t in schema.REBUILT if t not in _RESCORED and t not in _STAGED)
# a chunk's new SHAP values, joined with the live clients' rows inside the database (their blobs never leave it)
_SHAP = schema.Table(
    "rescored_shap", (schema.Column("client_id", "integer"), schema.Column("shap", "bytes")), primary_key=("client_id",)
)


def explain_postgres(url: str, models_dir, *, chunk_size: int, policy_path=None, shadow=None, on_switch=None) -> int:
    """explain_all of the PostgreSQL store at `url` into a new generation; returns clients re-scored. `shadow`: a
    ShadowRun given each chunk's decisions (the caller logs it); `on_switch`: called under the write lock as the
    generation switches (promotion)."""
    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy

    bundle = ModelBundle.load(models_dir)
    policy = load_policy(policy_path, grades=bundle.grades)
    with _connect(url) as con:
        source = pg.current_generation(con)
        if source is None:
            raise FileNotFoundError(
                "no client store in this PostgreSQL database: build it first with `python -m scoring build-store`"
            )
        meta = {k: json.loads(v) for k, v in con.execute(f"SELECT key, value FROM {source}.meta")}
        decided = con.execute(f"SELECT 1 FROM {source}.decisions LIMIT 1").fetchone() is not None
        layout = stored_layout(meta, bundle, decided)
        where = _new_generation(con)
        try:
            n, base = _rescore_clients(con, source, where, bundle, policy, layout, chunk_size, shadow, meta)
            with con.transaction():
                for statement in (s for t in schema.REBUILT for s in pg.index_sql(t, where)):
                    con.execute(statement)
            _aggregates(con, source, where, bundle, policy, base=base, decided=bool(layout.input_names))

            def prepare(old):
                if old != source:  # switching would undo that build
                    raise RuntimeError("another store generation was switched in during explain-all: run it again")
                for table in _COPIED:
                    _copy_within(con, table, source, where)

            _switch(con, where, prepare=prepare, on_switch=on_switch)
        except BaseException:
            _drop(con, where)
            raise
    return n


def _rescore_clients(con, source, where, bundle, policy, layout, chunk_size, shadow, meta) -> tuple[int, float]:
    """Every client of generation `source` re-scored into `where`, a transaction a chunk; (clients, base value)."""
    con.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_SHAP.name} (client_id BIGINT PRIMARY KEY, shap BYTEA) ON COMMIT DELETE ROWS"
    )
    inputs = "d.policy_inputs" if layout.input_names else "NULL"
    select = (
        f"SELECT c.client_id, c.num, c.cat, {inputs} FROM {source}.clients c "
        f"LEFT JOIN {source}.decisions d USING (client_id) WHERE c.client_id > %s ORDER BY c.client_id LIMIT %s"
    )
    names = schema.CLIENTS.column_names
    joined = ", ".join("s.shap" if c == "shap" else f"c.{c}" for c in names)
    insert = (
        f"INSERT INTO {where}.clients ({', '.join(names)}) SELECT {joined} FROM {source}.clients c "
        f"JOIN pg_temp.{_SHAP.name} s USING (client_id) ORDER BY c.client_id"
    )
    last, n, base = -1, 0, meta.get("base_value", 0.0)
    with progress.step("re-scoring, explaining, deciding", total=meta.get("n_clients"), unit="clients") as done:
        while True:
            stored = con.execute(select, (last, chunk_size)).fetchall()
            if not stored:
                break
            chunk = rescore(bundle, policy, layout, stored, shadow)
            with con.transaction():
                copy_rows(con, "pg_temp", _SHAP, zip(chunk.ids, chunk.shap, strict=True))
                con.execute(insert)
                copy_rows(con, where, schema.SCORES, chunk.score_rows())
                if chunk.decisions is not None:  # the stored policy inputs kept as they were
                    decided = zip(chunk.ids, chunk.decisions, (r[3] for r in stored), strict=True)
                    copy_rows(con, where, schema.DECISIONS, ((cid, *d, blob) for cid, d, blob in decided))
            last, n, base = chunk.ids[-1], n + len(chunk.ids), chunk.base
            done.update(len(chunk.ids))
    return n, base


def _aggregates(con, source, where, bundle, policy, *, base: float, decided: bool) -> None:
    """The sample, population and meta tables of `source` recomputed for `where`, as explain-all does on SQLite."""
    stage = sqlite3.connect(":memory:")
    try:
        schema.create_tables(stage, _STAGED)
        for table in _STAGED:
            columns = _columns(con, source, table)
            values = con.execute(f"SELECT {', '.join(columns)} FROM {source}.{table.name}").fetchall()
            marks = ", ".join("?" * len(columns))
            stage.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", values)

        def pds(ids):
            found = con.execute(f"SELECT client_id, pd FROM {where}.scores WHERE client_id = ANY(%s)", (ids,))
            return dict(found.fetchall())

        refresh_aggregates(stage, bundle, policy, base=base, decided=decided, pds=pds)
        with con.transaction():
            for table in _STAGED:
                names = ", ".join(table.column_names)
                copy_rows(con, where, table, stage.execute(f"SELECT {names} FROM {table.name}"))
    finally:
        stage.close()


def _columns(con, source: str, table: schema.Table) -> list[str]:
    """The declared columns of `table` that generation `source` has (one built by an older release may lack some:
    they take their defaults)."""
    present = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (source, table.name),
        )
    }
    return [c for c in table.column_names if c in present]


def _copy_within(con, table: schema.Table, source: str, where: str) -> None:
    columns = ", ".join(_columns(con, source, table))
    con.execute(f"INSERT INTO {where}.{table.name} ({columns}) SELECT {columns} FROM {source}.{table.name}")
