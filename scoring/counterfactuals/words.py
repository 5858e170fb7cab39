"""The answer body in plain words (English, French): customers read "you", managers "the client"."""

from __future__ import annotations

import math

from scoring.counterfactuals.search import Counterfactuals, Option

LABELS = {
    "AMT_CREDIT": {"en": "Amount asked", "fr": "Montant demandé"},
    "AMT_ANNUITY": {"en": "Monthly instalment", "fr": "Mensualité"},
    "AMT_GOODS_PRICE": {"en": "Price of the goods", "fr": "Prix du bien"},
    "TERM_MONTHS": {"en": "Term (months)", "fr": "Durée (mois)"},
    "DOWN_PAYMENT": {"en": "Down payment", "fr": "Apport"},
    "BUREAU_ACTIVE_DEBT": {"en": "Current debts at the credit bureau", "fr": "Dettes en cours au fichier de crédit"},
}

_MESSAGES = {
    "already_approved": {
        ("en", "customer"): "Your application is already approved: nothing needs to change.",
        ("en", "manager"): "The client's application is already approved: nothing needs to change.",
        ("fr", "customer"): "Votre demande est déjà acceptée : rien ne doit changer.",
        ("fr", "manager"): "La demande du client est déjà acceptée : rien ne doit changer.",
    },
    "options": {
        ("en", "customer"): "{n} changes you can make would each get your application approved.",
        ("en", "manager"): "{n} changes the client can make would each get the application approved.",
        ("fr", "customer"): "{n} changements à votre portée permettraient chacun d'accepter votre demande.",
        ("fr", "manager"): "{n} changements à la portée du client permettraient chacun d'accepter sa demande.",
    },
    "option": {
        ("en", "customer"): "One change you can make would get your application approved.",
        ("en", "manager"): "One change the client can make would get the application approved.",
        ("fr", "customer"): "Un changement à votre portée permettrait d'accepter votre demande.",
        ("fr", "manager"): "Un changement à la portée du client permettrait d'accepter sa demande.",
    },
    "stop_factor": {
        ("en", "customer"): "No change you can make would get this application approved: what stops it is in your "
        "credit history, which a change to the loan or your debts cannot alter.",
        ("en", "manager"): "No actionable change would get the client approved: a stop factor from the client's "
        "history cannot be lifted by any change to the loan or the debts.",
        ("fr", "customer"): "Aucun changement à votre portée ne permettrait d'accepter cette demande : ce qui "
        "l'empêche est dans votre historique de crédit, qu'un changement du prêt ou de vos dettes ne modifie pas.",
        ("fr", "manager"): "Aucun changement à la portée du client ne permettrait d'accepter sa demande : un "
        "critère d'exclusion de son historique ne peut être levé par un changement du prêt ou des dettes.",
    },
    "technical": {
        ("en", "customer"): "This application cannot be assessed as it was sent; it needs correcting first.",
        ("en", "manager"): "The client's application cannot be assessed as it was sent; it needs correcting first.",
        ("fr", "customer"): "Cette demande ne peut pas être évaluée telle qu'elle a été envoyée ; elle doit "
        "d'abord être corrigée.",
        ("fr", "manager"): "La demande du client ne peut pas être évaluée telle qu'elle a été envoyée ; elle doit "
        "d'abord être corrigée.",
    },
    "score": {
        ("en", "customer"): "No change you can make within our limits would be enough: our assessment of the risk "
        "stays above what we can accept whatever the amount, term or debts.",
        ("en", "manager"): "No actionable change within the bounds is enough: the score stays above the threshold "
        "whatever the amount, term or debts of the client.",
        ("fr", "customer"): "Aucun changement à votre portée dans nos limites ne suffirait : notre évaluation du "
        "risque reste au-dessus de ce que nous pouvons accepter, quels que soient le montant, la durée ou les dettes.",
        ("fr", "manager"): "Aucun changement à la portée du client dans les bornes ne suffit : le score reste "
        "au-dessus du seuil quels que soient le montant, la durée ou les dettes du client.",
    },
    "affordability": {
        ("en", "customer"): "No change you can make within our limits would be enough: the repayments stay too "
        "large a share of your income.",
        ("en", "manager"): "No actionable change within the bounds is enough: the repayments stay too large a share "
        "of the client's income.",
        ("fr", "customer"): "Aucun changement à votre portée dans nos limites ne suffirait : les remboursements "
        "restent une part trop grande de vos revenus.",
        ("fr", "manager"): "Aucun changement à la portée du client dans les bornes ne suffit : les remboursements "
        "restent une part trop grande de ses revenus.",
    },
    "rules": {
        ("en", "customer"): "No change you can make within our limits would get this application approved.",
        ("en", "manager"): "No actionable change within the bounds would get the client approved.",
        ("fr", "customer"): "Aucun changement à votre portée dans nos limites ne permettrait d'accepter cette demande.",
        ("fr", "manager"): "Aucun changement à la portée du client dans les bornes ne permettrait d'accepter sa "
        "demande.",
    },
}

# summaries: {amount} values are formatted money, {months} whole months
_SUMMARIES = {
    "lower_amount": {
        "en": (
            "Ask for {to_credit} instead of {from_credit}",
            "The client asks for {to_credit} instead of {from_credit}",
        ),
        "fr": (
            "Demandez {to_credit} au lieu de {from_credit}",
            "Le client demande {to_credit} au lieu de {from_credit}",
        ),
    },
    "longer_term": {
        "en": (
            "Repay over {to_term} months instead of {from_term}",
            "The client repays over {to_term} months instead of {from_term}",
        ),
        "fr": (
            "Remboursez sur {to_term} mois au lieu de {from_term}",
            "Le client rembourse sur {to_term} mois au lieu de {from_term}",
        ),
    },
    "down_payment": {
        "en": (
            "Pay {down} yourself and borrow {to_credit} instead of {from_credit}",
            "The client pays {down} and borrows {to_credit} instead of {from_credit}",
        ),
        "fr": (
            "Apportez {down} et empruntez {to_credit} au lieu de {from_credit}",
            "Le client apporte {down} et emprunte {to_credit} au lieu de {from_credit}",
        ),
    },
    "pay_down_debt": {
        "en": (
            "Pay {paid} off your current debts of {from_debt} first",
            "The client pays {paid} off current debts of {from_debt} first",
        ),
        "fr": (
            "Remboursez d'abord {paid} de vos dettes en cours de {from_debt}",
            "Le client rembourse d'abord {paid} de ses dettes en cours de {from_debt}",
        ),
    },
    "pay_down_debt_lower_amount": {
        "en": (
            "Pay {paid} off your current debts and ask for {to_credit} instead of {from_credit}",
            "The client pays {paid} off current debts and asks for {to_credit} instead of {from_credit}",
        ),
        "fr": (
            "Remboursez {paid} de vos dettes en cours et demandez {to_credit} au lieu de {from_credit}",
            "Le client rembourse {paid} de ses dettes en cours et demande {to_credit} au lieu de {from_credit}",
        ),
    },
}
_SUMMARIES["shorter_term"] = _SUMMARIES["longer_term"]
_SUMMARIES["lower_amount_longer_term"] = {
    "en": (
        "Ask for {to_credit} over {to_term} months instead of {from_credit} over {from_term}",
        "The client asks for {to_credit} over {to_term} months instead of {from_credit} over {from_term}",
    ),
    "fr": (
        "Demandez {to_credit} sur {to_term} mois au lieu de {from_credit} sur {from_term}",
        "Le client demande {to_credit} sur {to_term} mois au lieu de {from_credit} sur {from_term}",
    ),
}
_SUMMARIES["lower_amount_shorter_term"] = _SUMMARIES["lower_amount_longer_term"]
_INSTALMENT = {"en": " (monthly instalment {to_annuity})", "fr": " (mensualité de {to_annuity})"}


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
    customer, manager = _SUMMARIES[option.kind][lang]
    text = (customer if audience == "customer" else manager).format(**values)
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
    message = _MESSAGES[key][(lang, audience)].format(n=len(found.options))
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
