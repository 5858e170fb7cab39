"""Labels: every raw application field and every feature is readable in English and French, with display units."""

from __future__ import annotations

import csv
import math

import pytest

from scoring.features import feature_names
from scoring.labels import (
    CLIENT_FILE_GROUPS,
    GROUPS,
    HISTORY_SUMMARY_FEATURES,
    describe_application,
    display_text,
    display_value,
    group,
    history_summary,
    label,
    unit,
)
from scoring.tables import SCHEMAS, read_table

UNITS = {"years", "currency", "ratio", "percent", "days", "count", None}
RAW_FIELDS = [c for c in SCHEMAS["application_train"] if c != "TARGET"]


@pytest.mark.parametrize("name", sorted(set(RAW_FIELDS) | set(feature_names())))
def test_every_field_and_feature_has_labels_group_and_unit(name):
    en, fr = label(name, "en"), label(name, "fr")
    assert en and fr and en != name and fr != name
    assert group(name) in GROUPS and unit(name) in UNITS


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_two_features_share_a_label(lang):
    """Pickers, reasons and the waterfall show labels without their group: two alike would be indistinguishable."""
    names = feature_names()
    by_label: dict[str, list[str]] = {}
    for name in names:
        by_label.setdefault(label(name, lang), []).append(name)
    assert {k: v for k, v in by_label.items() if len(v) > 1} == {}


def test_french_is_really_translated():
    names = set(RAW_FIELDS) | set(feature_names())
    same = [n for n in names if label(n, "en") == label(n, "fr")]
    assert len(same) <= 3, same
    assert len(RAW_FIELDS) == 121


def test_labels_are_our_own_words_not_kaggles(real_sample_dir):
    path = real_sample_dir / "HomeCredit_columns_description.csv"
    if not path.exists():
        pytest.skip("no description file")
    with path.open(encoding="latin-1") as fh:
        descriptions = {row["Description"].strip().lower() for row in csv.DictReader(fh)}
    names = set(RAW_FIELDS) | set(feature_names())
    copied = [n for n in names if label(n).strip().lower() in descriptions]
    assert not copied


def test_groups_of_features():
    assert group("BUREAU_ACTIVE_COUNT") == "bureau" and group("PREV_REFUSED_COUNT") == "previous_applications"
    assert group("INST_LATE_SHARE_365D") == "instalments" and group("POS_DPD_MAX") == "pos_cash"
    assert group("CC_UTILISATION_MEAN") == "credit_card" and group("PAYMENT_RATE") == "engineered"
    assert group("EXT_SOURCE_2") == "external_scores" and group("DAYS_BIRTH") == "identity"
    assert group("AMT_INCOME_TOTAL") == "income_employment" and group("AMT_CREDIT") == "loan"


def test_display_conversions():
    assert display_value("DAYS_BIRTH", -12005) == 32.9 and unit("DAYS_BIRTH") == "years"
    assert display_value("DAYS_EMPLOYED", 365243) is None
    assert display_text("DAYS_EMPLOYED", 365243) == "not employed or retired"
    assert display_value("DAYS_EMPLOYED", -730.5) == 2.0
    assert display_value("DAYS_LAST_PHONE_CHANGE", -365.25) == 1.0
    assert display_value("INST_LATE_SHARE_365D", 0.125) == 12.5 and unit("INST_LATE_SHARE_365D") == "percent"
    assert display_value("BUREAU_DAYS_SINCE_LAST_CREDIT", 103.0) == 103
    assert display_value("AMT_INCOME_TOTAL", 202500.0) == 202500.0 and unit("AMT_INCOME_TOTAL") == "currency"
    assert display_value("EXT_SOURCE_2", float("nan")) is None and display_value("EXT_SOURCE_2", None) is None
    assert display_value("NAME_INCOME_TYPE", "Working") == "Working"
    assert display_text("DAYS_BIRTH", -12005, "fr") == "32,9 ans"
    assert display_text("FLAG_OWN_CAR", "Y") == "yes" and display_text("FLAG_OWN_CAR", "N", "fr") == "non"
    assert display_text("BUREAU_DPD_MAX_BUCKET", 5.0) == "over 120 days or written off"
    assert display_text("EXT_SOURCE_1", None, "fr") == "inconnu"


def test_unknown_names_and_languages_are_errors():
    with pytest.raises(KeyError, match="NOT_A_FIELD"):
        label("NOT_A_FIELD")
    with pytest.raises(ValueError, match="de"):
        label("AMT_CREDIT", "de")


def test_describe_application_on_a_real_client(real_sample_dir):
    row = read_table(real_sample_dir, "application_train").iloc[0].to_dict()
    groups = describe_application(row, "en")
    assert [g["group"] for g in groups] == list(CLIENT_FILE_GROUPS)
    fields = {f["name"]: f for g in groups for f in g["fields"]}
    assert "TARGET" not in fields and not any(n.startswith("FLAG_DOCUMENT_") for n in fields)
    age = fields["DAYS_BIRTH"]
    assert age["label"] == "Age" and age["unit"] == "years" and age["display"].endswith("years")
    assert float(age["display"].split()[0]) == pytest.approx(-row["DAYS_BIRTH"] / 365.25, abs=0.05)
    assert all(g["title"] and all(f["label"] for f in g["fields"]) for g in groups)
    for f in fields.values():
        assert f["value"] is None or not (isinstance(f["value"], float) and math.isnan(f["value"]))
    french = describe_application(row, "fr")
    assert french[0]["title"] == "Identité et famille"


def test_history_summary():
    values = {"BUREAU_ACTIVE_COUNT": 2.0, "INST_LATE_SHARE_365D": 0.25, "BUREAU_DPD_MAX_BUCKET": 0.0}
    summary = history_summary(values, "en")
    assert [s["name"] for s in summary] == HISTORY_SUMMARY_FEATURES and 10 <= len(summary) <= 15
    by_name = {s["name"]: s for s in summary}
    assert by_name["BUREAU_ACTIVE_COUNT"]["display"] == "2" and by_name["INST_LATE_SHARE_365D"]["display"] == "25 %"
    assert by_name["BUREAU_DPD_MAX_BUCKET"]["display"] == "no delay"
    assert by_name["CC_DPD_MAX"]["value"] is None and by_name["CC_DPD_MAX"]["display"] == "unknown"
    assert set(HISTORY_SUMMARY_FEATURES) <= set(feature_names())
