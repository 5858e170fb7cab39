"""File modes (issue #9, item 5): the store (password hashes, client files, audit) and every secret are 0600."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.servers import ROOT, gunicorn

PASSWORD = "violet-harbour-lantern-42"


@contextlib.contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def built(synth_dir, trained_models, tmp_path_factory) -> Path:
    """`python -m scoring build-store` under the usual umask 022, as an operator runs it."""
    store = tmp_path_factory.mktemp("modes") / "store.sqlite"
    with _umask(0o022):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "scoring",
                "build-store",
                "--data",
                str(synth_dir),
                "--models",
                str(trained_models),
                "--store",
                str(store),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stderr
    return store


def test_build_store_creates_an_owner_only_file(built):
    assert _mode(built) == 0o600
    assert not Path(str(built) + ".tmp").exists()


def test_rebuild_keeps_the_store_owner_only(built, synth_dir, trained_models):
    from scoring.store import build_store

    with _umask(0o022):
        build_store(synth_dir, trained_models, built)
    assert _mode(built) == 0o600


@pytest.mark.slow
def test_api_start_and_writes_leave_every_file_owner_only(built, trained_models):
    from scoring import users

    users.add_user(built, "modes-manager", PASSWORD, "manager")
    env = {"SCORING_STORE": str(built), "SCORING_MODELS": str(trained_models), "SCORING_SECRET_KEY": ""}
    with _umask(0o022), gunicorn("api:create_app()", env, workers=2, ready_path="/ready") as base:
        response = requests.post(
            f"{base}/api/v1/auth/token", json={"username": "modes-manager", "password": PASSWORD}, timeout=30
        )
        assert response.status_code == 200
        requests.get(
            f"{base}/api/v1/model", headers={"Authorization": f"Bearer {response.json()['access_token']}"}, timeout=30
        )
        wal, shm = Path(str(built) + "-wal"), Path(str(built) + "-shm")
        assert wal.exists() and shm.exists()  # the server holds the store open in WAL mode right now
        files = {p.name: _mode(p) for p in built.parent.iterdir() if p.is_file()}
    assert files[built.name] == 0o600 and files[wal.name] == 0o600 and files[shm.name] == 0o600
    assert ".secret_key" in files
    assert {name: mode for name, mode in files.items() if mode & 0o077} == {}


def test_signing_keys_and_dashboard_secret_are_owner_only(tmp_path, monkeypatch):
    from scoring import signing

    with _umask(0o022):
        signing.load_or_create_signing_key(tmp_path / "keys" / "s.key", tmp_path / "keys" / "v.pub")
        monkeypatch.delenv("DASHBOARD_SECRET_KEY", raising=False)
        monkeypatch.setenv("DASHBOARD_SECRET_FILE", str(tmp_path / "dash" / ".dashboard_secret"))
        from dashboard.app import _secret_key
        from dashboard.settings import DashboardSettings

        _secret_key(DashboardSettings.from_env())
    assert _mode(tmp_path / "keys" / "s.key") == 0o600
    assert _mode(tmp_path / "keys") == 0o700
    assert _mode(tmp_path / "keys" / "v.pub") & 0o022 == 0  # public, but nobody else may replace it
    assert _mode(tmp_path / "dash" / ".dashboard_secret") == 0o600
