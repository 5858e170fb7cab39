"""Importing a library without optional parts of it that serving never uses (API workers' memory: api/, deploy/)."""

from __future__ import annotations

import contextlib
import sys


class _Refuse:
    """Import finder refusing the top-level packages it names (only those not loaded yet: a loaded one is found
    in sys.modules before any finder is asked)."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ImportError(f"{name.split('.')[0]} is not loaded in API workers")
        return None


@contextlib.contextmanager
def refused(*names: str):
    """Within the block, `import` of any of `names` raises ImportError, as if it were not installed: a library
    that loads it only if it can (lightgbm its scikit-learn wrappers and plotting, pandas pyarrow) goes without."""
    finder = _Refuse(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
