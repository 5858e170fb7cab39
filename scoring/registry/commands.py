"""`python -m scoring models ...` and `train` into a registry: each command audited with role "cli" and the OS user."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from scoring import registry as reg
from scoring.bundle import ModelIntegrityError
from scoring.registry import promotion
from scoring.store import describe_location


@contextlib.contextmanager
def training_folder(models_dir):
    """Where `train` writes: the folder itself (legacy layout), else a staging folder added as a new version."""
    models_dir = Path(models_dir)
    if not reg.is_registry(models_dir):
        yield models_dir
        return
    from scoring.config import settings
    from scoring.train import PARAMS_FILE

    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=models_dir))
    try:
        if (models_dir / PARAMS_FILE).exists():  # tune's parameters apply to every version trained here
            shutil.copy2(models_dir / PARAMS_FILE, staging / PARAMS_FILE)
        yield staging
        user = promotion.os_user()
        version = reg.add_version(models_dir, staging, user)
        champion = reg.read_registry(models_dir)["champion"]
        outcome = "added as champion" if champion == version else "added"
        promotion.record(settings().store_location, user=user, command="add", outcome=outcome, version=version)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run(args) -> int:
    """One registry command; a refusal is audited, then raised for the CLI to print."""
    user, command = promotion.os_user(), args.models_command
    version = getattr(args, "version", None)
    try:
        outcome, version = _COMMANDS[command](args, user)
    except (reg.RegistryError, ModelIntegrityError, FileNotFoundError) as exc:
        promotion.record(args.store, user=user, command=command, outcome=f"refused: {exc}", version=version)
        raise
    promotion.record(args.store, user=user, command=command, outcome=outcome, version=version)
    return 0


def _list(args, user):
    rows = reg.describe(args.models)
    built_with = promotion.store_version(args.store)
    print(f"{'version':<26} {'kind':<10} {'trained':<21} {'AUC':>7} {'ECE':>7} {'thresh':>7}  aliases")
    for row in rows:
        if not row["verified"]:
            print(f"{row['version']:<26} REFUSED: {row['problem']}")
            continue
        aliases = ", ".join(row["aliases"] + (["store"] if row["version"] == built_with else []))
        print(
            f"{row['version']:<26} {row['kind']:<10} {row['trained_at'] or '-':<21} {_num(row['auc'])} "
            f"{_num(row['ece'])} {_num(row['threshold'])}  {aliases}"
        )
    champion = next((r["version"] for r in rows if "champion" in r["aliases"]), None)
    if built_with is not None and built_with != champion:
        print(f"note: the client store was scored by {built_with}, not the champion: promote {champion} to finish")
    return "ok", None


def _num(value) -> str:
    return f"{value:7.4f}" if isinstance(value, float) else f"{'-':>7}"


def _init(args, user):
    version = reg.init_registry(args.models, user)
    print(f"{args.models} is a model registry" + (f"; champion {version}" if version else " (no version yet)"))
    return "ok", version


def _add(args, user):
    version = reg.add_version(args.models, args.source, user)
    champion = reg.read_registry(args.models)["champion"]
    print(f"added {version}" + (" as champion" if champion == version else ""))
    return ("added as champion" if champion == version else "added"), version


def _promote(args, user):
    done = promotion.promote(args.models, args.store, args.version, user=user)
    where = describe_location(args.store)  # never a URL: it may hold a password
    print(f"champion {done['version']} (was {done['previous']}): {done['clients']:,} clients re-scored in {where}")
    return f"promoted from {done['previous']}", done["version"]


def _rollback(args, user):
    done = promotion.rollback(args.models, args.store, user=user)
    print(f"rolled back to {done['version']} (was {done['previous']}): {done['clients']:,} clients re-scored")
    return f"rolled back from {done['previous']}", done["version"]


def _challenger(args, user):
    if args.none == (args.version is not None):
        raise reg.RegistryError("give a VERSION or --none")
    reg.set_challenger(args.models, args.version, user)
    print(f"challenger {args.version}" if args.version else "no challenger")
    return "ok", args.version


def _compare(args, user):
    """Champion and challenger on the shadow log (scoring.shadow.compare), per period, as a table or JSON."""
    import json

    from scoring.shadow import compare

    challenger = reg.read_registry(args.models).get("challenger") if reg.is_registry(args.models) else None
    result = compare(args.store, args.period, challenger=challenger)
    if args.json:
        print(json.dumps(result, indent=2))
        return "ok", result["challenger"]
    print(f"champion {result['champion']}, challenger {result['challenger'] or '(none)'}")
    if not result["periods"]:
        print("no shadow scores of this pair yet")
        return "ok", result["challenger"]
    print(
        f"{'period':<11} {'n':>8} {'agree':>7} {'swap in':>8} {'swap out':>8} {'PD champ':>9} {'PD chall':>9} "
        f"{'outcomes':>8} {'AUC champ':>9} {'AUC chall':>9}"
    )
    for p in result["periods"]:
        print(
            f"{p['period']:<11} {p['n']:>8,} {_share(p['agreement'])} {p['swap_in']:>8,} {p['swap_out']:>8,} "
            f"{_figure(p['mean_pd_champion'], 9)} {_figure(p['mean_pd_challenger'], 9)} {p['n_outcomes']:>8,} "
            f"{_figure(p['auc_champion'], 9)} {_figure(p['auc_challenger'], 9)}"
        )
    return "ok", result["challenger"]


def _share(value) -> str:
    return f"{100 * value:6.1f}%" if value is not None else f"{'-':>7}"


def _figure(value, width: int) -> str:
    return f"{value:{width}.4f}" if value is not None else f"{'-':>{width}}"


def _retire(args, user):
    target = reg.retire(args.models, args.version, user, store_version=promotion.store_version(args.store))
    print(f"retired {args.version} -> {target}")
    return "ok", args.version


_COMMANDS = {
    "list": _list,
    "init": _init,
    "add": _add,
    "promote": _promote,
    "rollback": _rollback,
    "challenger": _challenger,
    "retire": _retire,
    "compare": _compare,
}
