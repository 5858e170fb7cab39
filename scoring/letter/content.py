"""What a decision letter says, as plain text per part: the outcome and its date, the score and the grade range, the
principal reasons, the rules that applied, what the client could change, how to ask for a human review.

Everything is worded here in the reader's language (strings.yaml) and nothing is markup: the template escapes it.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from pathlib import Path

import yaml

from scoring.decision.record import COUNTER_OFFER, DECLINE
from scoring.letter.lender import Lender
from scoring.reasons import reasons

LANGS = ("en", "fr")
OUTCOMES = (DECLINE, COUNTER_OFFER)  # the adverse outcomes a letter is written for
MAX_REASONS = 4  # Regulation B: more than four principal reasons do not help the reader
MAX_OPTIONS = 3
NARROW_NBSP = "\u202f"  # before % and € in French, as the dashboard writes them


@functools.cache
def strings() -> dict[str, dict]:
    """The letter's words by language; both languages must hold the same keys."""
    table = yaml.safe_load(Path(__file__).with_name("strings.yaml").read_text(encoding="utf-8"))
    if set(table) != set(LANGS) or set(table["en"]) != set(table["fr"]):
        raise ValueError("scoring/letter/strings.yaml: en and fr must hold the same keys")
    return table


def _number(x: float, lang: str, digits: int = 0) -> str:
    text = f"{x:,.{digits}f}"
    return text.replace(",", NARROW_NBSP).replace(".", ",") if lang == "fr" else text


def percent(share: float, lang: str) -> str:
    """A probability (0..1) as a percentage with one decimal."""
    return _number(100 * share, lang, 1) + (NARROW_NBSP + "%" if lang == "fr" else "%")


def money(amount: float, lang: str, currency: str) -> str:
    return f"{_number(amount, lang)}{NARROW_NBSP}{currency}" if lang == "fr" else f"{currency}{_number(amount, lang)}"


def long_date(day: date, lang: str) -> str:
    words = strings()[lang]
    number = "1er" if lang == "fr" and day.day == 1 else str(day.day)
    return words["date"].format(day=number, month=words["months"][day.month - 1], year=day.year)


def decision_date(meta: dict) -> date:
    """When the store's decisions were made (its build or explain-all), from its meta."""
    stamp = meta.get("decided_at") or meta.get("explained_at") or meta["built_at"]
    return datetime.fromisoformat(stamp).date()


def principal_reasons(explanation: dict, percentiles_of, lang: str) -> list[dict]:
    """Up to four reasons for "you": the applicant's largest contributions that raised the risk (SHAP > 0).

    `percentiles_of({feature: value})` gives each value's place among all clients (store.percentiles)."""
    raising = {f: s for f, s in explanation["shap"].items() if s is not None and s > 0}
    top = dict(sorted(raising.items(), key=lambda item: (-item[1], item[0]))[:MAX_REASONS])
    if not top:
        return []
    values = explanation["values"]
    percentiles = percentiles_of({f: values.get(f) for f in top})
    return reasons({"shap": top, "values": values}, percentiles, top=len(top), lang=lang, audience="customer")


def applied_rules(record: dict, lang: str) -> list[dict]:
    """The stop factors that fired and stop or refer an application, with their message for the customer
    (info rules change nothing and are left out; thresholds are never shown)."""
    return [
        {"code": f["code"], "message": f["message"][lang]}
        for f in record["stop_factors"]
        if f["result"] == "fired" and f["action"] != "info" and f["message"]
    ]


def _changes(counterfactuals: dict | None, words: dict) -> dict:
    """The "what you could change" part: the counterfactual search's message and up to three options' summaries,
    or what stands in the way; when no search is available, a pointer to the reasons and the human review."""
    if counterfactuals is None:
        return {"message": words["changes_unavailable"], "options": [], "blocking": []}
    return {
        "message": counterfactuals["message"],
        "options": [o["summary"] for o in counterfactuals.get("options", [])[:MAX_OPTIONS]],
        "blocking": [b["message"] for b in counterfactuals.get("blocking", [])],
    }


def _decision(record: dict, decided: str, lang: str, lender: Lender, words: dict) -> dict:
    requested = record["affordability"]["requested_amount"]
    amount = None if requested is None else money(requested, lang, lender.currency)
    offer = record["offer"]
    if record["outcome"] == COUNTER_OFFER:
        sentence = (
            words["counter_offer"].format(date=decided)
            if amount is None
            else words["counter_offer_amount"].format(date=decided, requested=amount)
        )
        terms = words["offer_terms"].format(
            amount=money(offer["amount"], lang, lender.currency),
            months=_number(offer["term_months"], lang),
            annuity=money(offer["annuity"], lang, lender.currency),
            rate=percent(offer["annual_rate"], lang),
        )
    else:
        sentence = (
            words["decline"].format(date=decided)
            if amount is None
            else words["decline_amount"].format(date=decided, amount=amount)
        )
        terms = None
    rule_codes = {f["code"] for f in record["stop_factors"]}
    set_by = [r["message"][lang] for r in record["reasons"] if r["code"] not in rule_codes]
    return {"sentence": sentence, "terms": terms, "set_by": set_by}


def compose(
    client_id: int,
    record: dict,
    explanation: dict,
    percentiles_of,
    *,
    meta: dict,
    grade_names: tuple[str, ...],
    lender: Lender,
    lang: str,
    counterfactuals: dict | None = None,
    today: date | None = None,
) -> dict:
    """The letter of a declined or counter-offered client: `record` is the decision record (Decision.to_dict()),
    `explanation` the store's (shap and values of every feature), `counterfactuals` the search's answer
    (api.counterfactuals) or None. ValueError for another outcome or language: nothing adverse to explain."""
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(LANGS)}")
    if record["outcome"] not in OUTCOMES:
        raise ValueError(f"no letter for the outcome {record['outcome']!r}: only {' and '.join(OUTCOMES)} get one")
    words = strings()[lang]
    decided = long_date(decision_date(meta), lang)
    score = record["score"]
    return {
        "lang": lang,
        "words": words,
        "synthetic": meta.get("data_source") == "synthetic",
        "lender": lender,
        "client": words["client"].format(client_id=client_id),
        "issued": words["issued"].format(date=long_date(today or date.today(), lang)),
        "outcome": words[f"outcome_{record['outcome']}"],
        "decision": _decision(record, decided, lang, lender, words),
        "score": None
        if score["pd"] is None
        else words["score"].format(pd=percent(score["pd"], lang), grade=score["grade"]),
        "grade_range": words["grade_range"].format(first=grade_names[0], last=grade_names[-1]),
        "reasons": [r["sentence"] for r in principal_reasons(explanation, percentiles_of, lang)],
        "rules": [r["message"] for r in applied_rules(record, lang)],
        "changes": _changes(counterfactuals, words),
        "review": {
            "how": words["review_how"].format(days=lender.review_days),
            "email": words["review_email"].format(email=lender.review_email),
            "post": words["review_post"].format(address=", ".join(lender.review_address)),
        },
        "reference": [
            (words["ref_client"], str(client_id)),
            (words["ref_decision_date"], decided),
            (words["ref_model"], record["model_version"]),
            (words["ref_policy"], record["policy"]["version"]),
        ],
    }
