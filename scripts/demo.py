#!/usr/bin/env python
"""`make demo`: from a fresh clone to a running API and dashboard, each set-up step skipped when already up to date.

Steps: data (real Kaggle files in data/raw, else a synthetic portfolio) -> train into a model registry (LightGBM
champion, scorecard challenger: shadow scoring is live) -> client store -> monitoring (two later synthetic cohorts
recorded with `predict --as-of`, a stable month then a drifted one, and the stable month's outcomes) -> campaign
-> demo users -> API and dashboard under gunicorn until Ctrl-C. Environment: DEMO_CLIENTS, DEMO_HOST, API_PORT,
DASHBOARD_PORT, API_WORKERS, DASHBOARD_WORKERS, plus the SCORING_* settings of scoring.config.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.config import settings  # noqa: E402
from scoring.tables import SYNTHETIC_MARKER, TABLES, find_table, synthetic_info  # noqa: E402

DEFAULT_CLIENTS = 30_000
SEED = 0
MANAGER = "manager"
CUSTOMERS = ("customer1", "customer2", "customer3")
READY_TIMEOUT = 180.0


class DemoError(Exception):
    """A problem the person running the demo can fix; shown as one message, no traceback."""


def _say(message: str = "") -> None:
    print(message, flush=True)


def _banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines) + 4
    _say("#" * width)
    for line in lines:
        _say(f"# {line.ljust(width - 4)} #")
    _say("#" * width)


def _env_int(name: str, default: int, low: int = 1, high: int = 10**9) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DemoError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise DemoError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _config() -> dict:
    s = settings()
    workers = _env_int("WEB_CONCURRENCY", 2, 1, 64)
    return {
        "clients": _env_int("DEMO_CLIENTS", DEFAULT_CLIENTS, 200, 2_000_000),
        "host": os.environ.get("DEMO_HOST", "127.0.0.1").strip() or "127.0.0.1",
        "api_port": _env_int("API_PORT", 5000, 1, 65535),
        "dash_port": _env_int("DASHBOARD_PORT", 8050, 1, 65535),
        "api_workers": _env_int("API_WORKERS", workers, 1, 64),
        "dash_workers": _env_int("DASHBOARD_WORKERS", workers, 1, 64),
        "data": (ROOT / s.data_dir).resolve(),
        "models": (ROOT / s.models_dir).resolve(),
        "store": (ROOT / s.store_path).resolve(),
        "signing_key": (ROOT / settings().signing_key_path).resolve(),
        "verify_key": (ROOT / settings().verify_key_path).resolve(),
    }


def _check_port(host: str, port: int, name: str) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise DemoError(
                f"port {port} on {host} is already in use (another demo running?); choose another with {name}=..."
            ) from None


def _newest_mtime(folder: Path) -> float:
    times = [p.stat().st_mtime for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return max(times, default=0.0)


def _run(args: list[str]) -> None:
    """Run `python -m scoring ...` with its own output shown; a failure stops the demo with its message."""
    cmd = [sys.executable, "-m", "scoring", *args]
    result = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    if result.returncode != 0:
        raise DemoError(f"`python -m scoring {' '.join(args)}` failed (exit {result.returncode}); see above")


def _is_real(data: Path) -> bool:
    has_train = data.is_dir() and find_table(data, "application_train") is not None
    return has_train and not (data / SYNTHETIC_MARKER).exists()


# ---------------------------------------------------------------- steps: each returns a short outcome text


def _step_data(cfg: dict) -> str:
    data, n = cfg["data"], cfg["clients"]
    if _is_real(data):
        present = [name for name in TABLES if find_table(data, name) is not None]
        return f"skipped: real Kaggle data found in {data} ({len(present)} of {len(TABLES)} tables)"
    info = synthetic_info(data) if data.is_dir() else None
    if info and info.get("clients") == n and info.get("seed") == SEED and find_table(data, "application_train"):
        return f"skipped: synthetic portfolio of {n:,} clients already in {data}"
    # generate beside the folder, then swap folders: an interrupted run never leaves half a portfolio
    # that a later run could take for real data
    tmp = data.parent / f".{data.name}.synth-tmp"
    old = data.parent / f".{data.name}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    _say(f"    generating {n:,} synthetic clients (seed {SEED}) ...")
    _run(["synth", "--clients", str(n), "--seed", str(SEED), "--out", str(tmp)])
    if data.exists():
        keep = {f"{name}{ext}" for name in TABLES for ext in (".parquet", ".csv", ".csv.gz")} | {SYNTHETIC_MARKER}
        for entry in data.iterdir():  # anything that is not a table (e.g. .gitkeep) moves over unchanged
            if entry.name not in keep and not (tmp / entry.name).exists():
                entry.rename(tmp / entry.name)
        data.rename(old)
    tmp.rename(data)
    shutil.rmtree(old, ignore_errors=True)
    return f"synthetic portfolio of {n:,} clients written to {data}"


def _signed_by_demo_key(folder: Path) -> bool:
    """The bundle verifies with the demo's key (a model from before signing, or from another key, is retrained)."""
    from scoring.bundle import ModelIntegrityError, verified_files

    try:
        verified_files(folder)
    except ModelIntegrityError:
        return False
    return True


def _fresh_version(cfg: dict, version: str | None, kind: str) -> bool:
    """A registry version of `kind` newer than the data and signed with the demo's key."""
    from scoring import registry

    if version is None:
        return False
    folder = cfg["models"] / version
    manifest = folder / "MANIFEST.sha256"
    if not manifest.exists() or manifest.stat().st_mtime < _newest_mtime(cfg["data"]):
        return False
    if not _signed_by_demo_key(folder):
        return False
    return any(r["version"] == version and r.get("kind") == kind for r in registry.describe(cfg["models"]))


def _registry_state(models: Path) -> dict:
    from scoring import registry

    try:
        return registry.read_registry(models) if registry.is_registry(models) else {}
    except registry.RegistryIntegrityError:
        return {}  # another key's alias file (or an altered one): made again below


def _new_registry(cfg: dict) -> None:
    """An empty registry in place of what the models folder held (an older demo's single bundle, stale versions);
    tune's parameters are kept."""
    from scoring.train import PARAMS_FILE

    models = cfg["models"]
    if models.exists():
        for entry in models.iterdir():
            if entry.name == PARAMS_FILE or entry.name.startswith("."):
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    _run(["models", "init", "--models", str(models), "--store", str(cfg["store"]), "--quiet"])


def _step_train(cfg: dict) -> str:
    """A model registry: the LightGBM model as champion, the scorecard as challenger (shadow scoring is live)."""
    from scoring import registry

    models, data = cfg["models"], str(cfg["data"])
    state = _registry_state(models)
    champion_ok = _fresh_version(cfg, state.get("champion"), "lightgbm")
    challenger_ok = champion_ok and _fresh_version(cfg, state.get("challenger"), "scorecard")
    if champion_ok and challenger_ok:
        return (
            f"skipped: champion {state['champion']} (lightgbm) and challenger {state['challenger']} (scorecard) "
            f"in {models} are newer than the data and signed with {cfg['verify_key']}"
        )
    if not champion_ok:
        _new_registry(cfg)
        _run(["train", "--kind", "lightgbm", "--data", data, "--models", str(models)])  # the first: champion
    champion = registry.read_registry(models)["champion"]
    before = set(registry.version_names(models))
    _run(["train", "--kind", "scorecard", "--data", data, "--models", str(models)])
    added = sorted(set(registry.version_names(models)) - before)
    if len(added) != 1 or added[0] == champion:
        raise DemoError(f"`train --kind scorecard` added {added or 'no version'} to {models}, expected one version")
    challenger = added[0]
    _run(["models", "challenger", challenger, "--models", str(models), "--store", str(cfg["store"]), "--quiet"])
    return (
        f"registry {models}: champion {champion} (lightgbm), challenger {challenger} (scorecard), "
        f"signed with {cfg['signing_key']} (mode 0600)"
    )


def _aliases(cfg: dict) -> tuple[str, str | None]:
    from scoring import registry

    state = registry.read_registry(cfg["models"])
    return state["champion"], state.get("challenger")


def _count(store: Path, sql: str, params: tuple = ()) -> int:
    """One count from the store's kept tables (0 when the table is not there yet)."""
    from scoring.shadow.log import missing_table, query

    try:
        return int(query(store, sql, params)[0][0] or 0)
    except Exception as exc:
        if missing_table(exc):
            return 0
        raise


def _shadow_rows(store: Path, champion: str, challenger: str | None, source: str, ids=None) -> int:
    if challenger is None:
        return 0
    sql = "SELECT count(*) FROM shadow_scores WHERE champion_version = ? AND challenger_version = ? AND source = ?"
    params: tuple = (champion, challenger, source)
    if ids is not None:
        sql, params = sql + " AND client_id BETWEEN ? AND ?", (*params, *ids)
    return _count(store, sql, params)


def _store_stale(cfg: dict, champion: str, challenger: str | None) -> str | None:
    """Why the store must be built again (None when it is up to date).

    By what it holds, not by time stamps alone: a store built before a challenger was (re)trained is newer than
    the unchanged champion yet holds no shadow scores of that challenger."""
    from scoring.store import open_store

    store = cfg["store"]
    if not store.exists():
        return "no store yet"
    if store.stat().st_mtime < _newest_mtime(cfg["data"]):
        return "the data is newer"
    meta = open_store(store).meta()
    if meta.get("model_version") != champion:
        return f"scored by {meta.get('model_version')}, not the champion {champion}"
    n = int(meta.get("n_clients") or 0)
    if challenger is not None and _shadow_rows(store, champion, challenger, "store") < n:
        return f"no shadow scores of the challenger {challenger}"
    return None


def _step_store(cfg: dict) -> str:
    store = cfg["store"]
    champion, challenger = _aliases(cfg)
    why = _store_stale(cfg, champion, challenger)
    if why is None:
        return (
            f"skipped: store {store} is scored by the champion {champion}, with the challenger's shadow scores, "
            "and newer than the data"
        )
    _say(f"    building: {why}")
    _run(["build-store", "--data", str(cfg["data"]), "--models", str(cfg["models"]), "--store", str(store)])
    return f"store built at {store} (the challenger's scores of every client in its shadow_scores)"


# a stable month then a drifted one, as tests/monitoring_fixtures.py records them; ids apart from the portfolio's
COHORT_CLIENTS = 2_000
COHORTS = (("stable", 5_000_000, 2), ("drifted", 6_000_000, 1))  # cohort, first id, months before the store's


def _cohorts_dir(cfg: dict) -> Path:
    return cfg["store"].parent / "cohorts"


def _cohort_ids(first_id: int) -> tuple[int, int]:
    return first_id, first_id + COHORT_CLIENTS - 1


def _cohort_day(built_at: str, months_before: int) -> str:
    """The 15th of the month `months_before` before the store's build: the cohorts precede the demo's today."""
    year, month = int(built_at[:4]), int(built_at[5:7]) - months_before
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}-15"


def _recorded(store: Path, champion: str, ids: tuple[int, int]) -> dict[str, int]:
    """{month: rows} the champion recorded for a cohort's ids."""
    from scoring.shadow.log import missing_table, query

    sql = (
        "SELECT substr(scored_at, 1, 7), count(*) FROM scored_applications WHERE model_version = ? "
        "AND client_id BETWEEN ? AND ? GROUP BY substr(scored_at, 1, 7) ORDER BY 1"
    )
    try:
        return {month: int(n) for month, n in query(store, sql, (champion, *ids))}
    except Exception as exc:
        if missing_table(exc):
            return {}
        raise


def _synth_cohort(cfg: dict, cohort: str, first_id: int) -> Path:
    folder = _cohorts_dir(cfg) / cohort
    info = synthetic_info(folder) if folder.is_dir() else None
    if not (
        info
        and info.get("cohort") == cohort
        and info.get("clients") == COHORT_CLIENTS
        and info.get("seed") == SEED
        and (folder / "application_test.parquet").exists()
        and (folder / "outcomes.csv").exists()
    ):
        _run(
            [
                "synth",
                "--cohort",
                cohort,
                "--clients",
                str(COHORT_CLIENTS),
                "--seed",
                str(SEED),
                "--first-id",
                str(first_id),
                "--out",
                str(folder),
                "--quiet",
            ]
        )
    return folder


def _predict_cohort(cfg: dict, folder: Path, *extra: str) -> None:
    _run(
        [
            "predict",
            "--input",
            str(folder / "application_test.parquet"),
            "--data",
            str(folder),
            "--models",
            str(cfg["models"]),
            "--store",
            str(cfg["store"]),
            "--output",
            str(folder / "scored.csv"),
            "--quiet",
            *extra,
        ]
    )


def _measured(cfg: dict) -> dict[str, dict]:
    """{month: stability period} as GET /api/v1/monitoring/stability computes it (the champion's records)."""
    from scoring.bundle import ModelBundle
    from scoring.monitoring.levels import load_levels
    from scoring.monitoring.stability import stability
    from scoring.store import open_store

    levels = load_levels()  # policies/monitoring.yaml, as the API reads it
    store = cfg["store"]
    result = stability(store, open_store(store), ModelBundle.load(cfg["models"]), "month", levels.top_features, levels)
    return {p["period"]: p for p in result["periods"]}


def _step_monitoring(cfg: dict) -> str:
    """Two later cohorts of SYNTHETIC applicants scored with `predict --as-of` (a stable month, then a drifted one)
    and the stable month's outcomes imported, so that drift, performance and the challenger have data. Each part
    is done only when the store lacks it: a rebuilt store (a new champion) is recorded again."""
    from scoring.store import open_store

    store = cfg["store"]
    champion, challenger = _aliases(cfg)
    built_at = open_store(store).meta()["built_at"]
    done: list[str] = []
    months: dict[str, str] = {}
    for cohort, first_id, months_before in COHORTS:
        ids = _cohort_ids(first_id)
        recorded = _recorded(store, champion, ids)
        if sum(recorded.values()) >= COHORT_CLIENTS:
            months[cohort] = max(recorded, key=recorded.get)
            if challenger is None or _shadow_rows(store, champion, challenger, "batch", ids) >= COHORT_CLIENTS:
                continue
            folder = _synth_cohort(cfg, cohort, first_id)
            _predict_cohort(cfg, folder, "--no-record")  # the challenger's shadow scores only
            done.append(f"{cohort}: shadow scores")
            continue
        day = _cohort_day(built_at, months_before)
        folder = _synth_cohort(cfg, cohort, first_id)
        _predict_cohort(cfg, folder, "--as-of", day)
        months[cohort] = day[:7]
        done.append(f"{cohort}: recorded as of {day}")
    stable_ids = _cohort_ids(COHORTS[0][1])
    if _count(store, "SELECT count(*) FROM outcomes WHERE client_id BETWEEN ? AND ?", stable_ids) < COHORT_CLIENTS:
        folder = _synth_cohort(cfg, "stable", COHORTS[0][1])
        _run(["outcomes", "import", str(folder / "outcomes.csv"), "--store", str(store), "--quiet"])
        done.append(f"stable: {COHORT_CLIENTS:,} outcomes imported")
    measured = _measured(cfg)
    parts = []
    for cohort, _, _ in COHORTS:
        period = measured.get(months[cohort], {})
        psi = period.get("score_psi")
        psi_text = "-" if psi is None else f"{psi:.3f}"
        parts.append(
            f"{months[cohort]} {cohort}: {period.get('n', 0):,} rows, score PSI {psi_text} ({period.get('level')})"
        )
    what = "; ".join(parts) + f"; outcomes of {months['stable']} imported"
    head = "SYNTHETIC later cohorts (generated applicants, not real people)"
    if not done:
        return f"skipped: {head} already recorded by the champion {champion}: {what}"
    return f"{head} recorded by the champion {champion} in {store} ({', '.join(done)}): {what}"


def _offers_path(cfg: dict) -> Path:
    return cfg["store"].parent / "offers.csv"


def _step_campaign(cfg: dict) -> str:
    """Pre-approved offers to the test split's clients, so that the campaign page and a customer show some."""
    from scoring.decision import load_policy
    from scoring.store import open_store

    store = open_store(cfg["store"])
    campaign = store.list_offers(limit=0)["campaign"]
    policy = load_policy(ROOT / settings().policy_path)
    if (
        campaign is not None
        and campaign["model_version"] == store.meta()["model_version"]
        and campaign["policy_sha256"] == policy.sha256
        and _offers_path(cfg).exists()
    ):
        return f"skipped: the store's {campaign['offers']:,} offers are of this model and policy {policy.version}"
    data, models = str(cfg["data"]), str(cfg["models"])
    _run(
        ["campaign", "--data", data, "--models", models, "--store", str(cfg["store"]), "--out", str(_offers_path(cfg))]
    )
    return f"offers in the store and in {_offers_path(cfg)}"


def _credentials_path(cfg: dict) -> Path:
    return cfg["store"].parent / "demo_credentials.json"


def _pick_customers(store: Path) -> list[int]:
    """Three real clients of the portfolio with different outcomes: an approval (with a pre-approved offer when the
    campaign made any), a decline, one in between."""
    from scoring.store import open_store

    clients = open_store(store)
    picked: list[int] = [int(offer["client_id"]) for offer in clients.list_offers(limit=1)["items"]]
    total = clients.list_clients(limit=1)["total"]
    for query in ({"decision": "approve"}, {"decision": "decline"}, {"offset": total // 2})[len(picked) :]:
        for item in clients.list_clients(limit=20, **query)["items"]:
            if int(item["client_id"]) not in picked:
                picked.append(int(item["client_id"]))
                break
    for item in clients.list_clients(limit=10)["items"]:  # tiny or one-sided portfolios: fill up
        if len(picked) < len(CUSTOMERS) and int(item["client_id"]) not in picked:
            picked.append(int(item["client_id"]))
    if len(picked) < len(CUSTOMERS):
        raise DemoError(f"the store {store} holds fewer than {len(CUSTOMERS)} clients")
    return picked


def _still_valid(store: Path, user: dict) -> bool:
    """The user signs in, and a customer's client is still in the store (a rebuild keeps users, not ids)."""
    from scoring import users
    from scoring.store import open_store

    if not users.authenticate(store, user["username"], user["password"]):
        return False
    return user["client_id"] is None or open_store(store).get_score(int(user["client_id"])) is not None


def _new_password(username: str) -> str:
    """16 random URL-safe characters that pass the password policy (a random draw nearly always does)."""
    from scoring import users

    while True:
        candidate = secrets.token_urlsafe(12)
        try:
            users.check_password(username, candidate)
            return candidate
        except ValueError:
            continue


def _step_users(cfg: dict) -> tuple[str, dict]:
    from scoring import users

    store, path = cfg["store"], _credentials_path(cfg)
    if path.exists():
        try:
            creds = json.loads(path.read_text())
            if all(_still_valid(store, u) for u in creds["users"]):
                return f"skipped: demo users in {path} still sign in", creds
        except (ValueError, KeyError, TypeError):
            pass  # unreadable or stale file: make new users below
    known = {u["username"] for u in users.list_users(store)}
    for name in (MANAGER, *CUSTOMERS):
        if name in known:
            users.remove_user(store, name)
    entries = [{"username": MANAGER, "password": _new_password(MANAGER), "role": "manager", "client_id": None}]
    for name, client_id in zip(CUSTOMERS, _pick_customers(store), strict=True):
        entries.append({"username": name, "password": _new_password(name), "role": "customer", "client_id": client_id})
    for entry in entries:
        users.add_user(store, entry["username"], entry["password"], entry["role"], client_id=entry["client_id"])
    creds = {"note": "demo users made by scripts/demo.py; passwords are random per store", "users": entries}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(creds, handle, indent=2)
    os.chmod(path, 0o600)  # also when the file existed with wider rights
    return f"1 manager and {len(CUSTOMERS)} customers created; credentials in {path} (mode 0600)", creds


# ---------------------------------------------------------------- servers


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the demo itself is killed, so no server outlives it (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(name: str, app: str, port: int, workers: int, env: dict, cfg: dict) -> tuple[subprocess.Popen, Path]:
    log_path = cfg["store"].parent / f"demo-{name}.log"
    # deploy/gunicorn.conf.py: gevent workers, so a few clients trickling their headers cannot stall the demo
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--bind",
        f"{cfg['host']}:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "120",
        "--access-logfile",
        "-",
        app,
    ]
    log = open(log_path, "wb")  # noqa: SIM115 - the child keeps writing to it after this returns
    # own session: a terminal Ctrl-C reaches the demo only, which then stops each server in order
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )  # noqa: PLW1509
    log.close()
    return proc, log_path


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(url: str, proc: subprocess.Popen, log_path: Path, name: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(
                f"the {name} stopped (exit {proc.returncode}) before answering; last log lines "
                f"of {log_path}:\n{_tail(log_path)}"
            )
        try:
            response = requests.get(url, timeout=5)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.3)
    raise DemoError(
        f"the {name} did not answer {url} within {READY_TIMEOUT:.0f} s (last: {last}); "
        f"see {log_path}:\n{_tail(log_path)}"
    )


def _stop(procs: list[tuple[str, subprocess.Popen]]) -> None:
    for _, proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # gunicorn master and its workers
    for name, proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _say(f"    {name} did not stop within 30 s: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker left behind by a crashed master
    _say("stopped the API and the dashboard")


def _print_access(cfg: dict, creds: dict, source: str) -> None:
    host = "127.0.0.1" if cfg["host"] in ("0.0.0.0", "") else cfg["host"]  # noqa: S104 - shown, not bound
    api, dash = f"http://{host}:{cfg['api_port']}", f"http://{host}:{cfg['dash_port']}"
    _say()
    _banner(
        [
            f"Dashboard : {dash}/",
            f"API       : {api}/api/v1  (docs {api}/api/v1/docs, health {api}/health)",
            f"Data      : {source}",
            "",
            "Demo users (role, username, password, client id):",
            *[
                f"  {u['role']:<9} {u['username']:<10} {u['password']:<18} {u['client_id'] or ''}"
                for u in creds["users"]
            ],
            "",
            f"Credentials are also in {_credentials_path(cfg)}",
            "Press Ctrl-C to stop both servers.",
        ]
    )


def _serve(cfg: dict, creds: dict, source: str) -> int:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCORING_DATA": str(cfg["data"]),
        "SCORING_MODELS": str(cfg["models"]),
        "SCORING_STORE": str(cfg["store"]),
    }
    env.pop("SCORING_SIGNING_KEY", None)  # servers verify models, they never sign one
    api_url = (
        f"http://127.0.0.1:{cfg['api_port']}"
        if cfg["host"] in ("0.0.0.0", "")  # noqa: S104  (the wildcard address is reached over the loopback)
        else f"http://{cfg['host']}:{cfg['api_port']}"
    )
    procs: list[tuple[str, subprocess.Popen]] = []
    try:
        t0 = time.monotonic()
        api, api_log = _start("api", "api:create_app()", cfg["api_port"], cfg["api_workers"], env, cfg)
        procs.append(("API", api))
        dash, dash_log = _start(
            "dashboard",
            "dashboard.app:server",
            cfg["dash_port"],
            cfg["dash_workers"],
            {**env, "DASHBOARD_API_URL": api_url},
            cfg,
        )
        procs.append(("dashboard", dash))
        _say(f"    API: gunicorn, {cfg['api_workers']} worker(s), log {api_log}")
        _say(f"    dashboard: gunicorn, {cfg['dash_workers']} worker(s), log {dash_log}")
        _wait_ready(f"{api_url}/ready", api, api_log, "API")
        _wait_ready(f"{api_url.rsplit(':', 1)[0]}:{cfg['dash_port']}/", dash, dash_log, "dashboard")
        _say(f"    both servers answer ({time.monotonic() - t0:.1f} s)")
        _print_access(cfg, creds, source)
        while True:
            for name, proc in procs:
                if proc.poll() is not None:
                    log = api_log if proc is api else dash_log
                    raise DemoError(
                        f"the {name} stopped unexpectedly (exit {proc.returncode}); last log lines of "
                        f"{log}:\n{_tail(log)}"
                    )
            time.sleep(0.5)
    except KeyboardInterrupt:
        _say("\nstopping ...")
        return 0
    finally:
        _stop(procs)


def _on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # same clean stop as Ctrl-C


def main() -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    # a shell starting us in the background may have set SIGINT to "ignore": Ctrl-C / SIGINT must still stop us
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(ROOT)
    started = time.monotonic()
    try:
        cfg = _config()
        # training (a subprocess) makes the key pair on first use, like the other demo secrets
        os.environ["SCORING_SIGNING_KEY"], os.environ["SCORING_VERIFY_KEY"] = (
            str(cfg["signing_key"]),
            str(cfg["verify_key"]),
        )
        _check_port(cfg["host"], cfg["api_port"], "API_PORT")
        _check_port(cfg["host"], cfg["dash_port"], "DASHBOARD_PORT")
        if cfg["api_port"] == cfg["dash_port"]:
            raise DemoError("API_PORT and DASHBOARD_PORT must differ")
        if _is_real(cfg["data"]):
            source = "REAL Kaggle Home Credit data"
            _banner([f"Running on REAL Kaggle Home Credit data from {cfg['data']}"])
        else:
            source = "SYNTHETIC demo data (not real clients)"
            _banner(
                [
                    f"SYNTHETIC DEMO DATA: {cfg['clients']:,} generated clients, not real people.",
                    "Put the Kaggle Home Credit files in data/raw/ to run on real data.",
                ]
            )
        creds: dict = {}
        steps = [
            ("data", _step_data),
            ("train the models (registry: champion and challenger)", _step_train),
            ("build the client store", _step_store),
            ("monitoring: synthetic later cohorts (a stable month, a drifted month)", _step_monitoring),
            ("pre-approved offers (campaign)", _step_campaign),
            ("demo users", _step_users),
        ]
        for i, (title, step) in enumerate(steps, start=1):
            _say(f"[{i}/{len(steps) + 1}] {title} ...")
            t0 = time.monotonic()
            outcome = step(cfg)
            if isinstance(outcome, tuple):
                outcome, creds = outcome
            _say(f"    {outcome} ({time.monotonic() - t0:.1f} s)")
        _say(
            f"[{len(steps) + 1}/{len(steps) + 1}] start the API and the dashboard "
            f"(set-up took {time.monotonic() - started:.1f} s)"
        )
        return _serve(cfg, creds, source)
    except KeyboardInterrupt:
        _say("\ninterrupted")
        return 130
    except (DemoError, ValueError, OSError) as exc:
        _say(f"demo error: {exc}")
        return 1


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    sys.exit(main())
