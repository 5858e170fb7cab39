"""The challenger's decision of applicants the champion has just decided, from the same features and policy
inputs (computed once), without SHAP; and both side by side as rows of `shadow_scores`."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from scoring.decision.record import TECHNICAL_REFUSAL

# the columns written, in order (id is numbered by the database)
COLUMNS = (
    "scored_at",
    "request_id",
    "source",
    "client_id",
    "champion_version",
    "challenger_version",
    "champion_pd",
    "challenger_pd",
    "champion_grade",
    "challenger_grade",
    "champion_outcome",
    "challenger_outcome",
)
SOURCES = ("api", "batch", "store")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def shadow_rows(decided, challenger: tuple, *, source: str, request_id, client_ids=None, at=None) -> list[tuple]:
    """One row per applicant of `decided` (scoring.decision.service.Decided, the champion's pass): the
    challenger (bundle, policy) decides the same features and policy inputs. A technical refusal has no PD or
    grade on either side. `client_ids`: the clients' ids in the store or the input file (None: new applicants);
    `at`: the rows' time (a backfilled cohort's `predict --as-of`), now by default."""
    return shadow_rows_of_many([(decided, request_id, client_ids, at)], challenger, source=source)


def shadow_rows_of_many(passes: list[tuple], challenger: tuple, *, source: str) -> list[tuple]:
    """shadow_rows of several champion passes, each (decided, request_id, client_ids, at), in one challenger pass
    over all their applicants: the API's queued requests decided at once, a pass's fixed cost paid once."""
    import pandas as pd

    from scoring.decision.service import decide_features

    _check(source)  # before the challenger's pass
    bundle, policy = challenger
    if len(passes) == 1:
        features, inputs = passes[0][0].features, passes[0][0].policy_inputs
    else:  # one frame of every applicant, numbered afresh: each pass numbers its own applicants from 1
        features = pd.concat([p[0].features for p in passes], ignore_index=True)
        inputs = pd.concat([p[0].policy_inputs for p in passes], ignore_index=True)
    theirs = _columns(decide_features(bundle, policy, features, inputs, explain=False))
    out, k, stamp = [], 0, now()
    for decided, request_id, client_ids, at in passes:
        ours = _columns(decided)
        n = len(ours[0])
        out += side_by_side(
            (decided.decisions.model_version, *ours),
            (bundle.version, *(column[k : k + n] for column in theirs)),
            at=at or stamp,
            request_id=request_id,
            source=source,
            client_ids=client_ids,
        )
        k += n
    return out


def side_by_side(champion: tuple, challenger: tuple, *, at: str, request_id, source: str, client_ids) -> list[tuple]:
    """The rows of applicants both models decided, `champion` and `challenger` each (version, PDs, grades, outcomes),
    one value per applicant, `client_ids` None for new applicants. A technical refusal has no PD or grade. The one
    place a row is made: for shadow_rows_of_many and for the columns the Spark engine's workers hand its driver."""
    _check(source)
    (ours, ours_pd, ours_grade, ours_outcome), (theirs, theirs_pd, theirs_grade, theirs_outcome) = champion, challenger
    ids = [None] * len(ours_outcome) if client_ids is None else [int(i) for i in client_ids]
    out = []
    for i, cid in enumerate(ids):
        mine, other = str(ours_outcome[i]), str(theirs_outcome[i])
        out.append(
            (
                at,
                request_id,
                source,
                cid,
                ours,
                theirs,
                None if mine == TECHNICAL_REFUSAL else float(ours_pd[i]),
                None if other == TECHNICAL_REFUSAL else float(theirs_pd[i]),
                None if mine == TECHNICAL_REFUSAL else str(ours_grade[i]),
                None if other == TECHNICAL_REFUSAL else str(theirs_grade[i]),
                mine,
                other,
            )
        )
    return out


def _columns(decided) -> tuple:
    """(PDs, grades, outcomes) of a pass, as arrays in its row order."""
    scores = decided.scores
    return scores["pd"].to_numpy(), scores["grade"].to_numpy(), np.asarray(decided.decisions.outcome, dtype=object)


def _check(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
