"""Every table of the client store, declared once: columns, types, keys, indexes, what survives a rebuild.

The CREATE statements are made from these declarations, and so is the rebuild's list of tables to carry over
(users, audit log, sign-in attempts) with their columns. Types are portable names; `SQLITE_TYPES` spells them
for SQLite, and a PostgreSQL dialect (issue #14) spells the same declarations its own way.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

# SQLite's spelling of each portable type. PostgreSQL's differs: integer -> BIGINT (SQLite's INTEGER is 64-bit:
# client ids and 62-bit token epochs need it), float -> DOUBLE PRECISION (its REAL is 32-bit), bytes -> BYTEA.
# INTEGER must stay exactly that: an INTEGER PRIMARY KEY is SQLite's rowid, which the file format relies on.
SQLITE_TYPES = {"text": "TEXT", "integer": "INTEGER", "float": "REAL", "bytes": "BLOB"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of SQLITE_TYPES
    not_null: bool = False
    default: str | None = None  # an SQL literal
    check: str | None = None  # an SQL condition on this column


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    indexes: tuple[Index, ...] = ()
    kept: bool = False  # lives across store generations: copied into a rebuilt store, upgraded in place
    append_only: str | None = None  # the error an UPDATE or DELETE raises, when rows may only be added

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


META = Table(
    "meta",
    (
        Column("key", "text"),
        Column("value", "text", not_null=True),
    ),
    primary_key=("key",),
)
CLIENTS = Table(
    "clients",
    (
        Column("client_id", "integer"),
        Column("split", "text", not_null=True),
        Column("application", "bytes", not_null=True),  # the raw row, compressed JSON (blobs.pack_json)
        Column("num", "bytes", not_null=True),  # numeric features, float64
        Column("cat", "bytes", not_null=True),  # categorical features, compressed JSON
        Column("shap", "bytes", not_null=True),  # SHAP values (log-odds), float32
    ),
    primary_key=("client_id",),
)
SCORES = Table(
    "scores",
    (
        Column("client_id", "integer"),
        Column("pd", "float", not_null=True),
        Column("grade", "text", not_null=True),
        Column("decision", "text", not_null=True),
        Column("raw_score", "float", not_null=True),
    ),
    primary_key=("client_id",),
    indexes=(Index("scores_grade", ("grade", "client_id")), Index("scores_decision", ("decision", "client_id"))),
)
DECISIONS = Table(
    "decisions",
    (
        Column("client_id", "integer"),
        Column("outcome", "text", not_null=True),
        Column("offer_amount", "float"),  # NULL when nothing is offered
        Column("offer_annuity", "float"),
        Column("fired", "text", not_null=True),  # the codes of the rules that fired, ';'-separated, policy order
        # the policy inputs (meta policy_input_names order), float64: the full record is rebuilt from them
        Column("policy_inputs", "bytes", not_null=True),
    ),
    primary_key=("client_id",),
    indexes=(Index("decisions_outcome", ("outcome", "client_id")),),
)
QUANTILES = Table(
    "quantiles",
    (
        Column("feature", "text"),
        Column("n", "integer", not_null=True),
        Column("q", "bytes"),  # float64 grid; NULL when no client has a known value
    ),
    primary_key=("feature",),
)
SAMPLE = Table(
    "sample",
    (
        Column("name", "text"),
        Column("kind", "text", not_null=True),
        Column("data", "bytes", not_null=True),
        Column("categories", "text"),
    ),
    primary_key=("name",),
)
POPULATION_GROUPS = Table(
    "population_groups",
    (
        Column("feature", "text", not_null=True),
        Column("axis", "text", not_null=True),
        Column("grp", "integer", not_null=True),
        Column("label", "text"),
        Column("lo", "float"),
        Column("hi", "float"),
        Column("members", "text"),
    ),
    primary_key=("feature", "axis", "grp"),
)
POPULATION_CELLS = Table(
    "population_cells",
    (
        Column("x", "text", not_null=True),
        Column("y", "text", not_null=True),
        Column("xg", "integer", not_null=True),
        Column("yg", "integer", not_null=True),
        Column("n", "integer"),
        Column("repaid", "integer"),
        Column("defaulted", "integer"),
        Column("mean_pd", "float"),
    ),
    primary_key=("x", "y", "xg", "yg"),
)
CAMPAIGN = Table(  # the pre-approved offers' campaign (scoring.decision.campaign): one row, replaced by the next
    "campaign",
    (
        Column("id", "integer"),
        Column("run_at", "text", not_null=True),
        Column("policy_version", "text", not_null=True),
        Column("policy_sha256", "text", not_null=True),
        Column("model_version", "text", not_null=True),
        Column("clients_scored", "integer", not_null=True),
        Column("message", "text", not_null=True),  # JSON {en, fr}: what a customer reads beside their offer
    ),
    primary_key=("id",),
)
OFFERS = Table(
    "offers",
    (
        Column("client_id", "integer"),
        Column("rank", "integer", not_null=True),
        Column("pd", "float", not_null=True),
        Column("grade", "text", not_null=True),
        Column("amount", "float", not_null=True),
        Column("annuity", "float", not_null=True),
        Column("term_months", "integer", not_null=True),
        Column("annual_rate", "float", not_null=True),
        Column("dsti", "float", not_null=True),
    ),
    primary_key=("client_id",),
    indexes=(Index("offers_rank", ("rank",)), Index("offers_grade", ("grade", "rank"))),
)
USERS = Table(
    "users",
    (
        Column("username", "text"),
        Column("password_hash", "text", not_null=True),
        Column("role", "text", not_null=True, check="role IN ('manager', 'customer', 'service')"),
        Column("client_id", "integer"),
        Column("created_at", "text", not_null=True),
        Column("token_epoch", "integer", not_null=True, default="0"),  # 62-bit random; added after the first stores
    ),
    primary_key=("username",),
    kept=True,
)
AUDIT = Table(
    "audit",
    (
        Column("id", "integer"),
        Column("time", "text", not_null=True),
        Column("username", "text"),
        Column("role", "text"),
        Column("client_id", "integer"),
        Column("route", "text", not_null=True),
        Column("outcome", "text", not_null=True),
        Column("model_version", "text"),
        Column("hash", "text"),  # the HMAC chain (scoring.audit); added after the first stores
    ),
    primary_key=("id",),
    kept=True,
    append_only="the audit log is append-only",
)
SIGNIN_ATTEMPTS = Table(
    "signin_attempts",
    (
        Column("scope", "text", not_null=True, check="scope IN ('user', 'address', 'known')"),
        Column("key", "text", not_null=True),
        Column("at", "float", not_null=True),
    ),
    indexes=(Index("signin_attempts_key", ("scope", "key", "at")), Index("signin_attempts_at", ("at",))),
    kept=True,
)

REVIEWS = Table(  # human review requests (Consumer Credit Directive 2023/2225, Art. 18): scoring.store.reviews
    "reviews",
    (
        Column("id", "integer"),
        Column("client_id", "integer", not_null=True),
        Column("requested_by", "text", not_null=True),
        Column("requested_at", "text", not_null=True),
        Column("comment", "text", not_null=True),
        # what was reviewed: the stored decision when the request was made (NULL on a store without decisions)
        Column("decision_outcome", "text"),
        Column("model_version", "text"),
        Column("policy_version", "text"),
        Column("status", "text", not_null=True, check="status IN ('open', 'closed')"),
        Column("open_client", "integer"),  # client_id while open, NULL once closed: unique, one open per client
        Column("reviewer", "text"),
        Column("reviewed_at", "text"),
        Column("result", "text", check="result IS NULL OR result IN ('upheld', 'changed')"),
        Column("new_outcome", "text"),  # when changed
        Column("reason", "text"),
    ),
    primary_key=("id",),
    indexes=(
        Index("reviews_open_client", ("open_client",), unique=True),
        Index("reviews_client", ("client_id", "id")),
        Index("reviews_status", ("status", "id")),
    ),
    kept=True,
)

SHADOW_SCORES = Table(  # each application the champion decided, and the challenger's PD, grade and outcome on it
    "shadow_scores",
    (
        Column("id", "integer"),
        Column("scored_at", "text", not_null=True),  # ISO 8601, UTC
        Column("request_id", "text"),  # the API request's X-Request-ID, or the batch or store run's id
        Column("source", "text", not_null=True, check="source IN ('api', 'batch', 'store')"),
        Column("client_id", "integer"),  # NULL for a new applicant posted to the API
        Column("champion_version", "text", not_null=True),
        Column("challenger_version", "text", not_null=True),
        Column("champion_pd", "float"),  # NULL for a technical refusal
        Column("challenger_pd", "float"),
        Column("champion_grade", "text"),
        Column("challenger_grade", "text"),
        Column("champion_outcome", "text", not_null=True),
        Column("challenger_outcome", "text", not_null=True),
    ),
    primary_key=("id",),
    indexes=(Index("shadow_scores_at", ("scored_at",)),),
    kept=True,
)

# Monitoring (scoring.monitoring): every scored application, and the outcomes imported when they are known.
SCORED_APPLICATIONS = Table(
    "scored_applications",
    (
        Column("id", "integer"),
        Column("scored_at", "text", not_null=True),  # ISO UTC timestamp (a backfilled batch: its --as-of date)
        Column("source", "text", not_null=True, check="source IN ('api', 'batch')"),
        Column("request_id", "text"),  # one per API request or predict run
        Column("client_id", "integer"),  # SK_ID_CURR when the application gave one
        Column("model_version", "text", not_null=True),
        Column("pd", "float", not_null=True),
        Column("grade", "text", not_null=True),
        Column("outcome", "text", not_null=True),  # the decision outcome
        Column("features", "text", not_null=True),  # JSON {feature: value} of the model's features
    ),
    primary_key=("id",),
    indexes=(
        Index("scored_applications_time", ("scored_at",)),
        Index("scored_applications_client", ("client_id",)),
        Index("scored_applications_request", ("request_id",)),
    ),
    kept=True,
)
OUTCOMES = Table(  # read with exactly these columns by `models compare` too
    "outcomes",
    (
        Column("client_id", "integer"),
        Column("defaulted", "integer", not_null=True, check="defaulted IN (0, 1)"),
        Column("observed_on", "text", not_null=True),  # ISO date
        Column("imported_at", "text", not_null=True),  # ISO UTC timestamp of the import that wrote it
    ),
    primary_key=("client_id",),
    kept=True,
)

TABLES = (
    META,
    CLIENTS,
    SCORES,
    DECISIONS,
    QUANTILES,
    SAMPLE,
    POPULATION_GROUPS,
    POPULATION_CELLS,
    CAMPAIGN,
    OFFERS,
    USERS,
    AUDIT,
    SIGNIN_ATTEMPTS,
    REVIEWS,
    SHADOW_SCORES,
    SCORED_APPLICATIONS,
    OUTCOMES,
)
KEPT = tuple(t for t in TABLES if t.kept)
REBUILT = tuple(t for t in TABLES if not t.kept)  # written anew by every build


# ----------------------------------------------------------------------------------------------- SQLite dialect
def _sqlite_column(table: Table, column: Column) -> str:
    return column_definition(table, column, SQLITE_TYPES)


def column_definition(table: Table, column: Column, types: dict[str, str], *extra: str) -> str:
    """A column's DDL in a dialect: its type spelled by `types`, then `extra` clauses (PostgreSQL's identity), the
    primary key, NOT NULL, default and check as declared."""
    parts = [column.name, types[column.type], *extra]
    if table.primary_key == (column.name,):
        parts.append("PRIMARY KEY")
    if column.not_null:
        parts.append("NOT NULL")
    if column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if column.check:
        parts.append(f"CHECK ({column.check})")
    return " ".join(parts)


def _sqlite_table(table: Table) -> list[str]:
    """CREATE TABLE (and its append-only triggers), each IF NOT EXISTS; indexes apart: see _sqlite_indexes."""
    body = [_sqlite_column(table, c) for c in table.columns]
    if len(table.primary_key) > 1:
        body.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    statements = [f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(body)})"]
    if table.append_only:
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS {table.name}_no_{event.lower()} BEFORE {event} ON {table.name} "
            f"BEGIN SELECT RAISE(ABORT, '{table.append_only}'); END"
            for event in ("UPDATE", "DELETE")
        ]
    return statements


def _sqlite_indexes(table: Table) -> list[str]:
    """The table's indexes: a build creates them after the bulk insert, which is faster than keeping them updated."""
    return [
        f"CREATE {'UNIQUE ' if i.unique else ''}INDEX IF NOT EXISTS {i.name} ON {table.name} ({', '.join(i.columns)})"
        for i in table.indexes
    ]


def create_tables(con: sqlite3.Connection, tables) -> None:
    """Create `tables` statement by statement (never executescript, which would commit an open transaction)."""
    for table in tables:
        for statement in _sqlite_table(table):
            con.execute(statement)


def create_indexes(con: sqlite3.Connection, tables) -> None:
    for table in tables:
        for statement in _sqlite_indexes(table):
            con.execute(statement)


def ensure_kept(con: sqlite3.Connection) -> None:
    """The kept tables, created when absent; a column an older store's table lacks is added (with its default)."""
    create_tables(con, KEPT)
    create_indexes(con, KEPT)
    for table in KEPT:
        present = {row[1] for row in con.execute(f"PRAGMA table_info({table.name})")}
        for column in table.columns:
            if column.name in present:
                continue
            try:
                con.execute(f"ALTER TABLE {table.name} ADD COLUMN {_sqlite_column(table, column)}")
            except sqlite3.OperationalError as exc:  # another worker added it first
                if "duplicate column" not in str(exc):
                    raise
