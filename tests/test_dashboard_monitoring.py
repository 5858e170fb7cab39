"""The managers' monitoring page: its figures and sections built from answers shaped as the API's monitoring routes
answer (drift, performance, challenger; empty states, a failed or refused call), then in headless Chromium on a
real API and dashboard over a store where a stable and a drifted month were recorded: a manager sees the drifted
month marked act, in English and in French, axe-core clean; a customer never reaches the page, nor its routes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from dash import dcc, html
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import api_client
from dashboard.components import monitoring
from dashboard.components import monitoring_charts as charts
from dashboard.components.common import BLUE, VERMILION
from dashboard.i18n import NBSP
from scoring import users
from tests import browser, test_dashboard
from tests.api_fixtures import copy_store
from tests.servers import ROOT, api_and_dashboard
from tests.test_dashboard import ARTIFACTS, PASSWORD, _api_token, _axe
from tests.test_dashboard_helpers import _all, _by_id, _text

driver = test_dashboard.driver  # a fresh browser per test, failing on any console error

LEVELS = {"watch": 0.10, "act": 0.25}
STABILITY = {
    "period": "month",
    "levels": LEVELS,
    "reference": {"model_version": "v7", "source": "bundle", "n": 1600},
    "features": ["EXT_SOURCE_2", "AMT_CREDIT"],
    "periods": [
        {
            "period": "2026-10",
            "start": "2026-10-01",
            "end": "2026-11-01",
            "n": 500,
            "score_psi": 0.031,
            "feature_psi": {"EXT_SOURCE_2": 0.02, "AMT_CREDIT": 0.12},
            "level": "stable",
        },
        {
            "period": "2026-11",
            "start": "2026-11-01",
            "end": "2026-12-01",
            "n": 40,
            "score_psi": None,
            "feature_psi": {"EXT_SOURCE_2": None, "AMT_CREDIT": None},
            "level": None,
        },
        {
            "period": "2026-12",
            "start": "2026-12-01",
            "end": "2027-01-01",
            "n": 1200,
            "score_psi": 0.412,
            "feature_psi": {"EXT_SOURCE_2": 0.52, "AMT_CREDIT": 0.05},
            "level": "act",
        },
    ],
    "data_source": "synthetic",
}


def _perf_period(period, n_outcomes=0, auc=None):
    return {
        "period": period,
        "start": f"{period}-01",
        "end": "…",
        "n_scored": 500,
        "n_outcomes": n_outcomes,
        "approval_rate": 0.62,
        "predicted_default_rate": 0.081,
        "observed_default_rate": 0.09 if n_outcomes else None,
        "auc": auc,
        "gini": None if auc is None else 2 * auc - 1,
    }


NO_OUTCOMES = {
    "period": "month",
    "periods": [_perf_period("2026-10"), _perf_period("2026-12")],
    "by_grade": [],
    "override_rate": None,
    "data_source": "synthetic",
}
WITH_OUTCOMES = {
    **NO_OUTCOMES,
    "periods": [_perf_period("2026-10", 300, 0.74), _perf_period("2026-12", 20)],
    "by_grade": [
        {"grade": "G2", "n": 120, "predicted_pd": 0.015, "observed_rate": 0.02},
        {"grade": "G6", "n": 80, "predicted_pd": 0.09, "observed_rate": 0.15},
        {"grade": "G8", "n": 3, "predicted_pd": 0.4, "observed_rate": None},
    ],
    "override_rate": 0.25,
}
NO_CHALLENGER = {"champion": "v7", "challenger": None, "periods": []}
CHALLENGER = {
    "champion": "v7",
    "challenger": "v8",
    "periods": [
        {
            "period": "2026-12",
            "start": "2026-12-01",
            "end": "2027-01-01",
            "n": 400,
            "agreement": 0.9,
            "swap_in": 25,
            "swap_out": 15,
            "mean_pd_champion": 0.08,
            "mean_pd_challenger": 0.07,
            "n_outcomes": 0,
            "auc_champion": None,
            "auc_challenger": None,
        }
    ],
}


def _answers(**changes) -> dict:
    return {"stability": STABILITY, "performance": NO_OUTCOMES, "challenger": NO_CHALLENGER, **changes}


def _rows(table) -> list[list[str]]:
    return [[_text(cell) for cell in row.children] for row in _all(table, html.Tr)]


# ---------------------------------------------------------------- figures


def test_score_psi_points_take_their_levels_colour_and_shape_and_both_levels_are_lines():
    fig = charts.psi_over_time(STABILITY, "en")
    by_name = {trace.name: trace for trace in fig.data if trace.mode == "markers"}
    assert list(by_name["Stable"].x) == ["2026-10"] and by_name["Stable"].marker.color == BLUE
    assert list(by_name["Act"].x) == ["2026-12"] and by_name["Act"].y == (0.412,)
    assert by_name["Act"].marker.color == VERMILION and by_name["Act"].marker.symbol == "triangle-up"
    assert list(by_name["Watch"].x) == []
    assert sorted(shape.y0 for shape in fig.layout.shapes) == [0.10, 0.25]
    # the period without a PSI keeps its place on the axis, without a point
    assert list(fig.layout.xaxis.categoryarray) == ["2026-10", "2026-11", "2026-12"]
    assert [a.text for a in fig.layout.annotations] == ["Watch 0.1", "Act 0.25"]
    french = charts.psi_over_time(STABILITY, "fr")
    assert {trace.name for trace in french.data if trace.mode == "markers"} == {"Stable", "À surveiller", "Agir"}


def test_feature_levels_follow_the_apis_levels():
    assert [charts.level_of(v, LEVELS) for v in (None, 0.09, 0.10, 0.2499, 0.25)] == [
        None,
        "stable",
        "watch",
        "watch",
        "act",
    ]


def test_calibration_puts_each_graded_point_against_the_diagonal():
    fig = charts.calibration(WITH_OUTCOMES["by_grade"], "en")
    diagonal, points = fig.data
    assert list(diagonal.x) == list(diagonal.y) and diagonal.x[0] == 0
    assert list(points.text) == ["G2", "G6"]  # G8 has no observed rate yet
    assert list(points.x) == pytest.approx([1.5, 9.0]) and list(points.y) == pytest.approx([2.0, 15.0])
    assert diagonal.x[1] >= 15.0


def test_auc_and_gini_are_drawn_for_the_periods_with_an_auc():
    auc, gini = charts.auc_over_time(WITH_OUTCOMES, "en").data
    assert list(auc.x) == ["2026-10"] and auc.y == (0.74,) and gini.y == pytest.approx((0.48,))


def test_the_challenger_figure_draws_only_what_is_known():
    fig = charts.challenger_over_time(CHALLENGER, "en")
    assert [trace.name for trace in fig.data] == ["Same decision"]  # no outcomes yet: no AUC lines
    assert fig.data[0].y == (0.9,)


# ---------------------------------------------------------------- sections


def test_stability_marks_the_drifted_month_act_and_says_so_in_each_language():
    parts = monitoring.stability(STABILITY, "en")
    assert _text(_by_id(parts, "psi-summary")) == "Latest period 2026-12: score PSI 0.412, Act."
    assert _rows(_by_id(parts, "psi-table"))[1:] == [
        ["2026-10", "500", "0.031", "Stable"],
        ["2026-11", "40", "—", "Too few applications"],
        ["2026-12", "1,200", "0.412", "Act ▲"],
    ]
    assert (
        _text(_by_id(parts, "psi-reference"))
        == "Reference: 1,600 training applications of model v7 (saved with the model)."
    )
    assert isinstance(_by_id(parts, "psi-chart"), dcc.Graph)
    french = monitoring.stability(STABILITY, "fr")
    assert _text(_by_id(french, "psi-summary")) == "Dernière période 2026-12 : PSI du score 0,412, Agir."
    assert _rows(_by_id(french, "psi-table"))[3] == ["2026-12", f"1{NBSP}200", "0,412", "Agir ▲"]


def test_the_feature_heat_table_shows_each_psi_with_its_levels_mark_and_colour():
    table = _by_id(monitoring.stability(STABILITY, "en"), "feature-psi-table")
    assert _rows(table) == [
        ["Feature", "2026-10", "2026-11", "2026-12"],
        ["EXT_SOURCE_2", "0.020", "—", "0.520 ▲"],
        ["AMT_CREDIT", "0.120 ◆", "—", "0.050"],
    ]
    cells = [td for td in _all(table, html.Td)]
    assert cells[2].style["backgroundColor"] == monitoring._CELL["act"] and cells[2].title == "Act ▲"
    assert cells[3].style["backgroundColor"] == monitoring._CELL["watch"]
    assert _text(_all(table, html.Caption)[0]).startswith("Feature PSI by period; ◆ watch, ▲ act")


def test_no_recorded_application_says_there_is_nothing_to_compare():
    parts = monitoring.stability({**STABILITY, "periods": []}, "en")
    assert "No application has been scored" in _text(_by_id(parts, "psi-empty"))
    assert not _all(parts, dcc.Graph)


def test_performance_without_outcomes_says_so_and_still_lists_the_rates():
    parts = monitoring.performance(NO_OUTCOMES, "fr")
    assert _text(_by_id(parts, "outcomes-empty")).startswith("Aucun résultat importé pour l'instant")
    assert not _all(parts, dcc.Graph)
    assert _rows(_by_id(parts, "performance-table"))[1] == [
        "2026-10",
        "500",
        "0",
        f"62,0{NBSP}%",
        f"8,1{NBSP}%",
        "—",
        "—",
        "—",
    ]
    assert _text(_by_id(parts, "override-line")) == f"Taux de modification des réexamens{NBSP}: —"


def test_performance_with_outcomes_draws_auc_and_calibration():
    parts = monitoring.performance(WITH_OUTCOMES, "en")
    assert not [p for p in parts if getattr(p, "id", None) == "outcomes-empty"]
    assert _text(_by_id(parts, "auc-summary")) == "Latest period with outcomes 2026-10: AUC 0.740, Gini 0.480."
    assert {g.id for g in _all(parts, dcc.Graph)} == {"auc-chart", "calibration-chart"}
    assert _rows(_by_id(parts, "calibration-table"))[1:] == [
        ["G2", "120", f"1.5{NBSP}%", f"2.0{NBSP}%"],
        ["G6", "80", f"9.0{NBSP}%", f"15.0{NBSP}%"],
        ["G8", "3", f"40.0{NBSP}%", "—"],
    ]
    assert _text(_by_id(parts, "override-line")) == f"Override rate of human reviews: 25.0{NBSP}%"


def test_the_challenger_section_compares_or_says_none_is_set():
    none = monitoring.challenger(NO_CHALLENGER, "en")
    assert none.id == "challenger-none" and "No challenger set" in _text(none)
    parts = monitoring.challenger(CHALLENGER, "fr")
    assert _text(_by_id(parts, "challenger-line")) == (
        "Le champion v7 décide ; le challenger v8 est noté en parallèle."
    )
    assert _rows(_by_id(parts, "challenger-table"))[1] == [
        "2026-12",
        "400",
        f"90,0{NBSP}%",
        "25",
        "15",
        f"8,0{NBSP}%",
        f"7,0{NBSP}%",
        "0",
        "—",
        "—",
    ]
    empty = monitoring.challenger({**CHALLENGER, "periods": []}, "en")
    assert "No application has been scored by both models yet." in _text(empty)


def test_a_failed_or_refused_answer_is_a_message_in_its_own_section_only():
    notice, stability, performance, challenger = monitoring.page(
        _answers(performance=api_client.ApiUnavailable("HTTP 503"), challenger=api_client.ApiUnavailable("Timeout")),
        "en",
    )
    assert (
        _text(performance) == _text(challenger) == "This part could not be loaded: the scoring service did not answer."
    )
    assert performance.role == "alert"
    assert _by_id(stability, "psi-summary")
    assert notice.id == "monitoring-synthetic" and "Synthetic demo data" in _text(notice)
    refused = monitoring.page(_answers(stability=api_client.ApiRefused(403, "managers only")), "fr")
    assert _text(refused[1]) == "Cette page est réservée aux gestionnaires."
    conflict = monitoring.page(_answers(stability=api_client.ApiRefused(409, "no training reference")), "en")
    assert _text(conflict[1]) == "no training reference"


def test_the_period_chosen_is_asked_of_every_route():
    calls = monitoring.calls("week")
    assert calls["stability"] == (api_client.monitoring_stability_path(), {"period": "week", "top": 10})
    assert calls["performance"][1] == calls["challenger"][1] == {"period": "week"}
    assert api_client.monitoring_challenger_path() == "/api/v1/monitoring/challenger"


# ---------------------------------------------------------------- stores where cohorts were recorded

COHORT_CLIENTS = 300  # over the levels file's min_applications (100): each month gets a PSI
STABLE_MONTH, DRIFTED_MONTH = ("2026-10", "2026-10-15"), ("2026-11", "2026-11-16")


def _scoring(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCORING_PROGRESS": "off"}
    command = [sys.executable, "-m", "scoring", *map(str, args)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finished(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"{' '.join(process.args[2:])}:\n{err}"
    return out


def scoring_command(*args) -> str:
    """`python -m scoring ARGS` as an operator runs it; its stdout. Fails the test with stderr on an error."""
    return _finished(_scoring(*args))


def record_cohort(folder, store, models, as_of: str) -> None:
    """Score the cohort in `folder` with `predict`, recorded in `store` as of `as_of` (a backfilled cohort)."""
    scoring_command(
        "predict",
        "--input",
        folder / "application_test.parquet",
        "--data",
        folder,
        "--models",
        models,
        "--store",
        store,
        "--as-of",
        as_of,
        "--output",
        folder / f"scored-{as_of}.csv",
    )


@pytest.fixture(scope="session")
def monitored_stores(store_path, trained_models, tmp_path_factory) -> dict:
    """Two stores made with the operator's commands: "stable", where a stable cohort was recorded in October (its
    outcomes imported), and "drifted", the same plus a drifted cohort in November (incomes down, worse payment
    history: python -m scoring synth --cohort drifted). Shared with tests/test_alerts.py."""
    work = tmp_path_factory.mktemp("monitored")
    cohorts = {cohort: work / cohort for cohort in ("stable", "drifted")}
    making = [_scoring("synth", "--cohort", c, "--clients", COHORT_CLIENTS, "--out", cohorts[c]) for c in cohorts]
    for process in making:  # both at once: the 2 cores are shared anyway
        _finished(process)
    drifted = copy_store(store_path, work / "drifted.sqlite")
    record_cohort(cohorts["stable"], drifted, trained_models, STABLE_MONTH[1])
    scoring_command("outcomes", "import", cohorts["stable"] / "outcomes.csv", "--store", drifted)
    stable = copy_store(drifted, work / "stable.sqlite")
    record_cohort(cohorts["drifted"], drifted, trained_models, DRIFTED_MONTH[1])
    return {"stable": stable, "drifted": drifted, "models": trained_models, "work": work}


# ---------------------------------------------------------------- in a browser


@pytest.fixture(scope="module")
def stack(monitored_stores, tmp_path_factory):
    from scoring.store import open_store

    work = tmp_path_factory.mktemp("dash-monitoring")
    store = copy_store(monitored_stores["drifted"], work / "store.sqlite")
    own = open_store(store).list_clients(limit=1)["items"][0]["client_id"]
    users.add_user(store, "manager", PASSWORD, "manager")
    users.add_user(store, "cora", PASSWORD, "customer", client_id=own)
    ARTIFACTS.mkdir(exist_ok=True)
    with api_and_dashboard(store, monitored_stores["models"], work) as servers:
        yield {**servers, "own": own}


def _table_rows(driver, element_id: str) -> list[str]:
    return [row.text for row in driver.find_elements(By.CSS_SELECTOR, f"#{element_id} tbody tr")]


def _rows_say(driver, element_id: str, expected: list[str]) -> bool:
    """Every expected text is in a row of the table, in order (read afresh: Dash may re-render it meanwhile)."""
    try:
        rows = _table_rows(driver, element_id)
    except StaleElementReferenceException:
        return False
    return len(rows) == len(expected) and all(want in row for want, row in zip(expected, rows, strict=True))


def _full_page_shot(driver, name: str) -> None:
    """The whole page, down to the challenger section: the window made as tall as the page first."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(2400, height + 200))
    browser.wait_css(driver, "#challenger-none")
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _monitoring_loaded(driver, summary: str) -> None:
    browser.wait_css(driver, "#psi-summary", timeout=90, text=summary)
    for css in ("#psi-chart .main-svg", "#feature-psi-table", "#performance-table", "#challenger-none"):
        browser.wait_css(driver, css, timeout=60)


@pytest.mark.browser
@pytest.mark.skipif(not browser.available(), reason="chromium and chromedriver are not installed")
def test_a_manager_sees_the_drifted_month_marked_act_in_english_and_french(stack, driver):
    driver.set_script_timeout(60)
    browser.sign_in(driver, stack["dash"], "manager", PASSWORD)
    browser.click_when_settled(driver, By.ID, "monitoring-link")
    stable, drifted = STABLE_MONTH[0], DRIFTED_MONTH[0]
    _monitoring_loaded(driver, f"Latest period {drifted}: score PSI")
    assert driver.find_element(By.ID, "psi-summary").text.endswith(", Act.")
    WebDriverWait(driver, 30).until(lambda d: _rows_say(d, "psi-table", [f"{stable} 300", f"{drifted} 300"]))
    october, november = _table_rows(driver, "psi-table")
    assert october.endswith("Stable") and november.endswith("Act ▲")
    assert "Synthetic demo data" in driver.find_element(By.ID, "monitoring-synthetic").text
    # the stable cohort's outcomes were imported: October has an AUC, November none yet
    browser.wait_css(driver, "#auc-chart .main-svg")
    browser.wait_css(driver, "#calibration-chart .main-svg")
    assert "No challenger set" in driver.find_element(By.ID, "challenger-none").text
    assert _axe(driver) == [], "monitoring page"
    _full_page_shot(driver, "monitoring_manager")

    # by week: the same two cohorts, named by ISO week
    browser.click_when_settled(driver, By.XPATH, "//*[@id='monitoring-period']//label[normalize-space()='Week']")
    WebDriverWait(driver, 60).until(lambda d: _rows_say(d, "psi-table", ["2026-W42 300", "2026-W47 300"]))

    browser.click_when_settled(driver, By.ID, "lang-switch")
    _monitoring_loaded(driver, f"Dernière période {drifted} : PSI du score")
    assert driver.find_element(By.ID, "psi-summary").text.endswith(", Agir.")
    WebDriverWait(driver, 30).until(lambda d: _rows_say(d, "psi-table", [f"{stable} 300", f"{drifted} 300"]))
    assert _table_rows(driver, "psi-table")[1].endswith("Agir ▲")
    assert "Aucun challenger désigné" in driver.find_element(By.ID, "challenger-none").text
    assert driver.find_element(By.ID, "monitoring-link").text == "Surveillance"
    assert _axe(driver) == [], "monitoring page in French"
    _full_page_shot(driver, "monitoring_manager_fr")


@pytest.mark.browser
@pytest.mark.skipif(not browser.available(), reason="chromium and chromedriver are not installed")
def test_a_customer_cannot_reach_the_monitoring_page_nor_its_routes(stack, driver):
    browser.sign_in(driver, stack["dash"], "cora", PASSWORD)
    browser.wait_css(driver, "#gauge-summary", timeout=60)
    assert not driver.find_elements(By.ID, "monitoring-link")
    driver.get(stack["dash"] + monitoring.PATH)
    browser.wait_css(driver, "#gauge-summary", timeout=60)  # their own file, whatever the URL says
    assert not driver.find_elements(By.ID, "monitoring-period")
    assert not driver.find_elements(By.ID, "psi-table")
    head = _api_token(stack["api"], "cora")
    for path in (
        api_client.monitoring_stability_path(),
        api_client.monitoring_performance_path(),
        api_client.monitoring_challenger_path(),
    ):
        answer = requests.get(stack["api"] + path, headers=head, params={"period": "month"}, timeout=30)
        assert answer.status_code == 403, (path, answer.text)
        assert "periods" not in answer.text
