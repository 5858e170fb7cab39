"""The monitoring commands of `python -m scoring`: `outcomes import FILE`, `monitor report`, and predict's recording
options (--store, --no-record, --as-of). scoring/cli.py adds them with add_parsers and add_predict_options."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path


def _store_location(text: str):
    from scoring.store import store_location

    return store_location(text)


def _store_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--store", type=_store_location, default=None, help=f"{what} (default: $SCORING_STORE or data/processed/...)"
    )


def _day(text: str) -> str:
    from scoring.monitoring.records import as_of

    try:
        return as_of(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--as-of: ")) from None


def add_predict_options(p: argparse.ArgumentParser) -> None:
    """predict records what it scores in the store's scored_applications unless --no-record."""
    _store_option(p, "client store the scored applications are recorded in")
    p.add_argument("--no-record", action="store_true", help="do not record the scored applications for monitoring")
    p.add_argument(
        "--as-of", type=_day, default=None, metavar="DATE", help="date the records YYYY-MM-DD (a backfilled cohort)"
    )


class BatchRecorder:
    """Records each scored chunk of one predict run under one run id; a run that fails is taken back out."""

    def __init__(self, store, scored_at: str | None = None):
        from scoring.monitoring import records

        self.store, self.run_id = store, records.new_request_id()
        self.scored_at, self.rows = scored_at, 0

    def check(self) -> None:
        """A missing store is an error before anything is scored (predict_file calls this once the bundle is
        verified, so that a tampered model is what a run on both is refused for)."""
        from scoring.store.connection import connect

        try:
            connect(self.store)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{exc}, or pass --no-record to score without recording for monitoring") from None

    def __call__(self, bundle, decided, client_ids) -> None:
        from scoring.monitoring import records

        stamp = self.scored_at or records.now()
        rows = records.rows_of(
            bundle, decided, source="batch", request_id=self.run_id, client_ids=client_ids, scored_at=stamp
        )
        self.rows += records.record(self.store, rows)

    def add(self, model_version: str, client_ids, pds, grades, outcomes, features) -> None:
        """Rows the Spark engine scored, recorded by its driver after the job: the columns records.rows takes
        (features: its JSON, made in the worker), the rows rows_of leaves out already dropped."""
        from scoring.monitoring import records

        stamp = self.scored_at or records.now()
        columns = (client_ids, pds, grades, outcomes, features)
        rows = records.rows(model_version, *columns, source="batch", request_id=self.run_id, scored_at=stamp)
        self.rows += records.record(self.store, rows)

    def undo(self) -> None:
        from scoring.monitoring import records

        if self.rows:
            records.forget_request(self.store, self.run_id)


@contextlib.contextmanager
def predict_recording(args):
    """The recorder predict_file (or predict_file_spark's driver) calls per chunk (None with --no-record); nothing
    stays recorded if predict fails."""
    if args.no_record:
        yield None
        return
    recorder = BatchRecorder(args.store, scored_at=args.as_of)
    try:
        yield recorder
    except BaseException:
        recorder.undo()
        raise


def _cmd_outcomes(args):
    from scoring.monitoring.outcomes import import_outcomes
    from scoring.store import describe_location

    n = import_outcomes(args.store, args.file)
    print(f"{n:,} outcomes imported from {args.file} into {describe_location(args.store)}")


def _cmd_report(args):
    from scoring import progress
    from scoring.bundle import ModelBundle
    from scoring.monitoring.report import write_report
    from scoring.store import open_store

    with progress.step("monitoring report"):
        bundle = ModelBundle.load(args.models)
        store = open_store(args.store)
        summary = write_report(args.out, args.store, store, bundle, args.period)
    print(f"monitoring report ({summary}) -> {args.out}")


def add_parsers(sub, add_models, add_quiet) -> None:
    """`outcomes import` and `monitor report` on the CLI's subparsers."""
    p = sub.add_parser("outcomes", help="outcomes of scored clients (defaulted or repaid), for performance monitoring")
    outcomes_sub = p.add_subparsers(dest="outcomes_command", required=True)
    o = outcomes_sub.add_parser(
        "import",
        help="import a CSV of client_id, defaulted (0/1), observed_on (YYYY-MM-DD); all rows or none",
    )
    o.add_argument("file", type=Path)
    _store_option(o, "client store file or postgresql:// URL")
    add_quiet(o)
    o.set_defaults(func=_cmd_outcomes)

    p = sub.add_parser("monitor", help="drift and performance monitoring")
    monitor_sub = p.add_subparsers(dest="monitor_command", required=True)
    r = monitor_sub.add_parser("report", help="one self-contained HTML page for the risk committee (works offline)")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--period", choices=("day", "week", "month"), default="month")
    add_models(r)
    _store_option(r, "client store file or postgresql:// URL")
    add_quiet(r)
    r.set_defaults(func=_cmd_report)
