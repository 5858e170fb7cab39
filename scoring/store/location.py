"""Which backend a store location names: a file path is the SQLite file; a postgresql:// URL is PostgreSQL (#14)."""

from __future__ import annotations

import re
from pathlib import Path

# "scheme:/..." (pathlib turns "postgresql://host/db" into "postgresql:/host/db"); two letters or more, so that a
# drive letter is not taken for a scheme
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")


def sqlite_file(location=None) -> Path:
    """The SQLite file at `location` (SCORING_STORE when None); ValueError for a URL, rather than a file named so."""
    if location is None:
        from scoring.config import settings

        location = settings().store_path
    url = _URL.match(str(location))
    if url is None:
        return Path(location)
    scheme = url.group(1).lower()
    if scheme in ("postgresql", "postgres"):  # the URL itself is not repeated: it may hold a password
        raise ValueError(
            "a postgresql:// store needs the PostgreSQL backend, which is not available yet (issue #14); "
            "give the path of a SQLite store file"
        )
    raise ValueError(f"unknown store location scheme {scheme!r}: give the path of a SQLite store file")
