"""The model card and global importance, with readable labels."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from api.auth import require
from api.io import int_arg, lang_arg
from scoring import labels

bp = Blueprint("model", __name__)


@bp.get("/api/v1/model")
@require("manager", "customer")
def card():
    bundle = current_app.config["BUNDLE"]
    meta = current_app.config["STORE"].meta()
    return jsonify(
        {
            "version": bundle.version,
            "threshold": bundle.threshold,
            "grades": bundle.grades.as_table(),
            "data_source": meta.get("data_source", bundle.card.get("data_source")),
            "store_model_version": meta.get("model_version"),
            "card": bundle.card,
        }
    )


@bp.get("/api/v1/model/importance")
@require("manager", "customer")
def importance():
    top = int_arg("top", 20, 1, 200)
    lang = lang_arg()
    items = current_app.config["BUNDLE"].importance[:top]
    return jsonify(
        {
            "units": "mean |SHAP| in log-odds",
            "items": [
                {
                    "feature": i["feature"],
                    "label": labels.label(i["feature"], lang),
                    "group": labels.group(i["feature"]),
                    "mean_abs_shap": i["mean_abs_shap"],
                }
                for i in items
            ],
        }
    )
