"""The explanation payload shared by stored clients and new applicants: contributions, others, reason sentences."""

from __future__ import annotations

import math

import numpy as np
from flask import current_app

from scoring import labels
from scoring.reasons import reasons


def _json_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _ranked(shap: dict, top: int) -> list[tuple[str, float]]:
    """The `top` largest contributions by |SHAP|, ties in feature order (one numpy sort, not 250 Python keys)."""
    names = list(shap)
    magnitude = np.abs(np.fromiter(shap.values(), dtype="float64", count=len(names)))
    order = np.argsort(-magnitude, kind="stable")[:top]
    return [(names[i], shap[names[i]]) for i in order.tolist()]


def payload(base_value: float, shap: dict, values: dict, top: int, lang: str, score: dict) -> dict:
    store = current_app.config["STORE"]
    shown = _ranked(shap, top)
    total = float(sum(shap.values()))
    shown_total = float(sum(s for _, s in shown))
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
        "raw_score": float(base_value + total),
        "contributions": contributions,
        "others": {"count": len(shap) - len(shown), "shap": total - shown_total},
        "reasons": reasons({"shap": dict(shown), "values": values}, percentiles, top=min(top, 5), lang=lang),
    }
