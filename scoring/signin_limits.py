"""Sign-in attempt limits per address and per username, kept in the store so every worker (and, on PostgreSQL,
every node) shares them.

Checked before the password hash is computed, so a flood is refused for the price of two indexed reads.
- Per address: at most SCORING_SIGNIN_MAX_PER_ADDRESS failures in SCORING_SIGNIN_WINDOW seconds.
- Per username: after SCORING_SIGNIN_MAX_PER_USER failures in the window, each further try waits an
  exponential back-off (2 s, 4 s, 8 s ...) capped at SCORING_SIGNIN_MAX_BACKOFF seconds; refused tries do not
  count, so an attacker guesses at most once per back-off while the real user is never locked for longer.
- An address from which the user signed in within SCORING_SIGNIN_KNOWN_DAYS is exempt from the username
  back-off (not from its own address limit): an attacker elsewhere cannot keep the owner out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from scoring.config import settings
from scoring.store.connection import connect, execute, kept_write


@dataclass(frozen=True)
class Limits:
    window: float
    per_address: int
    per_user: int
    max_backoff: float
    known_seconds: float


def limits() -> Limits:
    s = settings()
    return Limits(
        window=s.signin_window,
        per_address=s.signin_max_per_address,
        per_user=s.signin_max_per_user,
        max_backoff=s.signin_max_backoff,
        known_seconds=s.signin_known_days * 86400,
    )


def _known_key(username: str, address: str) -> str:
    return f"{username}\n{address}"


def retry_after(store, username: str, address: str, now: float | None = None) -> int:
    """Seconds to wait before this attempt may be checked (0: go ahead)."""
    lim, now = limits(), time.time() if now is None else now
    con = connect(store)
    since = now - lim.window
    rows = execute(
        con,
        "SELECT at FROM signin_attempts WHERE scope = 'address' AND key = ? AND at > ? ORDER BY at DESC LIMIT ?",
        (address, since, lim.per_address),
    ).fetchall()
    wait = 0.0
    if len(rows) >= lim.per_address:  # the oldest of the last N leaves the window first
        wait = rows[-1][0] + lim.window - now
    known = execute(
        con,
        "SELECT 1 FROM signin_attempts WHERE scope = 'known' AND key = ? AND at > ?",
        (_known_key(username, address), now - lim.known_seconds),
    ).fetchone()
    if known is None:
        failures = execute(
            con,
            "SELECT count(*), max(at) FROM signin_attempts WHERE scope = 'user' AND key = ? AND at > ?",
            (username, since),
        ).fetchone()
        if failures[0] >= lim.per_user:
            backoff = min(2.0 ** (failures[0] - lim.per_user + 1), lim.max_backoff)
            wait = max(wait, failures[1] + backoff - now)
    return math.ceil(wait) if wait > 0 else 0


def record_failure(store, username: str, address: str, now: float | None = None) -> None:
    """Count a wrong password (or unknown user) against both the username and the address."""
    lim, now = limits(), time.time() if now is None else now
    with kept_write(store) as con:
        horizon = now - max(lim.window, lim.max_backoff)
        execute(con, "BEGIN IMMEDIATE")
        try:
            # forget what has expired, a few rows per failure: the table stays as small as what is live, even under
            # a spray of made-up usernames from many addresses
            # portable SQL (no rowid): the rows at the 10 oldest expired times, a few more when times are equal
            con.execute(
                "DELETE FROM signin_attempts WHERE scope != 'known' AND at < ? AND at IN (SELECT at FROM "
                "signin_attempts WHERE at < ? AND scope != 'known' ORDER BY at LIMIT 10)",
                (horizon, horizon),
            )
            con.execute(
                "DELETE FROM signin_attempts WHERE scope = 'known' AND at < ? AND at IN (SELECT at FROM "
                "signin_attempts WHERE at < ? AND scope = 'known' ORDER BY at LIMIT 10)",
                (now - lim.known_seconds, now - lim.known_seconds),
            )
            con.executemany(
                "INSERT INTO signin_attempts (scope, key, at) VALUES (?, ?, ?)",
                [("user", username, now), ("address", address, now)],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def record_success(store, username: str, address: str, now: float | None = None) -> None:
    """Reset the username's failures and remember the address as one the user signs in from."""
    now = time.time() if now is None else now
    with kept_write(store) as con:
        execute(con, "BEGIN IMMEDIATE")
        try:
            con.execute(
                "DELETE FROM signin_attempts WHERE (scope = 'user' AND key = ?) OR (scope = 'known' AND key = ?)",
                (username, _known_key(username, address)),
            )
            con.execute(
                "INSERT INTO signin_attempts (scope, key, at) VALUES ('known', ?, ?)",
                (_known_key(username, address), now),
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
