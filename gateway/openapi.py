"""The merged OpenAPI document at /openapi.json (and Swagger UI at /docs): each service's own document,
fetched from its /openapi.json, with paths under /api/{service}, component names prefixed with the
service ("budget.LineOut") so schemas of the same name do not clash, operation ids and tags prefixed
likewise; plus the gateway's own routes (audit trail, public disclosure, health)."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.state import GatewayState

HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
CACHE_SECONDS = 30.0
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _rewrite_refs(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/"):
                _, _, section, name = v.split("/", 3)
                out[k] = f"#/components/{section}/{service}.{name}"
            else:
                out[k] = _rewrite_refs(v, service)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, service) for v in node]
    return node


def prefix_document(service: str, doc: dict[str, Any]) -> dict[str, Any]:
    """One service's document, as the gateway exposes it: paths, components, ids and tags prefixed."""
    doc = _rewrite_refs(copy.deepcopy(doc), service)
    paths: dict[str, Any] = {}
    for path, item in (doc.get("paths") or {}).items():
        if path in HEALTH_PATHS:
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            if "operationId" in op:
                op["operationId"] = f"{service}_{op['operationId']}"
            op["tags"] = [f"{service}: {t}" for t in op.get("tags") or []] or [service]
        paths[f"/api/{service}{path}"] = item
    components: dict[str, Any] = {}
    for section, entries in (doc.get("components") or {}).items():
        if section == "securitySchemes":
            components[section] = dict(entries)
            continue
        components[section] = {f"{service}.{name}": value for name, value in entries.items()}
    return {"paths": paths, "components": components, "tags": doc.get("tags") or []}


def merge(own: dict[str, Any], services: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    merged = copy.deepcopy(own)
    merged.setdefault("paths", {})
    comps: dict[str, dict[str, Any]] = merged.setdefault("components", {})
    comps.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "ES256 JWT with a kid; `goumai token --role … --org …` mints one. Anonymous: public.",
    }
    merged["security"] = [{"bearer": []}, {}]
    unavailable = []
    for service, doc in services.items():
        if doc is None:
            unavailable.append(service)
            continue
        part = prefix_document(service, doc)
        merged["paths"].update(part["paths"])
        for section, entries in part["components"].items():
            comps.setdefault(section, {}).update(entries)
    merged.setdefault("info", {})["x-services-unavailable"] = unavailable
    return merged


async def _fetch(gw: GatewayState, service: str) -> dict[str, Any] | None:
    try:
        resp = await gw.http.get(f"{gw.service_url(service)}/openapi.json", timeout=gw.settings.http_timeout_seconds)
    except Exception:
        return None
    if resp.status_code != 200:
        return None
    try:
        doc: dict[str, Any] = resp.json()
    except ValueError:
        return None
    return doc


async def merged_openapi(app: FastAPI, gw: GatewayState, *, refresh: bool = False) -> dict[str, Any]:
    cached = gw.openapi_cache.get("merged")
    if cached and not refresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        doc: dict[str, Any] = cached[1]
        return doc
    docs = await asyncio.gather(*(_fetch(gw, s) for s in gw.services))
    doc = merge(app.openapi(), dict(zip(gw.services, docs, strict=True)))
    if all(d is not None for d in docs):  # keep retrying a service that is down, next time
        gw.openapi_cache["merged"] = (time.monotonic(), doc)
    return doc


router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
async def openapi_json(request: Request, refresh: bool = False) -> JSONResponse:
    gw: GatewayState = request.app.state.gateway
    return JSONResponse(await merged_openapi(request.app, gw, refresh=refresh))


@router.get("/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Goumai API 政府购买服务")
