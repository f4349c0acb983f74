"""The public disclosure API (政府购买服务信息公开), no token: /api/public/{kind}/… forwards to the
service's own public route, anonymously (any Authorization header is verified by the gateway, then
not passed on, so the service answers exactly what the public may see).

A kind whose route the service has not built yet answers 503 problem+json naming the service (the service
answers its router's own 404 for the kind's root); an unknown path below a kind answers 404."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from gateway.proxy import gateway_of, raw_rest, send_upstream, stream_back
from services.chassis.errors import NotFound, Unavailable


@dataclass(frozen=True)
class PublicKind:
    service: str
    upstream: str  # the service's public route, from its root
    title: str


PUBLIC: dict[str, PublicKind] = {
    # GET /catalogues and /catalogues/{id}: the anonymous caller sees published catalogues only.
    "catalogues": PublicKind("catalogue", "/catalogues", "Published guidance catalogues 指导性目录"),
    # GET /plans?fiscal_year=&department=&region= (approved lines, paginated) and /plans/{department}/{fiscal_year}.
    "annual-plans": PublicKind("budget", "/plans", "Annual purchase plans 年度购买计划"),
    # GET /public/contract-notices?department=&year=&supplier_code=&service_type= and /{contract_id}.
    "contract-notices": PublicKind("contract", "/public/contract-notices", "Contract notices 合同公告"),
    # Until the service builds it, the gateway answers 503 naming it.
    "assessment-results": PublicKind("assessment", "/public/assessment-results",
                                     "Performance assessment results 绩效评价结果"),
    # GET /blacklist/public: entries in force.
    "blacklist": PublicKind("registry", "/blacklist/public", "Blacklist of suppliers 黑名单"),
}

router = APIRouter(prefix="/api/public", tags=["public disclosure"])

Kind = Annotated[str, Path(description=", ".join(PUBLIC))]


@router.get("", summary="What the public disclosure API offers")
async def public_index() -> dict[str, Any]:
    return {"items": [{"kind": k, "title": v.title, "href": f"/api/public/{k}", "service": v.service}
                      for k, v in PUBLIC.items()]}


async def _is_unbuilt_route(resp: Any) -> bool:
    """The service answered its router's own 404 (no such route), not a 404 about a record."""
    if resp.status_code not in (404, 405):
        return False
    body = await resp.aread()
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return False
    return code in ("not_found", "method_not_allowed") and resp.status_code in (404, 405)


async def _disclose(request: Request, kind: str) -> Response:
    entry = PUBLIC.get(kind)
    if entry is None:
        raise NotFound("gateway.public.unknown", f"no public disclosure {kind!r}; kinds: {', '.join(PUBLIC)}",
                       field="kind")
    gw = gateway_of(request)
    rest = raw_rest(request, f"/api/public/{kind}")
    resp = await send_upstream(gw, request, entry.service, entry.upstream + rest, prefix=f"/api/public/{kind}",
                               anonymous=True)
    if await _is_unbuilt_route(resp):
        await resp.aclose()
        if rest.strip("/"):
            raise NotFound("gateway.public.not_found", f"no such public {kind} resource", field="path")
        raise Unavailable("gateway.public.not_available",
                          f"the {entry.service} service does not publish {kind} yet",
                          title="Not available yet", service=entry.service)
    if resp.is_stream_consumed:
        body = resp.content
        await resp.aclose()
        dropped = ("content-length", "transfer-encoding", "content-encoding", "connection", "x-request-id")
        headers = {k: v for k, v in resp.headers.items() if k.lower() not in dropped}
        return Response(body, status_code=resp.status_code, headers=headers)
    return stream_back(resp)


@router.get("/{kind}", summary="A public disclosure list (no token)")
async def disclose_list(request: Request, kind: Kind) -> Response:
    return await _disclose(request, kind)


@router.get("/{kind}/{path:path}", summary="One published record (no token)")
async def disclose_one(request: Request, kind: Kind, path: str) -> Response:
    return await _disclose(request, kind)
