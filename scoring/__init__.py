"""Credit-scoring core library: Home Credit tables, features, model bundle, decision policy, client store."""

import os

__version__ = "0.1.0"

# DuckDB's bundled jemalloc keeps freed pages for 10 s by default: an API worker scoring applicants back to back
# then holds 40-60 MB it no longer uses. Purged after 1 s, RSS stays flat at no measurable latency cost.
# Read when duckdb loads, so it is set here, before any module of ours imports it; an explicit setting wins.
os.environ.setdefault("DUCKDB_JE_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")
