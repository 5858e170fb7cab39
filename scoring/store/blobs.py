"""How the store encodes arrays and JSON in its byte columns: zlib level 1 over raw numpy bytes or compact JSON.

One place for the format, so that the build, every backend's reads and the population release agree byte for byte.
"""

from __future__ import annotations

import json
import zlib

import numpy as np

# dtype of each kind of sample column (the `sample` table's `kind`)
SAMPLE_DTYPES = {"id": "int64", "target": "int8", "pd": "float64", "numeric": "float64", "categorical": "int16"}


def pack(array: np.ndarray, dtype: str) -> bytes:
    return zlib.compress(np.ascontiguousarray(array, dtype=dtype).tobytes(), 1)


def unpack(blob: bytes, dtype: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype=dtype)


def pack_json(obj) -> bytes:
    return zlib.compress(json.dumps(obj, separators=(",", ":"), allow_nan=False).encode(), 1)


def unpack_json(blob: bytes):
    return json.loads(zlib.decompress(blob))


def sample_column(kind: str, blob: bytes, categories: str | None) -> tuple[np.ndarray, list | None]:
    """One sample column as stored: its values (category codes, -1 missing) and its categories (None if numeric)."""
    return unpack(blob, SAMPLE_DTYPES[kind]), (json.loads(categories) if categories else None)
