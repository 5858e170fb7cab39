"""`make demo` end to end on a clean clone: small portfolio, sign in, load a client, Ctrl-C leaves no server behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
SETUP_TIMEOUT = 900.0  # set-up of 2,000 clients (two models, store, cohorts) took 149-215 s on 2 busy cores
CRED_LINE = re.compile(r"^#\s+(manager|customer)\s+(\S+)\s+(\S+)\s+(\d*)\s*#$")
COHORT_CLIENTS = 2_000  # applications per synthetic cohort of the demo's monitoring step (scripts/demo.py)


def _port_in(low: int, high: int) -> int:
    """A free port in this test's range when one is free, else any free port."""
    for port in range(low, high):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone of HEAD (what is committed, not the work tree), sharing the project's virtualenv.

    Installing the pinned stack again would take minutes and the network; the symlinked .venv plus
    `make -o .venv/.installed demo` runs the real `demo` target with everything else as a newcomer gets it.
    """
    target = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)], check=True)
    (target / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    return target


class _Demo:
    """`make demo` in its own process group, its output in a file the test reads while it runs."""

    def __init__(self, clone: Path, api_port: int, dash_port: int, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SCORING_", "DASHBOARD_", "DEMO_"))}
        env.update(
            DEMO_CLIENTS="2000",
            API_PORT=str(api_port),
            DASHBOARD_PORT=str(dash_port),
            API_WORKERS="1",
            DASHBOARD_WORKERS="1",
            PYTHONUNBUFFERED="1",
        )
        self.log = log
        self._handle = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "demo"],
            cwd=clone,
            env=env,
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_text(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.output()
            if text in out:
                return out
            if self.proc.poll() is not None:
                pytest.fail(f"make demo exited ({self.proc.returncode}) before printing {text!r}:\n{out[-4000:]}")
            time.sleep(0.5)
        pytest.fail(f"make demo did not print {text!r} within {timeout:.0f} s:\n{self.output()[-4000:]}")

    def descendants(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            return psutil.Process(self.proc.pid).children(recursive=True)
        return []

    def interrupt(self, timeout: float = 60.0) -> int:
        """Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group (make and python)."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout=timeout)

    def cleanup(self, procs: list[psutil.Process]) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        self._handle.close()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _credentials(output: str) -> list[dict]:
    users = []
    for line in output.splitlines():
        match = CRED_LINE.match(line.strip())
        if match:
            role, username, password, client_id = match.groups()
            users.append(
                {
                    "role": role,
                    "username": username,
                    "password": password,
                    "client_id": int(client_id) if client_id else None,
                }
            )
    return users


def _token(api: str, username: str, password: str) -> str:
    response = requests.post(f"{api}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    token = body.get("token") or body.get("access_token")
    assert token, body
    return token


def _get(api: str, path: str, token: str) -> requests.Response:
    return requests.get(f"{api}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _run_demo(clone: Path, log: Path) -> tuple[_Demo, str, int, int]:
    api_port, dash_port = _port_in(5350, 5399), _port_in(8350, 8399)
    demo = _Demo(clone, api_port, dash_port, log)
    out = demo.wait_for_text("Press Ctrl-C", SETUP_TIMEOUT)
    return demo, out, api_port, dash_port


def _stop_and_check_gone(demo: _Demo, ports: tuple[int, int]) -> None:
    servers = demo.descendants()
    assert any("gunicorn" in " ".join(p.cmdline()) for p in servers if _alive(p)), "no gunicorn process found"
    try:
        code = demo.interrupt()
        assert code in (0, 2, 130, -signal.SIGINT), f"make demo exited with {code}:\n{demo.output()[-3000:]}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in servers):
            time.sleep(0.2)
        left = [p.pid for p in servers if _alive(p)]
        assert not left, f"processes left running after Ctrl-C: {left}"
        assert not any(_listening(port) for port in ports), "a port still answers after Ctrl-C"
        assert "stopped the API and the dashboard" in demo.output()
    finally:
        demo.cleanup(servers)


@pytest.mark.slow
def test_make_demo_runs_signs_in_and_stops_cleanly(clone, tmp_path):
    demo, out, api_port, dash_port = _run_demo(clone, tmp_path / "first.log")
    try:
        api, dash = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{dash_port}"
        assert "SYNTHETIC DEMO DATA" in out
        assert requests.get(f"{api}/ready", timeout=10).status_code == 200
        page = requests.get(f"{dash}/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()

        users = _credentials(out)
        managers = [u for u in users if u["role"] == "manager"]
        customers = [u for u in users if u["role"] == "customer"]
        assert len(managers) == 1 and len(customers) == 3, out[-3000:]
        saved = clone / "data" / "processed" / "demo_credentials.json"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert {u["password"] for u in json.loads(saved.read_text())["users"]} == {u["password"] for u in users}

        # a customer loads their own file: score and explanation
        me, other = customers[0], customers[1]
        token = _get_token_for(api, me)
        score = _get(api, f"/api/v1/clients/{me['client_id']}/score", token)
        assert score.status_code == 200, score.text
        assert 0.0 <= score.json()["pd"] <= 1.0 and score.json()["grade"].startswith("G")
        explanation = _get(api, f"/api/v1/clients/{me['client_id']}/explanation", token)
        assert explanation.status_code == 200, explanation.text
        assert explanation.json()["reasons"], explanation.json()
        assert _get(api, f"/api/v1/clients/{other['client_id']}/score", token).status_code == 404

        # the manager sees any client
        boss = _get_token_for(api, managers[0])
        assert _get(api, f"/api/v1/clients/{other['client_id']}/explanation", boss).status_code == 200

        # the models folder is a registry: a LightGBM champion serving, a scorecard challenger
        models = _get(api, "/api/v1/models", boss).json()
        kinds = {v["version"]: v["kind"] for v in models["versions"]}
        assert models["registry"] is True and models["serving"] == models["champion"], models
        assert kinds[models["champion"]] == "lightgbm" and kinds[models["challenger"]] == "scorecard", models

        # shadow scoring is live: the challenger scored the whole store and both cohorts beside the champion, and
        # the stable cohort's imported outcomes give both an AUC
        compared = _get(api, "/api/v1/monitoring/challenger", boss).json()
        assert (compared["champion"], compared["challenger"]) == (models["champion"], models["challenger"]), compared
        assert sum(p["n"] for p in compared["periods"]) >= 2000 + 2 * COHORT_CLIENTS, compared
        assert any(p["auc_champion"] is not None and p["auc_challenger"] is not None for p in compared["periods"])

        # monitoring: the two synthetic cohort months, the stable one below "act", the drifted one at "act"
        stable, drifted = _monitored_months(api, boss, out)
    except BaseException:
        demo.cleanup(demo.descendants())
        raise
    _stop_and_check_gone(demo, (api_port, dash_port))

    # a second run reuses everything: every set-up step is skipped and the same users still sign in
    demo, out, api_port, dash_port = _run_demo(clone, tmp_path / "second.log")
    try:
        skipped = [line for line in out.splitlines() if re.match(r"^    skipped: .* \(\d+\.\d s\)$", line)]
        assert len(skipped) == 6, out  # every set-up step: data, models, store, monitoring, campaign, users
        assert {u["password"] for u in _credentials(out)} == {u["password"] for u in users}
        api = f"http://127.0.0.1:{api_port}"
        boss = _get_token_for(api, managers[0])
        assert _monitored_months(api, boss, out) == (stable, drifted)  # the same months, nothing recorded twice
    except BaseException:
        demo.cleanup(demo.descendants())
        raise
    _stop_and_check_gone(demo, (api_port, dash_port))


def _get_token_for(api: str, user: dict) -> str:
    return _token(api, user["username"], user["password"])


def _monitored_months(api: str, token: str, out: str) -> tuple[str, str]:
    """The monitoring routes on the demo's cohorts: two months of COHORT_CLIENTS applications each, the earlier
    (stable cohort) below "act" with its outcomes and an AUC, the later (drifted cohort) at "act" without outcomes;
    both named in the monitoring step's message with their PSI. Returns (stable month, drifted month)."""
    response = _get(api, "/api/v1/monitoring/stability", token)
    assert response.status_code == 200, response.text
    stability = response.json()
    assert stability["data_source"] == "synthetic", stability
    periods = [p for p in stability["periods"] if p["n"]]
    assert [p["n"] for p in periods] == [COHORT_CLIENTS, COHORT_CLIENTS], periods
    stable, drifted = periods
    assert stable["level"] in ("stable", "watch") and stable["score_psi"] < stability["levels"]["act"], stable
    assert drifted["level"] == "act" and drifted["score_psi"] >= stability["levels"]["act"], drifted
    step = next(line for line in out.splitlines() if "SYNTHETIC later cohorts" in line)
    for period, cohort in ((stable, "stable"), (drifted, "drifted")):
        assert f"{period['period']} {cohort}: {COHORT_CLIENTS:,} rows, score PSI {period['score_psi']:.3f}" in step

    response = _get(api, "/api/v1/monitoring/performance", token)
    assert response.status_code == 200, response.text
    performance = {p["period"]: p for p in response.json()["periods"]}
    known, unknown = performance[stable["period"]], performance[drifted["period"]]
    assert known["n_scored"] == known["n_outcomes"] == COHORT_CLIENTS, known
    assert 0.5 < known["auc"] <= 1.0, known  # the champion ranks the synthetic defaults better than chance
    assert unknown["n_scored"] == COHORT_CLIENTS and unknown["n_outcomes"] == 0 and unknown["auc"] is None, unknown
    return stable["period"], drifted["period"]


# ---------------------------------------------------------------- the set-up steps on their own (fast)


@pytest.fixture
def demo_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo_script", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_real_kaggle_files_are_used_as_they_are(demo_module, tmp_path):
    data = tmp_path / "raw"
    data.mkdir()
    (data / "application_train.csv").write_text("SK_ID_CURR,TARGET\n1,0\n")
    outcome = demo_module._step_data({"data": data, "clients": 500})
    assert "real Kaggle data" in outcome
    assert sorted(p.name for p in data.iterdir()) == ["application_train.csv"]  # nothing generated or removed


def test_synthetic_portfolio_made_once_then_reused_and_remade_when_size_changes(demo_module, tmp_path):
    from scoring.tables import synthetic_info

    data = tmp_path / "raw"
    data.mkdir()
    (data / ".gitkeep").write_text("")
    cfg = {"data": data, "clients": 300}
    assert "written" in demo_module._step_data(cfg)
    assert synthetic_info(data)["clients"] == 300 and (data / ".gitkeep").exists()
    assert demo_module._step_data(cfg).startswith("skipped")
    assert "written" in demo_module._step_data({**cfg, "clients": 400})
    assert synthetic_info(data)["clients"] == 400
    assert not any(p.name.startswith(".raw") for p in tmp_path.iterdir()), "temporary folders left behind"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEMO_CLIENTS", "many", "DEMO_CLIENTS must be a whole number"),
        ("DEMO_CLIENTS", "10", "DEMO_CLIENTS must be between"),
        ("API_PORT", "70000", "API_PORT must be between"),
    ],
)
def test_bad_settings_are_named(demo_module, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(demo_module.DemoError, match=message):
        demo_module._config()


def test_a_busy_port_is_refused_before_any_work(demo_module):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(demo_module.DemoError, match=f"port {port}.*API_PORT"):
            demo_module._check_port("127.0.0.1", port, "API_PORT")
