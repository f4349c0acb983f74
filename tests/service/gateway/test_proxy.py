"""Routing /api/{service}/… to the services: headers, request ids, streaming, retries, 503 when down."""

from __future__ import annotations

import httpx

from tests.service.gateway.fakes import FlakyTransport, echo_app

PROBLEM = "application/problem+json"


async def test_forwards_path_query_body_and_request_id(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    h = gw.auth("purchaser", org="D01") | {"X-Request-ID": "rid-123", "Connection": "keep-alive"}
    r = await gw.client.post("/api/catalogue/echo/a%2Fb/c?x=1&y=%E4%B8%AD", content=b"x" * 100_000, headers=h)
    assert r.status_code == 201, r.text
    seen = r.json()
    assert seen["raw_path"] == "/echo/a%2Fb/c"
    assert seen["query"] == "x=1&y=%E4%B8%AD"
    assert seen["body_length"] == 100_000
    assert seen["headers"]["x-request-id"] == "rid-123"
    assert seen["headers"]["authorization"] == h["Authorization"]
    assert seen["headers"]["idempotency-key"] == h["Idempotency-Key"]
    assert seen["headers"]["x-forwarded-prefix"] == "/api/catalogue"
    assert seen["headers"]["x-forwarded-for"]
    assert r.headers.get_list("x-request-id") == ["rid-123"]
    assert r.headers["x-upstream"] == "echo"


async def test_request_id_is_made_when_missing(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    r = await gw.client.get("/api/catalogue/echo/x")
    rid = r.headers["x-request-id"]
    assert rid and r.json()["headers"]["x-request-id"] == rid


async def test_streams_the_answer(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    async with gw.client.stream("GET", "/api/catalogue/stream") as r:
        assert r.status_code == 200
        lines = [line async for line in r.aiter_lines()]
    assert lines[0] == "chunk 0" and lines[-1] == "chunk 49" and len(lines) == 50


async def test_service_down_is_503_naming_it(edge) -> None:
    gw = await edge({})  # nothing is mounted: every service is unreachable
    r = await gw.client.get("/api/registry/suppliers")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == "gateway.service.unavailable"
    assert body["service"] == "registry" and "registry" in body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]


async def test_unknown_service_is_404(edge) -> None:
    gw = await edge({})
    r = await gw.client.get("/api/nosuch/x")
    assert r.status_code == 404
    assert r.json()["code"] == "gateway.service.unknown"


async def test_get_is_retried_on_connection_errors(edge) -> None:
    flaky = FlakyTransport(httpx.ASGITransport(app=echo_app()), failures=2)
    gw = await edge({"catalogue": flaky})
    r = await gw.client.get("/api/catalogue/echo/x")
    assert r.status_code == 200
    assert flaky.attempts == 3


async def test_get_gives_up_after_retries(edge) -> None:
    flaky = FlakyTransport(httpx.ASGITransport(app=echo_app()), failures=10)
    gw = await edge({"catalogue": flaky})
    r = await gw.client.get("/api/catalogue/echo/x")
    assert r.status_code == 503 and r.json()["service"] == "catalogue"
    assert flaky.attempts == 3


async def test_post_without_idempotency_key_is_not_retried(edge) -> None:
    flaky = FlakyTransport(httpx.ASGITransport(app=echo_app()), failures=1)
    gw = await edge({"catalogue": flaky})
    r = await gw.client.post("/api/catalogue/echo/x", json={"a": 1}, headers=gw.auth("purchaser", org="D01", key=False))
    assert r.status_code == 503
    assert flaky.attempts == 1


async def test_post_with_idempotency_key_is_retried_on_connection_errors(edge) -> None:
    flaky = FlakyTransport(httpx.ASGITransport(app=echo_app()), failures=1)
    gw = await edge({"catalogue": flaky})
    r = await gw.client.post("/api/catalogue/echo/x", json={"a": 1}, headers=gw.auth("purchaser", org="D01"))
    assert r.status_code == 201, r.text
    assert r.json()["body_length"] == len(b'{"a":1}')
    assert flaky.attempts == 2


async def test_post_with_key_is_not_retried_after_a_read_timeout(edge) -> None:
    # The request may have reached the service: only a connection error proves it did not.
    flaky = FlakyTransport(httpx.ASGITransport(app=echo_app()), failures=1, error=httpx.ReadTimeout)
    gw = await edge({"catalogue": flaky})
    r = await gw.client.post("/api/catalogue/echo/x", json={}, headers=gw.auth("purchaser", org="D01"))
    assert r.status_code == 504
    assert r.json()["code"] == "gateway.service.timeout" and r.json()["service"] == "catalogue"
    assert flaky.attempts == 1


async def test_healthz_and_metrics(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    assert (await gw.client.get("/api/catalogue/echo/x")).status_code == 200
    r = await gw.client.get("/healthz")
    assert r.json() == {"status": "ok", "service": "gateway"}
    m = await gw.client.get("/metrics")
    assert "goumai_gateway_upstream_requests_total" in m.text
    assert 'service="gateway"' in m.text


async def test_portal_is_served(edge) -> None:
    gw = await edge({})
    r = await gw.client.get("/portal/")
    assert r.status_code == 200 and "政府购买服务信息公开" in r.text
    assert (await gw.client.get("/portal/portal.js")).status_code == 200
    assert (await gw.client.get("/")).status_code in (307, 302)


async def test_streams_a_request_body_that_is_not_retried(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})

    async def body():
        for _ in range(64):
            yield b"y" * 4096

    h = gw.auth("purchaser", org="D01", key=False)
    r = await gw.client.put("/api/catalogue/echo/big", content=body(), headers=h)
    assert r.status_code == 200 and r.json()["body_length"] == 64 * 4096
