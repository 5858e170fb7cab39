"""Which backend a store location names: a file path is the SQLite file; a postgresql:// URL is PostgreSQL (#14).

A URL is never printed or logged (it may hold a password): `describe_location` names a location for messages.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

# "scheme:/..." (pathlib turns "postgresql://host/db" into "postgresql:/host/db"); two letters or more, so that a
# drive letter is not taken for a scheme
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")


def store_location(location=None) -> Path | str:
    """The location as a backend reads it: a postgresql:// URL as text, anything else a Path (SCORING_STORE when
    None). ValueError for another scheme, or a URL a Path has already folded ("postgresql:/host/db")."""
    if location is None:
        from scoring.config import settings

        location = settings().store
    return _parsed(location) if isinstance(location, str | Path) else _parse(location)


@functools.lru_cache(maxsize=64)
def _parsed(location: str | Path) -> Path | str:
    """_parse, remembered: every request names its store (the kept writes, the availability probe)."""
    return _parse(location)


def _parse(location) -> Path | str:
    url = _URL.match(str(location))
    if url is None:
        return Path(location)
    scheme = url.group(1).lower()
    if scheme in ("postgresql", "postgres"):  # the URL itself is not repeated: it may hold a password
        if isinstance(location, Path) or not str(location)[url.end() :].startswith("/"):
            raise ValueError("a postgresql:// store URL was read as a file path, which loses its '//': pass it as text")
        return str(location)
    raise ValueError(f"unknown store location scheme {scheme!r}: give the path of a SQLite store file")


def postgres_url(location=None) -> str | None:
    """The PostgreSQL URL at `location`, None when it names a SQLite file. `location` may be a store object too:
    a SQLiteStore's `path`, a PostgresStore's `location` (what the kept tables' writers are handed)."""
    target = getattr(location, "path", None) or getattr(location, "location", None) or location
    found = store_location(target)
    return found if isinstance(found, str) else None


def sqlite_file(location=None) -> Path:
    """The SQLite file at `location` (SCORING_STORE when None); ValueError for a URL, rather than a file named so."""
    found = store_location(location)
    if isinstance(found, str):
        raise ValueError("this needs a SQLite store file; the store here is a PostgreSQL database (postgresql://)")
    return found


def describe_location(location=None) -> str:
    """The location for a message: the file's path, or which PostgreSQL database (never user, password or host)."""
    found = store_location(location)
    if isinstance(found, Path):
        return str(found)
    from psycopg.conninfo import conninfo_to_dict

    return f"PostgreSQL database {conninfo_to_dict(found).get('dbname', '(default)')}"
