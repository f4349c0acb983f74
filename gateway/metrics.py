"""Prometheus metrics of the gateway (beside the chassis' per-route request counters)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

UPSTREAM_REQUESTS = Counter("goumai_gateway_upstream_requests_total", "Requests forwarded to services",
                            ["service", "method", "status"])
UPSTREAM_LATENCY = Histogram("goumai_gateway_upstream_seconds", "Time to the service's response headers",
                             ["service"])
UPSTREAM_RETRIES = Counter("goumai_gateway_upstream_retries_total", "Retried upstream calls", ["service"])
UPSTREAM_UNAVAILABLE = Counter("goumai_gateway_upstream_unavailable_total", "Services that could not be reached",
                               ["service", "reason"])
AUTH_REFUSED = Counter("goumai_gateway_auth_refused_total", "Requests refused for a bad token", ["code"])
RATE_LIMITED = Counter("goumai_gateway_rate_limited_total", "Requests refused by the rate limit")
