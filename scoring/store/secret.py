"""The token-signing secret when SCORING_SECRET_KEY is not set, shared by every worker and node of one store.

Beside a SQLite file it is the 0600 `.secret_key` file; in a PostgreSQL store it is a row of the kept schema's
`secrets` table, created once atomically (INSERT ... ON CONFLICT DO NOTHING), so a token signed on one node is
valid on every other. The audit chain's key derives from it unless SCORING_AUDIT_KEY is set. Production sets both
variables; this is the default that keeps a demo and a test consistent.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

from scoring.store.location import store_location

TOKEN = "token"  # noqa: S105 - the name of the secret's row in the secrets table, not a secret


def stored_secret(location, *, create: bool = True) -> str | None:
    """The store's secret; made when absent (None then if `create` is false)."""
    found = store_location(location)
    if isinstance(found, str):
        return _database_secret(found, create)
    return _file_secret(Path(found).parent / ".secret_key", create)


def describe_secret(location) -> str:
    """Where the stored secret lives, for a message (never the URL)."""
    found = store_location(location)
    if isinstance(found, str):
        return "the secrets table of the PostgreSQL store"
    return f"the .secret_key file beside {found}"


def _file_secret(key_file: Path, create: bool) -> str | None:
    if key_file.exists():
        return key_file.read_text().strip()
    if not create:
        return None
    key_file.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race: use its key
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(candidate)
    return candidate


def _database_secret(url: str, create: bool) -> str | None:
    from scoring.store import postgres_schema as pg
    from scoring.store.postgres_kept import ensure_kept
    from scoring.store.postgres_pool import pool

    ensure_kept(url)
    table = f"{pg.KEPT_SCHEMA}.{pg.SECRETS.name}"
    with pool(url).connection() as con:
        if create:  # the first node to get here makes it; the others read the one made
            con.execute(
                f"INSERT INTO {table} (name, value, created_at) VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING",
                (TOKEN, secrets.token_urlsafe(48), datetime.now(timezone.utc).isoformat(timespec="seconds")),
            )
        row = con.execute(f"SELECT value FROM {table} WHERE name = %s", (TOKEN,)).fetchone()
    return None if row is None else row[0]


def copy_file_secret(source_store: Path, con) -> bool:
    """Migration: the `.secret_key` beside a SQLite store into the PostgreSQL secrets table (in `con`'s
    transaction), so the migrated audit chain still verifies and its tokens stay valid; False without one."""
    from scoring.store import postgres_schema as pg

    key_file = Path(source_store).parent / ".secret_key"
    if not key_file.exists():
        return False
    con.execute(
        f"INSERT INTO {pg.KEPT_SCHEMA}.{pg.SECRETS.name} (name, value, created_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, created_at = EXCLUDED.created_at",
        (TOKEN, key_file.read_text().strip(), datetime.now(timezone.utc).isoformat(timespec="seconds")),
    )
    return True
