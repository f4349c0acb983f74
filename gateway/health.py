"""/healthz and /metrics from the chassis; /readyz of the gateway: its own database and every service's
/readyz, called at once. Ready (200) only when all are; otherwise 503 problem+json naming who is not."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gateway.state import GatewayState
from services.chassis.app import health_router
from services.chassis.errors import PROBLEM_JSON


def chassis_health() -> APIRouter:
    """The chassis' /healthz and /metrics (its /readyz checks a service's bus; the gateway has its own)."""
    r = health_router()
    r.routes = [route for route in r.routes if getattr(route, "path", None) != "/readyz"]
    return r


async def _service_ready(gw: GatewayState, service: str) -> dict[str, Any]:
    try:
        resp = await gw.http.get(f"{gw.service_url(service)}/readyz", timeout=gw.settings.http_timeout_seconds)
    except Exception as exc:
        return {"status": "down", "detail": f"cannot be reached ({type(exc).__name__})"}
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code == 200:
        return {"status": "ready", "checks": body.get("checks", {})}
    return {"status": "not ready", "http_status": resp.status_code, "checks": body.get("checks", {})}


async def _database(gw: GatewayState) -> str:
    if gw.engine is None:
        return "down: not started"
    try:
        async with gw.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


router = APIRouter(tags=["health"])


@router.get("/readyz", summary="The gateway's database and every service are ready")
async def readyz(request: Request) -> Response:
    gw: GatewayState = request.app.state.gateway
    db, *states = await asyncio.gather(_database(gw), *(_service_ready(gw, s) for s in gw.services))
    services = dict(zip(gw.services, states, strict=True))
    not_ready = [s for s, st in services.items() if st["status"] != "ready"]
    ready = db == "ok" and not not_ready
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "service": "gateway",
                            "checks": {"database": db}, "services": services}
    if ready:
        return JSONResponse(body)
    faults = [f"{s}: {services[s]['status']}" for s in not_ready]
    if db != "ok":
        faults.append(f"database: {db}")
    detail = ", ".join(faults)
    return JSONResponse({**body, "type": "https://goumai.example/problems/gateway.not_ready", "title": "not ready",
                         "code": "gateway.not_ready", "detail": detail, "not_ready": not_ready},
                        status_code=503, media_type=PROBLEM_JSON)
