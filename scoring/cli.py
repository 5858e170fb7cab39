"""`python -m scoring <command>`: thin argument parsing; the work lives in the modules it calls."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scoring import progress
from scoring.config import settings
from scoring.monitoring import commands as monitoring_commands


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", type=Path, default=None, help="folder of the raw tables (default: $SCORING_DATA or data/raw)"
    )


def _add_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", type=Path, default=None, help="model folder (default: $SCORING_MODELS or models)")


def _store_location(text: str):
    from scoring.store import store_location

    return store_location(text)


def _add_store(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        type=_store_location,
        default=None,
        help="client store file or postgresql:// URL (default: $SCORING_STORE or data/processed/store.sqlite)",
    )


def _add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quiet", action="store_true", help="no progress on stderr (default: $SCORING_PROGRESS, a bar on a terminal)"
    )


def _paths(args: argparse.Namespace) -> argparse.Namespace:
    s = settings()
    for name, default in (("data", s.data_dir), ("models", s.models_dir), ("store", _store_location(s.store))):
        if hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, default)
    return args


def _cmd_synth(args):
    from scoring.synth import generate, generate_cohort

    if args.cohort:  # a later cohort of new applicants, for monitoring (README "Monitoring")
        counts = generate_cohort(args.out, args.clients, args.cohort, args.seed, args.first_id, args.format)
    else:
        counts = generate(args.out, n_clients=args.clients, seed=args.seed, fmt=args.format)
    for name, rows in counts.items():
        print(f"{name}: {rows:,} rows")


def _cmd_check(args):
    from scoring.tables import check_schema, data_source

    with progress.step("checking tables"):
        problems = check_schema(args.data)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"schema OK ({data_source(args.data)} data in {args.data})")
    return 0


def _cmd_features(args):
    from scoring.features import build_features

    with progress.step("features"):
        features = build_features(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    features.to_parquet(args.out)
    print(f"{len(features):,} clients x {features.shape[1]} features -> {args.out}")


def _cmd_train(args):
    from scoring.registry import commands
    from scoring.train import DEFAULT_KIND, train_model

    kind = args.kind or DEFAULT_KIND
    with commands.training_folder(args.models) as out:  # a registry's new version folder, else the folder itself
        bundle = train_model(args.data, out, n_folds=args.folds, cost_fn=args.cost_fn, seed=args.seed, kind=kind)
    card = bundle.card
    print(
        f"model {bundle.version} ({bundle.model.kind}): CV AUC {card['metrics']['cv_auc']:.4f}, "
        f"threshold {bundle.threshold:.4f} -> {args.models}"
    )


def _cmd_models(args):
    from scoring.registry import commands

    return commands.run(args)


def _cmd_tune(args):
    from scoring.tune import tune

    best = tune(args.data, args.models, n_trials=args.trials, n_folds=args.folds, seed=args.seed)
    print(json.dumps(best, indent=2))


def _cmd_predict(args):
    if args.engine == "spark":
        from scoring.spark.predict import predict_file_spark as predict_file
    else:
        from scoring.predict import predict_file

    with monitoring_commands.predict_recording(args) as recorder:  # scored_applications, unless --no-record
        extra = {} if recorder is None else {"recorder": recorder}
        rows = predict_file(
            args.input,
            args.output,
            data_dir=args.data,
            models_dir=args.models,
            store=args.store,  # the challenger's rows go where the records go, dated as they are
            scored_at=args.as_of,
            **extra,
        )
    print(f"scored {rows:,} applications -> {args.output}")


def _cmd_verify(args):
    from scoring.decision.verify_file import verify_file

    result = verify_file(args.input, args.output, data_dir=args.data, models_dir=args.models)
    print(
        f"checked {result['checked']:,} applications: {result['with_discrepancies']:,} with discrepancies "
        f"({100 * result['share_with_discrepancies']:.1f} %) -> {args.output}"
    )
    for item in result["most_frequent"]:
        print(f"  {item['kind']:<12} {item['name']:<40} {item['count']:,}")


def _cmd_build_store(args):
    from scoring.store import build_store, describe_location

    n = build_store(args.data, args.models, args.store)
    print(f"store {describe_location(args.store)}: {n:,} clients")  # never a URL: it may hold a password


def _cmd_store_migrate(args):
    from scoring.store import describe_location, migrate_store, store_location

    counts = migrate_store(args.source, store_location(args.to))
    tables = ", ".join(f"{name} {n:,}" for name, n in counts.items())
    print(f"{args.source} -> {describe_location(args.to)}: {tables}")


def _cmd_explain_all(args):
    from scoring.store import describe_location, explain_all

    n = explain_all(args.store, args.models)
    print(f"explained {n:,} clients in {describe_location(args.store)}")  # never a URL: it may hold a password


def _cmd_campaign(args):
    from scoring.decision import load_policy
    from scoring.decision.campaign import run_campaign
    from scoring.store import save_offers

    campaign = run_campaign(args.data, args.models, load_policy(args.policy), all_clients=args.all)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with progress.step("writing the offers", total=len(campaign.offers), unit="offers") as done:
        campaign.offers.to_csv(args.out, index=False)
        save_offers(args.store, campaign.offers, campaign.meta())
        done.update(len(campaign.offers))
    left = ", ".join(f"{outcome} {n:,}" for outcome, n in sorted(campaign.not_offered.items())) or "none"
    print(
        f"{len(campaign.offers):,} pre-approved offers out of {campaign.clients_scored:,} clients "
        f"(not offered: {left}) -> {args.out} and {args.store}"
    )


def _add_password_source(p: argparse.ArgumentParser) -> None:
    # never a --password: the command line shows in the process list and the shell history
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--password-file", type=Path, default=None, help="read the password from this file's first line"
    )
    source.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    source.add_argument("--password", dest="password_argument", help=argparse.SUPPRESS)  # refused with a reason


def _read_password(args) -> str:
    """The password from --password-file, --password-stdin, else typed twice at a prompt that does not echo."""
    if args.password_argument is not None:
        raise ValueError(
            "--password is not accepted (the process list shows it): use the prompt, "
            "--password-file or --password-stdin"
        )
    if args.password_file is not None:
        lines = args.password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(f"password for {args.username}: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _cmd_users(args):
    from scoring import users

    if args.users_command == "add":
        users.add_user(args.store, args.username, _read_password(args), args.role, client_id=args.client_id)
        print(f"user {args.username} ({args.role}) added")
    elif args.users_command == "passwd":
        users.set_password(args.store, args.username, _read_password(args))
        print(f"password of {args.username} changed; their existing tokens no longer work")
    elif args.users_command == "list":
        for user in users.list_users(args.store):
            print(f"{user['username']}\t{user['role']}\t{user.get('client_id') or ''}")
    elif args.users_command == "remove":
        users.remove_user(args.store, args.username)
        print(f"user {args.username} removed; their existing tokens no longer work")


def _cmd_audit(args):
    from scoring import audit

    if args.audit_command == "export":
        n = audit.export_audit(args.store, args.out)
        print(f"{n:,} audit entries -> {args.out}")
        return 0
    report = audit.verify_audit(args.store, expect=args.expect)
    old = (
        f", {report['before_chain']:,} before the chain (from an older store, not protected)"
        if report["before_chain"]
        else ""
    )
    if not report["ok"]:
        problem = report["problem"]
        print(f"audit log NOT intact: entry #{problem['id']} {problem['what']}", file=sys.stderr)
        print(f"checked {report['entries']:,} entries up to there{old}", file=sys.stderr)
        return 1
    head = (
        f"; last entry #{report['last_id']} hash {report['last_hash']} (keep it: --expect "
        f"{report['last_id']}:{report['last_hash']} later shows a cut tail)"
        if report["last_id"]
        else ""
    )
    print(f"audit log intact: {report['chained']:,} chained entries{old}{head}")
    return 0


def _entry(text: str) -> tuple[int, str]:
    entry_id, _, digest = text.partition(":")
    if not entry_id.isdigit() or len(digest) != 64:
        raise argparse.ArgumentTypeError("expected ID:HASH as printed by an earlier verify")
    return int(entry_id), digest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring", description="Credit-scoring tools: data, model, store, users."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write a synthetic portfolio in the Kaggle schema (demo data)")
    p.add_argument("--clients", type=int, default=10_000, help="number of clients, train + test (default 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("data/raw"))
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    p.add_argument(
        "--cohort",
        choices=("stable", "drifted"),
        default=None,
        help="instead, a later cohort of new applicants (application_test, history, outcomes.csv): drawn like the "
        "portfolio, or drifted (incomes down, more bureau delinquency)",
    )
    p.add_argument("--first-id", type=int, default=None, help="a cohort's first SK_ID_CURR (default 5000000 / 6000000)")
    _add_quiet(p)
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("check", help="check the raw tables against the Kaggle schema")
    _add_data(p)
    _add_quiet(p)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("features", help="build the feature table from the raw tables")
    _add_data(p)
    p.add_argument("--out", type=Path, default=Path("data/processed/features.parquet"))
    _add_quiet(p)
    p.set_defaults(func=_cmd_features)

    p = sub.add_parser("train", help="train, calibrate and package the model")
    _add_data(p)
    _add_models(p)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument(
        "--cost-fn",
        type=float,
        default=10.0,
        help="cost of a missed default relative to a wrongly declined good client",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--kind",
        choices=("lightgbm", "scorecard", "blend"),
        default=None,
        help="model kind: LightGBM, a WoE scorecard, or their log-odds blend (default: scoring.train.DEFAULT_KIND)",
    )
    _add_quiet(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("tune", help="Optuna search; writes models/params.json used by train")
    _add_data(p)
    _add_models(p)
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    _add_quiet(p)
    p.set_defaults(func=_cmd_tune)

    p = sub.add_parser("predict", help="score application rows (CSV or Parquet) into PD, grade, decision")
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    _add_data(p)
    _add_models(p)
    monitoring_commands.add_predict_options(p)
    p.add_argument(
        "--engine",
        choices=("stream", "spark"),
        default="stream",
        help="stream: chunks on this machine (default); spark: a Spark job (local mode unless spark-submit runs it)",
    )
    _add_quiet(p)
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser(
        "verify",
        help="recompute the main pipeline's factors, stop factors, PD and outcome; report every discrepancy",
        description="Input: JSON lines {id?, application, history?, theirs} or CSV/Parquet rows (Kaggle names, "
        "theirs_pd, theirs_outcome, theirs_stop_factors, factor.<NAME>; history from --data). "
        "Output: .jsonl or .csv. Tolerances: the policy's verification section.",
    )
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    _add_data(p)
    _add_models(p)
    _add_quiet(p)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("build-store", help="build the client store (SQLite or PostgreSQL) with scores and explanations")
    _add_data(p)
    _add_models(p)
    _add_store(p)
    _add_quiet(p)
    p.set_defaults(func=_cmd_build_store)

    p = sub.add_parser("store", help="the client store itself: move a SQLite store into PostgreSQL")
    store_sub = p.add_subparsers(dest="store_command", required=True)
    s = store_sub.add_parser("migrate", help="copy every table of a SQLite store (users, audit log included)")
    s.add_argument("--from", dest="source", type=Path, required=True, help="the SQLite store file")
    s.add_argument("--to", required=True, help="postgresql:// URL of a database without users or audit rows yet")
    s.set_defaults(func=_cmd_store_migrate)

    p = sub.add_parser("explain-all", help="recompute every stored client's PD, grade and SHAP values")
    _add_models(p)
    _add_store(p)
    _add_quiet(p)
    p.set_defaults(func=_cmd_explain_all)

    p = sub.add_parser("campaign", help="pre-approved offers to clients who have not asked; CSV and the store")
    _add_data(p)
    _add_models(p)
    _add_store(p)
    p.add_argument("--out", type=Path, default=Path("offers.csv"), help="ranked offers as CSV (default offers.csv)")
    p.add_argument("--all", action="store_true", help="every client, not only the test split (no current application)")
    p.add_argument("--policy", type=Path, default=None, help="the policy file (default: $SCORING_POLICY)")
    _add_quiet(p)
    p.set_defaults(func=_cmd_campaign)

    p = sub.add_parser("models", help="model registry: versions, champion and challenger, promotion, rollback")
    models_sub = p.add_subparsers(dest="models_command", required=True)
    for name, text in (
        ("list", "versions with kind, date, AUC, ECE and aliases"),
        ("init", "make the models folder a registry (a bundle held directly becomes the champion)"),
        ("add", "copy a trained bundle folder into the registry as a new version"),
        ("promote", "re-score the store with VERSION, then make it champion (no API restart)"),
        ("rollback", "back to the champion the last promotion replaced"),
        ("challenger", "set (or clear with --none) the challenger compared with the champion"),
        ("retire", "move a version that is not the champion to models/retired/"),
        ("compare", "champion and challenger on the shadow scores: agreement, swap set, mean PD, AUC per period"),
    ):
        m = models_sub.add_parser(name, help=text)
        if name == "add":
            m.add_argument("source", type=Path, help="a bundle folder written by train")
        elif name == "challenger":
            m.add_argument("version", nargs="?", default=None)
            m.add_argument("--none", action="store_true", help="no challenger")
        elif name in ("promote", "retire"):
            m.add_argument("version")
        elif name == "compare":
            m.add_argument("--period", choices=("day", "week", "month"), default="month")
            m.add_argument("--json", action="store_true", help="the comparison as JSON (the API's shape)")
        _add_models(m)
        _add_store(m)
        _add_quiet(m)
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("users", help="manage API users")
    users_sub = p.add_subparsers(dest="users_command", required=True)
    u = users_sub.add_parser("add", help="add a user")
    u.add_argument("--username", required=True)
    _add_password_source(u)
    u.add_argument("--role", required=True, choices=("manager", "customer", "service"))
    u.add_argument("--client-id", type=int, default=None, help="for customers: the client id they may see")
    _add_store(u)
    u = users_sub.add_parser("passwd", help="change a password; revokes the user's existing tokens")
    u.add_argument("--username", required=True)
    _add_password_source(u)
    _add_store(u)
    u = users_sub.add_parser("list", help="list users")
    _add_store(u)
    u = users_sub.add_parser("remove", help="remove a user")
    u.add_argument("--username", required=True)
    _add_store(u)
    p.set_defaults(func=_cmd_users)

    p = sub.add_parser("audit", help="audit log")
    audit_sub = p.add_subparsers(dest="audit_command", required=True)
    a = audit_sub.add_parser("export", help="export the audit log as CSV")
    a.add_argument("--out", type=Path, default=Path("audit.csv"))
    _add_store(a)
    a = audit_sub.add_parser("verify", help="recompute the hash chain; names the first altered or missing entry")
    a.add_argument(
        "--expect",
        type=_entry,
        default=None,
        metavar="ID:HASH",
        help="an entry printed by an earlier verify, which must still be there",
    )
    _add_store(a)
    p.set_defaults(func=_cmd_audit)
    monitoring_commands.add_parsers(sub, _add_models, _add_quiet)  # outcomes import, monitor report
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args = _paths(args)  # a bad setting in the environment is an error line too, not a traceback
        with progress.session("off" if getattr(args, "quiet", False) else settings().progress):
            code = args.func(args)
    except (ValueError, FileNotFoundError, PermissionError) as exc:
        # expected, user-facing failures (schema problems, bad paths, tampered model): a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return int(code or 0)
