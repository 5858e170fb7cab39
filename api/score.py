"""Scoring new applicants online: the shared decision path (PD, TreeSHAP, the lender's policy); nothing stored.

Every applicant that passes validation is answered 200 with its decision under `decision`; one the policy's
technical checks refuse (complete JSON but no usable loan: annuity above the credit...) has outcome
technical_refusal with its {code, field, message} list, and no PD, grade or contributions: never a silent score."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

from api import explanation, metrics, shadow
from api.audit import audit
from api.auth import require
from api.errors import ApiError
from api.io import applicant_body, json_body, lang_arg
from api.monitoring import record_scored
from scoring.applicant_schema import ApplicantError, validate_applicant
from scoring.decision.record import TECHNICAL_REFUSAL
from scoring.decision.service import decide_applicants
from scoring.reasons import top_indices

bp = Blueprint("score", __name__)
log = logging.getLogger("api")
MAX_BATCH = 1000


def _score_many(applicants: list[tuple[dict, dict]], top: int, lang: str, units: str = "log-odds") -> list[dict]:
    """Score, explain and decide; a technical refusal gets its decision and no PD, grade or contributions."""
    bundle = current_app.config["BUNDLE"]
    try:
        decided = decide_applicants(bundle, current_app.config["POLICY"], applicants, explain=True)
    except ValueError:  # validation passed, so this is ours to fix; the text may quote values: never echoed
        log.error("features of validated applicants failed (%d applicant(s))", len(applicants))
        raise ApiError(422, "invalid_applicant", "the applicant's records could not be turned into features") from None
    shadow.score_after_answer(decided)  # the challenger, if any, once the answer is sent
    record_scored(decided, applicants)  # scored_applications, for drift and performance monitoring
    features, contrib, base = decided.features, decided.contributions, decided.base
    out = []
    for row, (_, s) in enumerate(decided.scores.iterrows()):
        record = decided.decisions.decision(row).to_dict()
        if record["outcome"] == TECHNICAL_REFUSAL:
            refused = {"pd": None, "grade": None, "threshold": bundle.threshold, "model_version": bundle.version}
            out.append({**refused, "decision": record})
            metrics.count_score(TECHNICAL_REFUSAL, "none")
            continue
        score = {
            "pd": float(s["pd"]),
            "grade": s["grade"],
            "decision": record,
            "threshold": bundle.threshold,
            "model_version": bundle.version,
        }
        shown = top_indices(contrib[row], top)
        names = [bundle.feature_names[i] for i in shown]
        shap = dict(zip(names, contrib[row][shown].tolist(), strict=True))
        values = features.iloc[row][names].to_dict()
        total = float(contrib[row].sum(dtype="float64"))
        out.append(
            explanation.payload(
                base, shap, values, total, len(bundle.feature_names), lang, score, None, units, explanation.audience()
            )
        )
        metrics.count_score(s["decision"], s["grade"])
    return out


@bp.post("/api/v1/score")
@require("manager", "service")
def score_one():
    lang, units = lang_arg(), explanation.units_arg()
    applicant = applicant_body()
    result = _score_many([applicant], top=10, lang=lang, units=units)[0]
    audit(None, f"scored {result['decision']['outcome']}")
    return jsonify(result)


@bp.post("/api/v1/score/batch")
@require("manager", "service")
def score_batch():
    lang, units = lang_arg(), explanation.units_arg()
    body = json_body()
    items = body.get("applicants") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or len(body) > 1:
        problems = (
            [{"field": k, "message": "unknown field (expected applicants)"} for k in body if k != "applicants"]
            if isinstance(body, dict)
            else []
        )
        if not isinstance(items, list) or not items:
            problems.append({"field": "applicants", "message": "required non-empty list"})
        raise ApiError(422, "invalid_body", 'body must be {"applicants": [ {application, history?}, ... ]}', problems)
    if len(items) > MAX_BATCH:
        raise ApiError(
            413,
            "batch_too_large",
            f"at most {MAX_BATCH} applicants per batch, got {len(items)}",
            [{"field": "applicants", "message": f"at most {MAX_BATCH} items"}],
        )
    applicants, problems = [], []
    for i, item in enumerate(items):
        try:
            applicants.append(validate_applicant(item))
        except ApplicantError as exc:
            problems += [{**p, "field": f"applicants.{i}.{p['field']}"} for p in exc.problems]
    if problems:  # all or nothing: one invalid applicant and none is scored
        raise ApiError(422, "invalid_applicant", f"{len(problems)} invalid field(s); nothing was scored", problems)
    results = _score_many(applicants, top=5, lang=lang, units=units)
    audit(None, f"batch scored {len(results)}")
    return jsonify({"count": len(results), "results": results})
