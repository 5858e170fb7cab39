"""Model input encoding: feature order and category levels -> the float matrix every model kind reads.

Training learns the encoder and the bundle serves with the same one, so a row is coded one way only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# frames up to this many rows code their categories with a dict per feature (one applicant: ~15 µs a feature,
# where pandas' where + get_indexer take ~0.5 ms); larger ones stay on pandas' vectorised path
SMALL_FRAME = 64


class FeatureEncoder:
    """Feature names in training order and each categorical feature's levels (a level's code is its index)."""

    def __init__(self, feature_names: list[str], categories: dict[str, list[str]]):
        self.feature_names = list(feature_names)
        self.categories = {k: list(v) for k, v in categories.items()}
        self._cat_index = {c: pd.Index(v) for c, v in self.categories.items()}
        self._cat_code = {c: {level: float(i) for i, level in enumerate(v)} for c, v in self.categories.items()}

    @classmethod
    def fit(cls, X: pd.DataFrame) -> "FeatureEncoder":
        """X's columns in order; object and category columns are categorical, their levels sorted as text."""
        names = [str(c) for c in X.columns]
        categorical = [c for c in names if X[c].dtype == object or isinstance(X[c].dtype, pd.CategoricalDtype)]
        return cls(names, {c: sorted({str(v) for v in X[c].dropna().unique()}) for c in categorical})

    @property
    def categorical(self) -> list[str]:
        """Names of the categorical features, in training order."""
        return list(self.categories)

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        """Columns in training order; categoricals coded on the training levels (unseen level -> missing)."""
        M = self.matrix(features)
        out = {}
        for j, col in enumerate(self.feature_names):
            if col in self._cat_index:
                codes = np.nan_to_num(M[:, j], nan=-1).astype(int)
                out[col] = pd.Categorical.from_codes(codes, categories=self._cat_index[col])
            else:
                out[col] = M[:, j]
        return pd.DataFrame(out, index=features.index)

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """Float matrix the model reads: numeric values, category codes (NaN for missing or unseen level)."""
        if not isinstance(features, pd.DataFrame):
            raise ValueError("features must be a pandas DataFrame with one column per model feature")
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise ValueError(f"{len(missing)} model feature(s) missing from the input: {shown}")
        M = np.empty((len(features), len(self.feature_names)), dtype="float64")
        num_pos = [j for j, c in enumerate(self.feature_names) if c not in self._cat_index]
        num_cols = [self.feature_names[j] for j in num_pos]
        try:
            M[:, num_pos] = features[num_cols].to_numpy(dtype="float64", na_value=np.nan)
        except (ValueError, TypeError):
            for col in num_cols:
                if pd.to_numeric(features[col], errors="coerce").isna().sum() != features[col].isna().sum():
                    raise ValueError(f"feature {col} must be numeric") from None
            raise ValueError("numeric features could not be read as numbers") from None
        cat_pos = [j for j, c in enumerate(self.feature_names) if c in self._cat_index]
        if len(features) <= SMALL_FRAME and cat_pos:  # one block read out of the frame, not a Series per column
            block = features[[self.feature_names[j] for j in cat_pos]].to_numpy(dtype=object)
            for i, j in enumerate(cat_pos):
                M[:, j] = self._small_codes(self.feature_names[j], block[:, i])
        else:
            for j in cat_pos:
                M[:, j] = self._codes(self.feature_names[j], features[self.feature_names[j]])
        return M

    def _codes(self, col: str, values: pd.Series) -> np.ndarray:
        """Each value's level index on the training levels, NaN for a missing or unseen one."""
        codes = self._cat_index[col].get_indexer(values.astype(object).where(values.notna(), None)).astype("float64")
        codes[codes < 0] = np.nan
        return codes

    def _small_codes(self, col: str, values: np.ndarray) -> list[float]:
        """_codes of a few rows by dict lookup: the levels are text, so a value that is not text (missing, a
        number) matches none, as in get_indexer."""
        lookup = self._cat_code[col]
        return [lookup.get(v, np.nan) if isinstance(v, str) else np.nan for v in values]

    def as_matrix(self, X) -> np.ndarray:
        """A frame encoded, or an already built matrix checked for its width."""
        if isinstance(X, pd.DataFrame):
            return self.matrix(X)
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != len(self.feature_names):
            raise ValueError(f"expected a matrix with {len(self.feature_names)} feature columns")
        return arr
