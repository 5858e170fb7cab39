"""Feature catalogue and population views: distributions, and bivariate points (managers) or 2-D bins (customers)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from api.audit import audit
from api.auth import check_client_access, require, sees_individual_rows
from api.errors import ApiError
from api.io import int_arg, lang_arg
from scoring import labels
from scoring.store import AggregatesMissing, NotReleased

bp = Blueprint("features", __name__)


def _store():
    return current_app.config["STORE"]


def _feature(name: str, param: str = "name") -> str:
    meta = _store().meta()
    if name not in set(meta["feature_names"]):
        raise ApiError(
            404, "unknown_feature", f"unknown feature {name!r}", [{"field": param, "message": "unknown feature"}]
        )
    return name


def _client_value(feature: str):
    """The chosen client's value of `feature`; a customer's default is their own file."""
    raw = request.args.get("client_id")
    if raw in (None, "") and g.user["role"] == "customer":
        raw = g.user["client_id"]
    if raw in (None, ""):
        return None, None
    cid = check_client_access(raw)
    client = _store().get_client(cid)
    if client is None:
        raise ApiError(404, "not_found", "client not found")
    return cid, client["features"].get(feature)


def _released(x: str, y: str | None = None) -> dict:
    """A customer's view: only aggregates fixed at build time (store.population); `bins` is not theirs to choose."""
    store = _store()
    try:
        out = store.released_distribution(x) if y is None else store.released_density(x, y)
    except AggregatesMissing as exc:
        raise ApiError(503, "aggregates_unavailable", str(exc)) from None
    except NotReleased:
        grid = store.aggregation().get("grid_features", [])
        raise ApiError(
            422,
            "pair_not_released",
            "2-D views are available for two different features among: " + ", ".join(grid),
            [{"field": "y", "message": "choose another pair of features"}],
        ) from None
    agg = store.aggregation()
    out = dict(out)
    out["min_cell"] = agg.get("min_group")
    out["aggregation"] = {
        **{k: agg.get(k) for k in ("fixed", "min_group", "mechanism", "epsilon")},
        "bins_ignored": "bins" in request.args,
    }
    return out


@bp.get("/api/v1/features")
@require("manager", "customer")
def catalogue():
    lang = lang_arg()
    meta = _store().meta()
    model = set(meta.get("model_features", meta["feature_names"]))
    categorical = set(meta.get("categorical_features", []))
    grid = set(_store().aggregation().get("grid_features", []))
    return jsonify(
        {
            "items": [
                {
                    "name": f,
                    "label": labels.label(f, lang),
                    "group": labels.group(f),
                    "unit": labels.unit(f),
                    "type": "categorical" if f in categorical else "numeric",
                    "in_model": f in model,
                    "in_grid": f in grid,
                }
                for f in meta["feature_names"]
            ]
        }
    )


@bp.get("/api/v1/features/<name>/distribution")
@require("manager", "customer")
def distribution(name: str):
    feature = _feature(name)
    bins = int_arg("bins", 30, 2, 100)
    lang = lang_arg()
    out = _store().distribution(feature, bins) if sees_individual_rows() else _released(feature)
    out["label"] = labels.label(feature, lang)
    cid, value = _client_value(feature)
    if cid is not None:
        out["client"] = {
            "client_id": cid,
            "value": value,
            "display": labels.display_text(feature, value, lang),
            "percentile": _store().percentile(feature, value) if out["kind"] == "numeric" else None,
        }
        audit(cid, f"ok {feature}")
    return jsonify(out)


@bp.get("/api/v1/features/bivariate")
@require("manager", "customer")
def bivariate():
    x, y = request.args.get("x", ""), request.args.get("y", "")
    missing = [{"field": f, "message": "required feature name"} for f, v in (("x", x), ("y", y)) if not v]
    if missing:
        raise ApiError(422, "invalid_query", "x and y are required", missing)
    x, y = _feature(x, "x"), _feature(y, "y")
    sample = int_arg("sample", 1000, 1, 5000)
    int_arg("bins", 20, 2, 50)  # still validated; customers' grids are fixed at build time, managers get points
    lang = lang_arg()
    out = {"x": x, "y": y, "x_label": labels.label(x, lang), "y_label": labels.label(y, lang)}
    if sees_individual_rows():
        out["kind"] = "points"
        out["points"] = [{"x": p["x"], "y": p["y"], "pd": p["pd"]} for p in _store().sample_points(x, y, sample)]
    else:
        out["kind"] = "density"
        out["density"] = _released(x, y)
    cid, xv = _client_value(x)
    if cid is not None:
        out["client"] = {"client_id": cid, "x": xv, "y": _store().get_client(cid)["features"].get(y)}
        audit(cid, f"ok {x},{y}")
    return jsonify(out)
