"""Issue #9 item 5 (bad input, logs) and item 7 (query parameters): every bad input gets a clear 4xx, both scoring
routes validate alike, logs and answers never hold an applicant's values, and paths are never redirected."""

from __future__ import annotations

import io
import json
import logging
import secrets
import shutil

import pandas as pd
import pytest

from scoring import users

PASSWORD = secrets.token_urlsafe(18)
APP = {"AMT_INCOME_TOTAL": 123000.0, "AMT_CREDIT": 321000.0, "AMT_ANNUITY": 16000.0, "DAYS_BIRTH": -12000}
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def env(store_path, trained_models, tmp_path_factory):
    from api import create_app
    from scoring.store import open_store

    path = tmp_path_factory.mktemp("bad-input") / "store.sqlite"
    shutil.copy(store_path, path)
    users.add_user(path, "boss", PASSWORD, "manager")
    app = create_app(
        {"STORE_PATH": path, "MODELS_DIR": trained_models, "SECRET_KEY": "bad-input", "MAX_CONTENT_LENGTH": LIMIT}
    )
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "boss", "password": PASSWORD}).json["access_token"]
    own = open_store(path).list_clients(limit=1)["items"][0]["client_id"]
    return {"app": app, "client": client, "h": {"Authorization": f"Bearer {token}"}, "own": own}


def _post(env, url, text: str):
    return env["client"].post(url, data=text, content_type="application/json", headers=env["h"])


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"], body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def _both_routes(env, application_text: str, history_text: str = "{}"):
    """The same applicant posted alone and as a one-item batch."""
    one = f'{{"application": {application_text}, "history": {history_text}}}'
    return _post(env, "/api/v1/score", one), _post(env, "/api/v1/score/batch", f'{{"applicants": [{one}]}}')


# --- the three inputs that gave 500, and the batch route that took the NUL (200) ------------------------------
@pytest.mark.parametrize(
    ("application", "field"),
    [
        (
            '{"AMT_INCOME_TOTAL": 1e5, "AMT_CREDIT": 2e5, "DAYS_BIRTH": -12000, "FLAG_MOBIL": 99999999999999999999}',
            "application.FLAG_MOBIL",
        ),
        (json.dumps({**APP, "NAME_CONTRACT_TYPE": "Cash\u0000loans"}), "application.NAME_CONTRACT_TYPE"),
        # more of the same family
        (json.dumps({**APP, "AMT_ANNUITY": 1e308}), "application.AMT_ANNUITY"),
        ('{"AMT_INCOME_TOTAL": 1e5, "AMT_CREDIT": 2e5, "DAYS_BIRTH": -12000, "OWN_CAR_AGE": 1e400}', None),
        (json.dumps({**APP, "NAME_TYPE_SUITE": "Family\nX-Injected: 1"}), "application.NAME_TYPE_SUITE"),
        (json.dumps({**APP, "NAME_TYPE_SUITE": "\u001b[31mred"}), "application.NAME_TYPE_SUITE"),
        (json.dumps({**APP, "ORGANIZATION_TYPE": "x" * 5000}), "application.ORGANIZATION_TYPE"),
        (json.dumps({**APP, "AMT_ANNUITY": "12000"}), "application.AMT_ANNUITY"),
        (json.dumps({**APP, "CNT_CHILDREN": True}), "application.CNT_CHILDREN"),
        (json.dumps({**APP, "FLAG_MOBIL": 1.5}), "application.FLAG_MOBIL"),
        (json.dumps({**APP, "FLAG_MOBIL": -(2**63) - 1}), "application.FLAG_MOBIL"),
        (json.dumps({**APP, "AMT_CREDIT": [[[[1]]]]}), "application.AMT_CREDIT"),
    ],
)
def test_bad_application_values_are_4xx_alike_on_both_routes(env, application, field):
    single, batch = _both_routes(env, application)
    if field is None:  # not JSON at all (1e400 is no finite number): refused before any field is read
        _error(single, 400, "invalid_json"), _error(batch, 400, "invalid_json")
        return
    one, many = _error(single, 422, "invalid_applicant"), _error(batch, 422, "invalid_applicant")
    assert field in [f["field"] for f in one["fields"]], one
    assert f"applicants.0.{field}" in [f["field"] for f in many["fields"]], many


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_tokens_are_400(env, token):
    """Python's json module takes these; they are not JSON, and no amount may be NaN."""
    for response in _both_routes(env, f'{{"AMT_INCOME_TOTAL": {token}, "AMT_CREDIT": 2e5, "DAYS_BIRTH": -12000}}'):
        _error(response, 400, "invalid_json")


def test_json_nested_10000_deep_is_400(env):
    deep = "[" * 10_000 + "]" * 10_000
    for url in ("/api/v1/score", "/api/v1/score/batch", "/api/v1/auth/token"):
        assert "nested" in _error(_post(env, url, deep), 400, "invalid_json")["message"]
    # deep nesting inside a history record, within the parser's bound: the field is named
    nested = "[" * 500 + "1" + "]" * 500
    single, batch = _both_routes(env, json.dumps(APP), f'{{"bureau": [{{"DAYS_CREDIT": {nested}}}]}}')
    assert "history.bureau.0.DAYS_CREDIT" in [f["field"] for f in _error(single, 422)["fields"]]
    assert "applicants.0.history.bureau.0.DAYS_CREDIT" in [f["field"] for f in _error(batch, 422)["fields"]]


def test_bad_history_values_are_named_alike(env):
    history = json.dumps(
        {
            "bureau": [{"CREDIT_ACTIVE": "Active\u0000"}, {"AMT_CREDIT_SUM": "5000"}],
            "previous_application": {"not": "a list"},
        }
    )
    single, batch = _both_routes(env, json.dumps(APP), history)
    one = {f["field"] for f in _error(single, 422, "invalid_applicant")["fields"]}
    many = {f["field"] for f in _error(batch, 422, "invalid_applicant")["fields"]}
    assert {"history.bureau.0.CREDIT_ACTIVE", "history.bureau.1.AMT_CREDIT_SUM", "history.previous_application"} <= one
    assert many == {f"applicants.0.{f}" for f in one}
    _error(_post(env, "/api/v1/score", json.dumps({"application": APP, "history": []})), 422)


def test_good_applicants_still_score_alike(env):
    single, batch = _both_routes(env, json.dumps({**APP, "NAME_CONTRACT_TYPE": "Cash loans", "FLAG_MOBIL": 1}))
    assert single.status_code == 200 and batch.status_code == 200, single.get_data(as_text=True)
    assert single.json["pd"] == pytest.approx(batch.json["results"][0]["pd"])
    assert (
        _post(env, "/api/v1/score/batch", json.dumps({"applicants": [{"application": APP}], "x": 1})).status_code == 422
    )


# --- the feature SQL: values travel as bound parameters ----------------------------------------------------------
def test_single_applicant_values_are_bound_not_written_into_sql():
    """A quote, a NUL and SQL text in a category come back byte for byte; a bad number is refused without echo."""
    from scoring.features import features_from_records
    from scoring.tables import SCHEMAS

    tricky = "x'); DROP TABLE applications; --\u0000é"
    row = {c: None for c in SCHEMAS["application_test"]} | {**APP, "SK_ID_CURR": 1, "NAME_CONTRACT_TYPE": tricky}
    bureau = pd.DataFrame([{"SK_ID_CURR": 1, "SK_ID_BUREAU": 5, "CREDIT_ACTIVE": tricky, "DAYS_CREDIT": -100}])
    out = features_from_records(pd.DataFrame([row]), {"bureau": bureau}).loc[1]
    assert out["NAME_CONTRACT_TYPE"] == tricky and out["BUREAU_COUNT"] == 1
    again = features_from_records(pd.DataFrame([row | {"NAME_CONTRACT_TYPE": "Cash loans"}])).loc[1]
    assert again["NAME_CONTRACT_TYPE"] == "Cash loans" and again["BUREAU_COUNT"] == 0  # nothing left behind
    for bad in ({"AMT_CREDIT": "987654.125abc"}, {"FLAG_MOBIL": 10**20}, {"FLAG_MOBIL": 0.5}):
        with pytest.raises(ValueError) as caught:
            features_from_records(pd.DataFrame([row | bad]))
        assert str(next(iter(bad.values()))) not in str(caught.value)  # the applicant's value is not in the message


# --- logs and answers hold no applicant value, password or token ------------------------------------------------
def test_unexpected_error_logs_type_route_and_reference_only(env, monkeypatch, caplog):
    import api.score

    def broken(bundle, policy, applicants, explain):
        amount = applicants[0][0]["AMT_CREDIT"]
        raise RuntimeError(f"Conversion Error: SELECT CAST({amount} AS DOUBLE) FROM applicant")

    monkeypatch.setattr(api.score, "decide_applicants", broken)
    caplog.set_level(logging.DEBUG)
    response = _post(env, "/api/v1/score", json.dumps({"application": {**APP, "AMT_CREDIT": 987654.321}}))
    error = _error(response, 500, "internal_error")
    text = response.get_data(as_text=True) + caplog.text
    assert "987654.321" not in text and "987654" not in text and "SELECT" not in text
    assert "Traceback" not in text and "RuntimeError: " not in text
    rid = response.headers["X-Request-ID"]
    assert rid in error["message"] and rid in caplog.text
    assert "RuntimeError" in caplog.text and "/api/v1/score" in caplog.text


def test_422_never_echoes_parser_text(env, monkeypatch):
    import api.score

    def picky(bundle, policy, applicants, explain):
        raise ValueError("applications: Could not convert string '4242.4242' to DOUBLE")

    monkeypatch.setattr(api.score, "decide_applicants", picky)
    error = _error(_post(env, "/api/v1/score", json.dumps({"application": APP})), 422, "invalid_applicant")
    assert "4242" not in json.dumps(error) and "convert" not in json.dumps(error)


# --- body size, slashes, query parameters -------------------------------------------------------------------------
def test_chunked_body_over_the_limit_is_413(env):
    big = json.dumps({"application": {**APP, "NAME_TYPE_SUITE": "x" * (2 * LIMIT)}}).encode()
    response = env["client"].post(
        "/api/v1/score",
        input_stream=io.BytesIO(big),
        content_type="application/json",
        headers={**env["h"], "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    _error(response, 413, "body_too_large")
    small = json.dumps({"application": APP}).encode()
    ok = env["client"].post(
        "/api/v1/score",
        input_stream=io.BytesIO(small),
        content_type="application/json",
        headers={**env["h"], "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert ok.status_code == 200, ok.get_data(as_text=True)


def test_double_slash_is_a_json_404_never_a_redirect_to_the_host_header(env):
    for path in (f"/api/v1//clients/{env['own']}", f"//api/v1/clients/{env['own']}/score", "/api/v1/model//importance"):
        response = env["client"].get(path, headers={**env["h"], "Host": "attacker.example"})
        _error(response, 404, "not_found")
        assert "Location" not in response.headers and "attacker" not in response.get_data(as_text=True)


def _get_routes(env):
    from api.openapi import SPEC

    for path, ops in SPEC["paths"].items():
        if "get" in ops:
            yield path.replace("{client_id}", str(env["own"])).replace("{name}", "EXT_SOURCE_2"), ops["get"]


def test_unknown_and_repeated_query_parameters_are_422_on_every_route(env):
    seen = 0
    for url, op in _get_routes(env):
        required = "&".join(
            f"{p['name']}=EXT_SOURCE_2" for p in op["parameters"] if p.get("required") and p["in"] == "query"
        )
        sep = "?" + (required + "&" if required else "")
        error = _error(env["client"].get(f"{url}{sep}debug=1&fields=all", headers=env["h"]), 422, "invalid_query")
        assert {f["field"] for f in error["fields"]} == {"debug", "fields"}, (url, error)
        seen += 1
    assert seen >= 10
    error = _error(env["client"].get("/api/v1/clients?limit=5&limit=500", headers=env["h"]), 422, "invalid_query")
    assert error["fields"] == [{"field": "limit", "message": "given more than once"}]
    for query in ("limit=", "limit=%205", "limit=5_0", "search=%2012", "grade=", "decision="):
        _error(env["client"].get(f"/api/v1/clients?{query}", headers=env["h"]), 422, "invalid_query")
    assert env["client"].get("/api/v1/clients?limit=5&search=1", headers=env["h"]).status_code == 200


def test_what_the_spec_allows_is_accepted(env):
    """The mismatches schemathesis found, from the other side: the spec now says what the API refuses."""
    from api.openapi import SPEC

    paths = SPEC["paths"]
    assert (
        paths["/api/v1/score/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"][
            "applicants"
        ]["minItems"]
        == 1
    )
    creds = paths["/api/v1/auth/token"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert all(creds["properties"][f]["minLength"] == 1 for f in ("username", "password"))
    x = next(p for p in paths["/api/v1/features/bivariate"]["get"]["parameters"] if p["name"] == "x")
    assert x["schema"]["minLength"] == 1 and x["required"]
    _error(_post(env, "/api/v1/score/batch", '{"applicants": []}'), 422)
    _error(_post(env, "/api/v1/auth/token", '{"username": "", "password": ""}'), 422)
    _error(env["client"].get("/api/v1/features/bivariate?x=&y=EXT_SOURCE_2", headers=env["h"]), 422)


def test_day_and_month_counts_beyond_any_date_are_refused_not_overflowed(env):
    """The fuzz found these: DAYS_DECISION or MONTHS_BALANCE near 1e15 overflowed the feature SQL's ordering (500)."""
    for table, field, value in (
        ("previous_application", "DAYS_DECISION", 10**15),
        ("POS_CASH_balance", "MONTHS_BALANCE", -(10**15)),
    ):
        single, batch = _both_routes(env, json.dumps(APP), json.dumps({table: [{field: value}]}))
        assert f"history.{table}.0.{field}" in [f["field"] for f in _error(single, 422)["fields"]]
        assert f"applicants.0.history.{table}.0.{field}" in [f["field"] for f in _error(batch, 422)["fields"]]
    edge = {"previous_application": [{"DAYS_DECISION": 400_000}], "POS_CASH_balance": [{"MONTHS_BALANCE": -12_000}]}
    single, batch = _both_routes(env, json.dumps(APP), json.dumps(edge))
    assert single.status_code == 200 and batch.status_code == 200, single.get_data(as_text=True)
