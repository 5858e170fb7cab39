"""Model card: the evaluation figures of a training run as JSON, and a readable Markdown rendering."""

from __future__ import annotations

import platform
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

AGE_BANDS = [(18, 30), (30, 40), (40, 50), (50, 60), (60, 120)]
_LIBS = ("lightgbm", "optbinning", "numpy", "pandas", "duckdb", "shap", "scikit-learn", "optuna")
_LIBRARY = {"lightgbm": "LightGBM", "scorecard": "optbinning + scikit-learn", "blend": "LightGBM + optbinning"}
SCORECARD_ROWS = 400  # the Markdown card shows at most this many bins; model_card.json holds them all


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for lib in _LIBS:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = None
    return out


def _auc(y, p) -> float | None:
    y = np.asarray(y)
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None


def brier(y, p) -> float:
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def calibration_table(y, p, bins: int = 10) -> list[dict]:
    """Deciles of PD: mean predicted PD against the observed default rate."""
    frame = pd.DataFrame({"y": np.asarray(y), "p": np.asarray(p)})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    rows = []
    for b, g in frame.groupby("bin"):
        rows.append(
            {
                "decile": int(b) + 1,
                "n": int(len(g)),
                "pd_min": float(g.p.min()),
                "pd_max": float(g.p.max()),
                "mean_pd": float(g.p.mean()),
                "observed_rate": float(g.y.mean()),
            }
        )
    return rows


def expected_calibration_error(y, p, bins: int = 10) -> float:
    """Mean |mean PD - observed default rate| over the PD deciles of calibration_table, weighted by clients."""
    rows = calibration_table(y, p, bins)
    return float(sum(r["n"] * abs(r["mean_pd"] - r["observed_rate"]) for r in rows) / sum(r["n"] for r in rows))


def confusion(y, p, threshold: float) -> dict:
    """Decline = predicted default. tp: declined defaulter, fn: approved defaulter (the costly error)."""
    y = np.asarray(y).astype(int)
    dec = np.asarray(p) >= threshold
    return {
        "tp": int(np.sum(dec & (y == 1))),
        "fp": int(np.sum(dec & (y == 0))),
        "tn": int(np.sum(~dec & (y == 0))),
        "fn": int(np.sum(~dec & (y == 1))),
    }


def group_metrics(y, p, threshold: float, groups: pd.DataFrame | None) -> dict:
    """AUC, approval and default rate per gender and per age band (fairness review)."""
    out = {"gender": [], "age_band": []}
    if groups is None:
        return out
    y, p = np.asarray(y), np.asarray(p)
    approve = p < threshold

    def row(name, mask):
        mask = np.asarray(mask, dtype=bool)
        return {
            "group": name,
            "n": int(mask.sum()),
            "auc": _auc(y[mask], p[mask]) if mask.sum() else None,
            "approval_rate": float(approve[mask].mean()) if mask.sum() else None,
            "default_rate": float(y[mask].mean()) if mask.sum() else None,
            "mean_pd": float(p[mask].mean()) if mask.sum() else None,
        }

    if "gender" in groups:
        g = groups["gender"].astype(object).where(groups["gender"].notna(), "missing").to_numpy()
        out["gender"] = [row(str(v), g == v) for v in sorted(set(g))]
    if "age_years" in groups:
        age = groups["age_years"].to_numpy(dtype=float)
        for lo, hi in AGE_BANDS:
            mask = (age >= lo) & (age < hi)
            if mask.any():
                out["age_band"].append(row(f"{lo}-{hi - 1}" if hi < 120 else f"{lo}+", mask))
    return out


def grade_table(y, p, grades) -> list[dict]:
    idx = grades.grade_index(p)
    y = np.asarray(y)
    rows = []
    for i, band in enumerate(grades.as_table()):
        mask = idx == i
        rows.append(
            {
                **band,
                "n": int(mask.sum()),
                "share": float(mask.mean()),
                "observed_default_rate": float(y[mask].mean()) if mask.any() else None,
                "mean_pd": float(np.mean(p[mask])) if mask.any() else None,
            }
        )
    return rows


def build_card(
    *,
    kind,
    version,
    fingerprint,
    data_source,
    n_rows,
    n_features,
    n_categorical,
    params,
    params_source,
    n_rounds,
    fold_aucs,
    fold_iterations,
    y,
    oof_raw,
    oof_pd,
    threshold,
    cost,
    cost_fn,
    cost_fp,
    calibrator,
    grades,
    groups,
    importance,
    imbalance,
    decision_policy=None,
    details: dict | None = None,
) -> dict:
    """Every figure a reviewer needs, computed on out-of-fold predictions (never on the rows a model saw).

    `decision_policy`: the lender's policy (scoring.decision) in force at training, recorded by version and hash.
    `details`: what the kind adds to the model section (a scorecard's table of points, a blend's weight)."""
    y = np.asarray(y)
    uncal = 1.0 / (1.0 + np.exp(-np.asarray(oof_raw)))
    conf = confusion(y, oof_pd, threshold)
    return {
        "version": version,
        "fingerprint": fingerprint,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data_source": data_source,
        "data_warning": "SYNTHETIC DEMO DATA: figures describe a generated portfolio, not real clients"
        if data_source == "synthetic"
        else None,
        "n_rows": int(n_rows),
        "n_features": int(n_features),
        "n_categorical": int(n_categorical),
        "default_rate": float(y.mean()),
        "model": {
            "kind": kind,
            "library": _LIBRARY.get(kind, kind),
            "objective": "binary",
            "n_rounds": int(n_rounds),
            "params": params,
            "params_source": params_source,
            "class_imbalance": imbalance,
            "final_model": "one booster refit on all rows with the mean of the folds' best iterations"
            if kind == "lightgbm"
            else "refit on all rows with the settings the folds validated",
            **(details or {}),
        },
        "metrics": {
            "cv_auc": float(np.mean(fold_aucs)),
            "cv_auc_sd": float(np.std(fold_aucs)),
            "fold_aucs": [float(a) for a in fold_aucs],
            "fold_best_iterations": [int(i) for i in fold_iterations],
            "oof_auc": _auc(y, oof_pd),
            "brier_uncalibrated": brier(y, uncal),
            "brier_calibrated": brier(y, oof_pd),
            "ece_calibrated": expected_calibration_error(y, oof_pd),
            "brier_base_rate": brier(y, np.full(len(y), y.mean())),
        },
        "calibration": {
            "method": "Platt: logistic map of out-of-fold raw log-odds",
            **calibrator.to_dict(),
            "table": calibration_table(y, oof_pd),
        },
        "policy": {
            "threshold": float(threshold),
            "cost_fn": float(cost_fn),
            "cost_fp": float(cost_fp),
            "business_cost_per_client": float(cost),
            "confusion": conf,
            "approval_rate": float(np.mean(np.asarray(oof_pd) < threshold)),
        },
        "decision_policy": None
        if decision_policy is None
        else {"version": decision_policy.version, "sha256": decision_policy.sha256, "label": decision_policy.label},
        "grades": grade_table(y, np.asarray(oof_pd), grades),
        "fairness": group_metrics(y, oof_pd, threshold, groups),
        "importance_top": importance,
        "libraries": library_versions(),
    }


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def _num(v, fmt=".4f") -> str:
    return "n/a" if v is None else format(v, fmt)


def _table(headers: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines + [""]


def _categorical_handling(kind: str) -> str:
    return {"scorecard": "levels grouped into WoE bins", "blend": "native LightGBM handling and WoE bins"}.get(
        kind, "native LightGBM handling"
    )


def _model_size(model: dict) -> str:
    kind, trees = model.get("kind", "lightgbm"), f"{model.get('n_rounds')} trees"
    table = model.get("scorecard", {}).get("table", [])
    chars = f"{len({r['characteristic'] for r in table})} characteristics"
    if kind == "scorecard":
        return f"{model.get('library')}, logistic scorecard on WoE bins, {chars}"
    if kind == "blend":
        w = model.get("blend", {}).get("lightgbm_weight")
        return f"{model.get('library')}, log-odds blend: {_num(w, '.2f')} x LightGBM ({trees}) + the rest x scorecard"
    return f"LightGBM, {trees}"


def _scorecard_section(model: dict) -> list[str]:
    """The points per attribute: what a scorecard is read by."""
    sc = model.get("scorecard")
    if not sc:
        return []
    rows = sc.get("table", [])
    out = [
        "## Scorecard (points per attribute)",
        "",
        f"{sc.get('base_points'):g} points at good:bad odds of {sc.get('base_odds'):g}:1, {sc.get('pdo'):g} more "
        "points double the odds; a client's score is the sum of the points of their bins. WoE = ln(share of "
        f"repaid / share of defaults) in the bin; scorecard CV AUC {_num(sc.get('cv_auc'))}.",
        "",
    ]
    out += _table(
        ["characteristic", "bin", "clients", "default rate", "WoE", "points"],
        [
            [r["characteristic"], r["bin"].replace("|", "/"), r["n"], _pct(r["event_rate"]), _num(r["woe"], ".3f")]
            + [_num(r["points"], ".1f")]
            for r in rows[:SCORECARD_ROWS]
        ],
    )
    if len(rows) > SCORECARD_ROWS:
        out += [f"({len(rows) - SCORECARD_ROWS} more bins in model_card.json.)", ""]
    return out


def render_markdown(card: dict) -> str:
    """Human-readable card; synthetic data is announced first, in bold."""
    m, pol, model = card.get("metrics", {}), card.get("policy", {}), card.get("model", {})
    out = [f"# Model card — {card.get('version', '?')}", ""]
    if card.get("data_source") == "synthetic":
        out += [
            "> **SYNTHETIC DEMO DATA** — this model was trained on a generated portfolio. "
            "Its figures say nothing about real clients.",
            "",
        ]
    out += [
        f"- Data source: **{card.get('data_source')}**; {card.get('n_rows', 0):,} training clients, "
        f"default rate {_pct(card.get('default_rate'))}; {card.get('n_features')} features "
        f"({card.get('n_categorical')} categorical, {_categorical_handling(model.get('kind', 'lightgbm'))})",
        f"- Created: {card.get('created_at')}; training-data fingerprint `{card.get('fingerprint', '')[:16]}…`",
        f"- Model: kind `{model.get('kind', 'lightgbm')}` ({_model_size(model)}); {model.get('final_model')}",
        f"- Parameters from: {model.get('params_source')}",
        f"- Class imbalance: {model.get('class_imbalance')}",
        "",
        "## Discrimination and calibration (out-of-fold)",
        "",
    ]
    out += _table(
        ["measure", "value"],
        [
            ["CV AUC (mean ± sd over folds)", f"{_num(m.get('cv_auc'))} ± {_num(m.get('cv_auc_sd'))}"],
            ["Out-of-fold AUC", _num(m.get("oof_auc"))],
            ["Brier score before calibration", _num(m.get("brier_uncalibrated"))],
            ["Brier score after calibration", _num(m.get("brier_calibrated"))],
            ["Brier score of the base rate alone", _num(m.get("brier_base_rate"))],
            ["Expected calibration error (PD deciles)", _num(m.get("ece_calibrated"))],
        ],
    )
    cal = card.get("calibration", {})
    out += [f"Calibration: {cal.get('method')} (a = {_num(cal.get('a'), '.3f')}, b = {_num(cal.get('b'), '.3f')}).", ""]
    out += _table(
        ["PD decile", "clients", "mean PD", "observed default rate"],
        [[r["decile"], r["n"], _pct(r["mean_pd"]), _pct(r["observed_rate"])] for r in cal.get("table", [])],
    )
    c = pol.get("confusion", {})
    out += [
        "## Decision policy",
        "",
        f"Threshold **{_num(pol.get('threshold'))}** minimises the business cost on out-of-fold PDs, a missed "
        f"default costing {pol.get('cost_fn')} × a wrongly declined good client "
        f"(cost {_num(pol.get('business_cost_per_client'))} per client). "
        f"Approval rate {_pct(pol.get('approval_rate'))}.",
        "",
    ]
    out += _table(
        ["", "approved", "declined"], [["repaid", c.get("tn"), c.get("fp")], ["defaulted", c.get("fn"), c.get("tp")]]
    )
    lender = card.get("decision_policy")
    if lender:
        out += [
            f"Lender's policy at training (stop factors, affordability): version `{lender['version']}`, "
            f"SHA-256 `{lender['sha256'][:16]}…` ({lender['label']}).",
            "",
        ]
    out += ["## Risk grades (master scale)", ""]
    out += _table(
        ["grade", "PD range", "clients", "share", "mean PD", "observed default rate"],
        [
            [
                g["grade"],
                f"{_pct(g['pd_from'])} – {_pct(g['pd_to'])}",
                g["n"],
                _pct(g["share"]),
                _pct(g["mean_pd"]),
                _pct(g["observed_default_rate"]),
            ]
            for g in card.get("grades", [])
        ],
    )
    out += ["## Groups (fairness review, out-of-fold)", ""]
    for key, title in (("gender", "Gender"), ("age_band", "Age band (years)")):
        rows = card.get("fairness", {}).get(key, [])
        if rows:
            out += _table(
                [title, "clients", "AUC", "approval rate", "observed default rate", "mean PD"],
                [
                    [
                        r["group"],
                        r["n"],
                        _num(r["auc"]),
                        _pct(r["approval_rate"]),
                        _pct(r["default_rate"]),
                        _pct(r["mean_pd"]),
                    ]
                    for r in rows
                ],
            )
    out += ["## Global importance (mean |SHAP|, log-odds)", ""]
    top = card.get("importance_top", [])
    out += _table(
        ["rank", "feature", "mean absolute SHAP (log-odds)"],
        [[i + 1, r["feature"], _num(r["mean_abs_shap"])] for i, r in enumerate(top)],
    )
    out += _scorecard_section(model)
    out += ["## Parameters", ""]
    out += _table(["parameter", "value"], [[k, v] for k, v in sorted(model.get("params", {}).items())])
    out += ["## Libraries", ""]
    out += _table(["library", "version"], [[k, v] for k, v in card.get("libraries", {}).items()])
    return "\n".join(out)
