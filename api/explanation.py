"""The explanation payload shared by stored clients and new applicants: contributions, others, reason sentences."""

from __future__ import annotations

from flask import current_app, g, request

from api.errors import ApiError
from scoring import labels
from scoring.contributions import pd_path
from scoring.reasons import worded, worded_reasons
from scoring.values import plain

UNITS = ("log-odds", "pd")


def audience() -> str:
    """Whom the reason sentences speak to: a customer reads "you"; managers (and services) read "the client"."""
    return "customer" if g.user["role"] == "customer" else "manager"


def units_arg() -> str:
    """?units=log-odds|pd; by default PD points for a customer, log-odds (exact SHAP) for everyone else."""
    raw = request.args.get("units")
    if raw is None:
        return "pd" if g.user["role"] == "customer" else "log-odds"
    if raw not in UNITS:
        raise ApiError(
            422, "invalid_query", "units must be log-odds or pd", [{"field": "units", "message": "log-odds or pd"}]
        )
    return raw


def payload(
    base_value: float,
    shap: dict,
    values: dict,
    total: float,
    n_features: int,
    lang: str,
    score: dict,
    generation: str | None = None,
    units: str = "log-odds",
    audience: str = "customer",
) -> dict:
    """`shap`: the contributions to show, largest |SHAP| first (reasons.top_indices); `total`: the sum of all.

    units "pd" keeps the log-odds and adds the same path in PD (scoring.contributions): base_pd, final_pd, and
    pd_points per contribution and for the others, which add up to final_pd - base_pd."""
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
    ranked = worded(shap, 5)  # ranked once: the percentiles and the sentences of the same five
    percentiles = store.percentiles({f: values.get(f) for f, _ in ranked}, generation)
    out = {
        **score,
        "units": units,
        "base_value": float(base_value),
        "raw_score": float(base_value + total),
        "contributions": contributions,
        "others": {"count": n_features - len(shown), "shap": float(total - sum(s for _, s in shown))},
        "reasons": worded_reasons(ranked, values, percentiles, lang, audience),
    }
    return _with_pd(out) if units == "pd" else out


def _with_pd(out: dict) -> dict:
    """The log-odds waterfall walked in PD through the served model's calibration, the map that made the PD."""
    calibrator = current_app.config["BUNDLE"].calibrator
    path = pd_path(
        out["base_value"],
        [c["shap"] for c in out["contributions"]],
        out["others"]["shap"],
        out["raw_score"],
        calibrator.a,
        calibrator.b,
    )
    for contribution, step in zip(out["contributions"], path.steps, strict=True):
        contribution["pd_points"] = step
    out["others"]["pd_points"] = path.others
    return {**out, "base_pd": path.base_pd, "final_pd": path.final_pd}
