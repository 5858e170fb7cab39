"""The Spark frames of a run: application rows as read (checked by scoring.predict's own header check) and each
client's history, every table collected into one list per client and joined to their application row.

A join by SK_ID_CURR is how a cluster brings an applicant's history rows to the task scoring them: each history
table is grouped by client (bureau_balance through its bureau rows' client), and the application rows are
shuffled once to meet them. Every row keeps its place in its file, so a worker hands the feature code the rows in
the order the single-machine path reads them (float sums then add up in the same order, to the last bit).
"""

from __future__ import annotations

from pathlib import Path

from scoring.predict import _APP, _HISTORY, _check_header, _kind
from scoring.spark.tasks import ORDER
from scoring.tables import SCHEMAS, find_table

_CSV = {"header": "true", "escape": '"', "multiLine": "false", "mode": "PERMISSIVE"}


def uri(path) -> str:
    """A file:// URI: every node reads the same shared path, whatever the cluster's default file system."""
    return Path(path).resolve().as_uri()


def _read(spark, path: Path, columns: list[str] | None = None):
    """A CSV (every column as text, as scoring.predict reads it) or a Parquet file; `columns` kept if present."""
    if _kind(path) == "csv":
        frame = spark.read.options(**_CSV).csv(uri(path))
    else:
        frame = spark.read.parquet(uri(path))
    return frame.select(*[c for c in frame.columns if columns is None or c in columns])


def raw_applications(spark, src: Path):
    """The input's application columns, unconverted; ValueError when it is not application rows."""
    frame = _read(spark, src)
    _check_header(src, frame.columns)
    return frame.select(*[c for c in frame.columns if c in _APP])


def _table(spark, data_dir, name: str):
    from pyspark.sql import functions as F

    path = find_table(data_dir, name)
    if path is None:
        return None
    schema = SCHEMAS[name]
    frame = _read(spark, path, list(schema))
    frame = frame.withColumn(ORDER, F.monotonically_increasing_id())
    for key in ("SK_ID_CURR", "SK_ID_BUREAU"):
        if key in schema and key in frame.columns:  # the join keys as numbers; the rows themselves as read
            frame = frame.withColumn(f"_{key}", F.col(key).try_cast("long"))
    return frame


def history_lists(spark, data_dir) -> tuple[list[str], list]:
    """(table names, frames of SK_ID_CURR + that table's rows of the client as a list), for every history table
    present in data_dir, as scoring.predict.history_frames finds them."""
    from pyspark.sql import functions as F

    if data_dir is None or not Path(data_dir).is_dir():
        return [], []
    names, frames, tables = [], [], {}
    for name in _HISTORY:
        frame = _table(spark, data_dir, name)
        if frame is None or "_SK_ID_CURR" not in frame.columns:
            continue
        tables[name] = frame
        columns = [c for c in frame.columns if not c.startswith("_SK_ID")]
        grouped = frame.groupBy(F.col("_SK_ID_CURR").alias("SK_ID_CURR"))
        names.append(name)
        frames.append(grouped.agg(F.collect_list(F.struct(*columns)).alias(name)))
    bureau = tables.get("bureau")
    balance = _table(spark, data_dir, "bureau_balance") if bureau is not None else None
    if balance is not None and "_SK_ID_BUREAU" in bureau.columns and "_SK_ID_BUREAU" in balance.columns:
        owners = bureau.select("_SK_ID_BUREAU", "_SK_ID_CURR").dropna().distinct()
        rows = balance.join(owners, "_SK_ID_BUREAU")
        columns = [c for c in balance.columns if not c.startswith("_SK_ID")]
        grouped = rows.groupBy(F.col("_SK_ID_CURR").alias("SK_ID_CURR"))
        names.append("bureau_balance")
        frames.append(grouped.agg(F.collect_list(F.struct(*columns)).alias("bureau_balance")))
    return names, frames


def with_history(applications, history: list):
    """Application rows with their history lists (missing list: no rows in that table)."""
    for frame in history:
        applications = applications.join(frame, "SK_ID_CURR", "left")
    return applications


def partition_rows(raw) -> dict[int, int]:
    """Rows per input partition (a count, read again only after an error, to give its absolute data row)."""
    from pyspark.sql import functions as F

    counts = raw.groupBy(F.spark_partition_id().alias("p")).count().collect()
    return {row["p"]: row["count"] for row in counts}
