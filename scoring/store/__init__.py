"""The client store: one interface (ClientStore), opened by location (open_store), built by build_store.

A file path selects the SQLite backend; a postgresql:// URL selects PostgreSQL (issue #14). Callers use the
names below and never a backend module, so a second backend is a new module, not edits everywhere.
"""

from __future__ import annotations

from scoring.store.build import build_store, explain_all
from scoring.store.generation import regenerate, store_exists, store_model_version
from scoring.store.interface import (
    REVIEW_OUTCOMES,
    REVIEW_REASON_PATTERN,
    REVIEW_RESULTS,
    REVIEW_TEXT_MAX,
    REVIEW_TEXT_PATTERN,
    AggregatesMissing,
    ClientStore,
    DecisionsMissing,
    NotReleased,
    ReviewConflict,
)
from scoring.store.location import describe_location, postgres_url, sqlite_file, store_location
from scoring.store.offers import save_offers
from scoring.store.secret import describe_secret, stored_secret

__all__ = [
    "REVIEW_OUTCOMES",
    "REVIEW_REASON_PATTERN",
    "REVIEW_RESULTS",
    "REVIEW_TEXT_MAX",
    "REVIEW_TEXT_PATTERN",
    "AggregatesMissing",
    "ClientStore",
    "DecisionsMissing",
    "NotReleased",
    "ReviewConflict",
    "build_store",
    "database_problem",
    "describe_location",
    "describe_secret",
    "explain_all",
    "migrate_store",
    "open_store",
    "postgres_url",
    "regenerate",
    "save_offers",
    "sqlite_file",
    "store_exists",
    "store_model_version",
    "stored_secret",
    "store_location",
]


def open_store(location=None) -> ClientStore:
    """The store at `location` (SCORING_STORE when None), for reading; FileNotFoundError when none is there."""
    found = store_location(location)
    if isinstance(found, str):
        from scoring.store.postgres import PostgresStore

        return PostgresStore(found)
    from scoring.store.sqlite import SQLiteStore

    return SQLiteStore(found)


def database_problem(url: str) -> str | None:
    """Why the PostgreSQL store at `url` cannot serve (unreachable, not built, a table missing), or None: what the
    API's readiness probe says of a database, as it stats and opens a SQLite file."""
    from scoring.store.postgres import serving_problem

    return serving_problem(url)


def migrate_store(source, url: str) -> dict[str, int]:
    """Copy every table of the SQLite store file `source` into the PostgreSQL store at `url`; rows per table."""
    from scoring.store.postgres_build import migrate

    return migrate(source, url)
