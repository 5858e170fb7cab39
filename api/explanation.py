"""The explanation payload shared by stored clients and new applicants: contributions, others, reason sentences."""

from __future__ import annotations

import math

from flask import current_app

from scoring import labels
from scoring.reasons import reasons


def _json_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def payload(base_value: float, shap: dict, values: dict, top: int, lang: str, score: dict) -> dict:
    store = current_app.config["STORE"]
    ranked = sorted(shap.items(), key=lambda kv: -abs(kv[1]))
    shown, rest = ranked[:top], ranked[top:]
    contributions = [
        {
            "feature": f,
            "label": labels.label(f, lang),
            "value": _json_value(values.get(f)),
            "display": labels.display_text(f, values.get(f), lang),
            "shap": float(s),
        }
        for f, s in shown
    ]
    percentiles = store.percentiles({f: values.get(f) for f, _ in shown[:8]})
    return {
        **score,
        "units": "log-odds",
        "base_value": float(base_value),
        "raw_score": float(base_value + sum(shap.values())),
        "contributions": contributions,
        "others": {"count": len(rest), "shap": float(sum(s for _, s in rest))},
        "reasons": reasons({"shap": dict(shown), "values": values}, percentiles, top=min(top, 5), lang=lang),
    }
