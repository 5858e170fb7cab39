"""Reason sentences: the largest contributions, in words a customer understands, in English and French."""

from __future__ import annotations

import math

import pytest

from scoring import labels
from scoring.reasons import reasons

NBSP = "\u00a0"


def _explanation(shap: dict, values: dict) -> dict:
    return {"client_id": 1, "base_value": -2.5, "shap": shap, "values": values}


EXPLANATION = _explanation(
    {
        "EXT_SOURCE_2": 0.61,
        "CREDIT_TO_INCOME": -0.30,
        "EXT_SOURCE_1": 0.25,
        "CODE_GENDER": 0.12,
        "AMT_INCOME_TOTAL": -0.05,
        "FLAG_PHONE": 0.0,
        "AGE_YEARS": -0.02,
    },
    {
        "EXT_SOURCE_2": 0.21,
        "CREDIT_TO_INCOME": 2.4,
        "EXT_SOURCE_1": None,
        "CODE_GENDER": "M",
        "AMT_INCOME_TOTAL": 135000.0,
        "FLAG_PHONE": 1.0,
        "AGE_YEARS": 41.3,
    },
)
PERCENTILES = {
    "EXT_SOURCE_2": 20.0,
    "CREDIT_TO_INCOME": 85.0,
    "EXT_SOURCE_1": None,
    "CODE_GENDER": None,
    "AMT_INCOME_TOTAL": 55.0,
    "AGE_YEARS": 48.0,
}


def test_top_contributions_by_absolute_shap_with_direction():
    out = reasons(EXPLANATION, PERCENTILES, top=4)
    assert [r["feature"] for r in out] == ["EXT_SOURCE_2", "CREDIT_TO_INCOME", "EXT_SOURCE_1", "CODE_GENDER"]
    assert [r["direction"] for r in out] == ["raises_risk", "lowers_risk", "raises_risk", "raises_risk"]
    assert out[0]["shap"] == 0.61 and out[0]["label"] == labels.label("EXT_SOURCE_2")
    assert len(reasons(EXPLANATION, PERCENTILES, top=10)) == 6  # a zero contribution is no reason


def test_english_sentences_are_specific():
    by = {r["feature"]: r["sentence"] for r in reasons(EXPLANATION, PERCENTILES, top=6)}
    ext = by["EXT_SOURCE_2"]
    assert labels.label("EXT_SOURCE_2").lower() in ext.lower()
    assert "(0.21)" in ext and "lower than 80 % of clients" in ext and ext.endswith("raises your estimated risk.")
    assert "higher than 85 % of clients" in by["CREDIT_TO_INCOME"]
    assert by["CREDIT_TO_INCOME"].endswith("lowers your estimated risk.")
    assert by["EXT_SOURCE_1"].startswith("No information on")
    assert "M" in by["CODE_GENDER"]
    assert "135,000" in by["AMT_INCOME_TOTAL"]
    for sentence in by.values():
        assert "did not reach" not in sentence and "nan" not in sentence.lower().split()
        assert "EXT_SOURCE" not in sentence  # readable labels, not column names


def test_french_sentences():
    by = {r["feature"]: r["sentence"] for r in reasons(EXPLANATION, PERCENTILES, top=6, lang="fr")}
    ext = by["EXT_SOURCE_2"]
    assert labels.label("EXT_SOURCE_2", lang="fr") in ext
    assert "(0,21)" in ext and f"80{NBSP}%" in ext and "plus basse" in ext
    assert ext.endswith("cela augmente votre risque estimé.")
    assert "plus élevée" in by["CREDIT_TO_INCOME"] and by["CREDIT_TO_INCOME"].endswith("diminue votre risque estimé.")
    assert by["EXT_SOURCE_1"].startswith("Aucune information sur")
    assert f"135{NBSP}000" in by["AMT_INCOME_TOTAL"]


def test_extremes_and_missing_percentiles():
    explanation = _explanation(
        {"EXT_SOURCE_3": 0.4, "CNT_CHILDREN": 0.2, "EXT_SOURCE_2": -0.1},
        {"EXT_SOURCE_3": 0.01, "CNT_CHILDREN": 0.0, "EXT_SOURCE_2": float("nan")},
    )
    out = reasons(explanation, {"EXT_SOURCE_3": 0.2, "CNT_CHILDREN": 0.0}, top=3)
    assert "among the lowest" in out[0]["sentence"] and "among the lowest" in out[1]["sentence"]
    assert out[2]["sentence"].startswith("No information on")
    assert reasons(explanation, {}, top=1)[0]["sentence"].endswith("raises your estimated risk.")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"top": 0}, "top"), ({"top": 99}, "top"), ({"top": "4"}, "top"), ({"lang": "de"}, "language")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        reasons(EXPLANATION, PERCENTILES, **kwargs)


def test_empty_explanation():
    assert reasons(_explanation({}, {}), {}) == []


def test_reasons_from_the_store(store_path):
    from scoring.store import open_store

    store = open_store(store_path)
    for item in store.list_clients(limit=30)["items"]:
        explanation = store.get_explanation(item["client_id"])
        percentiles = store.percentiles(explanation["values"])
        out = reasons(explanation, percentiles, top=4)
        ranked = sorted(explanation["shap"], key=lambda f: -abs(explanation["shap"][f]))
        assert [r["feature"] for r in out] == ranked[:4]
        for lang in ("en", "fr"):
            for r in reasons(explanation, percentiles, top=5, lang=lang):
                assert r["sentence"] and "{" not in r["sentence"] and "None" not in r["sentence"]
                assert not any(w in r["sentence"] for w in ("nan", "inf")) or math.isfinite(r["shap"])


def test_manager_wording_in_english():
    customer = reasons(EXPLANATION, PERCENTILES, top=6)
    manager = reasons(EXPLANATION, PERCENTILES, top=6, audience="manager")
    assert [r["feature"] for r in manager] == [r["feature"] for r in customer]
    by = {r["feature"]: r["sentence"] for r in manager}
    assert by["EXT_SOURCE_2"].startswith("The client's ") and "lower than 80 % of clients" in by["EXT_SOURCE_2"]
    assert by["EXT_SOURCE_2"].endswith("raises the client's estimated risk.")
    assert by["CREDIT_TO_INCOME"].endswith("lowers the client's estimated risk.")
    assert by["EXT_SOURCE_1"].startswith("No information on the client's ")
    for sentence in by.values():
        assert "your" not in sentence.lower().split() and "Your" not in sentence
    # the same sentence shape: only the person changes
    for c, m in zip(customer, manager, strict=True):
        assert c["sentence"].replace("your", "the client's").replace("Your", "The client's") == m["sentence"]


def test_manager_wording_in_french():
    customer = reasons(EXPLANATION, PERCENTILES, top=6, lang="fr")
    by = {r["feature"]: r["sentence"] for r in reasons(EXPLANATION, PERCENTILES, top=6, lang="fr", audience="manager")}
    assert "la valeur du client (0,21)" in by["EXT_SOURCE_2"] and f"80{NBSP}%" in by["EXT_SOURCE_2"]
    assert by["EXT_SOURCE_2"].endswith("cela augmente le risque estimé du client.")
    assert by["CREDIT_TO_INCOME"].endswith("cela diminue le risque estimé du client.")
    assert by["EXT_SOURCE_1"].startswith("Aucune information sur")
    for sentence in by.values():
        assert "votre" not in sentence and "vous" not in sentence
    for c in customer:
        assert "le client" not in c["sentence"] and "du client" not in c["sentence"]


def test_default_audience_is_the_customer():
    assert reasons(EXPLANATION, PERCENTILES, top=6) == reasons(EXPLANATION, PERCENTILES, top=6, audience="customer")
    with pytest.raises(ValueError, match="audience"):
        reasons(EXPLANATION, PERCENTILES, audience="robot")
