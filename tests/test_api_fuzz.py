"""Property-based fuzz of the OpenAPI spec (schemathesis, every check): the API accepts what the spec allows,
refuses what it forbids, answers only the statuses and bodies it declares, and never a server error."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings
from schemathesis.config import SchemathesisConfig

from scoring import users

PASSWORD = "Fz7-quartz-Meadow-4410"
# Refusals that valid data may still get: no such id (404), a sign-in with unknown credentials (401) or
# rate-limited (429). Invalid data may also get 413 (a batch over 1,000 applicants).
# Bounded to run in about two minutes on a 2-core machine (see _lighter_applicants): scoring routes get fewer
# examples.
CONFIG = SchemathesisConfig.from_str("""
[generation]
max-examples = 30

[[operations]]
include-path = "/api/v1/score"
generation.max-examples = 10

# the counterfactual search carries the same applicant (lightened alike)
[[operations]]
include-path = "/api/v1/score/counterfactuals"
generation.max-examples = 10

# its coverage cases are arrays of 1,000 applicants and of 1,001 (a minute here); the applicant's own boundaries are
# covered on /api/v1/score, the array's (empty: 422, 1,001: 413) in tests/test_api_score.py
[[operations]]
include-path = "/api/v1/score/batch"
phases.coverage.enabled = false
generation.max-examples = 6

# verification carries an applicant too: the same bounds as scoring
[[operations]]
include-path = "/api/v1/verify"
generation.max-examples = 10

[[operations]]
include-path = "/api/v1/verify/batch"
phases.coverage.enabled = false
generation.max-examples = 6

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "429"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "406", "413", "422", "428"]
""")


@pytest.fixture(scope="module")
def fuzz_app(store_path, trained_models, tmp_path_factory):
    from api import create_app

    path = tmp_path_factory.mktemp("fuzz") / "store.sqlite"
    shutil.copy(store_path, path)
    users.add_user(path, "fuzzer", PASSWORD, "manager")
    users.add_user(path, "leaver", PASSWORD, "manager")  # signs out on every logout case
    app = create_app({"STORE_PATH": path, "MODELS_DIR": trained_models, "SECRET_KEY": "fuzz"})
    token = app.test_client().post("/api/v1/auth/token", json={"username": "fuzzer", "password": PASSWORD}).json
    app.config["FUZZ_HEADERS"] = {"Authorization": f"Bearer {token['access_token']}"}
    return app


schema = schemathesis.pytest.from_fixture("fuzz_schema")


KEPT_FIELDS = (
    "AMT_INCOME_TOTAL",
    "AMT_CREDIT",
    "DAYS_BIRTH",
    "AMT_ANNUITY",
    "AMT_GOODS_PRICE",
    "DAYS_EMPLOYED",
    "EXT_SOURCE_2",
    "CNT_CHILDREN",
    "FLAG_MOBIL",
    "NAME_CONTRACT_TYPE",
    "SK_ID_CURR",
)


def _lighter_applicants(spec: dict) -> dict:
    """The served spec with fewer applicant fields: generating one 121-field applicant with seven history tables
    takes about 2.5 s here, a batch of them minutes. Kept: the required fields, each kind of rule (bounds, the
    pensioner marker, text, integers) and four fields of every history table, plus its day or month fields.
    Every field's rule comes from the same table in scoring/applicant_schema.py; tests/test_bad_input.py covers
    the others. /verify carries the same applicant, lightened alike."""

    def body(path: str) -> dict:
        return spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]

    applicant = body("/api/v1/score")
    verification = body("/api/v1/verify")
    for record in (applicant, verification):  # the same applicant fields in both (the spec shares one table)
        app = record["properties"]["application"]
        app["properties"] = {k: v for k, v in app["properties"].items() if k in KEPT_FIELDS}
        for table in record["properties"]["history"]["properties"].values():
            fields = table["items"]["properties"]
            table["items"]["properties"] = {
                k: v for i, (k, v) in enumerate(fields.items()) if i < 4 or k.startswith(("DAYS_", "MONTHS_"))
            }
    body("/api/v1/score/batch")["properties"]["applicants"]["items"] = applicant
    spec["paths"]["/api/v1/score/counterfactuals"]["post"]["requestBody"]["content"]["application/json"]["schema"] = (
        applicant
    )
    body("/api/v1/verify/batch")["properties"]["items"]["items"] = verification
    return spec


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):
    served = fuzz_app.test_client().get("/api/v1/openapi.json").get_json()
    loaded = schemathesis.openapi.from_dict(_lighter_applicants(served), config=CONFIG)
    loaded.app, loaded.location = fuzz_app, "/api/v1/openapi.json"
    return loaded


def _headers(case, app) -> dict:
    """The fuzzer's token; a sign-out revokes its caller's tokens, so it gets a fresh token of its own user."""
    if case.operation.path != "/api/v1/auth/logout":
        return app.config["FUZZ_HEADERS"]
    from api.auth import issue_token

    with app.app_context():
        return {"Authorization": f"Bearer {issue_token(users.get_user(app.config['STORE_PATH'], 'leaver'))}"}


def _outlives_life(body) -> bool:
    """The one rule JSON Schema cannot say (DAYS_EMPLOYED not before DAYS_BIRTH), described in the spec's text."""
    items = body.get("applicants") if isinstance(body, dict) and "applicants" in body else [body]
    for item in items if isinstance(items, list) else []:
        app = item.get("application") if isinstance(item, dict) else None
        if isinstance(app, dict):
            employed, birth = app.get("DAYS_EMPLOYED"), app.get("DAYS_BIRTH")
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (employed, birth)):
                if employed < birth and employed != 365243:
                    return True
    return False


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_spec_and_behaviour_agree(case, fuzz_app):
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and case.body is not None:
        assume(not _outlives_life(case.body))
    response = case.call(headers=_headers(case, fuzz_app))
    case.validate_response(response)  # every check schemathesis has, with the statuses above
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        assert "error" in response.json(), response.text[:500]
