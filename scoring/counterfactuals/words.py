"""The answer body in plain words (English, French): customers read "you", managers "the client"."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from scoring.counterfactuals.search import Counterfactuals, Option

_WORDS = yaml.safe_load((Path(__file__).with_name("words.yaml")).read_text(encoding="utf-8"))
LABELS = _WORDS["labels"]  # {field: {lang: label}}
_MESSAGES = _WORDS["messages"]  # {key: {lang: {audience: text}}}
_SUMMARIES = _WORDS["summaries"]  # {option kind: {lang: {audience: text}}}
_INSTALMENT = _WORDS["instalment"]


def money(value: float, lang: str = "en") -> str:
    """120000.0 -> "120,000" in English, "120 000" in French (whole units, groups of three; a narrow no-break space,
    as the dashboard and the letter write amounts)."""
    grouped = f"{value:,.0f}"
    return grouped if lang == "en" else grouped.replace(",", "\u202f")


def _summary(option: Option, lang: str, audience: str) -> str:
    moved = {name: (before, after) for name, before, after in option.moved}
    values = {}
    for name, key in (("AMT_CREDIT", "credit"), ("AMT_ANNUITY", "annuity"), ("BUREAU_ACTIVE_DEBT", "debt")):
        if name in moved:
            values[f"from_{key}"], values[f"to_{key}"] = (money(v, lang) for v in moved[name])
    if "TERM_MONTHS" in moved:
        values["from_term"], values["to_term"] = (f"{v:.0f}" for v in moved["TERM_MONTHS"])
    values["down"] = money(option.changes.get("DOWN_PAYMENT", 0.0), lang)
    values["paid"] = money(option.changes.get("BUREAU_DEBT_PAYDOWN", 0.0), lang)
    text = _SUMMARIES[option.kind][lang][audience].format(**values)
    if "to_annuity" in values and option.kind not in ("pay_down_debt",):
        text += _INSTALMENT[lang].format(**values)
    return text + "."


def _number(value: float):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def body(found: Counterfactuals, lang: str, audience: str, client_id: int | None) -> dict:
    """The API's answer (names kept stable: the dashboard card and the decision letter read them)."""
    key = found.reason if found.status == "none" else found.status
    if key == "options" and len(found.options) == 1:
        key = "option"
    message = _MESSAGES[key][lang][audience].format(n=len(found.options))
    options = []
    for rank, option in enumerate(found.options, start=1):
        offer = option.offer
        if offer is not None:
            offer = {**offer, "message": offer["message"][lang] if offer.get("message") else None}
        options.append(
            {
                "rank": rank,
                "kind": option.kind,
                "summary": _summary(option, lang, audience),
                "changes": [
                    {"field": name, "label": LABELS[name][lang], "from": _number(before), "to": _number(after)}
                    for name, before, after in option.moved
                ],
                "what_if": dict(option.changes),
                "size": option.size,
                "pd": option.pd,
                "grade": option.grade,
                "outcome": option.outcome,
                "offer": offer,
            }
        )
    return {
        "client_id": client_id,
        "current": dict(found.current),
        "status": found.status,
        "message": message,
        "blocking": [{"code": code, "message": text.get(lang) or text.get("en")} for code, text in found.blocking],
        "options": options,
        "model_version": found.model_version,
        "policy": dict(found.policy),
    }
