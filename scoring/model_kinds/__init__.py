"""Model kinds: the model inside a bundle, looked up by the kind name saved with it.

The bundle encodes inputs, calibrates and decides; its kind only turns the float matrix into log-odds and
their contributions. Kinds: a LightGBM booster, a WoE scorecard, a blend of the two in log-odds; a new one is a
module here whose class meets `ModelKind`, added to `KINDS`.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from scoring.model_kinds.blend import BlendKind
from scoring.model_kinds.lightgbm import LightGBMKind
from scoring.model_kinds.scorecard import ScorecardKind


@runtime_checkable
class ModelKind(Protocol):
    """The contract a kind meets to live in a bundle.

    - `kind`: the name saved in the bundle, looked up in `KINDS` at load.
    - `raw_score(M)`: log-odds before calibration, one per row of the encoder's float matrix M
      (NaN is a missing value or an unseen category level).
    - `contributions(M)`: exact additive contributions in log-odds, shape (rows, features + 1), the last column
      the expected value: each row sums to its raw score. Reasons, waterfalls and importance read them.
    - `to_state()`: plain data (text, numbers, lists, dicts) and no object, so the signed pickle holds no code.
    - `from_state(state)`: the same model back from that data, giving identical scores and contributions.
    """

    kind: ClassVar[str]

    def raw_score(self, M: np.ndarray) -> np.ndarray: ...

    def contributions(self, M: np.ndarray) -> np.ndarray: ...

    def to_state(self): ...

    @classmethod
    def from_state(cls, state) -> ModelKind: ...


KINDS: dict[str, type[ModelKind]] = {cls.kind: cls for cls in (LightGBMKind, ScorecardKind, BlendKind)}


def kind_class(name) -> type[ModelKind]:
    """The class of the kind saved as `name`; ValueError naming the known kinds otherwise."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model kind {name!r}; known kinds: {', '.join(sorted(KINDS))}") from None
