"""Promotion under load: real gunicorn (2 workers), readers and scorers in threads, `models promote` in a subprocess.

No request may fail, and once the command has returned every answer carries the new champion's version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import requests

from scoring import registry
from tests.api_fixtures import PASSWORD, USERNAMES
from tests.servers import ROOT, gunicorn
from tests.test_registry import second_bundle  # noqa: F401 - the fixture


def _load(base, heads, cid, application, stop, results):
    """GET the stored score and explanation, POST /score, until `stop`; (start, end, what, status, version)."""
    session = requests.Session()
    calls = (
        ("stored", lambda: session.get(f"{base}/api/v1/clients/{cid}/score", headers=heads["manager"], timeout=30)),
        (
            "explained",
            lambda: session.get(f"{base}/api/v1/clients/{cid}/explanation", headers=heads["manager"], timeout=30),
        ),
        (
            "posted",
            lambda: session.post(
                f"{base}/api/v1/score", json={"application": application}, headers=heads["service"], timeout=30
            ),
        ),
    )
    while not stop.is_set():
        for what, call in calls:
            start = time.monotonic()
            try:
                response = call()
                status, version = response.status_code, response.json().get("model_version")
            except (requests.RequestException, ValueError) as exc:
                status, version = type(exc).__name__, None
            results.append((start, time.monotonic(), what, status, version))


def test_promotion_under_load_fails_no_request(fresh_api_env, second_bundle, tmp_path):  # noqa: F811
    models = tmp_path / "models"
    shutil.copytree(fresh_api_env["models"], models)
    a = registry.init_registry(models, "tester")
    b = registry.add_version(models, second_bundle, "tester")
    store, cid = fresh_api_env["store"], fresh_api_env["own"]
    from scoring.store import open_store

    raw = open_store(store).get_client(cid)["application"]
    application = {k: v for k, v in raw.items() if v is not None and k != "SK_ID_CURR"}
    env = {"SCORING_STORE": str(store), "SCORING_MODELS": str(models), "SCORING_SECRET_KEY": "promotion-tests"}
    with gunicorn("api:create_app()", env, workers=2, ready_path="/ready", log_path=tmp_path / "api.log") as base:
        heads = {}
        for role in ("manager", "service"):
            token = requests.post(
                f"{base}/api/v1/auth/token", json={"username": USERNAMES[role], "password": PASSWORD}, timeout=30
            ).json()["access_token"]
            heads[role] = {"Authorization": f"Bearer {token}"}
        stop, results = threading.Event(), []
        threads = [
            threading.Thread(target=_load, args=(base, heads, cid, application, stop, results)) for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.0)
            started = time.monotonic()
            promoted = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "scoring",
                    "models",
                    "promote",
                    b,
                    "--models",
                    str(models),
                    "--store",
                    str(store),
                    "--quiet",
                ],
                cwd=ROOT,
                env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                timeout=300,
            )
            finished = time.monotonic()
            time.sleep(1.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    assert promoted.returncode == 0, promoted.stderr
    failed = [r for r in results if r[3] != 200]
    assert not failed, failed[:5]
    before = [r for r in results if r[1] < started]
    after = [r for r in results if r[0] > finished]
    assert before and {r[4] for r in before} == {a}
    assert len(after) >= 9 and {r[4] for r in after} == {b}, sorted({(r[2], r[4]) for r in after})
    assert {r[2] for r in after} == {"stored", "explained", "posted"}
    during = [r for r in results if started <= r[0] <= finished]
    print(
        f"\n{len(results)} requests, 0 failed; promotion took {finished - started:.2f} s with "
        f"{len(during)} requests meanwhile; {len(after)} after it, all on {b}"
    )
