"""Decision letters (scoring.letter): rendered for a declined and a counter-offered client in English and French,
printed to PDF by headless Chromium and read back with pypdf; the lender's file checked; everything escaped."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

import pytest
import yaml

from scoring.bundle import ModelBundle
from scoring.decision.service import stored_decision
from scoring.letter import LetterFileError, compose, letter_html, load_lender, render
from scoring.reasons import reasons
from scoring.store import open_store
from tests.decision_fixtures import example_policy

LETTER_FILE = Path(__file__).resolve().parents[1] / "policies" / "letter.yaml"
TODAY = date(2026, 12, 3)
MONTHS_FR = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
MONTHS_EN = "January February March April May June July August September October November December".split()
WORDS = {  # a sentence of each part, by language, as the reader sees it
    "en": {
        "decline": "Application declined",
        "counter_offer": "Counter-offer: a smaller loan",
        "reasons": "The principal reasons",
        "changes": "What you could change",
        "review": "Your right to a human review",
        "online": "use the “Human review” card",
        "days": "within 30 days of receiving this letter",
        "range": "Grades run from G1, lowest risk, to G8, highest risk.",
        "synthetic": "Synthetic demo data",
    },
    "fr": {
        "decline": "Demande refusée",
        "counter_offer": "Contre-proposition : un prêt plus petit",
        "reasons": "Les principales raisons",
        "changes": "Ce que vous pourriez changer",
        "review": "Votre droit à un réexamen humain",
        "online": "utilisez la carte « Réexamen par une personne »",
        "days": "dans les 30 jours suivant la réception de cette lettre",
        "range": "Les classes vont de G1, risque le plus faible, à G8, risque le plus élevé.",
        "synthetic": "Données de démonstration synthétiques",
    },
}


def _plain(text: str) -> str:
    """Text as compared: ligatures and no-break spaces undone (NFKC), every run of blanks one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture(scope="module")
def portfolio(store_path, trained_models):
    """The store, the bundle, the lender, and one client per case: declined by a rule, declined by the score
    alone, counter-offered, approved."""
    store, bundle, policy = open_store(store_path), ModelBundle.load(trained_models), example_policy()
    records = {}
    for item in store.list_clients(limit=400)["items"]:
        cid = item["client_id"]
        records[cid] = stored_decision(store.get_decision(cid), policy).to_dict()

    def first(test):
        return next(cid for cid, record in records.items() if test(record))

    def stopping(record):
        return [f for f in record["stop_factors"] if f["result"] == "fired" and f["action"] == "decline"]

    cases = {
        "rule": first(lambda r: r["outcome"] == "decline" and stopping(r)),
        "score": first(lambda r: r["outcome"] == "decline" and not stopping(r) and r["score"]["result"] == "decline"),
        "counter_offer": first(lambda r: r["outcome"] == "counter_offer"),
        "approve": first(lambda r: r["outcome"] == "approve"),
    }
    lender = load_lender(LETTER_FILE)
    return {"store": store, "bundle": bundle, "policy": policy, "lender": lender, "records": records, **cases}


def _counterfactuals(portfolio, cid: int, lang: str) -> dict:
    """The counterfactual search's answer for the stored client, worded for the customer (as the API passes it)."""
    from scoring.counterfactuals import Client, body, search

    store = portfolio["store"]
    client, stored = store.get_client(cid), store.get_decision(cid)
    found = search(
        portfolio["bundle"],
        portfolio["policy"],
        Client(client["application"], client["features"], stored["policy_inputs"]),
    )
    return body(found, lang, "customer", cid)


def _html(portfolio, cid: int, lang: str, counterfactuals=None) -> str:
    return letter_html(
        portfolio["store"],
        cid,
        portfolio["records"][cid],
        grade_names=portfolio["bundle"].grades.names,
        lender=portfolio["lender"],
        lang=lang,
        counterfactuals=counterfactuals,
        today=TODAY,
    )


def _pdf(html: str, folder: Path):
    """The page printed by headless Chromium, as pypdf reads it."""
    from pypdf import PdfReader

    page, pdf = folder / "letter.html", folder / "letter.pdf"
    page.write_text(html, encoding="utf-8")
    subprocess.run(
        [
            shutil.which("chromium"),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-pdf-header-footer",
            f"--user-data-dir={folder / 'profile'}",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return PdfReader(pdf)


def _risk_raising_top4(explanation: dict) -> list[str]:
    """The applicant's own largest contributions that raised the risk, computed here apart from the letter."""
    positive = [(s, f) for f, s in explanation["shap"].items() if s is not None and s > 0]
    return [f for s, f in sorted(positive, key=lambda p: (-p[0], p[1]))[:4]]


def _expected_reasons(portfolio, cid: int, lang: str) -> list[str]:
    store = portfolio["store"]
    explanation = store.get_explanation(cid)
    top = _risk_raising_top4(explanation)
    values = explanation["values"]
    shap = {f: explanation["shap"][f] for f in top}
    percentiles = store.percentiles({f: values[f] for f in top})
    said = reasons({"shap": shap, "values": values}, percentiles, 4, lang, audience="customer")
    assert [r["feature"] for r in said] == top and all(r["direction"] == "raises_risk" for r in said)
    return [r["sentence"] for r in said]


def _money(amount: float, lang: str) -> str:
    whole = f"{amount:,.0f}"
    return whole.replace(",", " ") + " €" if lang == "fr" else "€" + whole


def _percent(share: float, lang: str) -> str:
    return f"{100 * share:.1f}".replace(".", ",") + " %" if lang == "fr" else f"{100 * share:.1f}%"


def _long_date(day: date, lang: str) -> str:
    return f"{day.day} {(MONTHS_FR if lang == 'fr' else MONTHS_EN)[day.month - 1]} {day.year}"


pytestmark_chromium = pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed")


@pytestmark_chromium
@pytest.mark.parametrize("case", ["rule", "counter_offer"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_printed_letter_says_everything_in_the_readers_language(portfolio, case, lang, tmp_path):
    cid = portfolio[case]
    record = portfolio["records"][cid]
    changes = _counterfactuals(portfolio, cid, lang)
    html = _html(portfolio, cid, lang, counterfactuals=changes)
    reader = _pdf(html, tmp_path)
    assert 1 <= len(reader.pages) <= 2
    for page in reader.pages:  # A4: 210 x 297 mm in points
        assert abs(float(page.mediabox.width) - 595.3) < 1.5 and abs(float(page.mediabox.height) - 841.9) < 1.5
    text = _plain(" ".join(page.extract_text() for page in reader.pages))
    words = WORDS[lang]
    assert _plain(words[record["outcome"]]) in text
    decided = date.fromisoformat(portfolio["store"].meta()["decided_at"][:10])
    assert _long_date(decided, lang) in text
    score = record["score"]
    assert _plain(_percent(score["pd"], lang)) in text and f" {score['grade']}." in text
    assert _plain(words["range"]) in text
    sentences = _expected_reasons(portfolio, cid, lang)
    assert 1 <= len(sentences) <= 4
    assert all(_plain(sentence) in text for sentence in sentences)
    reasons_part = text.split(_plain(words["reasons"]), 1)[1].split(_plain(words["changes"]), 1)[0]
    assert len(re.findall(r"(?:^| )[1-9]\. ", reasons_part)) == len(sentences)  # those reasons, no other
    fired = [f for f in record["stop_factors"] if f["result"] == "fired" and f["action"] != "info"]
    assert all(_plain(f["message"][lang]) in text for f in fired)
    if case == "rule":
        assert fired
    else:
        offer = record["offer"]
        assert _plain(_money(offer["amount"], lang)) in text and _plain(_money(offer["annuity"], lang)) in text
    assert _plain(changes["message"]) in text
    summaries = [_plain(option["summary"]) for option in changes["options"]]
    assert [summary in text for summary in summaries] == [True] * min(3, len(summaries)) + [False] * (
        len(summaries) - 3
    )
    assert all(_plain(b["message"]) in text for b in changes["blocking"])
    for part in ("changes", "review", "online", "days", "synthetic"):
        assert _plain(words[part]) in text, part
    assert _plain(portfolio["lender"].review_email) in text
    assert str(cid) in text and record["model_version"] in text and record["policy"]["version"] in text
    other = WORDS["fr" if lang == "en" else "en"]
    assert _plain(other["review"]) not in text and _plain(other["reasons"]) not in text
    assert f'<html lang="{lang}">' in html


def test_the_html_is_self_contained_print_ready_and_runs_nothing(portfolio):
    for case in ("rule", "score", "counter_offer"):
        for lang in ("en", "fr"):
            html = _html(portfolio, portfolio[case], lang)
            lowered = html.lower()
            assert "<script" not in lowered and "javascript:" not in lowered and not re.search(r"\son[a-z]+=", lowered)
            assert not re.search(r"https?://|//[a-z]|src=|href=|url\(|@import|<link|<img|<iframe", lowered)
            assert "@page" in html and "size: A4" in html and "@media print" in html
            assert lowered.count("<style>") == 1


def test_the_reasons_are_the_applicants_own_and_never_lower_the_risk(portfolio):
    store = portfolio["store"]
    seen = set()
    for case in ("rule", "score", "counter_offer"):
        cid = portfolio[case]
        explanation = store.get_explanation(cid)
        content = compose(
            cid,
            portfolio["records"][cid],
            explanation,
            store.percentiles,
            meta=store.meta(),
            grade_names=portfolio["bundle"].grades.names,
            lender=portfolio["lender"],
            lang="en",
        )
        assert content["reasons"] == _expected_reasons(portfolio, cid, "en")
        assert all("raises your estimated risk" in sentence for sentence in content["reasons"])
        seen.add(tuple(content["reasons"]))
    assert len(seen) == 3  # three applicants, three different sets of reasons


def test_a_client_declined_by_the_score_alone_gets_the_scores_reason_and_no_rule(portfolio, tmp_path):
    cid = portfolio["score"]
    record = portfolio["records"][cid]
    text = _plain(" ".join(p.extract_text() for p in _pdf(_html(portfolio, cid, "fr"), tmp_path).pages))
    assert "Aucune règle de notre politique de prêt n'a arrêté votre demande." in text
    assert _plain(next(r["message"]["fr"] for r in record["reasons"])) in text


def test_what_the_client_could_change_comes_from_the_counterfactual_search(portfolio):
    options = [
        {"rank": i, "kind": "amount", "summary": f"Option {i}: ask for less <b>now</b>", "changes": [], "pd": 0.05}
        for i in range(1, 5)
    ]
    answer = {
        "status": "options",
        "message": "Three changes would lead to an approval.",
        "blocking": [{"code": "BUREAU_BAD_DEBT", "message": "A written-off credit stays on your file."}],
        "options": options,
    }
    html = _html(portfolio, portfolio["counter_offer"], "en", counterfactuals=answer)
    changes = html.split('id="letter-changes"', 1)[1].split("</section>", 1)[0]
    assert "Three changes would lead to an approval." in changes
    assert [f"Option {i}: ask for less &lt;b&gt;now&lt;/b&gt;" in changes for i in range(1, 5)] == [1, 1, 1, 0]
    assert "A written-off credit stays on your file." in changes and "<b>" not in html
    none = {"status": "none", "message": "No change within reach would alter the decision.", "options": []}
    changes = _html(portfolio, portfolio["rule"], "en", counterfactuals=none).split('id="letter-changes"', 1)[1]
    assert "No change within reach would alter the decision." in changes.split("</section>", 1)[0]


def test_no_letter_for_an_approved_client_or_another_language(portfolio):
    store, cid = portfolio["store"], portfolio["approve"]
    with pytest.raises(ValueError, match="approve"):
        _html(portfolio, cid, "en")
    with pytest.raises(ValueError, match="language"):
        _html(portfolio, portfolio["rule"], "de")
    assert store.get_explanation(cid) is not None


def test_a_real_store_is_not_labelled_synthetic_and_text_is_escaped(portfolio):
    store, cid = portfolio["store"], portfolio["rule"]
    record = portfolio["records"][cid]
    tampered = {**record, "policy": {**record["policy"], "version": "<script>alert(1)</script>"}}
    content = compose(
        cid,
        tampered,
        store.get_explanation(cid),
        store.percentiles,
        meta={**store.meta(), "data_source": "kaggle"},
        grade_names=portfolio["bundle"].grades.names,
        lender=portfolio["lender"],
        lang="en",
        today=TODAY,
    )
    html = render(content)
    assert "Synthetic demo data" not in html and "<script" not in html and "&lt;script&gt;" in html
    assert "Letter issued on 3 December 2026" in html


def _write(folder: Path, edit) -> Path:
    document = yaml.safe_load(LETTER_FILE.read_text(encoding="utf-8"))
    edit(document)
    path = folder / "letter.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda d: d.pop("name"), "missing field(s) name"),
        (lambda d: d.update(phone="+33 1"), "unknown field(s) phone"),
        (lambda d: d["review"].update(days=0), "review.days"),
        (lambda d: d["review"].update(days="30"), "review.days"),
        (lambda d: d["review"].update(days=True), "review.days"),
        (lambda d: d["review"].pop("email"), "missing field(s) email in review"),
        (lambda d: d.update(address="12 rue"), "address must be a list"),
        (lambda d: d["review"].update(address=["ok", " "]), "review.address[1]"),
        (lambda d: d.update(currency=""), "currency"),
    ],
)
def test_the_lenders_file_is_refused_whole_naming_the_field(tmp_path, edit, named):
    path = _write(tmp_path, edit)
    with pytest.raises(LetterFileError, match=re.escape(named)) as caught:
        load_lender(path)
    assert str(path) in str(caught.value)


def test_the_lenders_file_as_shipped(tmp_path):
    lender = load_lender(LETTER_FILE)
    assert lender.review_days == 30 and lender.review_email and lender.address and lender.review_address
    (tmp_path / "bad.yaml").write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(LetterFileError, match="not valid YAML"):
        load_lender(tmp_path / "bad.yaml")
    with pytest.raises(LetterFileError, match="cannot be read"):
        load_lender(tmp_path / "absent.yaml")
