"""create_app and what it sets for every route: the model check, lean workers, strict JSON, JSON errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.api_fixtures import assert_error


def test_tampered_model_refuses_to_start(api_env, tmp_path):
    from api import create_app
    from scoring.bundle import ModelIntegrityError

    models = tmp_path / "models"
    shutil.copytree(api_env["models"], models)
    with open(models / "model.joblib", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        create_app({"STORE_PATH": api_env["store"], "MODELS_DIR": models, "SECRET_KEY": "x"})


def test_api_workers_load_lightgbm_without_scikit_learn():
    import subprocess
    import sys

    code = "import sys, api; print('sklearn' in sys.modules, 'lightgbm' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root)
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_a_served_worker_never_loads_what_serving_does_not_use(api_env, synth_dir, tmp_path):
    """Real gunicorn with the shipped config: after a stored explanation, a new applicant's score and the
    population routes, the worker has mapped no scikit-learn, matplotlib or pyarrow library (~100 MB of RSS)."""
    import psutil
    import requests

    from tests.api_fixtures import PASSWORD, USERNAMES, posted_applicant
    from tests.servers import gunicorn

    env = {"SCORING_STORE": str(api_env["store"]), "SCORING_MODELS": str(api_env["models"]), "SCORING_SECRET_KEY": "x"}
    cid = api_env["own"]
    with gunicorn("api:create_app()", env, ready_path="/ready", log_path=tmp_path / "api.log") as base:
        session = requests.Session()

        def bearer(role):
            body = {"username": USERNAMES[role], "password": PASSWORD}
            return {
                "Authorization": "Bearer " + session.post(f"{base}/api/v1/auth/token", json=body).json()["access_token"]
            }

        manager = bearer("manager")
        for path in (f"clients/{cid}/explanation", f"clients/{cid}/decision", "population/summary"):
            assert session.get(f"{base}/api/v1/{path}", headers=manager).status_code < 500, path
        body = posted_applicant(synth_dir, cid)
        scored = session.post(f"{base}/api/v1/score", json=body, headers=bearer("service"))
        assert scored.status_code == 200, scored.text
        port = base.rsplit(":", 1)[1]
        served = [
            p for p in psutil.process_iter(["cmdline"]) if f"127.0.0.1:{port}" in " ".join(p.info["cmdline"] or [])
        ]
        (worker,) = [p for p in served if p.ppid() in {q.pid for q in served}]  # the master's fork
        mapped = Path(f"/proc/{worker.pid}/maps").read_text()
    assert "lightgbm" in mapped  # the check reads the right process
    for library in ("/sklearn/", "/matplotlib/", "/pyarrow/"):
        assert library not in mapped, library


def test_json_answers_are_strict_json(api_app):
    """NaN never reaches a client as the non-JSON token NaN; odd values still encode; no cookie is ever set."""
    import json
    from datetime import date

    with api_app.test_request_context():
        body = api_app.json.response({"nan": float("nan"), "big": 2**70, "day": date(2024, 1, 2), "ok": [1, "é"]})
    text = body.get_data(as_text=True)
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}")) == {
        "nan": None,
        "big": 2**70,
        "day": "Tue, 02 Jan 2024 00:00:00 GMT",
        "ok": [1, "é"],
    }
    assert body.mimetype == "application/json"


def test_unknown_route_and_method_are_json_errors(api_client, api_heads):
    assert_error(api_client.delete("/api/v1/clients", headers=api_heads["manager"]), 405)
    assert_error(api_client.get("/no/such/route"), 404)
