"""Helpers of the API tests (tests/test_api_*.py): one user per role, an app on a store copy, tokens, error checks.

The fixtures made of them are at the end of tests/conftest.py: `api_*`, one app per test file for tests that only
read, and `fresh_api_*`, an app on its own store copy for each test that changes state.
"""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from pathlib import Path

from scoring import users

PASSWORD = "correct horse battery"
USERNAMES = {"manager": "manager", "customer": "alice", "service": "svc"}


def prepare_store(source: Path, models: Path, path: Path) -> dict:
    """Copy of the built store with one user per role, the customer owning the first listed client.

    The answer says where things are: store, models, the customer's own client id, another client's id, and a pair
    of features (x, y) for which customers' 2-D grids exist.
    """
    from scoring.store import open_store

    copy_store(source, path)
    ids = [c["client_id"] for c in open_store(path).list_clients(limit=3)["items"]]
    users.add_user(path, USERNAMES["manager"], PASSWORD, "manager")
    users.add_user(path, USERNAMES["customer"], PASSWORD, "customer", client_id=ids[0])
    users.add_user(path, USERNAMES["service"], PASSWORD, "service")
    grid = open_store(path).aggregation()["grid_features"]
    return {"store": path, "models": models, "own": ids[0], "other": ids[1], "x": grid[0], "y": grid[1]}


def copy_store(source: Path, path: Path) -> Path:
    """A consistent copy through SQLite's backup: the users just added may still sit in the source's WAL file."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    return path


def env_on_copy(env: dict, folder: Path) -> dict:
    """`env` with its store copied into `folder`."""
    return {**env, "store": copy_store(env["store"], folder / "store.sqlite")}


def create_test_app(env: dict):
    """The API on `env`'s store and models, with a fixed secret and a body limit small enough to test."""
    from api import create_app

    return create_app(
        {
            "STORE_PATH": env["store"],
            "MODELS_DIR": env["models"],
            "SECRET_KEY": "test-secret",
            "TOKEN_TTL": 3600,
            "MAX_CONTENT_LENGTH": 256 * 1024,
        }
    )


def sign_in(client, username: str) -> dict:
    """The Authorization header of a new token of `username`."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def headers_by_role(client) -> dict:
    return {role: sign_in(client, username) for role, username in USERNAMES.items()}


def assert_error(response, status: int, code: str | None = None) -> None:
    """The API's error shape: the status, a JSON body of one `error` with a message, and the code if given."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json and set(response.json) == {"error"}
    assert response.json["error"]["message"]
    if code:
        assert response.json["error"]["code"] == code


def registry_app(env: dict, second_bundle: Path, folder: Path, *, challenger: bool = False) -> dict:
    """The API on a registry of two versions in `folder`: A (the store's model) champion, B added beside it, and
    challenger when asked; {app, client, heads (by role), models, a, b, store, cid (own client), other}."""
    import shutil

    from scoring import registry

    models = folder / "models"
    shutil.copytree(env["models"], models)
    a = registry.init_registry(models, "tester")
    b = registry.add_version(models, second_bundle, "tester")
    if challenger:
        registry.set_challenger(models, b, "tester")
    app = create_test_app({**env, "models": models})
    client = app.test_client()
    served = {"app": app, "client": client, "heads": headers_by_role(client), "models": models, "a": a, "b": b}
    return {**served, "store": env["store"], "cid": env["own"], "other": env["other"]}


def posted_history(raw_dir, cid) -> dict:
    """The client's rows of the history tables in `raw_dir`, as a caller would post them to /api/v1/score (no NaN,
    integer columns as int); bench/score_applicant.py posts them too."""
    from scoring.tables import SCHEMAS, read_table

    def clean(table, rec):
        out = {}
        for k, v in rec.items():
            if isinstance(v, float) and math.isnan(v):
                v = None
            elif v is not None and SCHEMAS[table][k] == "int":
                v = int(v)
            out[k] = v
        return out

    hist = {
        t: [clean(t, r) for r in read_table(raw_dir, t, where=f"SK_ID_CURR = {cid}").to_dict("records")]
        for t in ("bureau", "previous_application", "POS_CASH_balance", "installments_payments", "credit_card_balance")
    }
    ids = [r["SK_ID_BUREAU"] for r in hist["bureau"]]
    if ids:
        rows = read_table(raw_dir, "bureau_balance", where=f"SK_ID_BUREAU IN ({','.join(map(str, ids))})")
        hist["bureau_balance"] = [clean("bureau_balance", r) for r in rows.to_dict("records")]
    return hist


def posted_applicant(raw_dir, cid) -> dict:
    """The client's application (no id, no target, no missing field) and history as a caller would post them to
    /api/v1/score; bench/score_applicant.py posts them too."""
    from scoring.tables import SCHEMAS, read_table

    for table in ("application_train", "application_test"):
        rows = read_table(raw_dir, table, where=f"SK_ID_CURR = {int(cid)}").to_dict("records")
        if rows:
            break
    else:
        raise KeyError(cid)
    app = {
        k: (int(v) if SCHEMAS[table][k] == "int" else v)
        for k, v in rows[0].items()
        if not (isinstance(v, float) and math.isnan(v)) and v is not None and k not in ("SK_ID_CURR", "TARGET")
    }
    return {"application": app, "history": posted_history(raw_dir, cid)}
