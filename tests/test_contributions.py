"""SHAP in PD points: the log-odds waterfall walked step by step, its steps adding up to the client's PD minus the
start's, served by the API as units=pd (customers' default) beside the exact log-odds."""

from __future__ import annotations

import math

import pytest

from scoring.contributions import logistic, pd_path
from tests.api_fixtures import assert_error
from tests.api_fixtures import posted_history as _history
from tests.test_api_score import _application


def test_each_step_is_the_pd_after_minus_the_pd_before():
    path = pd_path(-2.0, [0.5, -0.3, 0.2], 0.1, -1.5)
    at = [-2.0, -1.5, -1.8, -1.6]
    assert path.base_pd == pytest.approx(1 / (1 + math.exp(2.0)))
    assert list(path.steps) == pytest.approx([logistic(at[i + 1]) - logistic(at[i]) for i in range(3)])
    assert path.others == pytest.approx(logistic(-1.5) - logistic(-1.6))
    assert path.final_pd == logistic(-1.5)
    assert path.total() == pytest.approx(path.final_pd - path.base_pd, abs=1e-15)
    # PD is not additive: the same +0.2 log-odds moves PD by another amount at another point of the walk
    assert pd_path(-2.0, [0.2, 0.5, -0.3], 0.1, -1.5).steps[0] != pytest.approx(path.steps[2])


def test_the_walk_ends_on_the_raw_score_and_uses_the_calibration():
    # the shown contributions and the others do not quite reach the raw score (float32 sums): the others' step
    # takes the rest, so the steps still end on the client's PD
    path = pd_path(-2.0, [0.5, 0.25], 0.0, -1.2500001, a=0.8, b=-0.3)
    assert path.final_pd == logistic(-1.2500001, 0.8, -0.3) == pytest.approx(1 / (1 + math.exp(-(0.8 * -1.25 - 0.3))))
    assert path.base_pd == logistic(-2.0, 0.8, -0.3)
    assert path.total() == pytest.approx(path.final_pd - path.base_pd, abs=1e-15)
    assert abs(path.others) < 1e-7
    alone = pd_path(0.0, [], 0.0, 0.0)
    assert alone.steps == () and alone.others == 0.0 and alone.base_pd == 0.5


def test_extreme_log_odds_neither_overflow_nor_lose_the_sum():
    path = pd_path(-800.0, [900.0, -50.0], 0.0, 50.0)
    assert path.base_pd == 0.0 and path.final_pd == pytest.approx(1.0)
    assert path.total() == pytest.approx(path.final_pd - path.base_pd)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((float("nan"), [0.1], 0.0, 0.1), "base_value"),
        ((0.0, [float("inf")], 0.0, 0.1), "contributions"),
        ((0.0, [0.1], 0.0, 0.1, 0.0), "positive"),
    ],
)
def test_bad_numbers_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        pd_path(*args)


# ---------------------------------------------------------------- the API


def _check_pd_path(exp: dict, stored_pd: float) -> None:
    assert exp["units"] == "pd"
    steps = [c["pd_points"] for c in exp["contributions"]] + [exp["others"]["pd_points"]]
    assert math.fsum(steps) == pytest.approx(exp["final_pd"] - exp["base_pd"], abs=1e-12)
    assert exp["final_pd"] == pytest.approx(stored_pd, rel=1e-5)  # float32 SHAP sums: not to the last digit
    assert 0 < exp["base_pd"] < 1
    # the same path as the log-odds: each step's sign is its contribution's
    for c in exp["contributions"]:
        assert math.copysign(1, c["pd_points"]) == math.copysign(1, c["shap"]) or c["shap"] == 0


def test_explanation_in_pd_points_adds_up_to_the_stored_pd(api_client, api_heads, api_env):
    for role, cid in (("manager", api_env["other"]), ("customer", api_env["own"])):
        url = f"/api/v1/clients/{cid}/explanation"
        score = api_client.get(f"/api/v1/clients/{cid}/score", headers=api_heads[role]).json
        exp = api_client.get(f"{url}?units=pd&top=6", headers=api_heads[role]).json
        _check_pd_path(exp, score["pd"])
        assert len(exp["contributions"]) == 6 and exp["pd"] == score["pd"]
        log_odds = api_client.get(f"{url}?units=log-odds&top=6", headers=api_heads[role]).json
        assert log_odds["units"] == "log-odds" and "base_pd" not in log_odds
        assert "pd_points" not in log_odds["contributions"][0] and "pd_points" not in log_odds["others"]
        assert [c["shap"] for c in log_odds["contributions"]] == [c["shap"] for c in exp["contributions"]]


def test_units_default_by_role_and_bad_units_are_refused(api_client, api_heads, api_env):
    own = f"/api/v1/clients/{api_env['own']}/explanation"
    assert api_client.get(own, headers=api_heads["customer"]).json["units"] == "pd"
    assert api_client.get(own, headers=api_heads["manager"]).json["units"] == "log-odds"
    for bad in ("PD", "percent", ""):
        assert_error(api_client.get(f"{own}?units={bad}", headers=api_heads["manager"]), 422, "invalid_query")


def test_sentences_speak_to_the_customer_and_of_the_client_to_managers(api_client, api_heads, api_env):
    own = f"/api/v1/clients/{api_env['own']}/explanation?top=8"
    for lang, you, them in (("en", "your", "the client's"), ("fr", "votre", "du client")):
        customer = api_client.get(f"{own}&lang={lang}", headers=api_heads["customer"]).json["reasons"]
        manager = api_client.get(f"{own}&lang={lang}", headers=api_heads["manager"]).json["reasons"]
        assert [r["feature"] for r in customer] == [r["feature"] for r in manager]
        assert all(you in r["sentence"] and them not in r["sentence"] for r in customer)
        assert all(them in r["sentence"] and you not in r["sentence"] for r in manager)


def test_a_posted_applicant_in_pd_points(api_client, api_heads, api_app, api_env, synth_dir):
    cid = api_env["other"]
    body = {"application": _application(api_app, cid), "history": _history(synth_dir, cid)}
    posted = api_client.post("/api/v1/score?units=pd", json=body, headers=api_heads["service"])
    assert posted.status_code == 200, posted.json
    _check_pd_path(posted.json, posted.json["pd"])
    assert all("the client's" in r["sentence"] for r in posted.json["reasons"])
    response = api_client.post("/api/v1/score?units=odds", json=body, headers=api_heads["service"])
    assert_error(response, 422, "invalid_query")
    batch = api_client.post("/api/v1/score/batch?units=pd", json={"applicants": [body]}, headers=api_heads["manager"])
    _check_pd_path(batch.json["results"][0], posted.json["pd"])
