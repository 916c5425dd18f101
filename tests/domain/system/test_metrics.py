"""GET /metrics: Prometheus text with aggregates only, optionally behind METRICS_TOKEN."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from tests.conftest import bearer, register_and_login
from tests.domain.profiles.test_binding import bind
from tests.domain.system.statements import statements_containing

pytestmark = pytest.mark.asyncio


def value(body: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", body, re.MULTILINE)
    assert match, f"{series} not in:\n{body}"
    return float(match.group(1))


async def test_metrics_report_traffic_profiles_and_ingest_without_tenant_data(client, app):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    profile = await bind(client, headers)
    await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(profile["id"]), timeout=10)
    assert (await client.get("/profiles", headers=headers)).status_code == 200
    missing = uuid.uuid4()
    assert (await client.get(f"/archives/{missing}", headers=headers)).status_code == 404
    assert (await client.get("/no/such/path")).status_code == 404

    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = scraped.text
    assert value(body, 'tgmp_http_requests_total{method="POST",route="/auth/register",status="2xx"}') == 1
    assert value(body, 'tgmp_http_requests_total{method="GET",route="/profiles",status="2xx"}') == 1
    assert value(body, 'tgmp_http_requests_total{method="GET",route="/archives/{archive_id}",status="4xx"}') == 1
    assert value(body, 'tgmp_http_requests_total{method="GET",route="unmatched",status="4xx"}') == 1
    assert value(body, 'tgmp_http_request_duration_seconds_count{method="POST",route="/auth/login"}') == 1
    assert value(body, 'tgmp_profiles{status="active"}') == 1
    assert value(body, "tgmp_profiles_connected") == 1
    assert value(body, "tgmp_ingest_queue_depth") >= 0
    assert value(body, "tgmp_ingest_records_committed_total") >= 0
    for private in ("ada@example.com", profile["phone"], profile["id"], str(missing), "/no/such/path"):
        assert private not in body


@pytest.mark.parametrize("settings_overrides", [{"METRICS_TOKEN": "scrape-me-please"}], indirect=True)
async def test_a_metrics_token_is_required_when_configured(client):
    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_metrics_token"
    assert (await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})).status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"METRICS_SCRAPE_INTERVAL_S": "3600"}], indirect=True)
async def test_database_aggregates_are_computed_once_per_scrape_interval(client, app):
    engine = app.state.ctx.engine
    with statements_containing(engine, "GROUP BY telegram_profiles.status") as aggregates:
        burst = await asyncio.gather(*(client.get("/metrics") for _ in range(10)))
        later = [await client.get("/metrics") for _ in range(5)]
    assert [r.status_code for r in burst + later] == [200] * 15
    assert len(aggregates) == 1, aggregates
    assert app.state.ctx.metrics_aggregates.computations == 1
    # This process's own figures stay live: every scrape before the last one is counted in it.
    assert value(later[-1].text, 'tgmp_http_requests_total{method="GET",route="/metrics",status="2xx"}') == 14
    assert "tgmp_profiles_connected 0" in later[-1].text


@pytest.mark.parametrize("settings_overrides", [{"METRICS_SCRAPE_INTERVAL_S": "0"}], indirect=True)
async def test_with_no_interval_every_scrape_queries_the_database(client, app):
    with statements_containing(app.state.ctx.engine, "GROUP BY telegram_profiles.status") as aggregates:
        for _ in range(3):
            assert (await client.get("/metrics")).status_code == 200
    assert len(aggregates) == 3
