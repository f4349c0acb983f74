"""Forwarding /api/{service}/{path} to the services over httpx.

- Streaming both ways: the request body streams to the service (buffered only when the call may be
  retried), the answer streams back as it arrives.
- Timeouts from Settings.http_timeout_seconds; a read timeout answers 504, a service that cannot be
  reached answers 503 problem+json naming it.
- Retries only for idempotent calls: GET and HEAD on any transport error; POST, PUT, PATCH with an
  Idempotency-Key on connection errors (the request never reached the service).
- The request id (X-Request-ID) and the caller's token go on; hop-by-hop headers do not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Annotated

import httpx
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from gateway import metrics
from gateway.middleware import client_ip
from gateway.state import GatewayState
from services.chassis.context import request_id_var
from services.chassis.errors import NotFound, Problem, Unavailable

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host",
})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRIES = 2


class GatewayTimeout(Problem):
    status = 504


def gateway_of(request: Request) -> GatewayState:
    gw: GatewayState = request.app.state.gateway
    return gw


def _request_headers(request: Request, *, prefix: str, anonymous: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in request.headers.items():
        lk = k.lower()
        if lk in HOP_BY_HOP or lk.startswith("x-forwarded-") or lk == "x-request-id":
            continue
        if anonymous and lk in ("authorization", "cookie"):
            continue
        out[k] = v
    rid = request_id_var.get() or getattr(request.state, "request_id", None)
    if rid:
        out["X-Request-ID"] = rid
    ip = client_ip(request.scope)
    prior = request.headers.get("x-forwarded-for")
    out["X-Forwarded-For"] = f"{prior}, {ip}" if prior else ip
    out["X-Forwarded-Proto"] = request.url.scheme
    if request.headers.get("host"):
        out["X-Forwarded-Host"] = request.headers["host"]
    out["X-Forwarded-Prefix"] = prefix
    return out


def _response_headers(headers: httpx.Headers) -> Mapping[str, str]:
    return {k: v for k, v in headers.multi_items() if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"}


def _has_body(request: Request) -> bool:
    return request.headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in request.headers


async def send_upstream(
    gw: GatewayState, request: Request, service: str, path: str, *, prefix: str, anonymous: bool = False,
) -> httpx.Response:
    """Send the request to the service at `path` (percent-encoded, from the service's root) and return its
    streaming answer (the caller closes it)."""
    method = request.method
    headers = _request_headers(request, prefix=prefix, anonymous=anonymous)
    has_key = "idempotency-key" in request.headers
    retry_any = method in SAFE_METHODS
    retry_connect = retry_any or (has_key and method in ("POST", "PUT", "PATCH"))
    content: bytes | AsyncIterator[bytes] | None = None
    if _has_body(request):
        content = await request.body() if retry_connect else request.stream()
    url = httpx.URL(f"{gw.service_url(service)}/{path.lstrip('/')}")
    if request.url.query:
        url = url.copy_with(query=request.url.query.encode("latin-1"))
    attempts = 1 + (RETRIES if retry_connect else 0)
    started = time.perf_counter()
    last: Exception | None = None
    for attempt in range(attempts):
        upstream = gw.http.build_request(method, url, headers=headers, content=content)
        try:
            resp = await gw.http.send(upstream, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            last = exc
        except httpx.TimeoutException as exc:
            last = exc
            if not retry_any:
                break
        except httpx.TransportError as exc:
            last = exc
            if not retry_any:
                break
        else:
            metrics.UPSTREAM_LATENCY.labels(service).observe(time.perf_counter() - started)
            metrics.UPSTREAM_REQUESTS.labels(service, method, str(resp.status_code)).inc()
            return resp
        if attempt + 1 < attempts:
            metrics.UPSTREAM_RETRIES.labels(service).inc()
            await asyncio.sleep(0.05 * 2**attempt)  # backoff between retries, not a wait in a test
    if isinstance(last, httpx.TimeoutException) and not isinstance(last, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        metrics.UPSTREAM_UNAVAILABLE.labels(service, "timeout").inc()
        raise GatewayTimeout("gateway.service.timeout",
                             f"the {service} service did not answer within {gw.settings.http_timeout_seconds} s",
                             title="Service timeout", service=service)
    metrics.UPSTREAM_UNAVAILABLE.labels(service, "unreachable").inc()
    raise Unavailable("gateway.service.unavailable",
                      f"the {service} service cannot be reached ({type(last).__name__ if last else 'error'})",
                      title="Service unavailable", service=service)


def raw_rest(request: Request, prefix: str) -> str:
    """The request's path after `prefix`, as the caller encoded it (so %2F and the like survive)."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    text = raw.decode("latin-1")
    return text[len(prefix):] if text.startswith(prefix) else request.url.path[len(prefix):]


def stream_back(resp: httpx.Response) -> StreamingResponse:
    return StreamingResponse(resp.aiter_raw(), status_code=resp.status_code,
                             headers=_response_headers(resp.headers), background=BackgroundTask(resp.aclose))


router = APIRouter(tags=["gateway"])

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ServiceName = Annotated[str, Path(description="catalogue, budget, registry, contract or assessment")]


async def _forward(request: Request, service: str) -> Response:
    gw = gateway_of(request)
    if service == "public":
        raise Problem("method_not_allowed", "the public disclosure API is read-only (GET)", status=405,
                      title="Method not allowed")
    if service not in gw.services:
        raise NotFound("gateway.service.unknown",
                       f"no service {service!r} behind this gateway; services: {', '.join(gw.services)}",
                       field="service")
    prefix = f"/api/{service}"
    resp = await send_upstream(gw, request, service, raw_rest(request, prefix) or "/", prefix=prefix)
    return stream_back(resp)


@router.api_route("/api/{service}/{path:path}", methods=METHODS, include_in_schema=False)
async def forward(request: Request, service: ServiceName, path: str) -> Response:
    return await _forward(request, service)


@router.api_route("/api/{service}", methods=METHODS, include_in_schema=False)
async def forward_root(request: Request, service: ServiceName) -> Response:
    return await _forward(request, service)
