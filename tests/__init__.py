"""Test package (a regular package, so an installed top-level `tests`, as diffprivlib ships, cannot shadow it)."""
