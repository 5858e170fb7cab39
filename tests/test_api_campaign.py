"""The campaign blueprint: managers' offer list, filters and CSV export; a client's offer for a manager or that
client only; bad queries; audit entries."""

from __future__ import annotations

import csv
import io

import pytest

from scoring import audit, users
from scoring.decision.campaign import run_campaign
from scoring.store import open_store, save_offers
from tests.api_fixtures import PASSWORD, assert_error, env_on_copy, sign_in
from tests.decision_fixtures import example_policy


@pytest.fixture(scope="module")
def api_env(api_template, synth_dir, trained_models, tmp_path_factory) -> dict:
    """The shared template's store with a campaign over all clients, and two more customers: carol, who has an
    offer, and dave, who has none."""
    env = env_on_copy(api_template, tmp_path_factory.mktemp("api-campaign"))
    campaign = run_campaign(synth_dir, trained_models, example_policy(), all_clients=True)
    save_offers(env["store"], campaign.offers, campaign.meta())
    offered = set(campaign.offers["client_id"].tolist())
    everyone = [c["client_id"] for c in open_store(env["store"]).list_clients(limit=1000)["items"]]
    env["offered"] = int(campaign.offers["client_id"].iloc[0])
    env["not_offered"] = next(cid for cid in everyone if cid not in offered)
    users.add_user(env["store"], "carol", PASSWORD, "customer", client_id=env["offered"])
    users.add_user(env["store"], "dave", PASSWORD, "customer", client_id=env["not_offered"])
    env["campaign"] = campaign
    return env


@pytest.fixture(scope="module")
def customers(api_client) -> dict:
    return {name: sign_in(api_client, name) for name in ("carol", "dave")}


def test_managers_list_the_offers_in_rank_order_with_the_campaign(api_client, api_heads, api_env):
    body = api_client.get("/api/v1/campaign/offers?limit=5", headers=api_heads["manager"]).json
    campaign = api_env["campaign"]
    assert body["total"] == len(campaign.offers) and [o["rank"] for o in body["items"]] == [1, 2, 3, 4, 5]
    assert body["items"][0]["client_id"] == api_env["offered"] and body["data_source"] == "synthetic"
    assert body["campaign"]["policy_version"] == "example-2025.1"
    assert body["campaign"]["policy_sha256"] == campaign.policy_sha256
    assert body["campaign"]["model_version"] == campaign.model_version and body["campaign"]["run_at"]
    page = api_client.get("/api/v1/campaign/offers?limit=2&offset=3", headers=api_heads["manager"]).json
    assert [o["rank"] for o in page["items"]] == [4, 5]


def test_offers_are_filtered_by_grade_and_amount_range(api_client, api_heads, api_env):
    offers = api_env["campaign"].offers
    grade = offers["grade"].mode()[0]
    low, high = (float(v) for v in offers["amount"].quantile([0.2, 0.8]))
    url = f"/api/v1/campaign/offers?grade={grade}&min_amount={low}&max_amount={high}&limit=200"
    body = api_client.get(url, headers=api_heads["manager"]).json
    expected = offers[(offers["grade"] == grade) & offers["amount"].between(low, high)]
    assert body["total"] == len(expected) > 0
    assert [o["client_id"] for o in body["items"]] == expected["client_id"].tolist()[:200]
    reversed_range = api_client.get(
        "/api/v1/campaign/offers?min_amount=200000&max_amount=100000", headers=api_heads["manager"]
    ).json
    assert reversed_range["total"] == 0 and reversed_range["items"] == []


def test_the_csv_export_holds_every_filtered_offer(api_client, api_heads, api_env):
    offers = api_env["campaign"].offers
    grade = offers["grade"].mode()[0]
    response = api_client.get(f"/api/v1/campaign/offers.csv?grade={grade}", headers=api_heads["manager"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "offers-synthetic.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    expected = offers[offers["grade"] == grade]
    assert [int(r["client_id"]) for r in rows] == expected["client_id"].tolist()
    assert list(rows[0]) == [
        "rank",
        "client_id",
        "pd",
        "grade",
        "amount",
        "annuity",
        "term_months",
        "annual_rate",
        "dsti",
    ]
    assert float(rows[0]["amount"]) == expected["amount"].iloc[0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("grade=G9", "grade"),
        ("min_amount=lots", "min_amount"),
        ("min_amount=-1", "min_amount"),
        ("max_amount=nan", "max_amount"),
        ("max_amount=1e400", "max_amount"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("colour=blue", "colour"),
    ],
)
def test_bad_queries_are_refused_naming_the_parameter(api_client, api_heads, query, field):
    for path in ("/api/v1/campaign/offers", "/api/v1/campaign/offers.csv"):
        if path.endswith(".csv") and field in ("limit", "offset"):
            continue
        response = api_client.get(f"{path}?{query}", headers=api_heads["manager"])
        assert_error(response, 422, "invalid_query")
        assert field in response.json["error"]["message"]


def test_only_managers_see_the_campaign_list(api_client, api_heads, customers):
    for path in ("/api/v1/campaign/offers", "/api/v1/campaign/offers.csv"):
        for headers in (api_heads["customer"], api_heads["service"], customers["carol"]):
            assert_error(api_client.get(path, headers=headers), 403, "forbidden")
        assert_error(api_client.get(path), 401)


def test_a_manager_reads_a_clients_offer(api_client, api_heads, api_env):
    first = api_env["campaign"].offers.iloc[0]
    body = api_client.get(f"/api/v1/clients/{api_env['offered']}/offer?lang=fr", headers=api_heads["manager"]).json
    assert body["rank"] == 1 and body["amount"] == first["amount"] and body["annuity"] == first["annuity"]
    assert "pré-accordé" in body["message"] and body["campaign"]["policy_version"] == "example-2025.1"
    missing = api_client.get(f"/api/v1/clients/{api_env['not_offered']}/offer", headers=api_heads["manager"])
    assert_error(missing, 404, "not_found")
    assert missing.json["error"]["message"] == "offer not found"


def test_a_customer_sees_their_own_offer_and_nobody_elses(api_client, api_env, customers):
    own = api_client.get(f"/api/v1/clients/{api_env['offered']}/offer", headers=customers["carol"])
    assert own.status_code == 200
    assert set(own.json) == {"client_id", "amount", "annuity", "term_months", "annual_rate", "message", "run_at"}
    assert own.json["message"].startswith("You are pre-approved")
    assert_error(api_client.get(f"/api/v1/clients/{api_env['not_offered']}/offer", headers=customers["dave"]), 404)
    # cross-client attempts: the same 404 as an unknown id, whether the other client has an offer or not
    for name, other in (("carol", api_env["not_offered"]), ("dave", api_env["offered"])):
        response = api_client.get(f"/api/v1/clients/{other}/offer", headers=customers[name])
        assert_error(response, 404, "not_found")
        assert response.json["error"]["message"] == "client not found"


def test_offer_reads_and_exports_are_audited(api_client, api_heads, api_env, customers):
    before = len(audit.read_audit(api_env["store"]))
    api_client.get("/api/v1/campaign/offers?limit=3", headers=api_heads["manager"])
    api_client.get("/api/v1/campaign/offers.csv", headers=api_heads["manager"])
    api_client.get(f"/api/v1/clients/{api_env['offered']}/offer", headers=customers["carol"])
    api_client.get(f"/api/v1/clients/{api_env['offered']}/offer", headers=customers["dave"])
    entries = audit.read_audit(api_env["store"])[before:]
    assert [(e["username"], e["client_id"], e["outcome"]) for e in entries] == [
        ("manager", None, "listed 3 offers"),
        ("manager", None, f"exported {len(api_env['campaign'].offers)} offers"),
        ("carol", api_env["offered"], "ok"),
        ("dave", api_env["offered"], "denied"),
    ]
    assert entries[1]["route"] == "GET /api/v1/campaign/offers.csv"


def test_a_store_without_a_campaign_has_no_offers(fresh_api_client, fresh_api_env):
    manager = sign_in(fresh_api_client, "manager")
    body = fresh_api_client.get("/api/v1/campaign/offers", headers=manager).json
    assert body["campaign"] is None and body["total"] == 0 and body["items"] == []
    assert_error(fresh_api_client.get("/api/v1/campaign/offers.csv", headers=manager), 404, "no_campaign")
    assert_error(fresh_api_client.get(f"/api/v1/clients/{fresh_api_env['own']}/offer", headers=manager), 404)


def test_the_spec_lists_the_campaign_routes(api_client):
    paths = api_client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/campaign/offers", "/api/v1/campaign/offers.csv", "/api/v1/clients/{client_id}/offer"} <= set(paths)
