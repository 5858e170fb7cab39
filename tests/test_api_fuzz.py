"""Property-based fuzz of the OpenAPI spec (schemathesis): no route answers with a server error."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from scoring import users

PASSWORD = "fuzzing password"


@pytest.fixture(scope="module")
def fuzz_app(store_path, trained_models, tmp_path_factory):
    from api import create_app

    path = tmp_path_factory.mktemp("fuzz") / "store.sqlite"
    shutil.copy(store_path, path)
    users.add_user(path, "fuzzer", PASSWORD, "manager")
    app = create_app({"STORE_PATH": path, "MODELS_DIR": trained_models, "SECRET_KEY": "fuzz"})
    token = app.test_client().post("/api/v1/auth/token", json={"username": "fuzzer", "password": PASSWORD}).json
    app.config["FUZZ_HEADERS"] = {"Authorization": f"Bearer {token['access_token']}"}
    return app


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case, fuzz_app):
    response = case.call(headers=fuzz_app.config["FUZZ_HEADERS"])
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        assert "error" in response.json(), response.text[:500]
