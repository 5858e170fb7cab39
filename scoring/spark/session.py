"""The SparkSession of a scoring run (quiet, the executors on this Python) and its jobs' progress per stage."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from scoring import progress

_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the scoring package
QUIET = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",  # the run's own progress goes through scoring.progress
    "spark.log.level": "ERROR",
}


def spark_session(master: str | None = None, shuffle_partitions: int | None = None, **conf: str):
    """The active session, else a new one: `master` when given (tests, the bench: local[2]), else the one
    spark-submit passes, else pyspark's local[*]. Python workers run this interpreter and import this package."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ValueError("--engine spark needs pyspark: pip install -r requirements.txt") from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ValueError("--engine spark needs Java: java is not on PATH (make system-deps installs a JRE)")
    # only read when this process starts the JVM (not under spark-submit, which has set them already)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(_ROOT) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(_ROOT), *paths])
    builder = SparkSession.builder.appName("scoring predict")
    if master:
        builder = builder.master(master)
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings = dict(QUIET)
    if shuffle_partitions:
        settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    for key, value in {**settings, **conf}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _tasks_done(tracker, group: str) -> int:
    done = 0
    for job in tracker.getJobIdsForGroup(group):
        info = tracker.getJobInfo(job)
        for stage in info.stageIds if info else ():
            stage_info = tracker.getStageInfo(stage)
            done += stage_info.numCompletedTasks if stage_info else 0
    return done


def run_tracked(spark, name: str, action: Callable[[], object], poll: float = 0.5):
    """Run `action` (which starts Spark jobs) as the progress step `name`, counting the tasks its jobs finish;
    Ctrl-C cancels its jobs. Returns what `action` returns, raises what it raises."""
    sc = spark.sparkContext
    group = f"scoring-{uuid.uuid4().hex}"
    outcome: dict = {}

    def target() -> None:
        sc.setJobGroup(group, name, interruptOnCancel=True)  # a thread's own property: its jobs are the group's
        try:
            outcome["value"] = action()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=name, daemon=True)
    with progress.step(name, unit="tasks") as shown:
        worker.start()
        try:
            while worker.is_alive():
                worker.join(poll)
                done = _tasks_done(sc.statusTracker(), group)
                if done > shown.done:
                    shown.update(done - shown.done)
        except KeyboardInterrupt:
            sc.cancelJobGroup(group)
            worker.join()
            raise
        if "error" in outcome:
            raise outcome["error"]
    return outcome.get("value")
