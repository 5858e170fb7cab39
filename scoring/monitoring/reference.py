"""The training reference PSI compares against: bins and shares of the score (PD) and of each model feature.

Training saves it in the bundle (scoring.bundle.REFERENCE_FILE, signed with the other files), made on the training
rows with the final model's PD. A bundle trained before it has none: the reference is then made from the store's
training-split clients, when the store was scored by that bundle; `source` says which ("bundle" or "store").
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from scoring.monitoring import psi
from scoring.monitoring.levels import Levels, load_levels

FORMAT = 1
_cache: dict = {}
_lock = threading.Lock()


def build_reference(
    features: pd.DataFrame,
    pd_values,
    categorical,
    model_version: str,
    *,
    source: str = "bundle",
    levels: Levels | None = None,
) -> dict:
    """The reference of these rows: `features` (one column per model feature, categories as text), their PD."""
    levels = levels or load_levels()
    categorical = set(categorical)
    out = {}
    for name in features.columns:
        column = features[name]
        if name in categorical:
            out[str(name)] = psi.categorical_spec(column.astype(object).to_numpy(), levels.rare_category_share)
        else:
            out[str(name)] = psi.numeric_spec(column.to_numpy(dtype="float64", na_value=np.nan), levels.bins)
    return {
        "format": FORMAT,
        "model_version": model_version,
        "source": source,
        "n": int(len(features)),
        "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "bins": levels.bins,
        "rare_category_share": levels.rare_category_share,
        "score": psi.numeric_spec(np.asarray(pd_values, dtype="float64"), levels.bins),
        "features": out,
    }


def to_json(reference: dict) -> str:
    return json.dumps(reference, separators=(",", ":"), allow_nan=False) + "\n"


def from_json(text: str | bytes, where: str) -> dict:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"{where}: the monitoring reference is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or "score" not in data:
        raise ValueError(f"{where}: not a monitoring reference of a supported format")
    return data


def reference_for(bundle, store) -> dict | None:
    """The bundle's own reference, else one made from the store's training split when the store was scored by this
    bundle (cached per store generation); None when there is neither."""
    own = getattr(bundle, "reference", None)
    if own is not None:
        return own
    meta = store.meta()
    if meta.get("model_version") != bundle.version:
        return None
    key = (str(getattr(store, "path", id(store))), meta.get("built_at"), meta.get("explained_at"), bundle.version)
    with _lock:
        if key in _cache:
            return _cache[key]
    made = _from_store(bundle, store)
    with _lock:
        _cache.clear()  # one store generation at a time
        _cache[key] = made
    return made


def _from_store(bundle, store) -> dict | None:
    """From the training-split clients' stored features and PD (a SQLite store file)."""
    from scoring.store.blobs import unpack, unpack_json
    from scoring.store.connection import connect

    path = getattr(store, "path", None)
    if path is None:  # a PostgreSQL store: its generation schema is read through the backend only
        return None
    meta = store.meta()
    con = connect(path, readonly=True)
    rows = con.execute(
        "SELECT c.num, c.cat, s.pd FROM clients c JOIN scores s ON s.client_id = c.client_id "
        "WHERE c.split = 'train' ORDER BY c.client_id"
    ).fetchall()
    if not rows:
        return None
    numeric, categorical = meta["numeric_features"], meta["categorical_features"]
    num = np.vstack([unpack(r[0], "float64") for r in rows]) if numeric else np.empty((len(rows), 0))
    frame = pd.DataFrame(num, columns=numeric)
    if categorical:
        cats = pd.DataFrame([unpack_json(r[1]) for r in rows], columns=categorical, dtype=object)
        frame = pd.concat([frame, cats], axis=1)
    names = [f for f in bundle.feature_names if f in frame.columns]
    return build_reference(
        frame[names], [r[2] for r in rows], bundle.categories, bundle.version, source="store", levels=load_levels()
    )
