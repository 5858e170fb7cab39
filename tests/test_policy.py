"""Decision policy: master scale grades, cost-optimal threshold, decisions."""

import numpy as np
import pytest

from scoring.policy import GradeScale, business_cost, cost_optimal_threshold, decide, decide_many


def test_default_scale_grades_bank_bounds():
    scale = GradeScale()
    assert scale.names == tuple(f"G{i}" for i in range(1, 9))
    assert scale.grade([0.0, 0.009, 0.0091, 0.03, 0.05, 0.0801, 0.10, 0.2799, 0.28, 0.99, 1.0]) == [
        "G1",
        "G1",
        "G2",
        "G3",
        "G4",
        "G6",
        "G6",
        "G7",
        "G7",
        "G8",
        "G8",
    ]


def test_scale_from_env(monkeypatch):
    monkeypatch.setenv("SCORING_GRADE_BOUNDS", "0.05,0.2,1")
    scale = GradeScale.from_env()
    assert scale.grade([0.01, 0.1, 0.5]) == ["G1", "G2", "G3"]


@pytest.mark.parametrize("bounds", [(0.1, 0.05, 1.0), (0.1, 0.5), (0.0, 1.0), (0.5, 1.5)])
def test_bad_scales_are_refused(bounds):
    with pytest.raises(ValueError):
        GradeScale(bounds=bounds)


def test_bad_env_scale_names_the_variable(monkeypatch):
    monkeypatch.setenv("SCORING_GRADE_BOUNDS", "a,b")
    with pytest.raises(ValueError, match="SCORING_GRADE_BOUNDS"):
        GradeScale.from_env()


def test_cost_optimal_threshold_matches_brute_force():
    rng = np.random.default_rng(0)
    pd_values = rng.beta(1, 10, size=3000)
    y = (rng.random(3000) < pd_values).astype(int)
    threshold, cost = cost_optimal_threshold(y, pd_values, cost_fn=10, cost_fp=1)
    grid = np.unique(np.r_[pd_values, 1.0 + 1e-9])
    brute = min(business_cost(y, pd_values, t, 10, 1) for t in grid)
    assert cost == pytest.approx(brute)
    assert business_cost(y, pd_values, threshold, 10, 1) == pytest.approx(cost)


def test_calibrated_scores_give_threshold_near_one_eleventh():
    rng = np.random.default_rng(1)
    pd_values = rng.uniform(0, 0.4, size=200_000)
    y = (rng.random(pd_values.size) < pd_values).astype(int)
    threshold, _ = cost_optimal_threshold(y, pd_values, cost_fn=10, cost_fp=1)
    assert threshold == pytest.approx(1 / 11, abs=0.01)


def test_decisions():
    assert decide(0.2, 0.1) == "decline"
    assert decide(0.05, 0.1) == "approve"
    assert decide_many([0.05, 0.1, 0.3], 0.1) == ["approve", "decline", "decline"]
