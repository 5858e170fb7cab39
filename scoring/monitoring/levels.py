"""The monitoring levels and minimum counts, read from a YAML file a risk analyst edits (policies/monitoring.yaml).

Nothing here is a constant in code: the PSI levels (watch, act), the bins, the floor of an empty bin, the minimum
applications of a PSI and outcomes of an AUC all come from the file, checked field by field when read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "policies" / "monitoring.yaml"


@dataclass(frozen=True)
class Levels:
    watch: float
    act: float
    bins: int
    empty_bin_share: float
    rare_category_share: float
    min_applications: int
    min_outcomes: int
    approved_outcomes: tuple[str, ...]
    top_features: int
    metrics_cache_seconds: float
    source: str  # the file they were read from

    def level(self, psi: float | None) -> str | None:
        """'stable', 'watch' or 'act' for a PSI; None for none."""
        if psi is None:
            return None
        return "act" if psi >= self.act else "watch" if psi >= self.watch else "stable"

    def as_dict(self) -> dict:
        return {"watch": self.watch, "act": self.act}


def _number(where: str, value, low: float, high: float, *, whole: bool = False):
    ok = isinstance(value, int) if whole else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{where}: must be {kind} from {low} to {high}, got {value!r}")
    return value


def load_levels(path=None) -> Levels:
    """The levels of `path` (default policies/monitoring.yaml); ValueError naming the file and field otherwise."""
    path = Path(path) if path is not None else DEFAULT_FILE
    return _load(str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0)


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int) -> Levels:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: monitoring levels file not found") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ValueError(f"{path}: not valid YAML" + (f" (line {line + 1})" if line is not None else "")) from None
    if not isinstance(data, dict) or not isinstance(data.get("psi"), dict):
        raise ValueError(f"{path}: expected a mapping with a 'psi' section")
    psi = data["psi"]
    known = {"psi", "min_applications", "min_outcomes", "approved_outcomes", "top_features", "metrics_cache_seconds"}
    for key in sorted(set(data) - known):
        raise ValueError(f"{path}: unknown field {key!r}")
    for key in sorted(set(psi) - {"watch", "act", "bins", "empty_bin_share", "rare_category_share"}):
        raise ValueError(f"{path}: unknown field psi.{key}")
    missing = [f"psi.{k}" for k in ("watch", "act") if k not in psi]
    missing += [k for k in ("min_applications", "min_outcomes") if k not in data]
    if missing:
        raise ValueError(f"{path}: missing field {missing[0]}")
    watch = _number(f"{path}: psi.watch", psi["watch"], 0.0, 10.0)
    act = _number(f"{path}: psi.act", psi["act"], 0.0, 10.0)
    if act <= watch:
        raise ValueError(f"{path}: psi.act ({act}) must be above psi.watch ({watch})")
    approved = data.get("approved_outcomes", ["approve", "counter_offer"])
    if not isinstance(approved, list) or not approved or not all(isinstance(o, str) for o in approved):
        raise ValueError(f"{path}: approved_outcomes must be a non-empty list of decision outcomes")
    return Levels(
        watch=float(watch),
        act=float(act),
        bins=_number(f"{path}: psi.bins", psi.get("bins", 10), 2, 100, whole=True),
        empty_bin_share=float(_number(f"{path}: psi.empty_bin_share", psi.get("empty_bin_share", 1e-4), 1e-9, 0.01)),
        rare_category_share=float(
            _number(f"{path}: psi.rare_category_share", psi.get("rare_category_share", 0.01), 0.0, 0.5)
        ),
        min_applications=_number(f"{path}: min_applications", data["min_applications"], 1, 10**9, whole=True),
        min_outcomes=_number(f"{path}: min_outcomes", data["min_outcomes"], 2, 10**9, whole=True),
        approved_outcomes=tuple(approved),
        top_features=_number(f"{path}: top_features", data.get("top_features", 10), 1, 200, whole=True),
        metrics_cache_seconds=float(
            _number(f"{path}: metrics_cache_seconds", data.get("metrics_cache_seconds", 30), 0, 3600)
        ),
        source=path,
    )
