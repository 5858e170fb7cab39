"""Missing values and JSON-safe scalars, named once: NaN, None, pd.NA and NaT all mean "not known" here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def is_missing(value) -> bool:
    """True for None, a float NaN (Python or numpy), pd.NA and NaT; False for any other value, strings included."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def plain(value):
    """A JSON-safe Python value: missing -> None, numpy scalars -> int/float/bool/str, anything else unchanged."""
    if is_missing(value):
        return None
    return value.item() if isinstance(value, np.generic) else value
