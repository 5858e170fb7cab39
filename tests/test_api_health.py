"""The health blueprint: liveness, readiness with the data source, Prometheus metrics; no token needed."""

from __future__ import annotations


def test_health_ready_metrics(api_client):
    assert api_client.get("/health").json == {"status": "ok"}
    ready = api_client.get("/ready").json
    assert ready["status"] == "ready" and ready["data_source"] == "synthetic"
    api_client.get("/health")
    metrics = api_client.get("/metrics").get_data(as_text=True)
    assert "api_requests_total{" in metrics and 'route="/health"' in metrics
    assert "api_request_seconds_bucket" in metrics
