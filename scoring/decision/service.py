"""The one decision path of a new applicant: shared features and policy inputs, PD and grade (and SHAP) through the
model bundle, then the policy. The API's scoring, verification, `predict` and the store build all call it, so a
decision made anywhere equals the one made everywhere else for the same records."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.decision.engine import Decisions, decide, decide_many
from scoring.decision.policy_file import Policy
from scoring.decision.record import Decision
from scoring.tables import SCHEMAS

_HISTORY_TABLES = tuple(name for name in SCHEMAS if not name.startswith("application"))


@dataclass(frozen=True)
class Decided:
    """Everything one pass computed for a batch of applicants, rows in the order given."""

    features: pd.DataFrame
    policy_inputs: pd.DataFrame
    scores: pd.DataFrame  # pd, grade, decision (at the model threshold), raw_score
    base: float | None  # SHAP expected value (log-odds), when explained
    contributions: np.ndarray | None  # rows x features, when explained
    decisions: Decisions


def decide_features(bundle, policy: Policy, features, policy_inputs, *, explain: bool = False) -> Decided:
    """PD, grade (SHAP when `explain`) and decisions of rows whose features and policy inputs are known."""
    if explain:
        scores, base, contributions = bundle.score_and_explain(features)
    else:
        scores, base, contributions = bundle.score(features), None, None
    decisions = decide_many(
        features, policy_inputs, scores["pd"], scores["grade"], bundle.threshold, policy, bundle.version
    )
    return Decided(features, policy_inputs, scores, base, contributions, decisions)


def decide_records(bundle, policy: Policy, application: pd.DataFrame, history: dict, *, explain=False) -> Decided:
    """decide_features of raw rows in Kaggle names (one row per SK_ID_CURR, history tables keyed by it)."""
    from scoring.features import features_and_policy_inputs_from_records

    features, policy_inputs = features_and_policy_inputs_from_records(application, history)
    return decide_features(bundle, policy, features, policy_inputs, explain=explain)


def decide_applicants(bundle, policy: Policy, applicants: list[tuple[dict, dict]], *, explain=False) -> Decided:
    """decide_records of validated applicants as posted: (application fields, {table: [records]}) pairs."""
    application, history = applicant_frames(applicants)
    return decide_records(bundle, policy, application, history, explain=explain)


def stored_decision(stored: dict, policy: Policy) -> Decision:
    """The full record of a stored client, rebuilt from what the store keeps (`ClientStore.get_decision`)."""
    features = pd.Series(stored["features"], name=stored["client_id"], dtype=object)
    policy_inputs = pd.Series(stored["policy_inputs"], name=stored["client_id"], dtype=object)
    return decide(
        features, policy_inputs, stored["pd"], stored["grade"], stored["threshold"], policy, stored["model_version"]
    )


def applicant_frames(applicants: list[tuple[dict, dict]]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """One frame per table; applicants get ids 1..n (and fresh bureau ids) so their records never mix."""
    apps, history = [], {name: [] for name in _HISTORY_TABLES}
    for i, (app, hist) in enumerate(applicants, start=1):
        apps.append({**app, "SK_ID_CURR": i})
        bureau_ids = {}
        for rec in hist.get("bureau", []):
            bureau_ids.setdefault(rec.get("SK_ID_BUREAU"), len(bureau_ids) + 1)
        for name, records in hist.items():
            for rec in records:
                row = dict(rec)
                if "SK_ID_CURR" in SCHEMAS[name]:
                    row["SK_ID_CURR"] = i
                if "SK_ID_BUREAU" in SCHEMAS[name]:
                    known = bureau_ids.get(rec.get("SK_ID_BUREAU"))
                    row["SK_ID_BUREAU"] = i * 1_000_000 + known if known else None
                history[name].append(row)
    app_frame = _typed_frame("application_test", apps)
    app_frame["SK_ID_CURR"] = app_frame["SK_ID_CURR"].astype("int64")
    return app_frame, {name: _typed_frame(name, rows) for name, rows in history.items() if rows}


def _typed_frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """Validated records as a frame in the table's column order: text as objects, numbers as float64, NaN missing.

    Built column by column from arrays: a pandas cast per column costs ~40 ms for one application row.
    """
    return pd.DataFrame(
        {
            col: np.array(
                [np.nan if (v := row.get(col)) is None else v for row in rows],
                dtype=object if kind == "str" else "float64",
            )
            for col, kind in SCHEMAS[table].items()
        }
    )
