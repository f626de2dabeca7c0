"""/metrics, scraped and parsed as Prometheus does (prometheus-client's own parser), with
the families docs/scaling.md lists; and the label values a client can choose stay bounded."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from issuegraph import metrics
from issuegraph.app import create_app
from issuegraph.demo import seed_demo
from tests.helpers import Api

FAMILIES = {
    "issuegraph_requests",
    "issuegraph_request_duration_seconds",
    "issuegraph_db_pool_connections",
    "issuegraph_db_pool_max_connections",
    "issuegraph_database_up",
    "issuegraph_change_log_backlog_events",
    "issuegraph_webhook_deliveries_pending",
    "issuegraph_websocket_connections",
    "issuegraph_subscriptions",
}


@pytest.fixture
async def served(aiohttp_client, settings, pool) -> Any:
    await seed_demo(pool)
    fast = dataclasses.replace(settings, metrics_interval_seconds=0.05)
    client = await aiohttp_client(create_app(fast))
    yield client
    await client.close()


async def scrape(client: Any) -> dict[str, Any]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    return {f.name: f for f in text_string_to_metric_families(await response.text())}


def sample(families: dict[str, Any], name: str, suffix: str = "", **labels: str) -> float:
    """The value of one sample (0 when absent)."""
    family = families.get(name)
    if family is None:
        return 0.0
    for s in family.samples:
        if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    return 0.0


async def settled(client: Any, check: Any) -> dict[str, Any]:
    """Scrape until `check(families)` holds (the gauges are sampled in the background)."""
    for _ in range(100):
        families = await scrape(client)
        if check(families):
            return families
        await asyncio.sleep(0.05)
    raise AssertionError("the gauges never showed the expected state")


async def test_every_family_is_exposed_and_parses(served):
    families = await settled(
        served, lambda f: sample(f, "issuegraph_database_up", database="primary") == 1
    )
    assert families.keys() >= FAMILIES
    assert families["issuegraph_request_duration_seconds"].type == "histogram"
    assert families["issuegraph_requests"].type == "counter"
    assert sample(families, "issuegraph_db_pool_max_connections", database="primary") == 10
    assert sample(families, "issuegraph_db_pool_connections", database="primary", state="open") >= 1


async def test_requests_are_counted_by_operation_and_outcome(served):
    api = Api(served)
    before = await scrape(served)
    for _ in range(3):
        ok = await api.gql('query ProjectIssues { project(fullPath: "acme/platform") { id } }')
        assert ok.status == 200
    bad = await served.post(
        "/graphql", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status == 400
    after = await scrape(served)

    def delta(name: str, suffix: str = "", **labels: str) -> float:
        return sample(after, name, suffix, **labels) - sample(before, name, suffix, **labels)

    labels = {"kind": "graphql", "operation": "ProjectIssues"}
    assert delta("issuegraph_requests", "_total", **labels, outcome="ok") == 3
    assert delta("issuegraph_request_duration_seconds", "_count", **labels) == 3
    assert delta("issuegraph_request_duration_seconds", "_sum", **labels) > 0
    assert (
        delta("issuegraph_requests", "_total", kind="graphql", operation="", outcome="client_error")
        == 1
    )


async def test_websockets_and_subscriptions_are_gauged(served):
    subscription = 'subscription { issueEvents(project: "acme/platform") { kind } }'
    async with served.ws_connect("/graphql", protocols=["graphql-transport-ws"]) as ws:
        await ws.send_json({"type": "connection_init", "payload": {}})
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": subscription}})
        await settled(
            served,
            lambda f: (
                sample(f, "issuegraph_subscriptions") == 1
                and sample(f, "issuegraph_websocket_connections") == 1
            ),
        )
        await ws.send_json({"id": "1", "type": "complete"})
        await settled(served, lambda f: sample(f, "issuegraph_subscriptions") == 0)
    await settled(served, lambda f: sample(f, "issuegraph_websocket_connections") == 0)


async def test_the_backlogs_follow_the_change_log(served, pool):
    """Events nobody has fanned out yet are the webhook dispatcher's backlog."""
    await pool.execute("update webhook_cursor set xid = '1'::xid8, id = 0")
    backlog = await pool.fetchval("select count(*) from events")
    assert backlog > 0  # the demo data's events
    await settled(
        served,
        lambda f: sample(f, "issuegraph_change_log_backlog_events", reader="webhooks") == backlog,
    )


async def test_operation_names_chosen_by_clients_stay_bounded(served):
    api = Api(served)
    long_name = "Q" * 65
    await api.gql(f"query {long_name} {{ viewer {{ id }} }}")
    names = [f"Op{n}" for n in range(metrics.MAX_OPERATIONS + 20)]
    await asyncio.gather(*(api.gql(f"query {name} {{ viewer {{ id }} }}") for name in names))
    families = await scrape(served)
    operations = {s.labels["operation"] for s in families["issuegraph_requests"].samples}
    assert long_name not in operations
    assert "other" in operations
    assert len(operations) <= metrics.MAX_OPERATIONS + 2  # the names, "" and "other"


# -- tracing -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spans() -> Any:
    """A real OpenTelemetry SDK, exporting to memory: what a deployment's SDK would send."""
    from opentelemetry import trace  # noqa: PLC0415  (only the tracing tests set a provider)
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: PLC0415
        InMemorySpanExporter,
    )

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


@pytest.mark.parametrize("enabled", [False, True])
async def test_operations_are_traced_only_when_switched_on(
    aiohttp_client, settings, pool, spans, enabled
):
    await seed_demo(pool)
    client = await aiohttp_client(create_app(dataclasses.replace(settings, opentelemetry=enabled)))
    spans.clear()
    response = await Api(client).gql('query Traced { project(fullPath: "acme/platform") { id } }')
    assert response.status == 200
    assert response.data["project"]["id"]
    names = [span.name for span in spans.get_finished_spans()]
    if enabled:
        assert "GraphQL Query: Traced" in names
        assert {"GraphQL Parsing", "GraphQL Validation"} <= set(names)
    else:
        assert names == []
    await client.close()
