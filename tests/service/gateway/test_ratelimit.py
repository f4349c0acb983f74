"""Rate limits per client: a token bucket per subject (or IP when anonymous), 429 problem with Retry-After."""

from __future__ import annotations

import httpx

from gateway.ratelimit import TokenBucketLimiter
from tests.service.gateway.fakes import echo_app


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_refills() -> None:
    clock = Clock()
    lim = TokenBucketLimiter(60, clock=clock)  # one a second, 60 at once
    assert all(lim.take("a") == 0 for _ in range(60))
    wait = lim.take("a")
    assert 0.99 < wait <= 1.0 and lim.retry_after(wait) == 1
    assert lim.take("b") == 0  # another client has its own bucket
    clock.now += 1.0
    assert lim.take("a") == 0
    assert lim.take("a") > 0
    clock.now += 3600
    assert all(lim.take("a") == 0 for _ in range(60))  # refills to capacity, never beyond
    assert lim.take("a") > 0


def test_idle_buckets_are_forgotten() -> None:
    clock = Clock()
    lim = TokenBucketLimiter(60, clock=clock, max_keys=10)
    for i in range(10):
        lim.take(f"k{i}")
    clock.now += 120
    lim.take("new")
    assert len(lim) == 1


async def test_429_with_retry_after_per_client(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())}, rate_limit_per_minute=3)
    a = gw.auth("purchaser", org="D01", key=False)
    for _ in range(3):
        assert (await gw.client.get("/api/catalogue/echo/x", headers=a)).status_code == 200
    r = await gw.client.get("/api/catalogue/echo/x", headers=a)
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["code"] == "gateway.rate_limited" and r.json()["retry_after"] == int(r.headers["retry-after"])
    # Another subject, and the anonymous public (by IP), have their own buckets.
    b = gw.auth("purchaser", org="D02", key=False)
    assert (await gw.client.get("/api/catalogue/echo/x", headers=b)).status_code == 200
    assert (await gw.client.get("/api/catalogue/echo/x")).status_code == 200
    # Health and metrics are not metered (probes must not be refused).
    for _ in range(5):
        assert (await gw.client.get("/healthz", headers=a)).status_code == 200


async def test_anonymous_clients_are_limited_by_ip(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())}, rate_limit_per_minute=2)
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app, client=("10.0.0.9", 5000)),
                              base_url="http://gateway")
    async with other:
        assert [(await gw.client.get("/api/public")).status_code for _ in range(3)] == [200, 200, 429]
        assert (await other.get("/api/public")).status_code == 200
