"""`predict --engine spark`: the same output as scoring.predict.predict_file, computed by a Spark job.

Stages: check the inputs, the model and the policy on the driver; score (clean the rows as read, join each
applicant's history, decide in the workers) into Parquet parts; put the parts back in input order; join them into
the one output file through scoring.predict's writer (`<output>.partial`, renamed at the end). Every folder of
parts is a temporary one beside the output, removed whatever happens: a failure leaves no output at all.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path

from scoring import progress
from scoring.predict import CHUNK_ROWS, _kind, _Writer
from scoring.spark import inputs, tasks
from scoring.spark.session import run_tracked, spark_session

_RUN_CONF = {
    # one Arrow batch = one call of the feature and decision code, as a chunk is for predict_file
    "spark.sql.execution.arrow.maxRecordsPerBatch": None,
    # scoring is CPU-bound on little data: merging shuffle partitions by size would leave cores idle
    "spark.sql.adaptive.coalescePartitions.enabled": "false",
}


def _stage_model(models_dir, policy_path, folder: Path) -> tuple:
    """Copy the deciding bundle and the policy into `folder` and load them from there, so the bytes the
    workers get are the very bytes checked here. Returns (bundle, policy) as loaded from the user's paths."""
    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy
    from scoring.registry import bundle_dir

    source = bundle_dir(models_dir)
    ModelBundle.load(source)  # the user's folder named in any error, before anything is copied
    model = folder / tasks.MODEL_FOLDER
    model.mkdir(parents=True)
    for path in source.iterdir():  # the signed files, manifest and signature (what else is there is ignored)
        if path.is_file():
            shutil.copyfile(path, model / path.name)
    bundle = ModelBundle.load(model)
    policy = load_policy(policy_path, grades=bundle.grades)
    (folder / tasks.POLICY_FILE).write_bytes(Path(policy.path).read_bytes())
    return bundle, policy


def _verify_key_bytes() -> bytes:
    from cryptography.hazmat.primitives import serialization

    from scoring import signing

    raw = serialization.Encoding.Raw
    return signing.load_verify_key().public_bytes(raw, serialization.PublicFormat.Raw)


def _user_error(exc: BaseException, raw) -> ValueError | None:
    """The worker's message of a failed job, its data row counted from the start of the file; None when the
    failure is not about the input (then it is raised as it is)."""
    found = tasks.error_text(exc)
    if found is None:
        return None
    partition, message = found
    row = re.search(r"data row (\d+)", message)
    if partition >= 0 and row:
        before = sum(n for p, n in inputs.partition_rows(raw).items() if p < partition)
        message = message.replace(row.group(0), f"data row {before + int(row.group(1))}", 1)
    return ValueError(message)


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def _write_output(parts: list[Path], dst: Path, chunk_rows: int) -> int:
    """Join the ordered parts into `dst` with predict_file's writer (same columns, same CSV text, same atomic
    rename); returns rows written."""
    import pyarrow.parquet as pq

    total = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)
    writer, rows, ok = _Writer(dst), 0, False
    try:
        with progress.step(f"writing {dst.name}", total=total, unit="rows") as done:
            for part in parts:
                for batch in pq.ParquetFile(part).iter_batches(batch_size=chunk_rows):
                    frame = batch.to_pandas()
                    writer.write(frame)
                    rows += len(frame)
                    done.update(len(frame))
        ok = True
    finally:
        writer.close(ok)
    return rows


def predict_file_spark(
    input,
    output,
    data_dir=None,
    models_dir="models",
    *,
    policy_path=None,
    spark=None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """predict_file's output (same rows in the same order, same columns and file kind) from a Spark job on
    `spark` (default: scoring.spark.session.spark_session()). Input, output, data_dir and models_dir are paths
    every Spark node sees (local mode, or storage mounted at the same path on the whole cluster)."""
    src, dst = Path(input), Path(output)
    if not src.exists():
        raise ValueError(f"input file {src} does not exist")
    _kind(src)
    _kind(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dst.name}.spark-", dir=dst.parent))
    staged = f"scoring-model-{uuid.uuid4().hex}"
    spark = spark or spark_session()
    saved = {key: spark.conf.get(key, None) for key in _RUN_CONF}
    try:
        with progress.step("checking the model, the policy and the input"):
            bundle, policy = _stage_model(models_dir, policy_path, work / staged)
            key = _verify_key_bytes()
            raw = inputs.raw_applications(spark, src)
            names, history = inputs.history_lists(spark, data_dir)
        for conf_key, value in _RUN_CONF.items():
            spark.conf.set(conf_key, str(chunk_rows) if value is None else value)
        spark.sparkContext.addFile(str(work / staged), recursive=True)
        schema = tasks.application_schema(raw.columns)
        clean = tasks.clean_batches(str(src), schema, text_input=_kind(src) == "csv")
        applications = raw.mapInArrow(clean, tasks.spark_ddl(schema))
        joined = inputs.with_history(applications, history)
        scorer = tasks.score_batches(staged, key, bundle.fingerprint, policy.sha256, names)
        scored = joined.mapInArrow(scorer, tasks.spark_ddl(tasks.OUTPUT_SCHEMA))
        try:
            run_tracked(spark, "scoring and deciding on Spark", lambda: scored.write.parquet(inputs.uri(work / "s")))
        except Exception as exc:  # a job's failure comes as py4j/Spark errors holding the worker's text
            mapped = _user_error(exc, raw)
            if mapped is None:
                raise
            raise mapped from None
        ordered = spark.read.parquet(inputs.uri(work / "s")).orderBy(tasks.ROW).drop(tasks.ROW)
        run_tracked(spark, "putting rows back in input order", lambda: ordered.write.parquet(inputs.uri(work / "o")))
        return _write_output(_parts(work / "o"), dst, chunk_rows)
    finally:
        for conf_key, value in saved.items():
            if value is None:
                spark.conf.unset(conf_key)
            else:
                spark.conf.set(conf_key, value)
        shutil.rmtree(work, ignore_errors=True)
