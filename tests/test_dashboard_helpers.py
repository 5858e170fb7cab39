"""The dashboard's pure helpers without a browser: figures, strings, and each card and panel built from API answers."""

from __future__ import annotations

import string

import pytest
from dash import dcc, html, no_update

from dashboard import api_client
from dashboard.app import create_app
from dashboard.components import (
    campaign,
    charts,
    client_view,
    compare,
    counterfactual_card,
    decision_card,
    explanation_cards,
    file_card,
    importance_card,
    score_card,
    search,
    whatif,
)
from dashboard.components.card import Card, call_key, calls_of
from dashboard.components.common import DECISION_STYLE
from dashboard.i18n import LANGS, NBSP, STRINGS, money, number, percent, t

CID = 100042
SCORE = {"client_id": CID, "pd": 0.123, "threshold": 0.09, "grade": "G6", "decision": "decline", "model_version": "v7"}
EXPLANATION = {
    "base_value": -2.0,
    "raw_score": -1.2,
    "others": {"count": 3, "shap": 0.1},
    "contributions": [
        {"label": "Income", "display": "€10,000", "shap": 0.5},
        {"label": "Age", "display": "40 years", "shap": 0.2},
    ],
    "reasons": [
        {"direction": "raises_risk", "sentence": "A low income raises the risk."},
        {"direction": "lowers_risk", "sentence": "Being 40 lowers the risk."},
    ],
}
FILE = {
    "groups": [
        {"group": "loan", "title": "The loan", "fields": [{"label": "Credit", "display": "€1,000"}]},
        {"group": "family", "title": "Family", "fields": [{"label": "Children", "display": "2"}]},
        {"group": "documents", "title": "Documents", "fields": []},
    ],
    "history": [{"label": "Previous loans", "display": "3"}],
}
IMPORTANCE = {"items": [{"label": f"Feature {i}", "mean_abs_shap": 1 / (i + 1)} for i in range(7)]}


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            yield from _walk(child)


def _text(node) -> str:
    if node is None or isinstance(node, str | int | float):
        return "" if node is None else str(node)
    if isinstance(node, list | tuple):
        return "".join(_text(child) for child in node)
    return _text(getattr(node, "children", None))


def _by_id(node, element_id):
    roots = node if isinstance(node, list | tuple) else [node]
    found = [c for root in roots for c in _walk(root) if getattr(c, "id", None) == element_id]
    assert len(found) == 1, f"{element_id}: {len(found)} elements"
    return found[0]


def _all(node, kind) -> list:
    roots = node if isinstance(node, list | tuple) else [node]
    return [c for root in roots for c in _walk(root) if isinstance(c, kind)]


def _results(lang: str = "en", **failures) -> dict:
    """The answers to every call of the client view, by call key; a failure replaces the answer of that call."""
    answers = {
        api_client.client_score_path(CID): ("score", SCORE),
        api_client.client_explanation_path(CID): ("explanation", EXPLANATION),
        api_client.client_path(CID): ("file", FILE),
        api_client.importance_path(): ("importance", IMPORTANCE),
        api_client.model_path(): ("model", {"data_source": "synthetic"}),
        api_client.client_decision_path(CID): ("decision", _decision_answer("approve", lang, "customer")),
        api_client.client_offer_path(CID): ("offer", api_client.ApiRefused(404, "offer not found")),
        api_client.client_reviews_path(CID): ("reviews", {"client_id": CID, "items": []}),
        api_client.client_counterfactuals_path(CID): ("counterfactuals", _counterfactuals()),
    }
    results = {}
    for key, (path, _) in client_view._calls(CID, lang).items():
        name, body = answers[path]
        results[key] = failures.get(name, body)
    return results


# ---------------------------------------------------------------- strings


def test_every_string_exists_in_both_languages_with_the_same_placeholders():
    for key, texts in STRINGS.items():
        assert set(texts) == set(LANGS) and all(texts.values()), key
        fields = [{name for _, name, _, _ in string.Formatter().parse(texts[lang]) if name} for lang in LANGS]
        assert fields[0] == fields[1], key


def test_numbers_money_and_percentages_follow_the_language():
    assert number(1234567.891, "en", 2) == "1,234,567.89"
    assert number(1234567.891, "fr", 2) == f"1{NBSP}234{NBSP}567,89"
    assert money(1500, "en") == "€1,500" and money(1500, "fr") == f"1{NBSP}500{NBSP}€"
    assert percent(0.1234, "en") == f"12.3{NBSP}%" and percent(0.1234, "fr", 2) == f"12,34{NBSP}%"
    assert number(None, "fr") == money(None, "en") == percent(None, "en") == "—"
    assert t("results", "fr", total=3, start=1, end=3) == "3 clients, 1–3 affichés"


# ---------------------------------------------------------------- figures


def test_gauge_shows_the_pd_against_the_threshold_in_the_decision_colour():
    indicator = charts.gauge(SCORE, "en").data[0]
    assert indicator.value == pytest.approx(12.3)
    assert indicator.gauge.threshold.value == pytest.approx(9.0)
    assert list(indicator.gauge.axis.range) == pytest.approx([0, 40])  # at least 40 % shown
    assert indicator.gauge.bar.color == DECISION_STYLE["decline"][0]
    assert [edge for step in indicator.gauge.steps for edge in step.range] == pytest.approx([0, 9, 9, 40])
    high = charts.gauge({**SCORE, "pd": 0.8, "decision": "approve"}, "en").data[0]
    assert list(high.gauge.axis.range) == pytest.approx([0, 100]) and high.gauge.bar.color == "#005a9c"


def test_gauge_summary_says_pd_threshold_grade_and_decision_in_each_language():
    assert charts.gauge_summary(SCORE, "en") == (
        f"Estimated probability of default 12.3{NBSP}%; the bank declines from 9.0{NBSP}%. Grade G6: Declined."
    )
    assert f"12,3{NBSP}%" in charts.gauge_summary(SCORE, "fr") and "Refusé" in charts.gauge_summary(SCORE, "fr")


def test_waterfall_bars_go_from_the_average_client_to_this_score():
    bars = charts.waterfall(EXPLANATION, "en").data[0]
    assert list(bars.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert list(bars.y) == [  # the path as walked, drawn top to bottom
        "Average client",
        "Income = €10,000",
        "Age = 40 years",
        "All other factors (3)",
        "This client",
    ]
    assert bars.x[0] == -2.0 and bars.x[-1] == -1.2
    assert sum(bars.x[:-1]) == pytest.approx(bars.x[-1])  # the steps add up to the client's log-odds
    assert list(bars.text) == ["−2.00", "+0.50", "+0.20", "+0.10", "−1.20"]
    assert charts.waterfall(EXPLANATION, "fr").data[0].text[1] == "+0,50"
    alone = charts.waterfall({**EXPLANATION, "others": {"count": 0, "shap": 0.0}}, "en").data[0]
    assert "All other factors" not in " ".join(alone.y) and len(alone.x) == 4


def test_waterfall_summary_names_each_effect_and_its_direction():
    summary = charts.waterfall_summary(
        {
            **EXPLANATION,
            "contributions": [*EXPLANATION["contributions"], {"label": "Car", "display": "no", "shap": -0.3}],
        },
        "en",
    )
    assert summary == (
        "Starting from the average client (−2.00), the largest effects are: Income (€10,000): raises risk +0.50; "
        "Age (40 years): raises risk +0.20; Car (no): lowers risk −0.30."
    )


def test_importance_bars_put_the_largest_on_top():
    bars = charts.importance(IMPORTANCE["items"], "en").data[0]
    assert list(bars.y) == [f"Feature {i}" for i in reversed(range(7))]
    assert list(bars.x) == sorted(bars.x) and bars.x[-1] == 1.0


def test_distribution_compares_shares_of_each_group_and_marks_the_client():
    dist = {
        "kind": "numeric",
        "label": "Income",
        "edges": [0, 10, 20, 30],
        "repaid": [6, 3, 1],
        "defaulted": [1, 2, 1],
        "client": {"value": 12, "display": "12", "percentile": 55.0},
    }
    fig, text = charts.distribution(dist, "en")
    assert list(fig.data[0].x) == [5, 15, 25]
    assert [sum(bar.y) for bar in fig.data] == pytest.approx([100, 100])
    assert list(fig.data[1].y) == pytest.approx([25, 50, 25])
    assert [shape.x0 for shape in fig.layout.shapes] == [12]
    assert text == f"Income: this client's value is 12, higher than 55{NBSP}% of clients."
    _, missing = charts.distribution({**dist, "client": {"value": None}}, "fr")
    assert missing == "Income : pas de valeur pour ce client."
    cat = {
        "kind": "categorical",
        "label": "Car",
        "categories": ["yes", "no"],
        "repaid": [0, 0],
        "defaulted": [1, 1],
        "client": {"value": "no", "display": "no"},
    }
    fig, text = charts.distribution(cat, "en")
    assert list(fig.data[0].x) == ["yes", "no"] and list(fig.data[0].y) == [0, 0]  # an empty group is not a crash
    assert text == "Car: this client's value is no." and not fig.layout.shapes


def test_bivariate_draws_points_or_group_counts_and_the_client_as_a_star():
    points = {
        "kind": "points",
        "x_label": "A",
        "y_label": "B",
        "client": {"x": 1, "y": 2},
        "points": [{"x": 0, "y": 0, "pd": 0.1}, {"x": 1, "y": 1, "pd": 0.4}],
    }
    fig, text = charts.bivariate(points, "en")
    assert list(fig.data[0].marker.color) == [0.1, 0.4] and text.startswith("2 clients drawn at random")
    assert (fig.data[1].x, fig.data[1].y, fig.data[1].marker.symbol) == ((1,), (2,), "star")
    density = {
        "kind": "density",
        "x_label": "A",
        "y_label": "B",
        "client": {"x": None, "y": 2},
        "density": {
            "x_kind": "numeric",
            "y_kind": "categorical",
            "x_edges": [0, 2, 4],
            "y_edges": ["u", "v"],
            "counts": [[50, 60], [70, 80]],
        },
    }
    fig, text = charts.bivariate(density, "en")
    assert list(fig.data[0].x) == [1, 3] and list(fig.data[0].y) == ["u", "v"]
    assert [list(row) for row in fig.data[0].z] == [[50, 70], [60, 80]]  # rows are the y categories
    assert len(fig.data) == 1 and "groups, never individuals" in text  # no star without both coordinates


# ---------------------------------------------------------------- cards


def test_score_card_shows_grade_decision_summary_and_model_version():
    panel = score_card.CARD.render({"score": SCORE}, "en", "customer")
    assert _by_id(panel, "grade-value").children == "G6"
    assert _text(_by_id(panel, "decision-value")) == "✖ Declined"
    assert _text(_by_id(panel, "gauge-summary")) == charts.gauge_summary(SCORE, "en")
    assert _by_id(panel, "gauge").config["staticPlot"] is True
    assert "Model version: v7" in _text(panel)
    assert "Classe " in _text(score_card.CARD.render({"score": SCORE}, "fr", "manager"))


def test_reasons_card_lists_each_sentence_with_its_direction():
    panel = explanation_cards.REASONS.render({"explanation": EXPLANATION}, "en", "manager")
    assert panel.id == "reasons-list"
    assert [_text(li) for li in panel.children] == ["▲ A low income raises the risk.", "▼ Being 40 lowers the risk."]
    assert [li.children[0].className for li in panel.children] == ["up", "down"]


def test_waterfall_and_importance_cards_pair_each_figure_with_its_text():
    _, _, view = explanation_cards.WATERFALL.render({"explanation": EXPLANATION}, "en", "manager")
    graph, summary = view.children
    assert graph.id == "waterfall" and graph.figure.data[0].x[-1] == -1.2
    assert summary.children == charts.waterfall_summary(EXPLANATION, "en")
    graph, summary = importance_card.CARD.render({"importance": IMPORTANCE}, "en", "manager")
    assert graph.id == "importance"
    assert summary.children == (
        "Across all clients, the model relies most on: Feature 0, Feature 1, Feature 2, Feature 3, Feature 4."
    )


def test_file_card_shows_filled_groups_then_the_history():
    blocks = file_card.CARD.render({"file": FILE}, "en", "manager")
    assert [_text(b.children[0]) for b in blocks] == ["The loan", "Family", "Credit history"]
    assert [b.open for b in blocks] == [True, False, True]
    assert [_text(row) for row in _all(blocks[0], html.Tr)] == ["Credit€1,000"]
    assert _text(_all(blocks[2], html.Tr)) == "Previous loans3"


def test_a_card_whose_call_failed_says_so_instead_of_rendering():
    card = explanation_cards.REASONS
    note = card.panel({"explanation": api_client.ApiUnavailable("timeout")}, "en", "manager")
    assert note.className == "failed" and "could not be loaded" in _text(note)
    assert card.panel({"explanation": EXPLANATION}, "en", "manager").id == "reasons-list"


def test_cards_asking_the_same_call_share_one_request():
    calls = calls_of([explanation_cards.REASONS, explanation_cards.WATERFALL], CID, "fr")
    assert list(calls.values()) == [(f"/api/v1/clients/{CID}/explanation", {"top": 8, "lang": "fr", "units": "pd"})]
    # score, explanation, decision, offer, counterfactuals, reviews, file, importance, model: one round trip
    assert len(client_view._calls(CID, "en")) == 9
    other = Card(
        id="x",
        title="score_title",
        calls=lambda cid, lang: {"e": (api_client.client_explanation_path(cid), {"top": 3, "lang": lang})},
        render=lambda answers, lang, role: None,
    )
    assert len(calls_of([explanation_cards.REASONS, other], CID, "en")) == 2  # other parameters: another call
    assert call_key("/p", {"b": 2, "a": 1}) == call_key("/p", {"a": 1, "b": 2}) == "/p?a=1&b=2"


# ---------------------------------------------------------------- the client view's panels


def test_the_view_fills_every_card_and_notes_synthetic_data():
    outputs = client_view._outputs(_results(), CID, "en", "customer")
    assert len(outputs) == len(client_view.CARDS) + 2
    *panels, notice, banner = outputs
    by_card = dict(zip((card.id for card in client_view.CARDS), panels, strict=True))
    assert _by_id(by_card["score-panel"], "grade-value").children == "G6"
    assert by_card["reasons-panel"].id == "reasons-list"
    assert _text(by_card["file-panel"][-1].children[0]) == "Credit history"
    assert _text(notice) == "Synthetic demo data: these are not real clients." and banner is None
    real = client_view._outputs(_results(model={"data_source": "kaggle"}), CID, "en", "customer")
    assert real[-2] is None


def test_an_unanswered_call_fails_its_cards_only_and_shows_the_banner():
    *panels, notice, banner = client_view._outputs(
        _results("fr", explanation=api_client.ApiUnavailable("HTTP 503"), model=api_client.ApiUnavailable("x")),
        CID,
        "fr",
        "manager",
    )
    failed = [
        card.id
        for card, panel in zip(client_view.CARDS, panels, strict=True)
        if getattr(panel, "className", None) == "failed"
    ]
    assert failed == ["reasons-panel", "waterfall-panel"]
    assert "ne répond pas" in _text(banner) and banner.role == "alert"
    assert notice is None  # the model card did not answer: nothing claimed about the data


def test_an_unknown_client_or_a_refused_token_leaves_one_message():
    missing = client_view._outputs(_results(score=api_client.ApiRefused(404, "no such client")), CID, "en", "manager")
    assert _text(missing[0]) == "No such client." and missing[1:] == [None] * (len(missing) - 1)
    expired = client_view._outputs(_results(importance=api_client.AuthExpired("expired")), CID, "en", "manager")
    assert expired[0].className == "expired-marker" and expired[0].hidden is True
    assert expired[1:] == [None] * (len(expired) - 1)


def test_the_layout_holds_every_card_for_each_role_and_the_what_if_for_managers_only():
    app = create_app({"DASHBOARD_SECRET_KEY": "helpers"})
    with app.server.test_request_context("/"):  # no one signed in: the pickers start empty
        views = {role: client_view.layout(CID, "en", role) for role in ("manager", "customer")}
    for role, view in views.items():
        for card in client_view.CARDS:
            assert isinstance(_by_id(view, card.id), html.Div), (role, card.id)
        assert _by_id(view, "client-id").data == CID and _text(_by_id(view, "client-title")) == f"Client {CID}"
    assert _by_id(views["manager"], "wi-run") and len(_all(views["manager"], dcc.Link)) == 1
    assert not [c for c in _walk(views["customer"]) if getattr(c, "id", "").startswith("wi-")]
    assert not _all(views["customer"], dcc.Link)  # no way back to a search a customer may not use


# ---------------------------------------------------------------- search, what-if, comparison pickers


def test_search_results_count_and_link_each_client():
    page = {"total": 45, "items": [{"client_id": 7, "pd": 0.05, "grade": "G4", "decision": "approve"}]}
    summary, table = search._table(page, 20, "en")
    assert summary.children == "45 clients, 21–21 shown"
    link = _all(table, dcc.Link)[0]
    assert (link.href, link.children, link.title) == ("/client/7", "7", "Open file 7")
    assert [_text(td) for td in _all(table, html.Td)] == ["7", f"5.0{NBSP}%", "G4", "✔ Approved"]
    assert search._table({"total": 0, "items": []}, 0, "fr")[0].children == "0 clients, 0–0 affichés"


def test_what_if_shows_current_and_simulated_side_by_side():
    result = {
        "current": {"pd": 0.1, "grade": "G5", "decision": "decline"},
        "simulated": {"pd": 0.05, "grade": "G4", "decision": "approve"},
    }
    panel = whatif._comparison(result, "en")
    assert _text(_by_id(panel, "wi-current-pd")) == f"10.0{NBSP}%"
    assert _text(_by_id(panel, "wi-simulated-pd")) == f"5.0{NBSP}%"
    assert "Simulated *" in _text(panel) and "nothing is stored" in _text(panel)
    assert whatif._annuity_from_term(12, 1200) == pytest.approx(112.0)  # 12 % a year, flat, over 12 months
    assert whatif._annuity_from_term(0, 1200) is no_update and whatif._annuity_from_term(12, None) is no_update
    assert whatif.layout("en", "customer") is None


def test_pickers_default_to_known_features_and_a_customer_to_grid_pairs():
    items = [
        {"name": "CODE", "label": "Code", "in_model": True, "type": "categorical"},
        {"name": "AGE", "label": "Age", "in_model": True, "type": "numeric", "in_grid": True},
        {"name": "AMT_CREDIT", "label": "Credit", "in_model": True, "type": "numeric", "in_grid": True},
        {"name": "EXT_SOURCE_2", "label": "Score 2", "in_model": True, "type": "numeric"},
        {"name": "RAW", "label": "Raw", "in_model": False, "type": "numeric"},
    ]
    options, dist, x, y, pairs = compare._pickers(items, "manager")
    assert [o["value"] for o in options] == ["CODE", "AGE", "AMT_CREDIT", "EXT_SOURCE_2"] and pairs == options
    assert (dist, x, y) == ("EXT_SOURCE_2", "EXT_SOURCE_2", "AMT_CREDIT")
    options, dist, x, y, pairs = compare._pickers(items, "customer")
    assert [o["value"] for o in pairs] == ["AGE", "AMT_CREDIT"] and {x, y} == {"AGE", "AMT_CREDIT"}


# ---------------------------------------------------------------- the Decision card and the campaign page
# The decision JSON as the API sends it: Decision.to_dict() for managers, customer_view() for customers, made by
# the real decision code on crafted applicants (the dashboard itself never imports scoring).
_PREVIOUS_REFUSED = {
    "previous_application": [
        {"SK_ID_PREV": 1, "SK_ID_CURR": 1, "NAME_CONTRACT_STATUS": "Refused", "DAYS_DECISION": -30, "AMT_CREDIT": 1e3}
    ]
}
OUTCOMES = {  # outcome -> (application changes, history, PD)
    "approve": ({}, None, 0.02),
    "counter_offer": ({"AMT_INCOME_TOTAL": 20000.0, "AMT_CREDIT": 400000.0, "AMT_ANNUITY": 13867.0}, None, 0.02),
    "refer": ({}, _PREVIOUS_REFUSED, 0.02),
    "decline": ({"DAYS_BIRTH": -7000}, None, 0.02),
    "technical_refusal": ({"AMT_ANNUITY": 500000.0}, None, 0.02),
}
OFFER = {
    "rank": 3,
    "client_id": CID,
    "pd": 0.02,
    "grade": "G3",
    "amount": 250000.0,
    "annuity": 8666.2,
    "term_months": 36,
    "annual_rate": 0.15,
    "dsti": 0.31,
    "message": "You are pre-approved for this loan.",
    "campaign": {"run_at": "2026-12-01T10:00:00+00:00", "offers": 1200, "policy_version": "example-2025.1"},
}


def _decision_answer(outcome: str, lang: str, role: str) -> dict:
    import pandas as pd

    from scoring.decision.record import customer_view
    from tests.decision_fixtures import decision_of

    application, history, pd_value = OUTCOMES[outcome]
    tables = {name: pd.DataFrame(rows) for name, rows in (history or {}).items()} or None
    record = decision_of(application, tables, pd_value=pd_value).to_dict()
    assert record["outcome"] == outcome
    return {"client_id": CID, "decision": customer_view(record, lang) if role == "customer" else record}


@pytest.mark.parametrize("outcome", list(OUTCOMES))
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", ["manager", "customer"])
def test_the_decision_card_shows_outcome_reasons_and_figures(outcome, lang, role):
    answer = _decision_answer(outcome, lang, role)
    decision = answer["decision"]
    panel = decision_card.CARD.render({"decision": answer, "offer": None}, lang, role)
    badge = _by_id(panel, "decision-outcome")
    assert _text(badge) == f"{DECISION_STYLE[outcome][1]} {t(outcome, lang)}"
    text = _text(panel)
    assert t(f"outcome_{outcome}_{role}", lang) in text
    for reason in decision["reasons"]:  # the customer's words, in the language chosen, for both roles
        message = reason["message"] if role == "customer" else reason["message"][lang]
        assert message in _text(_by_id(panel, "decision-reasons"))
    other = "fr" if lang == "en" else "en"
    if decision["reasons"] and role == "manager":
        assert decision["reasons"][0]["message"][other] not in text
    if role == "manager":  # the rules that fired with the value seen and the threshold; never for a customer
        fired = [f for f in decision["stop_factors"] if f["result"] == "fired"]
        rules = _text(_by_id(panel, "decision-rules"))
        assert all(f["code"] in rules and f["description"] in rules for f in fired)
        assert t("no_rule_fired", lang) in rules or fired
        assert "example-2025.1" in text
    else:
        assert not [c for c in _walk_all(panel) if getattr(c, "id", None) == "decision-rules"]
        assert t("rules_fired", lang) not in text
    if outcome == "technical_refusal":
        assert decision["technical_issues"] and decision["technical_issues"][0]["field"] in text
        assert not [c for c in _walk_all(panel) if getattr(c, "id", None) == "decision-affordability"]
    elif outcome == "decline":  # a first-stage rule declined: affordability was never assessed
        assert _text(_by_id(panel, "decision-affordability")) == t("afford_not_evaluated", lang)
    else:
        figures = _text(_by_id(panel, "decision-affordability"))
        dsti = decision["affordability"]
        assert percent(dsti["dsti"], lang) in figures and percent(dsti["dsti_cap"], lang) in figures
        assert money(dsti["new_annuity"], lang) in figures and money(dsti["income"], lang) in figures
        assert money(dsti["existing_debt_service"], lang) in figures
        if role == "manager":
            assert money(dsti["max_amount"], lang) in figures
    if outcome in ("approve", "counter_offer", "refer"):  # a referred application keeps its offer, for review
        offer = _text(_by_id(panel, "decision-offer"))
        assert money(decision["offer"]["amount"], lang) in offer
        heading = {"counter_offer": "counter_offer", "refer": "offer_if_approved"}.get(outcome, "offer")
        assert offer.startswith(t(heading, lang))
    else:
        assert not [c for c in _walk_all(panel) if getattr(c, "id", None) == "decision-offer"]


def _walk_all(node):
    for root in node if isinstance(node, list | tuple) else [node]:
        yield from _walk(root)


def test_the_decision_card_shows_a_pre_approved_offer_when_there_is_one():
    answer = _decision_answer("approve", "fr", "manager")
    panel = decision_card.CARD.render({"decision": answer, "offer": OFFER}, "fr", "manager")
    offer = _text(_by_id(panel, "pre-approved-offer"))
    assert offer.startswith("Offre pré-accordée") and money(250000.0, "fr") in offer and "36 mois" in offer
    assert "Rang 3 sur 1200 dans la campagne du 2026-12-01." in offer
    customer = {k: OFFER[k] for k in ("client_id", "amount", "annuity", "term_months", "annual_rate", "message")}
    answer = _decision_answer("decline", "en", "customer")
    panel = decision_card.CARD.render({"decision": answer, "offer": customer}, "en", "customer")
    text = _text(_by_id(panel, "pre-approved-offer"))
    assert "You are pre-approved for this loan." in text and "Rank" not in text


def test_a_client_without_an_offer_still_gets_the_decision_card():
    answers = {
        "decision": _decision_answer("refer", "en", "customer"),
        "offer": api_client.ApiRefused(404, "offer not found"),
    }
    panel = decision_card.CARD.panel(answers, "en", "customer")
    assert _by_id(panel, "decision-outcome") and "pre-approved" not in _text(panel).lower()
    failed = decision_card.CARD.panel({**answers, "offer": api_client.ApiUnavailable("timeout")}, "en", "customer")
    assert failed.className == "failed"
    refused = decision_card.CARD.panel({**answers, "decision": api_client.ApiRefused(409, "stale")}, "en", "manager")
    assert refused.className == "failed"


def test_the_campaign_table_links_each_offer_and_counts_them():
    page = {"total": 1234, "items": [OFFER], "campaign": OFFER["campaign"] | {"clients_scored": 5000}}
    summary, table = campaign.table(page, 20, "en")
    assert summary.children == "1,234 offers, 21–21 shown"
    link = _all(table, dcc.Link)[0]
    assert (link.href, link.children) == (f"/client/{CID}", str(CID))
    cells = [_text(td) for td in _all(table, html.Td)]
    assert cells == ["3", str(CID), f"2.0{NBSP}%", "G3", "€250,000", "€8,666", "36"]
    assert _text(campaign.table({"total": 0, "items": [], "campaign": None}, 0, "fr")) == t("no_campaign", "fr")


def test_the_campaign_notice_says_synthetic_and_which_campaign():
    page = {"data_source": "synthetic", "campaign": OFFER["campaign"] | {"clients_scored": 5000, "model_version": "m1"}}
    synthetic, meta = campaign.notice(page, "en")
    assert _text(synthetic) == t("synthetic", "en")
    assert _text(meta).startswith("Campaign of 2026-12-01: 1,200 offers to 5,000 clients scored, policy example-2025.1")
    assert campaign.notice({"data_source": "real", "campaign": None}, "fr") == []


def test_the_campaign_filters_become_the_apis_query():
    assert campaign.filters("", None, None) == {"grade": None, "min_amount": None, "max_amount": None}
    assert campaign.filters("G2", 1000, 5e5) == {"grade": "G2", "min_amount": 1000, "max_amount": 5e5}


# ---------------------------------------------------------------- PD points, the counterfactual card (#12)

PD_EXPLANATION = {
    **EXPLANATION,
    "units": "pd",
    "base_pd": 0.08,
    "final_pd": 0.123,
    "contributions": [
        {**EXPLANATION["contributions"][0], "pd_points": 0.03},
        {**EXPLANATION["contributions"][1], "pd_points": 0.0125},
    ],
    "others": {"count": 3, "shap": 0.1, "pd_points": 0.0005},
}


def test_the_pd_waterfall_walks_the_same_path_in_percentage_points():
    bars = charts.waterfall(PD_EXPLANATION, "en", "pd").data[0]
    assert list(bars.y) == list(charts.waterfall(PD_EXPLANATION, "en").data[0].y)  # the log-odds path's steps
    assert list(bars.x) == pytest.approx([8.0, 3.0, 1.25, 0.05, 12.3])
    assert sum(bars.x[:-1]) == pytest.approx(bars.x[-1])  # from the average client's PD to this one
    assert list(bars.text) == [f"8.0{NBSP}%", f"+3.0{NBSP}pts", f"+1.2{NBSP}pts", f"+0.05{NBSP}pts", f"12.3{NBSP}%"]
    assert charts.waterfall(PD_EXPLANATION, "fr", "pd").data[0].text[1] == f"+3,0{NBSP}pts"
    assert "Probability of default (%)" in str(charts.waterfall(PD_EXPLANATION, "en", "pd").layout.xaxis.title.text)
    assert charts.waterfall_label(PD_EXPLANATION, "en", "customer") == (
        f"In percentage points of probability of default, from the average client's 8.0{NBSP}% to your 12.3{NBSP}%."
    )
    assert "to the client's 12.3" in charts.waterfall_label(PD_EXPLANATION, "en", "manager")
    assert f"à 12,3{NBSP}% pour vous" in charts.waterfall_label(PD_EXPLANATION, "fr", "customer")
    assert charts.waterfall_summary(PD_EXPLANATION, "en", "pd") == (
        f"Starting from the average client (8.0{NBSP}%), the largest effects are: Income (€10,000): raises risk "
        f"+3.0{NBSP}pts; Age (40 years): raises risk +1.2{NBSP}pts."
    )


def test_a_customer_reads_pd_points_and_a_manager_can_switch_units():
    view = explanation_cards.WATERFALL.render({"explanation": PD_EXPLANATION}, "fr", "customer")
    assert view.id == "waterfall-view"
    assert _by_id(view, "waterfall").figure.data[0].x[0] == pytest.approx(8.0)
    assert "pour vous" in _text(_by_id(view, "waterfall-label")) and "valeur de base de SHAP" in _text(view)
    switch, store, shown = explanation_cards.WATERFALL.render({"explanation": PD_EXPLANATION}, "en", "manager")
    radio = _all(switch, dcc.RadioItems)[0]
    assert radio.id == "waterfall-units" and radio.value == "log-odds"
    assert [o["value"] for o in radio.options] == ["log-odds", "pd"] and _text(switch.children[0]) == "Units"
    assert store.data == PD_EXPLANATION and _by_id(shown, "waterfall").figure.data[0].x[0] == -2.0
    in_pd = explanation_cards.chart(PD_EXPLANATION, "en", "manager", "pd")
    assert "the client's 12.3" in _text(in_pd[0]) and in_pd[1].figure.data[0].x[-1] == pytest.approx(12.3)
    # an answer without the PD path is drawn in log-odds, never with invented points
    assert explanation_cards.chart(EXPLANATION, "en", "customer", "pd")[0].figure.data[0].x[0] == -2.0


def _counterfactuals(status="options", **extra):
    option = {
        "rank": 1,
        "kind": "smaller_loan",
        "summary": "Borrow €150,000 instead of €250,000.",
        "changes": [{"field": "AMT_CREDIT", "label": "Amount of the loan", "from": 250000, "to": 150000}],
        "what_if": {"AMT_CREDIT": 150000, "AMT_ANNUITY": 9000},
        "size": 0.4,
        "pd": 0.071,
        "grade": "G4",
        "outcome": "approve",
        "offer": {"amount": 150000, "term_months": 36, "annuity": 5000, "annual_rate": 0.12},
    }
    longer = {
        **option,
        "rank": 2,
        "kind": "longer_term",
        "summary": "Repay over 60 months.",
        "changes": [{"field": "TERM_MONTHS", "label": "Term (months)", "from": 36, "to": 60}],
        "what_if": {"TERM_MONTHS": 60},
        "outcome": "counter_offer",
        "offer": None,
    }
    return {
        "client_id": CID,
        "current": {"pd": 0.123, "grade": "G6", "outcome": "decline"},
        "status": status,
        "message": "Two changes of the loan would get it approved.",
        "blocking": [],
        "options": [option, longer] if status == "options" else [],
        "model_version": "v7",
        "policy": {"version": "example-2025.1"},
        **extra,
    }


@pytest.mark.parametrize("lang", LANGS)
def test_the_counterfactual_card_lists_each_option_and_a_manager_can_load_it(lang):
    answer = _counterfactuals()
    panel = counterfactual_card.CARD.render({"counterfactuals": answer}, lang, "manager")
    assert _text(_by_id(panel, "cf-message")) == answer["message"]
    items = _by_id(panel, "cf-options").children
    assert len(items) == 2 and "Borrow €150,000 instead of €250,000." in _text(items[0])
    assert percent(0.071, lang) in _text(items[0]) and t("approve", lang) in _text(items[0])
    assert t("counter_offer", lang) in _text(items[1])
    assert money(150000, lang) in _text(items[0])  # the option's offer
    buttons = _all(panel, html.Button)
    assert [b.id for b in buttons] == [{"type": "cf-load", "rank": 1}, {"type": "cf-load", "rank": 2}]
    assert {_text(b) for b in buttons} == {t("cf_load", lang)}
    store = _by_id(panel, counterfactual_card.DATA_ID)
    assert store.data["1"]["what_if"] == {"AMT_CREDIT": 150000, "AMT_ANNUITY": 9000}
    assert t("cf_title", lang) in _text(counterfactual_card.CARD.layout(lang, "manager"))


def test_a_customer_reads_the_options_without_a_button():
    panel = counterfactual_card.CARD.render({"counterfactuals": _counterfactuals()}, "en", "customer")
    assert len(_by_id(panel, "cf-options").children) == 2
    assert not _all(panel, html.Button) and not _all(panel, dcc.Store)


def test_the_counterfactual_card_for_an_approved_file_what_blocks_and_no_answer():
    approved = _counterfactuals("already_approved", message="The loan is already approved.")
    panel = counterfactual_card.CARD.render({"counterfactuals": approved}, "en", "manager")
    assert _text(panel) == "The loan is already approved." and not _all(panel, html.Button)
    blocked = _counterfactuals(
        "none", message="No change of the loan alone would do.", blocking=[{"code": "AGE", "message": "Too young."}]
    )
    panel = counterfactual_card.CARD.render({"counterfactuals": blocked}, "fr", "customer")
    assert _text(_by_id(panel, "cf-blocking")) == "Too young." and t("cf_blocking", "fr") in _text(panel)
    refused = counterfactual_card.CARD.panel({"counterfactuals": api_client.ApiRefused(409, "stale")}, "en", "manager")
    assert _text(refused) == t("cf_unavailable", "en")
    down = counterfactual_card.CARD.panel({"counterfactuals": api_client.ApiUnavailable("x")}, "en", "manager")
    assert down.className == "failed"
    calls = counterfactual_card.CARD.calls(CID, "fr")
    assert calls == {"counterfactuals": (f"/api/v1/clients/{CID}/counterfactuals", {"lang": "fr"})}


def test_a_loaded_option_shows_the_changes_the_form_has_no_field_for():
    option = _counterfactuals()["options"][1]
    notice = whatif._loaded(option, {"TERM_MONTHS": 60}, "en")
    assert _text(notice) == "Loaded option 2: Repay over 60 months.Term (months): 36 → 60"
    layout = whatif.layout("en", "manager")
    assert _by_id(layout, "wi-extra").data == {} and _by_id(layout, "wi-loaded").children is None
    simulated = {"pd": 0.05, "grade": "G4", "decision": "approve", "decision_record": {"outcome": "approve"}}
    panel = whatif._comparison({"current": SCORE, "simulated": simulated}, "fr")
    assert _text(_by_id(panel, "wi-simulated-outcome")) == "✔ Accordé"
    assert "wi-current-outcome" not in str(panel)  # the stored score has no decision record here
