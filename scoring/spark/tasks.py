"""What Spark runs in its Python workers: the single-machine path's own code on Arrow batches.

`clean_batches` checks and types the application rows as they are read (scoring.predict's _clean, so a bad value
is reported the same way); `score_batches` rebuilds each batch's history tables from the lists the join brought
and calls the same decide_records and output_rows as `predict_file`. The model bundle and the policy are staged
by the driver (scoring.spark.predict), fetched with SparkFiles, verified then loaded once per worker process.
Errors meant for the user leave a worker as ValueError text with a marker the driver finds (`error_text`).
When asked, each row also carries what the driver logs after the job (workers never open the store): the features
JSON of scoring.monitoring.records.rows_of and the challenger's columns of scoring.shadow.rows.shadow_rows.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from scoring.shadow.rows import COLUMNS as SHADOW_COLUMNS

MODEL_FOLDER = "model"
CHALLENGER_FOLDER = "challenger"
POLICY_FILE = "policy.yaml"
ORDER = "_ord"  # a history row's place in its file: the single-machine path reads rows in that order
ROW = "_row"  # an application row's place in the input: the output keeps the input's order
_MARK = re.compile(r"scoring-error\[(-?\d+)\]: ([^\n]*)")
_loaded: dict[str, tuple] = {}  # per worker process: staged folder name -> (bundle, policy, challenger or None)

OUTPUT_SCHEMA = pa.schema(
    [
        ("SK_ID_CURR", pa.int64()),
        ("pd", pa.float64()),
        ("grade", pa.string()),
        ("decision", pa.string()),
        ("outcome", pa.string()),
        ("offer_amount", pa.float64()),
        ("offer_annuity", pa.float64()),
        ("fired", pa.string()),
        (ROW, pa.int64()),
    ]
)


OUT_ROWS = 4096  # rows per batch handed back to Spark: a record's features JSON is ~8 KB
FEATURES = "_features"  # the monitoring record's features JSON; null where rows_of records nothing
# shadow_scores' columns from champion_pd on, as scoring.shadow.rows.shadow_rows ends its rows
_SHADOW_TYPES = {"pd": pa.float64(), "grade": pa.string(), "outcome": pa.string()}
SHADOW_SCHEMA = pa.schema(
    [(c, _SHADOW_TYPES[c.split("_", 1)[1]]) for c in SHADOW_COLUMNS[SHADOW_COLUMNS.index("champion_pd") :]]
)
_SPARK_TYPES = {pa.int64(): "long", pa.float64(): "double", pa.string(): "string"}


def scored_schema(record: bool, shadow: bool) -> pa.Schema:
    """The scoring task's columns: the output's and its row place, then the record's and the shadow's if asked."""
    fields = list(OUTPUT_SCHEMA)
    if record:
        fields.append(pa.field(FEATURES, pa.string()))
    if shadow:
        fields += list(SHADOW_SCHEMA)
    return pa.schema(fields)


def spark_ddl(schema: pa.Schema) -> str:
    """The Spark schema string (mapInArrow's output type) of an Arrow schema of the types used here."""
    return ", ".join(f"`{field.name}` {_SPARK_TYPES[field.type]}" for field in schema)


def _user_error(partition: int, exc: Exception) -> ValueError:
    return ValueError(f"scoring-error[{partition}]: {' '.join(str(exc).split())}")


def error_text(exc: BaseException) -> tuple[int, str] | None:
    """(input partition or -1, message) of a user-facing error raised in a worker, from a failed job's text."""
    found = _MARK.findall(str(exc))
    return (int(found[-1][0]), found[-1][1]) if found else None


def application_schema(columns: list[str]) -> pa.Schema:
    """Arrow types of cleaned application rows: ids int64, numbers float64, text string, plus the row place."""
    from scoring.predict import _APP

    def kind(col: str):
        if col == "SK_ID_CURR":
            return pa.int64()
        return pa.string() if _APP[col] == "str" else pa.float64()

    return pa.schema([(c, kind(c)) for c in columns if c != "TARGET"] + [(ROW, pa.int64())])


def clean_batches(source: str, schema: pa.Schema, text_input: bool):
    """mapInArrow function over the raw input rows: scoring.predict._clean per batch, in file order.

    Data row numbers in its errors count from the start of the task's partition; the driver adds the rows of the
    partitions before it. CSV is read as text, where Spark keeps a quoted empty field as "" and pandas (the
    single-machine reader) reads it as missing: both are missing here."""
    from scoring.predict import _clean

    columns = schema.remove(schema.get_field_index(ROW))

    def run(batches):
        from pyspark import TaskContext

        partition = TaskContext.get().partitionId()
        seen = 0
        for batch in batches:
            chunk = batch.to_pandas()
            if text_input:
                chunk = chunk.mask(chunk.eq(""))
            try:
                cleaned = _clean(chunk, Path(source), seen)
            except ValueError as exc:
                raise _user_error(partition, exc) from None
            rows = pa.array((partition << 33) + seen + np.arange(len(cleaned), dtype="int64"))
            seen += len(cleaned)
            table = pa.Table.from_pandas(cleaned, schema=columns, preserve_index=False).append_column(ROW, rows)
            yield from table.to_batches()

    return run


def load_staged(
    folder: Path, verify_key: bytes, fingerprint: str, policy_sha256: str, model: str = MODEL_FOLDER
) -> tuple:
    """The bundle (folder/`model`) and policy the driver staged in `folder`: the bundle's signature and hashes
    checked before its bytes are unpickled (ModelBundle.load), both checked to be the very ones the driver loaded."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy

    bundle = ModelBundle.load(folder / model, verify_key=Ed25519PublicKey.from_public_bytes(verify_key))
    if bundle.fingerprint != fingerprint:
        raise ValueError(f"the model in {folder / model} is not the one the driver checked")
    policy = load_policy(folder / POLICY_FILE, grades=bundle.grades)
    if policy.sha256 != policy_sha256:
        raise ValueError(f"the policy in {folder} is not the one the driver checked")
    return bundle, policy


def _cached(staged: str, verify_key: bytes, fingerprint: str, policy_sha256: str, challenger: str | None) -> tuple:
    """(bundle, policy, challenger's (bundle, policy) or None) of a run, loaded once per worker process. A
    challenger that fails here is logged and dropped, as scoring.shadow.challenger does: the champion goes on."""
    if staged not in _loaded:
        from pyspark import SparkFiles

        _loaded.clear()  # one run's bundles at a time in a reused worker
        folder = Path(SparkFiles.get(staged))
        bundle, policy = load_staged(folder, verify_key, fingerprint, policy_sha256)
        shadow = None
        if challenger is not None:
            try:
                shadow = load_staged(folder, verify_key, challenger, policy_sha256, CHALLENGER_FOLDER)
            except Exception as exc:  # noqa: BLE001 - no shadow scoring: the driver sees its columns empty
                logging.getLogger("scoring.shadow").error("challenger not loaded in a worker: %s", exc)
        _loaded[staged] = (bundle, policy, shadow)
    return _loaded[staged]


def history_table(lists: pa.Array) -> pd.DataFrame:
    """One history table's rows of a batch's clients, from its list column, in file order (and each row once:
    bureau_balance rows reach every client holding their bureau id)."""
    rows = pa.Table.from_struct_array(lists.flatten()).to_pandas()
    if rows.empty:
        return rows.drop(columns=[ORDER])
    rows = rows.drop_duplicates(ORDER).sort_values(ORDER, kind="stable")
    return rows.drop(columns=[ORDER]).reset_index(drop=True)


def _record_columns(bundle, decided, ids) -> pa.Array:
    """Per row, the features JSON scoring.monitoring.records.rows_of records for it (null: not recorded)."""
    from scoring.decision.record import TECHNICAL_REFUSAL
    from scoring.monitoring.records import rows_of

    rows = rows_of(bundle, decided, source="batch", request_id=None, client_ids=ids, scored_at="")
    kept = np.flatnonzero(np.asarray(decided.decisions.outcome, dtype=object) != TECHNICAL_REFUSAL)
    if len(kept) != len(rows):
        raise RuntimeError("the monitoring rows do not match the scored rows")
    features = np.full(len(ids), None, dtype=object)
    features[kept] = [row[-1] for row in rows]
    return pa.array(features, pa.string())


def _shadow_columns(decided, challenger, ids) -> list[pa.Array]:
    """The champion's and challenger's columns of scoring.shadow.rows.shadow_rows; all null when the challenger
    is missing or fails (the driver then stops shadow scoring the run, as ShadowRun.add does)."""
    from scoring.shadow.rows import shadow_rows

    rows = None
    if challenger is not None:
        try:
            rows = shadow_rows(decided, challenger, source="batch", request_id=None, client_ids=ids)
        except Exception as exc:  # noqa: BLE001 - the champion's run never fails for the challenger
            logging.getLogger("scoring.shadow").error("shadow scoring failed in a worker (%s)", type(exc).__name__)
    first = len(SHADOW_COLUMNS) - len(SHADOW_SCHEMA)
    return [
        pa.array([row[first + i] for row in rows] if rows else [None] * len(ids), field.type)
        for i, field in enumerate(SHADOW_SCHEMA)
    ]


def score_batches(
    staged: str,
    verify_key: bytes,
    fingerprint: str,
    policy_sha256: str,
    tables: list[str],
    *,
    record: bool = False,
    challenger: str | None = None,
):
    """mapInArrow function over application rows joined to their history lists: scored_schema's columns (the
    output columns of scoring.predict.output_rows, each row's input place, the record's features when `record`,
    the shadow columns when `challenger`, the staged challenger's fingerprint, is given)."""
    from scoring.decision.service import decide_records
    from scoring.predict import output_rows

    schema = scored_schema(record, challenger is not None)

    def run(batches):
        bundle, policy, shadow = _cached(staged, verify_key, fingerprint, policy_sha256, challenger)
        for batch in batches:
            names = [n for n in batch.schema.names if n not in tables and n != ROW]
            chunk = pa.RecordBatch.from_arrays([batch.column(n) for n in names], names=names).to_pandas()
            history = {name: history_table(batch.column(name)) for name in tables}
            try:
                decided = decide_records(bundle, policy, chunk, history)
            except ValueError as exc:
                raise _user_error(-1, exc) from None
            ids = chunk["SK_ID_CURR"].to_numpy()
            out = output_rows(ids, decided)
            out[ROW] = batch.column(ROW).to_numpy()
            columns = list(pa.RecordBatch.from_pandas(out, schema=OUTPUT_SCHEMA, preserve_index=False).columns)
            if record:
                columns.append(_record_columns(bundle, decided, ids))
            if challenger is not None:
                columns += _shadow_columns(decided, shadow, ids)
            scored = pa.RecordBatch.from_arrays(columns, schema=schema)
            for start in range(0, scored.num_rows, OUT_ROWS):  # the JVM holds one slice at a time, not a chunk
                yield scored.slice(start, OUT_ROWS)

    return run
