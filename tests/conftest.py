"""Shared fixtures: the real Kaggle sample when present, and a small synthetic pipeline built once per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REAL_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "homecredit-sample"
SYNTH_CLIENTS = 2000
_KEY_ENV = ("SCORING_SIGNING_KEY", "SCORING_VERIFY_KEY")
_saved_env: dict[str, str | None] = {}


def pytest_configure(config):
    """Model signing keys in a temporary folder, never the developer's own; set in os.environ so gunicorn and CLI
    subprocesses started by tests inherit them. Training makes the pair on first use."""
    keys = Path(tempfile.mkdtemp(prefix="scoring-test-keys-"))
    _saved_env.update({name: os.environ.get(name) for name in _KEY_ENV})
    _saved_env["_dir"] = str(keys)
    os.environ["SCORING_SIGNING_KEY"] = str(keys / "model-signing.key")
    os.environ["SCORING_VERIFY_KEY"] = str(keys / "model-verify.pub")


def pytest_unconfigure(config):
    shutil.rmtree(_saved_env.pop("_dir", ""), ignore_errors=True)
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def _close_own_store_connections(request):
    """A test's own store files are closed when it ends. The store keeps one connection per thread and file (three
    descriptors in WAL mode); left open, those of every test's files added up past 1,024 over the suite, where
    select() refuses a descriptor."""
    if "tmp_path" not in request.fixturenames:
        yield
        return
    from scoring.store import connection

    folder = str(request.getfixturevalue("tmp_path"))
    yield
    cached = getattr(connection._local, "cons", {})  # noqa: SLF001 - the cache connect() fills
    for key in [key for key in cached if key[0].startswith(folder + os.sep)]:
        con, _ = cached.pop(key)
        con.close()


@pytest.fixture(scope="session")
def real_sample_dir() -> Path:
    if not (REAL_SAMPLE / "application_train.csv").exists():
        pytest.skip("real Home Credit sample (../shared/homecredit-sample) is absent")
    return REAL_SAMPLE


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    from scoring.synth import generate

    out = tmp_path_factory.mktemp("synth")
    generate(out, n_clients=SYNTH_CLIENTS, seed=7)
    return out


@pytest.fixture(scope="session")
def trained_models(synth_dir, tmp_path_factory) -> Path:
    from scoring.train import train_model

    models = tmp_path_factory.mktemp("models")
    train_model(synth_dir, models, n_folds=3, max_rounds=150, seed=0)
    return models


@pytest.fixture(scope="session")
def store_path(synth_dir, trained_models, tmp_path_factory) -> Path:
    from scoring.store import build_store

    path = tmp_path_factory.mktemp("store") / "store.sqlite"
    build_store(synth_dir, trained_models, path)
    return path


@pytest.fixture()
def scores_only_store(tmp_path) -> Path:
    """A store file holding only the scores table (two clients), which users and the audit log check ids against."""
    import sqlite3

    path = tmp_path / "store.sqlite"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE scores (client_id INTEGER PRIMARY KEY, pd REAL, grade TEXT, decision TEXT, raw_score REAL)"
    )
    con.executemany("INSERT INTO scores VALUES (?, 0.1, 'G6', 'decline', -2.0)", [(100002,), (100003,)])
    con.commit()
    con.close()
    return path


# The API through Flask's test client (tests/test_api_*.py; helpers in tests/api_fixtures.py). Tests that only read
# share one app per file (api_*); a test that changes state (users, sign-ins, audit rows it counts, the app's config)
# gets its own app on its own store copy (fresh_api_*), so no test depends on another's order.


@pytest.fixture(scope="session")
def api_template(store_path, trained_models, tmp_path_factory) -> dict:
    """The built store with one user per role, made once (scrypt is slow) and only ever copied, never served."""
    from tests.api_fixtures import prepare_store

    return prepare_store(store_path, trained_models, tmp_path_factory.mktemp("api-template") / "store.sqlite")


@pytest.fixture(scope="module")
def api_env(api_template, tmp_path_factory) -> dict:
    from tests.api_fixtures import env_on_copy

    return env_on_copy(api_template, tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def api_app(api_env):
    from tests.api_fixtures import create_test_app

    return create_test_app(api_env)


@pytest.fixture(scope="module")
def api_client(api_app):
    return api_app.test_client()


@pytest.fixture(scope="module")
def api_heads(api_client) -> dict:
    """Authorization headers by role: manager, customer, service."""
    from tests.api_fixtures import headers_by_role

    return headers_by_role(api_client)


@pytest.fixture()
def fresh_api_env(api_template, tmp_path) -> dict:
    from tests.api_fixtures import env_on_copy

    return env_on_copy(api_template, tmp_path)


@pytest.fixture()
def fresh_api_app(fresh_api_env):
    from tests.api_fixtures import create_test_app

    return create_test_app(fresh_api_env)


@pytest.fixture()
def fresh_api_client(fresh_api_app):
    return fresh_api_app.test_client()


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL server for the session (tests/postgres.py); skipped, with the reason, without one."""
    from tests.postgres import Cluster, unavailable

    reason = unavailable()
    if reason:
        pytest.skip(reason)
    cluster = Cluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_api_template(postgres_cluster, api_template) -> dict:
    """`api_template` migrated into a PostgreSQL database that is only ever copied (Cluster.database(template=))."""
    from scoring.store.postgres_build import migrate

    url = postgres_cluster.database()
    migrate(api_template["store"], url)
    return {**api_template, "store": url}


@pytest.fixture(scope="session")
def monitored_store(api_template, tmp_path_factory) -> dict:
    """The API template's store with a stable and a drifted cohort recorded by `predict` (tests/monitoring_fixtures)."""
    from tests.monitoring_fixtures import monitored_store

    return monitored_store(api_template, tmp_path_factory.mktemp("monitored"))
