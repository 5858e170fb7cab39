"""The batch feature build: the catalogue's SQL over the raw files of the whole portfolio, in one DuckDB pass."""

from __future__ import annotations

import tempfile

import duckdb
import numpy as np
import pandas as pd

from scoring.config import settings
from scoring.features.application import APPLICATION_SQL
from scoring.features.assemble import CATEGORICAL_SET, assemble
from scoring.features.history import AGGREGATE_SQL
from scoring.tables import duckdb_views, read_table


def batch_connection(**extra) -> duckdb.DuckDBPyConnection:
    """DuckDB for whole-portfolio work (feature and store builds): SCORING_FEATURES_THREADS and _MEMORY."""
    s = settings()
    return duckdb.connect(config={"threads": s.features_threads, "memory_limit": s.features_memory, **extra})


def build_features(data_dir) -> pd.DataFrame:
    """Features of every train and test client (one row each, history or not) from the raw tables."""
    return build_features_and_policy_inputs(data_dir)[0]


def build_features_and_policy_inputs(data_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model features and policy inputs of every train and test client, from one pass of the same SQL."""
    con = batch_connection(preserve_insertion_order=False)
    try:
        with tempfile.TemporaryDirectory(prefix="features-") as spill:
            con.execute(f"SET temp_directory = '{spill}'")
            duckdb_views(con, data_dir)
            app = _arrays(con.execute(APPLICATION_SQL).df(), sort=True)
            parts = {alias: _arrays(con.execute(sql).df()) for alias, sql in AGGREGATE_SQL.items()}
    finally:
        con.close()
    return assemble(app, parts)


def _arrays(df: pd.DataFrame, sort: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A query result as (client ids, {column: float64 or object array}), optionally in client-id order."""
    ids = df["SK_ID_CURR"].to_numpy(dtype="int64")
    order = np.argsort(ids, kind="stable") if sort else slice(None)
    cols = {}
    for name in df.columns.drop("SK_ID_CURR"):
        if name in CATEGORICAL_SET:
            cols[name] = df[name].to_numpy(dtype=object)[order]
        else:
            cols[name] = df[name].to_numpy(dtype="float64", na_value=np.nan)[order]
    return ids[order], cols


def load_target(data_dir) -> pd.Series:
    """TARGET (0 repaid, 1 defaulted) of the training clients, indexed by SK_ID_CURR."""
    df = read_table(data_dir, "application_train", ["SK_ID_CURR", "TARGET"])
    return df.set_index("SK_ID_CURR")["TARGET"].astype("int64")
