"""Writing a PostgreSQL store: a build (the rows of scoring.store.rows, bulk-loaded with binary COPY) and the move
of a SQLite store file into a database (`store migrate`), each into a new generation schema switched in at the end.

A build writes its generation schema chunk by chunk, unseen by readers until the pointer names it (one
transaction), then drops the generations before the one it replaced; a failed build drops its own and leaves the
store untouched. The kept tables (users, audit log, sign-ins, reviews) are not copied: they live in
`scoring_store` across generations. The population release runs on an in-memory SQLite copy of the sample (its
code is the SQLite build's), and its rows are copied over like the others.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from scoring.store import population, rows, schema
from scoring.store import postgres_schema as pg
from scoring.store.build import write_generation
from scoring.store.postgres_kept import WRITE_LOCK
from scoring.store.secret import copy_file_secret

_STAGED = (schema.SAMPLE, schema.POPULATION_GROUPS, schema.POPULATION_CELLS, schema.META)


def _connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def copy_rows(con, where: str, table: schema.Table, values, columns=None) -> int:
    """COPY `values` (tuples in `columns` order, default all) into where.table, binary; returns rows written."""
    columns = tuple(columns or table.column_names)
    kinds = {c.name: pg.COPY_TYPES[c.type] for c in table.columns}
    n = 0
    with con.cursor() as cur:
        with cur.copy(f"COPY {where}.{table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([kinds[c] for c in columns])
            for row in values:
                copy.write_row(row)
                n += 1
    return n


class _PostgresWriter:
    """Where write_generation puts a PostgreSQL build's rows: the generation schema `where`, a transaction a chunk."""

    def __init__(self, con, where: str):
        self.con, self.where = con, where
        self.stage = sqlite3.connect(":memory:")  # what population.release reads and writes
        schema.create_tables(self.stage, _STAGED)

    def chunk(self, chunk: rows.ScoredChunk) -> None:
        with self.con.transaction():
            copy_rows(self.con, self.where, schema.CLIENTS, chunk.client_rows())
            copy_rows(self.con, self.where, schema.SCORES, chunk.score_rows())
            copy_rows(self.con, self.where, schema.DECISIONS, chunk.decision_rows())

    def indexes(self) -> None:
        with self.con.transaction():
            for table in schema.REBUILT:
                for statement in pg.index_sql(table, self.where):
                    self.con.execute(statement)

    def rows(self, table: schema.Table, values) -> None:
        values = list(values)
        with self.con.transaction():
            copy_rows(self.con, self.where, table, values)
        if table in _STAGED:
            self.stage.executemany(f"INSERT INTO {table.name} VALUES ({', '.join('?' * len(table.columns))})", values)

    def release(self, importance: list[dict]) -> None:
        population.release(self.stage, importance)  # customers' aggregates, noised once for this generation
        with self.con.transaction():
            for table in (schema.POPULATION_GROUPS, schema.POPULATION_CELLS, schema.META):
                copy_rows(self.con, self.where, table, self.stage.execute(f"SELECT * FROM {table.name}"))
        self.stage.execute("DELETE FROM meta")  # copied: the build's own meta rows follow


def _new_generation(con) -> str:
    """A new, empty generation schema (its tables without secondary indexes: they come after the bulk load)."""
    where = pg.new_generation_schema()
    with con.transaction():
        pg.ensure_kept(con)
        con.execute(f"CREATE SCHEMA {where}")
        pg.create_tables(con, schema.REBUILT, where, indexes=False)
    return where


def _switch(con, where: str, *, prepare=None, on_switch=None) -> None:
    """Readers to generation `where` in one transaction; the one it replaced is kept (a request pinned on it may
    still be reading), any older one dropped.

    With `prepare` or `on_switch` (a re-scored generation: scoring.store.postgres_regenerate), the transaction
    first takes the store's write lock, the one every BEGIN IMMEDIATE writer takes (postgres_kept), so that what
    they run sits wholly before or after the switch: `prepare(old)` with the pointer row locked (it may copy what
    writers change, or refuse by raising), then `on_switch()` right before the commit."""
    for table in schema.REBUILT:
        con.execute(f"ANALYZE {where}.{table.name}")
    with con.transaction():
        if prepare is not None or on_switch is not None:
            con.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        old = pg.switch(con, where, rows.now())
        if prepare is not None:
            prepare(old)
        pg.reset_identities(con, schema.REBUILT, where)
        if on_switch is not None:
            on_switch()
    for stale in pg.stale_generations(con, (where, old)):
        con.execute(f"DROP SCHEMA IF EXISTS {stale} CASCADE")


def _drop(con, where: str) -> None:
    if not con.closed:
        con.rollback()
        con.execute(f"DROP SCHEMA IF EXISTS {where} CASCADE")


def build_postgres(url: str, data_dir, bundle, policy, *, sample_size: int, chunk_size: int, shadow=None) -> int:
    """build_store into the PostgreSQL database at `url`; returns clients stored. `shadow`: the registry's
    challenger scoring the same portfolio (scoring.shadow.run.ShadowRun), logged once the new generation is in."""
    with _connect(url) as con:
        where = _new_generation(con)
        try:
            writer = _PostgresWriter(con, where)
            n = write_generation(
                writer,
                data_dir,
                bundle,
                policy,
                sample_size=sample_size,
                chunk_size=chunk_size,
                work=None,
                shadow=shadow,
            )
            _switch(con, where)
        except BaseException:
            _drop(con, where)
            raise
    if shadow is not None:
        shadow.write()
    return n


def migrate(source, url: str) -> dict[str, int]:
    """Copy every table of the SQLite store file `source` into the PostgreSQL database at `url` (rows per table).

    The rebuilt tables become a new generation, switched in; the kept ones (users, audit log with its hash chain,
    sign-ins, reviews) go in with their ids, into a database that holds none yet (ValueError otherwise: two audit
    chains never mix), and the `.secret_key` beside the file, when there is one, becomes the store's secret.
    Columns an older file lacks take their defaults.
    """
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"client store {path} not found")
    src = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    counts: dict[str, int] = {}
    try:
        present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in present or "clients" not in present:
            raise ValueError(f"{path} is not a client store (no meta or clients table)")
        with _connect(url) as con:
            with con.transaction():
                pg.ensure_kept(con)
                held = [
                    t.name
                    for t in schema.KEPT
                    if con.execute(f"SELECT 1 FROM {pg.KEPT_SCHEMA}.{t.name} LIMIT 1").fetchone()
                ]
            if held:
                raise ValueError(f"the PostgreSQL store already holds {', '.join(held)}: migrate into an empty one")
            where = _new_generation(con)
            try:
                for table in schema.REBUILT:
                    if table.name in present:
                        with con.transaction():
                            counts[table.name] = _copy_table(src, con, table, where)
                with con.transaction():
                    for statement in (s for t in schema.REBUILT for s in pg.index_sql(t, where)):
                        con.execute(statement)
                with con.transaction():
                    for table in schema.KEPT:
                        con.execute(f"LOCK TABLE {pg.KEPT_SCHEMA}.{table.name} IN EXCLUSIVE MODE")
                        if table.name in present:
                            counts[table.name] = _copy_table(src, con, table, pg.KEPT_SCHEMA)
                    pg.reset_identities(con, schema.KEPT, pg.KEPT_SCHEMA)
                    copy_file_secret(path, con)  # the chain's key and the tokens' moved with the rows they sign
                _switch(con, where)
            except BaseException:
                _drop(con, where)
                raise
    finally:
        src.close()
    return counts


def _copy_table(src: sqlite3.Connection, con, table: schema.Table, where: str) -> int:
    there = {r[1] for r in src.execute(f"PRAGMA table_info({table.name})")}
    columns = [c for c in table.column_names if c in there]
    values = src.execute(f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY rowid")
    return copy_rows(con, where, table, values, columns)
