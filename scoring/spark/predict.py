"""`predict --engine spark`: the same output as scoring.predict.predict_file, computed by a Spark job.

Stages: check the inputs, the model and the policy on the driver; score (clean the rows as read, join each
applicant's history, decide in the workers) into Parquet parts; put the parts back in input order; join them into
the one output file through scoring.predict's writer (`<output>.partial`, renamed at the end). Every folder of
parts is a temporary one beside the output, removed whatever happens: a failure leaves no output at all.

The store is written by the driver only, once the job has succeeded: the scoring task also emits the monitoring
record's features and the challenger's columns, which ride in the ordered parts, so the driver logs each chunk it
writes (in input order) into scored_applications (the recorder, one run id, undone if the run fails) and
shadow_scores (scoring.shadow.run.ShadowRun), one chunk in memory at a time.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path

from scoring import progress
from scoring.predict import CHUNK_ROWS, _kind, _Writer
from scoring.shadow.rows import now as shadow_now
from scoring.shadow.rows import side_by_side
from scoring.shadow.run import log as log_shadow
from scoring.shadow.run import shadow_batch
from scoring.spark import inputs, tasks
from scoring.spark.session import run_tracked, spark_session

_BATCH, _SHUFFLE = "spark.sql.execution.arrow.maxRecordsPerBatch", "spark.sql.shuffle.partitions"
_RUN_CONF = {
    _BATCH: None,  # chunk_rows: one Arrow batch = one call of the feature and decision code, as a chunk is
    # scoring is CPU-bound on little data: merging shuffle partitions by size would leave cores idle
    "spark.sql.adaptive.coalescePartitions.enabled": "false",
    _SHUFFLE: None,  # unless the session sets it: Spark's 200 made 20,000 rows 200 batches, 3 times slower
    # the parts are read back 512 rows at a time: 4,096 rows of records' features JSON (~8 KB each) asked the
    # JVM for 31 MB in one piece and ran a 1 GB local driver out of heap
    "spark.sql.parquet.columnarReaderBatchSize": "512",
}


def _run_conf(spark, raw, chunk_rows: int) -> dict[str, str]:
    """The run's settings; shuffle partitions, unless the session was started with them: the input's partitions
    or twice the cores, whichever is more."""
    conf = {key: value for key, value in _RUN_CONF.items() if value is not None}
    conf[_BATCH] = str(chunk_rows)
    sc = spark.sparkContext
    if not sc.getConf().contains(_SHUFFLE):
        conf[_SHUFFLE] = str(max(raw.rdd.getNumPartitions(), 2 * sc.defaultParallelism))
    return conf


def _copy_bundle(source: Path, model: Path):
    """The bundle copied from `source` into `model`, loaded (verified) from the copy."""
    from scoring.bundle import ModelBundle

    model.mkdir(parents=True)
    for path in source.iterdir():  # the signed files, manifest and signature (what else is there is ignored)
        if path.is_file():
            shutil.copyfile(path, model / path.name)
    return ModelBundle.load(model)


def _stage_model(models_dir, policy_path, folder: Path) -> tuple:
    """Copy the deciding bundle and the policy into `folder` and load them from there, so the bytes the
    workers get are the very bytes checked here. Returns (bundle, policy) as loaded from the user's paths."""
    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy
    from scoring.registry import bundle_dir

    source = bundle_dir(models_dir)
    ModelBundle.load(source)  # the user's folder named in any error, before anything is copied
    bundle = _copy_bundle(source, folder / tasks.MODEL_FOLDER)
    policy = load_policy(policy_path, grades=bundle.grades)
    (folder / tasks.POLICY_FILE).write_bytes(Path(policy.path).read_bytes())
    return bundle, policy


def _stage_challenger(models_dir, champion: str, policy_path, folder: Path, *, store=None, scored_at=None):
    """The ShadowRun of this run (scoring.shadow.run.shadow_batch into `store`, dated `scored_at`: none without a
    store to log in) and the fingerprint of its challenger staged in `folder` as the champion is (None: no shadow
    scoring). A challenger failing to load is logged and dropped (scoring.shadow.challenger.load_challenger); the
    run goes on."""
    from scoring import registry
    from scoring.shadow.challenger import load_challenger, log, registry_root

    shadow = shadow_batch(models_dir, policy_path, store=store, scored_at=scored_at)
    found = None if shadow.store is None else load_challenger(models_dir, champion, policy_path)
    shadow.loaded, shadow.challenger = True, None  # set below once the staged copy is verified
    if found is None:
        return shadow, None
    version = found[0].version
    try:
        staged = _copy_bundle(
            registry.version_dir(registry_root(models_dir), version), folder / tasks.CHALLENGER_FOLDER
        )
        if staged.fingerprint != found[0].fingerprint:
            raise ValueError(f"challenger {version} changed while it was staged")
    except Exception as exc:  # noqa: BLE001 - as load_challenger: no shadow scoring, the champion goes on
        log.error("challenger not loaded, no shadow scoring: %s", exc)
        return shadow, None
    shadow.challenger = (staged, found[1])
    return shadow, staged.fingerprint


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


def _log(batch, versions: tuple[str, str | None], recorder, shadow) -> bool:
    """One ordered chunk into scored_applications (recorder) and shadow_scores (shadow); False once the
    challenger failed in a worker (its columns null), which stops shadow scoring the run as ShadowRun.add does."""
    column = batch.column
    if recorder is not None:
        features = column(tasks.FEATURES)
        kept = features.is_valid()
        names = ("SK_ID_CURR", "pd", "grade", "outcome", tasks.FEATURES)
        recorder.add(versions[0], *(column(n).filter(kept).to_pylist() for n in names))
    if shadow is None:
        return True
    if column("challenger_outcome").null_count:
        shadow.failures += 1
        log_shadow.error("shadow scoring stopped for this run (the challenger failed in a worker)")
        return False

    def side(name: str, version) -> tuple:  # the worker's columns of tasks.SHADOW_SCHEMA, e.g. champion_pd
        return (version, *(column(f"{name}_{value}").to_pylist() for value in ("pd", "grade", "outcome")))

    shadow.rows += side_by_side(
        side("champion", versions[0]),
        side("challenger", versions[1]),
        at=shadow.scored_at or shadow_now(),
        request_id=shadow.request_id,
        source=shadow.source,
        client_ids=column("SK_ID_CURR").to_pylist(),
    )
    shadow.write()
    return True


def _write_output(parts: list[Path], dst: Path, chunk_rows: int, versions=None, recorder=None, shadow=None) -> int:
    """Join the ordered parts into `dst` with predict_file's writer (same columns, same CSV text, same atomic
    rename), logging each chunk (_log) before it is written, as predict_file does; returns rows written."""
    import pyarrow.parquet as pq

    total = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)
    names = [f.name for f in tasks.OUTPUT_SCHEMA if f.name != tasks.ROW]
    writer, rows, ok = _Writer(dst), 0, False
    try:
        with progress.step(f"writing {dst.name}", total=total, unit="rows") as done:
            for part in parts:
                for batch in pq.ParquetFile(part).iter_batches(batch_size=chunk_rows):
                    if (recorder is not None or shadow is not None) and not _log(batch, versions, recorder, shadow):
                        shadow = None
                    frame = batch.select(names).to_pandas()
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
    recorder=None,
    store=None,
    scored_at: str | None = None,
) -> int:
    """predict_file's output (same rows in the same order, same columns and file kind) from a Spark job on
    `spark` (default: scoring.spark.session.spark_session()), and the same monitoring records (`recorder`, a
    scoring.monitoring.commands.BatchRecorder) and shadow rows. Input, output, data_dir and models_dir are paths
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
            if recorder is not None:
                recorder.check()
            shadow, challenger = _stage_challenger(
                models_dir, bundle.version, policy_path, work / staged, store=store, scored_at=scored_at
            )
            key = _verify_key_bytes()
            raw = inputs.raw_applications(spark, src)
            names, history = inputs.history_lists(spark, data_dir)
        for conf_key, value in _run_conf(spark, raw, chunk_rows).items():
            spark.conf.set(conf_key, value)
        spark.sparkContext.addFile(str(work / staged), recursive=True)
        schema = tasks.application_schema(raw.columns)
        clean = tasks.clean_batches(str(src), schema, text_input=_kind(src) == "csv")
        applications = raw.mapInArrow(clean, tasks.spark_ddl(schema))
        joined = inputs.with_history(applications, history)
        record = recorder is not None
        scorer = tasks.score_batches(
            staged, key, bundle.fingerprint, policy.sha256, names, record=record, challenger=challenger
        )
        scored = joined.mapInArrow(scorer, tasks.spark_ddl(tasks.scored_schema(record, challenger is not None)))
        try:
            run_tracked(spark, "scoring and deciding on Spark", lambda: scored.write.parquet(inputs.uri(work / "s")))
        except Exception as exc:  # a job's failure comes as py4j/Spark errors holding the worker's text
            mapped = _user_error(exc, raw)
            if mapped is None:
                raise
            raise mapped from None
        ordered = spark.read.parquet(inputs.uri(work / "s")).orderBy(tasks.ROW).drop(tasks.ROW)
        run_tracked(spark, "putting rows back in input order", lambda: ordered.write.parquet(inputs.uri(work / "o")))
        versions = (bundle.version, shadow.challenger[0].version if challenger else None)
        shadow = shadow if challenger else None
        return _write_output(_parts(work / "o"), dst, chunk_rows, versions, recorder, shadow)
    finally:
        for conf_key, value in saved.items():
            if value is None:
                spark.conf.unset(conf_key)
            else:
                spark.conf.set(conf_key, value)
        shutil.rmtree(work, ignore_errors=True)
