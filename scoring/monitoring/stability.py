"""Population stability per period: PSI of the score and of the top features of the recorded applications against
the training reference, with the level (stable, watch, act) of the score's PSI.

Only the applications scored by the reference's model version count (another model's PD is another score). A
period holding fewer than min_applications gets no PSI and no level.
"""

from __future__ import annotations

import numpy as np
import orjson

from scoring.monitoring import periods, psi, records
from scoring.monitoring.levels import Levels
from scoring.monitoring.reference import reference_for


def top_features(bundle, reference: dict, top: int) -> list[str]:
    """The bundle's most important features (training mean |SHAP|) that the reference has bins for."""
    names = [item["feature"] for item in bundle.importance if item["feature"] in reference["features"]]
    return names[:top]


def period_psi(reference: dict, features: list[str], rows: list, levels: Levels) -> dict:
    """{n, score_psi, feature_psi, level} of rows (scored_at, client_id, pd, grade, outcome, version, features)."""
    n = len(rows)
    if n < levels.min_applications:
        return {"n": n, "score_psi": None, "feature_psi": dict.fromkeys(features), "level": None}
    floor = levels.empty_bin_share
    score = psi.psi_of(reference["score"], np.array([r[2] for r in rows], dtype="float64"), floor)
    parsed = [orjson.loads(r[6]) for r in rows]
    feature_psi = {}
    for name in features:
        spec = reference["features"][name]
        feature_psi[name] = psi.psi_of(spec, [p.get(name) for p in parsed], floor)
    return {"n": n, "score_psi": score, "feature_psi": feature_psi, "level": levels.level(score)}


class NoReference(ValueError):
    """No training reference: the bundle predates it and the store was scored by another model."""


def stability(location, store, bundle, period: str, top: int, levels: Levels) -> dict:
    """The stability report of every period holding applications recorded in the store at `location`, oldest
    first, against the bundle's reference (or the store's training split: scoring.monitoring.reference)."""
    periods.check_period(period)
    reference = reference_for(bundle, store)
    if reference is None:
        raise NoReference(
            f"model {bundle.version} has no monitoring reference and the store was scored by another model: "
            "retrain, or rebuild the store with this model"
        )
    features = top_features(bundle, reference, top)
    rows = records.read(location, model_version=reference["model_version"], features=True)
    out = []
    for entry in periods.group([r[0] for r in rows], period).values():
        chosen = [rows[i] for i in entry["rows"]]
        head = {"period": entry["period"], "start": entry["start"], "end": entry["end"]}
        out.append(head | period_psi(reference, features, chosen, levels))
    return {
        "period": period,
        "levels": levels.as_dict(),
        "reference": {"model_version": reference["model_version"], "source": reference["source"], "n": reference["n"]},
        "features": features,
        "periods": out,
        "data_source": store.meta().get("data_source", "real"),
    }
