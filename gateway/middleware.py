"""ASGI middleware of the gateway, outermost first (after the chassis' RequestContextMiddleware, which
sets the request id): `AccessAuditMiddleware` (access log line for every request, audit row for every
write) → `GuardMiddleware` (authentication, then the rate limit) → the routes."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import metrics
from gateway.audit import WRITE_METHODS, AuditRecord
from gateway.auth import authenticate
from gateway.state import GatewayState
from services.chassis.auth import Principal
from services.chassis.context import actor_var, request_id_var
from services.chassis.errors import Problem, problem_response

access_log = logging.getLogger("gateway.access")

UNMETERED = frozenset({"/healthz", "/readyz", "/metrics"})


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


class GuardMiddleware:
    """A present token must be valid (401 problem otherwise); then the caller's bucket must have a token
    (429 problem with Retry-After otherwise). Anonymous callers are limited by IP, and so are bad tokens."""

    def __init__(self, app: ASGIApp, gateway: GatewayState) -> None:
        self.app = app
        self.gw = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        metered = scope["path"] not in UNMETERED
        try:
            principal = authenticate(_headers(scope), self.gw.keyring, self.gw.settings)
        except Problem as refusal:
            state["auth_failed"] = refusal.code
            if metered:
                self.gw.limiter.take(f"ip:{client_ip(scope)}")
            metrics.AUTH_REFUSED.labels(refusal.code).inc()
            await problem_response(refusal, Request(scope))(scope, receive, send)
            return
        state["principal"] = principal
        actor_var.set(principal.actor)
        if metered:
            key = f"ip:{client_ip(scope)}" if principal.role == "public" else f"sub:{principal.subject}"
            wait = self.gw.limiter.take(key)
            if wait > 0:
                retry = self.gw.limiter.retry_after(wait)
                metrics.RATE_LIMITED.inc()
                p = Problem("gateway.rate_limited",
                            f"too many requests from this client; retry after {retry} s "
                            f"(limit {self.gw.settings.rate_limit_per_minute} a minute)",
                            status=429, title="Too many requests", retry_after=retry)
                response = problem_response(p, Request(scope))
                response.headers["Retry-After"] = str(retry)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _service_of(path: str, services: tuple[str, ...]) -> str | None:
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "api":
        if parts[2] in services:
            return parts[2]
        if parts[2] == "public" and len(parts) > 3:
            return f"public:{parts[3]}"
        return parts[2]
    return None


class AccessAuditMiddleware:
    """One access log line per request; one audit row per write (POST, PUT, PATCH, DELETE under /api/),
    refused or not, written before the answer goes out so the trail is never behind the caller."""

    def __init__(self, app: ASGIApp, gateway: GatewayState) -> None:
        self.app = app
        self.gw = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        path = scope["path"]
        audited = method in WRITE_METHODS and path.startswith("/api/")
        status = 500
        sent_start = False

        async def observe(message: Message) -> None:
            nonlocal status, sent_start
            if message["type"] == "http.response.start":
                status = message["status"]
                sent_start = True
                if audited:
                    await self._audit(scope, status, started)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            if audited and not sent_start:
                await self._audit(scope, status, started)
            self._log(scope, status, started)

    def _who(self, scope: Scope) -> Principal | None:
        p: Any = scope.get("state", {}).get("principal")
        return p if isinstance(p, Principal) else None

    async def _audit(self, scope: Scope, status: int, started: float) -> None:
        if self.gw.audit is None:
            return
        p = self._who(scope)
        if p is None:
            subject, role, org, region = "invalid-token", "none", None, None
        else:
            subject, role, org, region = p.subject, p.role, p.org, p.region
        headers = _headers(scope)
        await self.gw.audit.record(AuditRecord(
            at=datetime.now(UTC), subject=subject, role=role, org=org, region=region,
            method=scope["method"], service=_service_of(scope["path"], self.gw.services), path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1") or None, status=status,
            request_id=request_id_var.get(), idempotency_key=headers.get("idempotency-key"),
            client=client_ip(scope), duration_ms=round((time.perf_counter() - started) * 1000, 2),
        ))

    def _log(self, scope: Scope, status: int, started: float) -> None:
        p = self._who(scope)
        ms = (time.perf_counter() - started) * 1000
        access_log.info(
            '%s %s %s %.1fms subject=%s role=%s client=%s', scope["method"], scope["path"], status, ms,
            p.subject if p else "-", p.role if p else "-", client_ip(scope),
            extra={"method": scope["method"], "path": scope["path"], "status": status,
                   "duration_ms": round(ms, 2), "subject": p.subject if p else None,
                   "role": p.role if p else None, "client": client_ip(scope)},
        )
