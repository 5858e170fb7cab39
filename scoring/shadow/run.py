"""Shadow scoring of a whole run (batch `predict`, a store build or re-scoring): the challenger is loaded once,
each chunk the champion decided gets its rows, and they are logged when the run has its store to log them in.

A store build logs after its generation is switched in (the kept tables of the old file are copied into the new
one first); `predict` logs each chunk into the configured store, when there is one. A challenger that fails is
logged and dropped: the run itself goes on and its output is the champion's.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from scoring.shadow.challenger import load_challenger
from scoring.shadow.log import write_rows
from scoring.shadow.rows import shadow_rows

log = logging.getLogger("scoring.shadow")


class ShadowRun:
    """The challenger's rows of one run into `store`, with one run id as their request_id. The challenger is
    loaded at the first chunk, once the champion's version is known."""

    def __init__(self, models_dir, *, source: str, policy_path=None, store=None, scored_at: str | None = None):
        self.models_dir, self.source, self.policy_path, self.store = models_dir, source, policy_path, store
        self.scored_at = scored_at  # the rows' time when given (predict --as-of), else when each chunk is scored
        self.challenger, self.loaded = None, store is None  # no store to log in: no challenger to run
        self.request_id = f"{source}-{secrets.token_hex(8)}"
        self.rows: list[tuple] = []
        self.failures = 0

    def add(self, decided, client_ids) -> None:
        """The challenger's decisions of this chunk, kept until write(); a failure stops shadow scoring the run."""
        if not self.loaded:
            self.loaded = True
            self.challenger = load_challenger(self.models_dir, decided.decisions.model_version, self.policy_path)
        if self.challenger is None:
            return
        try:
            self.rows += shadow_rows(
                decided,
                self.challenger,
                source=self.source,
                request_id=self.request_id,
                client_ids=client_ids,
                at=self.scored_at,
            )
        except Exception as exc:  # noqa: BLE001 - the champion's run never fails for the challenger
            log.error("shadow scoring stopped for this run (%s)", type(exc).__name__)
            self.failures += 1
            self.challenger, self.rows = None, []

    def write(self) -> int:
        """Log the rows kept so far into the run's store, then forget them; returns rows written (0 on a failure)."""
        rows, self.rows = self.rows, []
        if not rows:
            return 0
        try:
            return write_rows(self.store, rows)
        except Exception as exc:  # noqa: BLE001 - the champion's results are written already
            log.error("shadow scores not logged (%s: %d rows)", type(exc).__name__, len(rows))
            self.failures += 1
            return 0


def shadow_batch(models_dir, policy_path=None, *, store=None, scored_at: str | None = None) -> ShadowRun:
    """`predict`'s shadow run: each chunk's rows logged into `store` (predict's --store; SCORING_STORE when None),
    when there is one (a batch scored on a machine without a store is not shadow scored), dated `scored_at` when
    given (--as-of, as its monitoring records are)."""
    from scoring.store import store_location

    try:
        found = store_location(store)
    except ValueError:
        found = None
    if isinstance(found, Path) and not found.exists():
        found = None
    return ShadowRun(models_dir, source="batch", policy_path=policy_path, store=found, scored_at=scored_at)
