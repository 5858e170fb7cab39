"""Readable labels (English, French), groups and units of every raw application field and every feature.

The words are data (scoring/labels.yaml), which a reviewer of the wording reads without reading code."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from scoring.tables import NO_DATE_DAYS, SCHEMAS
from scoring.values import is_missing

LANGS = ("en", "fr")
_DATA = yaml.safe_load(Path(__file__).with_name("labels.yaml").read_text(encoding="utf-8"))
GROUPS = tuple(_DATA["groups"])
GROUP_TITLES = {grp: tuple(titles) for grp, titles in _DATA["groups"].items()}
CLIENT_FILE_GROUPS = tuple(_DATA["client_file_groups"])
HISTORY_SUMMARY_FEATURES = list(_DATA["history_summary"])
_YEAR_DAYS = ("DAYS_BIRTH", "DAYS_EMPLOYED", "DAYS_REGISTRATION", "DAYS_ID_PUBLISH", "DAYS_LAST_PHONE_CHANGE")
_Y_N_FIELDS = ("FLAG_OWN_CAR", "FLAG_OWN_REALTY", "EMERGENCYSTATE_MODE")


def _raw_fields(data: dict) -> dict[str, tuple]:
    """name -> (group, unit, English, French) of every raw application field: those listed, then the families."""
    raw = {name: tuple(entry) for name, entry in data["raw_fields"].items()}
    building = data["building"]
    for word, (word_en, word_fr) in building["words"].items():
        for stat, (stat_en, stat_fr) in building["stats"].items():
            en = building["en"].format(word=word_en, stat=stat_en)
            raw[f"{word}_{stat}"] = ("housing", "ratio", en, building["fr"].format(word=word_fr, stat=stat_fr))
    documents = data["documents"]
    first, last = documents["numbers"]
    for n in range(first, last + 1):
        raw[f"FLAG_DOCUMENT_{n}"] = ("loan", None, documents["en"].format(n=n), documents["fr"].format(n=n))
    enquiries = data["enquiries"]
    for window, (en, fr) in enquiries["windows"].items():
        raw[f"AMT_REQ_CREDIT_BUREAU_{window}"] = (
            "external_scores",
            "count",
            enquiries["en"].format(window=en),
            enquiries["fr"].format(window=fr),
        )
    return raw


_RAW = _raw_fields(_DATA)
_FEATURES = {name: tuple(entry) for name, entry in _DATA["features"].items()}  # name -> (unit, English, French)
_PREFIX_GROUPS = tuple(tuple(pair) for pair in _DATA["feature_groups"])
_DPD_BUCKETS = {int(k): tuple(v) for k, v in _DATA["dpd_buckets"].items()}
_YES_NO = {lang: tuple(words) for lang, words in _DATA["yes_no"].items()}
_UNIT_WORDS = {name: tuple(words) for name, words in _DATA["unit_words"].items()}


@functools.lru_cache(maxsize=4096)  # looked up several times per API request: resolve each name once
def _entry(name: str) -> tuple[str, str | None, str, str]:
    if name in _FEATURES:
        unit, en, fr = _FEATURES[name]
        grp = next((g for prefix, g in _PREFIX_GROUPS if name.startswith(prefix)), "engineered")
        return grp, unit, en, fr
    if name in _RAW:
        return _RAW[name]
    raise KeyError(f"no label for {name!r}: not a raw application field nor a feature")


_LANG_INDEX = {lang: i for i, lang in enumerate(LANGS)}


def _lang(lang: str) -> int:
    i = _LANG_INDEX.get(lang) if isinstance(lang, str) else None
    if i is None:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    return i


def label(name: str, lang: str = "en") -> str:
    """Readable label of a raw field or feature in `lang` (en, fr)."""
    return _entry(name)[2 + _lang(lang)]


def group(name: str) -> str:
    return _entry(name)[0]


def unit(name: str) -> str | None:
    """ "years", "currency", "ratio", "percent", "days", "count" or None (scores, categories, flags)."""
    return _entry(name)[1]


def group_title(grp: str, lang: str = "en") -> str:
    return GROUP_TITLES[grp][_lang(lang)]


@functools.lru_cache(maxsize=4096)  # read for every value shown: the name's rules resolved once
def _rules(name: str) -> tuple[str | None, str | None, tuple | None]:
    """(how the value is rounded, which words stand for it, the unit words) of a labelled name; KeyError if none."""
    kind = _entry(name)[1]
    rounding = "days_as_years" if name in _YEAR_DAYS else kind
    if name.startswith("BUREAU_DPD_MAX_BUCKET"):
        words = "dpd_bucket"
    elif kind is None and (name.startswith(("FLAG_", "REG_", "LIVE_")) or name == "NOT_EMPLOYED_FLAG"):
        words = "yes_no"
    else:
        words = None
    return rounding, words, _UNIT_WORDS.get(kind)


def _rounded(rounding: str | None, value: float):
    if rounding == "days_as_years":
        return round(abs(value) / 365.25, 1)
    if rounding == "percent":
        return round(value * 100, 1)
    if rounding == "years":
        return round(value, 1)
    if rounding == "days" or rounding == "count":
        return int(round(value)) if value.is_integer() or rounding == "days" else round(value, 1)
    if rounding == "currency":
        return round(value, 2)
    if rounding == "ratio":
        return round(value, 3)
    return round(value, 3) if not value.is_integer() else int(value)


def display_value(name: str, raw):
    """Value in display units: negative day counts -> positive years, shares -> percent; None when unknown.

    DAYS_EMPLOYED = 365243 (Kaggle's marker for the retired and the unemployed) gives None: not employed.
    """
    if is_missing(raw):
        return None
    if isinstance(raw, str):
        return raw
    value = float(raw)
    if value == NO_DATE_DAYS and name == "DAYS_EMPLOYED":
        return None
    return _rounded(_rules(name)[0], value)


def display_text(name: str, raw, lang: str = "en") -> str:
    """The value as a short text for a client file: "32.9 years", "yes", "no delay", "unknown"."""
    i = _lang(lang)
    value = display_value(name, raw)
    if value is None:
        if name == "DAYS_EMPLOYED" and not is_missing(raw) and float(raw) == NO_DATE_DAYS:
            return ("not employed or retired", "sans emploi ou retraité")[i]
        return ("unknown", "inconnu")[i]
    if name in _Y_N_FIELDS and value in ("Y", "N", "Yes", "No"):
        return _YES_NO[lang][0 if value in ("Y", "Yes") else 1]
    if isinstance(value, str):
        return value
    _, words, unit_words = _rules(name)
    if words == "dpd_bucket" and int(value) in _DPD_BUCKETS:
        return _DPD_BUCKETS[int(value)][i]
    if words == "yes_no":
        return _YES_NO[lang][0 if value else 1]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    number = f"{value:,}" if i == 0 else f"{value:,}".replace(",", "\u202f").replace(".", ",")
    if unit_words is None:
        return number
    return f"{number} {unit_words[i]}" if unit_words[i] != "%" else f"{number} %"


def describe_application(application: dict, lang: str = "en") -> list[dict]:
    """The client file: raw application fields grouped (identity, income, loan, housing, scores), in display units."""
    _lang(lang)
    fields = {g: [] for g in CLIENT_FILE_GROUPS}
    for name in SCHEMAS["application_test"]:
        if (
            name == "SK_ID_CURR"
            or name not in application
            or name.endswith(("_MODE", "_MEDI"))
            and SCHEMAS["application_test"][name] == "float"
            and name != "TOTALAREA_MODE"
        ):
            continue
        if name.startswith("FLAG_DOCUMENT_"):
            continue  # summarised below as the number of documents provided
        raw = application[name]
        fields[group(name)].append(
            {
                "name": name,
                "label": label(name, lang),
                "value": _plain(raw),
                "display": display_text(name, raw, lang),
                "unit": unit(name),
            }
        )
    docs = [application[k] for k in application if k.startswith("FLAG_DOCUMENT_") and not is_missing(application[k])]
    if docs:
        count = int(sum(float(d) for d in docs))
        fields["loan"].append(
            {
                "name": "DOCUMENT_COUNT",
                "label": label("DOCUMENT_COUNT", lang),
                "value": count,
                "display": display_text("DOCUMENT_COUNT", count, lang),
                "unit": "count",
            }
        )
    return [{"group": g, "title": group_title(g, lang), "fields": fields[g]} for g in CLIENT_FILE_GROUPS]


def history_summary(features: dict, lang: str = "en") -> list[dict]:
    """The credit history in a dozen readable lines, from a client's feature values."""
    _lang(lang)
    return [
        {
            "name": name,
            "label": label(name, lang),
            "value": _plain(features.get(name)),
            "display": display_text(name, features.get(name), lang),
        }
        for name in HISTORY_SUMMARY_FEATURES
    ]


def _plain(raw):
    """JSON-friendly raw value: NaN -> None, numpy scalars -> Python."""
    if is_missing(raw):
        return None
    return raw.item() if hasattr(raw, "item") else raw
