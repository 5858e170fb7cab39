"""Plain-language reason sentences (adverse-action style) from a client's SHAP values and percentiles."""

from __future__ import annotations

import functools
from types import MappingProxyType

import numpy as np

from scoring import labels
from scoring.values import is_missing

MAX_TOP = 10
_NBSP = "\u00a0"

_POUR = "Pour «{nb}{label}{nb}», {whose} ({value}) "
_TEXT = {
    "en": {
        "raises": "this raises {your} estimated risk",
        "lowers": "this lowers {your} estimated risk",
        "missing": "No information on {your} {label} — {effect}.",
        "category": "{Your} {label} is “{value}” — {effect}.",
        "lower": "{Your} {label} ({value}) is lower than {share} of clients — {effect}.",
        "higher": "{Your} {label} ({value}) is higher than {share} of clients — {effect}.",
        "lowest": "{Your} {label} ({value}) is among the lowest of all clients — {effect}.",
        "highest": "{Your} {label} ({value}) is among the highest of all clients — {effect}.",
        "plain": "{Your} {label} ({value}) — {effect}.",
        "yes": "yes",
        "no": "no",
    },
    "fr": {
        "raises": "cela augmente {risk}",
        "lowers": "cela diminue {risk}",
        "missing": "Aucune information sur «{nb}{label}{nb}» — {effect}.",
        "category": "«{nb}{label}{nb}»{nb}: «{nb}{value}{nb}» — {effect}.",
        "lower": _POUR + "est plus basse que celle de {share} des clients — {effect}.",
        "higher": _POUR + "est plus élevée que celle de {share} des clients — {effect}.",
        "lowest": _POUR + "fait partie des plus basses de tous les clients — {effect}.",
        "highest": _POUR + "fait partie des plus élevées de tous les clients — {effect}.",
        "plain": _POUR + "— {effect}.",
        "yes": "oui",
        "no": "non",
    },
}
AUDIENCES = ("customer", "manager")
# Who the sentence speaks to: the customer reads "you", a manager reads about "the client".
_PERSON = {
    ("en", "customer"): {"your": "your", "Your": "Your"},
    ("en", "manager"): {"your": "the client's", "Your": "The client's"},
    ("fr", "customer"): {"whose": "votre valeur", "risk": "votre risque estimé"},
    ("fr", "manager"): {"whose": "la valeur du client", "risk": "le risque estimé du client"},
}
_UNITS = {
    "en": {"years": "years", "days": "days", "percent": " %"},
    "fr": {"years": "ans", "days": "jours", "percent": _NBSP + "%"},
}


def _label(name: str, lang: str) -> str:
    try:
        return str(labels.label(name, lang=lang))
    except (KeyError, ValueError):
        return name


def _unit(name: str) -> str | None:
    try:
        return labels.unit(name)
    except (KeyError, ValueError):
        return None


def _display(name: str, value):
    try:
        return labels.display_value(name, value)
    except (KeyError, ValueError, TypeError):
        return value


def _number(x: float, lang: str, digits: int) -> str:
    text = f"{x:,.{digits}f}"
    if lang == "fr":
        text = text.replace(",", _NBSP).replace(".", ",")  # 12 345,67
    return text


@functools.lru_cache(maxsize=8192)  # the same few dozen names in every request: worded once per language
def _words(name: str, lang: str) -> tuple[str, str, str | None]:
    """(label, the label as a sentence reads it, unit) of a feature; its name and no unit when it has no label."""
    label = _label(name, lang)
    unit = _unit(name)
    return label, _lower_first(label) if lang == "en" else label, {"%": "percent"}.get(unit, unit)


@functools.lru_cache(maxsize=16)
def _fields(lang: str, audience: str, raises: bool) -> MappingProxyType:
    """The words every sentence of one language, audience and direction shares: read-only, as it is cached."""
    person = _PERSON[lang, audience]
    effect = _TEXT[lang]["raises" if raises else "lowers"].format(**person)
    return MappingProxyType({"effect": effect, "nb": _NBSP, **person})


def _format_value(unit: str | None, shown, lang: str) -> str:
    """A number in the unit a customer reads (years, currency, ratio, %), in the language's number style."""
    if isinstance(shown, bool):
        return _TEXT[lang]["yes" if shown else "no"]
    if not isinstance(shown, (int, float)):
        return str(shown)
    x = float(shown)
    if unit == "currency" or (abs(x) >= 1000 and unit in (None, "count")):
        text = _number(x, lang, 0)
    elif unit == "years" or unit == "percent":
        text = _number(x, lang, 1)
    elif unit == "ratio":
        text = _number(x, lang, 2)
    elif float(x).is_integer():
        text = _number(x, lang, 0)
    else:
        text = _number(x, lang, 2 if abs(x) < 100 else 1)
    suffix = _UNITS[lang].get(unit or "", "")
    if unit in ("years", "days") and (abs(x) < 2 if lang == "fr" else abs(x) == 1):
        suffix = suffix[:-1]  # 1 day, 1 jour, 1,5 an
    if suffix and not suffix.startswith((" ", _NBSP)):
        suffix = (_NBSP if lang == "fr" else " ") + suffix
    return text + suffix


def _share(p: float, lang: str) -> str:
    return f"{p:.0f}" + (_NBSP if lang == "fr" else " ") + "%"


def _lower_first(label: str) -> str:
    # keep acronyms (two capitals) as they are
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


def _sentence(name: str, value, percentile: float | None, raises: bool, lang: str, audience: str) -> str:
    text = _TEXT[lang]
    _, label, unit = _words(name, lang)
    fields = {"label": label, **_fields(lang, audience, raises)}
    if is_missing(value):
        return text["missing"].format(**fields)
    shown = _display(name, value)
    if is_missing(shown):
        return text["missing"].format(**fields)
    if isinstance(value, str):
        return text["category"].format(value=shown, **fields)
    fields["value"] = _format_value(unit, shown, lang)
    if percentile is None or is_missing(percentile):
        return text["plain"].format(**fields)
    p = float(percentile)
    # the display unit may flip the sign (days before the application shown as positive durations)
    if isinstance(shown, (int, float)) and not isinstance(shown, bool) and float(value) * float(shown) < 0:
        p = 100.0 - p
    if p < 1:
        return text["lowest"].format(**fields)
    if p > 99:
        return text["highest"].format(**fields)
    if p >= 50:
        return text["higher"].format(share=_share(p, lang), **fields)
    return text["lower"].format(share=_share(100.0 - p, lang), **fields)


def top_indices(shap: np.ndarray, top: int | None = None) -> list[int]:
    """Positions of the `top` largest contributions by |SHAP| (all when None), ties in feature order."""
    order = np.argsort(-np.abs(np.asarray(shap)), kind="stable")
    return order[:top].tolist() if top is not None else order.tolist()


def worded(shap: dict, top: int) -> list[tuple[str, float]]:
    """The contributions reasons() words: the `top` largest non-zero |SHAP|, ties by feature name."""
    ranked = sorted(
        ((f, float(s)) for f, s in shap.items() if s is not None and float(s) != 0.0),
        key=lambda item: (-abs(item[1]), item[0]),
    )
    return ranked[:top]


def reasons(
    explanation: dict,
    percentiles: dict[str, float | None],
    top: int = 4,
    lang: str = "en",
    audience: str = "customer",
) -> list[dict]:
    """The `top` largest contributions by |SHAP| (log-odds) as sentences saying whether each raises or lowers risk.

    `audience` "customer" speaks to the reader ("your", "votre"); "manager" speaks of "the client" ("le client").
    """
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise ValueError(f"top must be an integer from 1 to {MAX_TOP}")
    shap = (explanation or {}).get("shap") or {}
    values = (explanation or {}).get("values") or {}
    return worded_reasons(worded(shap, top), values, percentiles, lang, audience)


def worded_reasons(
    ranked: list[tuple[str, float]], values: dict, percentiles: dict[str, float | None] | None, lang: str, audience: str
) -> list[dict]:
    """reasons() of contributions already ranked by worded(): the API ranks once for the percentiles and the words."""
    if lang not in _TEXT:
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(_TEXT)}")
    if audience not in AUDIENCES:
        raise ValueError(f"unsupported audience {audience!r}; expected one of {', '.join(AUDIENCES)}")
    percentiles = percentiles or {}
    return [
        {
            "feature": feature,
            "label": _words(feature, lang)[0],
            "direction": "raises_risk" if contribution > 0 else "lowers_risk",
            "shap": contribution,
            "sentence": _sentence(
                feature, values.get(feature), percentiles.get(feature), contribution > 0, lang, audience
            ),
        }
        for feature, contribution in ranked
    ]
