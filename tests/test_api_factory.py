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
