"""The monitoring arithmetic on its own: PSI against a hand computation and an independent numpy one, the bins of
numbers and categories, periods, the AUC against scikit-learn, and the levels file's checks."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from scoring.monitoring import periods, psi
from scoring.monitoring.levels import load_levels
from scoring.monitoring.performance import auc

FLOOR = 1e-4


def test_psi_matches_a_hand_computation():
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.25 ln 2 + 0.25 ln 1.5
    assert psi.psi([0.5, 0.5], [0.25, 0.75], FLOOR) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert psi.psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5], FLOOR) == 0.0
    # an empty bin counts as the floor on its side: (0.5 - 1e-4) ln(0.5 / 1e-4) + (0.5 - 1) ln(0.5 / 1)
    expected = (0.5 - FLOOR) * math.log(0.5 / FLOOR) + (0.5 - 1.0) * math.log(0.5)
    assert psi.psi([0.0, 1.0], [0.5, 0.5], FLOOR) == pytest.approx(expected)
    assert psi.psi([0.0, 0.4, 0.6], [0.0, 0.4, 0.6], FLOOR) == 0.0  # empty on both sides adds nothing


def test_psi_of_deciles_matches_an_independent_numpy_computation():
    rng = np.random.default_rng(5)
    reference, moved = rng.normal(0, 1, 20_000), rng.normal(0.3, 1.2, 5_000)
    moved[:250] = np.nan  # missing values: a bin of their own, empty in the reference
    spec = psi.numeric_spec(reference, 10)
    # independently: decile edges by np.percentile, counts by np.histogram over (-inf, edges, +inf)
    edges = np.percentile(reference, np.arange(10, 100, 10))
    bounds = np.concatenate([[-np.inf], edges, [np.inf]])
    e = np.histogram(reference, bounds)[0] / len(reference)
    known = moved[~np.isnan(moved)]
    a = np.histogram(known, bounds)[0] / len(moved)
    e, a = np.append(e, 0.0), np.append(a, np.isnan(moved).mean())
    e, a = np.maximum(e, FLOOR), np.maximum(a, FLOOR)
    expected = float(np.sum((a - e) * np.log(a / e)))
    assert psi.psi_of(spec, moved, FLOOR) == pytest.approx(expected, rel=1e-12)
    assert np.allclose(spec["shares"][:10], 0.1)
    assert psi.psi_of(spec, rng.normal(0, 1, 20_000), FLOOR) < 0.01  # the same population: near zero


def test_tied_values_make_fewer_bins_and_the_shares_say_so():
    values = np.array([0.0] * 70 + list(range(1, 31)), dtype="float64")
    spec = psi.numeric_spec(values, 10)
    assert spec["edges"][0] == 0.0 and len(spec["edges"]) == len(set(spec["edges"]))
    assert sum(spec["shares"]) == pytest.approx(1.0)
    assert psi.psi_of(spec, values, FLOOR) == pytest.approx(0.0)


def test_categories_pool_the_rare_and_unseen_levels_and_count_missing_apart():
    values = ["A"] * 60 + ["B"] * 39 + ["C"] * 1 + [None] * 0
    spec = psi.categorical_spec(values, rare_share=0.05)
    assert spec["categories"] == ["A", "B"]
    assert spec["shares"] == pytest.approx([0.6, 0.39, 0.01, 0.0])
    counts = psi.counts(spec, ["A", "Z", None, float("nan"), "B"])
    assert counts.tolist() == [1, 1, 1, 2]  # Z unseen -> (other); None and NaN -> (missing)
    assert psi.bin_labels(spec) == ["A", "B", "(other)", "(missing)"]


def test_periods_day_iso_week_and_month():
    assert periods.period_of(date(2026, 11, 30), "day") == ("2026-11-30", date(2026, 11, 30), date(2026, 12, 1))
    assert periods.period_of(date(2026, 11, 25), "week") == ("2026-W48", date(2026, 11, 23), date(2026, 11, 30))
    # the ISO week of 1 January 2027 is the last of 2026 (a Friday of week 53)
    assert periods.period_of(date(2027, 1, 1), "week")[0] == "2026-W53"
    assert periods.period_of(date(2026, 12, 15), "month") == ("2026-12", date(2026, 12, 1), date(2027, 1, 1))
    grouped = periods.group(["2026-12-01T10:00:00+00:00", "2026-11-30T23:59:59+00:00", "2026-12-31T00:00:00"], "month")
    assert [(k, v["rows"]) for k, v in grouped.items()] == [("2026-11", [1]), ("2026-12", [0, 2])]
    with pytest.raises(ValueError, match="period"):
        periods.check_period("year")


def test_auc_equals_scikit_learn_with_ties():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 3_000)
    score = np.round(rng.random(3_000) + 0.3 * y, 1)  # rounded: many ties
    assert auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert auc([1, 1, 1], [0.1, 0.2, 0.3]) is None


def test_levels_file_is_read_and_checked(tmp_path):
    levels = load_levels()
    assert (levels.watch, levels.act, levels.bins) == (0.10, 0.25, 10)
    assert [levels.level(v) for v in (0.05, 0.10, 0.2, 0.25, None)] == ["stable", "watch", "watch", "act", None]
    bad = tmp_path / "monitoring.yaml"
    bad.write_text("psi: {watch: 0.3, act: 0.25}\nmin_applications: 100\nmin_outcomes: 50\n")
    with pytest.raises(ValueError, match="psi.act"):
        load_levels(bad)
    bad.write_text("psi: {watch: 0.1, act: 0.25}\nmin_applications: many\nmin_outcomes: 50\n")
    with pytest.raises(ValueError, match="min_applications"):
        load_levels(bad)
    bad.write_text("psi: {watch: 0.1, act: 0.25, colour: red}\nmin_applications: 1\nmin_outcomes: 50\n")
    with pytest.raises(ValueError, match="psi.colour"):
        load_levels(bad)
