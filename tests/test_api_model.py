"""The model blueprint: the model card (its threshold is the one every stored decision used) and importance."""

from __future__ import annotations

from tests.api_fixtures import assert_error


def test_model_card_and_importance(api_client, api_heads, api_env):
    h = api_heads["manager"]
    score = api_client.get(f"/api/v1/clients/{api_env['other']}/score", headers=h).json
    assert api_client.get("/api/v1/model", headers=h).json["threshold"] == score["threshold"]
    imp = api_client.get("/api/v1/model/importance?top=3", headers=h).json["items"]
    assert len(imp) == 3 and imp[0]["mean_abs_shap"] >= imp[-1]["mean_abs_shap"] and imp[0]["label"]


def test_bad_importance_query(api_client, api_heads):
    assert_error(api_client.get("/api/v1/model/importance?top=0", headers=api_heads["manager"]), 422)
