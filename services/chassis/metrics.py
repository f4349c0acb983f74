"""Prometheus metrics shared by every process."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("goumai_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("goumai_http_request_seconds", "HTTP request latency", ["service", "method", "route"])
OUTBOX_PUBLISHED = Counter("goumai_outbox_published_total", "Outbox rows published", ["service"])
EVENTS_HANDLED = Counter("goumai_events_handled_total", "Events handled", ["service", "type"])
EVENTS_DUPLICATE = Counter("goumai_events_duplicate_total", "Redelivered events skipped", ["service", "type"])
EVENTS_DEAD_LETTERED = Counter("goumai_events_dead_lettered_total", "Events sent to the DLQ", ["service"])
