"""The features blueprint: the catalogue, a feature's distribution, the bivariate view (points for managers,
aggregates for customers), and their bad queries."""

from __future__ import annotations

from tests.api_fixtures import assert_error


def test_catalogue_distribution_and_points_for_a_manager(api_client, api_heads, api_env):
    h, cid = api_heads["manager"], api_env["other"]
    feats = api_client.get("/api/v1/features", headers=h).json["items"]
    assert {"name", "label", "group", "type"} <= set(feats[0])
    dist = api_client.get(f"/api/v1/features/EXT_SOURCE_2/distribution?bins=10&client_id={cid}", headers=h).json
    assert len(dist["repaid"]) == 10 and 0 <= dist["client"]["percentile"] <= 100
    biv = api_client.get(
        f"/api/v1/features/bivariate?x=EXT_SOURCE_2&y=AMT_CREDIT&sample=50&client_id={cid}", headers=h
    ).json
    assert biv["kind"] == "points" and 0 < len(biv["points"]) <= 50 and biv["client"]["client_id"] == cid


def test_customer_gets_aggregates_not_rows(api_client, api_heads, api_env):
    url = f"/api/v1/features/bivariate?x={api_env['x']}&y={api_env['y']}"
    biv = api_client.get(url, headers=api_heads["customer"]).json
    assert biv["kind"] == "density" and "points" not in biv and biv["client"]["client_id"] == api_env["own"]
    assert all(cell is None or 0 <= cell <= 1 for row in biv["density"]["mean_pd"] for cell in row)


def test_bad_feature_queries(api_client, api_heads):
    h = api_heads["manager"]
    for url in ("/api/v1/features/EXT_SOURCE_2/distribution?bins=1", "/api/v1/features/bivariate?x=EXT_SOURCE_2"):
        assert_error(api_client.get(url, headers=h), 422)
    assert_error(api_client.get("/api/v1/features/NO_SUCH/distribution", headers=h), 404, "unknown_feature")
