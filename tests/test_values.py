"""The one place that says what a missing value is and how a scalar becomes JSON."""

import math

import numpy as np
import pandas as pd
import pytest

from scoring.values import is_missing, plain


@pytest.mark.parametrize("value", [None, float("nan"), np.float32("nan"), np.float64("nan"), pd.NA, pd.NaT])
def test_every_kind_of_missing_is_missing_and_becomes_null(value):
    assert is_missing(value) and plain(value) is None


@pytest.mark.parametrize("value", [0, 0.0, -1.5, "", "nan", False, math.inf, np.int64(3), "Cash loans"])
def test_known_values_are_not_missing(value):
    assert not is_missing(value)


def test_numpy_scalars_become_python_scalars():
    for value, expected in [(np.int64(7), 7), (np.float32(0.5), 0.5), (np.bool_(True), True), (np.str_("M"), "M")]:
        out = plain(value)
        assert out == expected and type(out) is type(expected)
    assert plain("text") == "text" and plain(3) == 3
