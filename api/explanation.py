"""The explanation payload shared by stored clients and new applicants: contributions, others, reason sentences."""

from __future__ import annotations

from flask import current_app

from scoring import labels
from scoring.reasons import reasons, worded
from scoring.values import plain


def payload(
    base_value: float,
    shap: dict,
    values: dict,
    total: float,
    n_features: int,
    lang: str,
    score: dict,
    generation: str | None = None,
) -> dict:
    """`shap`: the contributions to show, largest |SHAP| first (reasons.top_indices); `total`: the sum of all."""
    store = current_app.config["STORE"]
    shown = list(shap.items())
    contributions = [
        {
            "feature": f,
            "label": labels.label(f, lang),
            "value": plain(values.get(f)),
            "display": labels.display_text(f, values.get(f), lang),
            "shap": float(s),
        }
        for f, s in shown
    ]
    n_reasons = min(len(shown), 5)
    percentiles = store.percentiles({f: values.get(f) for f, _ in worded(shap, n_reasons)}, generation)
    return {
        **score,
        "units": "log-odds",
        "base_value": float(base_value),
        "raw_score": float(base_value + total),
        "contributions": contributions,
        "others": {"count": n_features - len(shown), "shap": float(total - sum(s for _, s in shown))},
        "reasons": reasons({"shap": shap, "values": values}, percentiles, top=n_reasons, lang=lang),
    }
