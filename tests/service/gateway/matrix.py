"""The route × role walk: every route of a service app, the roles its `allow()` dependency declares, and
a call per role through the gateway to check that allowed roles pass and the others are refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import fastapi.routing
import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.chassis.auth import ROLES, KeyRing, mint_token

HEALTH = frozenset({"/healthz", "/readyz", "/metrics"})
PROBE_ID = "00000000-0000-4000-8000-00000000beef"

# Who each role is when it calls (finance governs a region; suppliers are credit codes).
IDENTITIES: dict[str, dict[str, str | None]] = {
    "finance": {"org": "F-410100", "region": "410100"},
    "purchaser": {"org": "D-PROBE", "region": "410100"},
    "supplier": {"org": "91350100M000100Y43", "region": None},
    "assessor": {"org": "A-PROBE", "region": None},
    "auditor": {"org": "AUDIT", "region": None},
    "ops": {"org": "OPS", "region": None},
    "service": {"org": "gateway-probe", "region": None},
}


def flat_api_routes(app: FastAPI) -> Iterator[tuple[str, set[str], Dependant]]:
    """(path, methods, dependant) of every API route, through included routers (FastAPI ≥ 0.16x includes
    routers lazily, so `app.routes` holds `_IncludedRouter`s; older versions flatten them)."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_contexts is None:
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, set(route.methods), route.dependant
        return
    for ctx in iter_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            yield str(ctx.path), set(ctx.methods or ()), ctx.dependant


def _roles_in(dep: Dependant) -> Iterator[tuple[str, ...]]:
    for sub in dep.dependencies:
        roles = getattr(sub.call, "allowed_roles", None)
        if roles is not None:
            yield tuple(roles)
        yield from _roles_in(sub)


def allowed_roles(dependant: Dependant) -> tuple[str, ...] | None:
    """The roles a route lets in (the intersection if it declares several), or None if it declares none."""
    declared = list(_roles_in(dependant))
    if not declared:
        return None
    allowed = set(declared[0]).intersection(*declared[1:])
    return tuple(r for r in ROLES if r in allowed)


@dataclass(frozen=True)
class RouteCase:
    service: str
    method: str
    path: str
    allowed: tuple[str, ...] | None

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    def concrete_path(self) -> str:
        return re.sub(r"\{[^}]+\}", PROBE_ID, self.path)


def service_routes(service: str, app: FastAPI) -> list[RouteCase]:
    cases = []
    for path, methods, dependant in flat_api_routes(app):
        if path in HEALTH:
            continue
        roles = allowed_roles(dependant)
        for method in sorted(methods - {"HEAD"}):
            cases.append(RouteCase(service, method, path, roles))
    return cases


def role_headers(ring: KeyRing) -> dict[str, dict[str, str]]:
    """Headers per role: a token minted for it (none for the public) and a fresh Idempotency-Key slot."""
    out: dict[str, dict[str, str]] = {"public": {}}
    for role, who in IDENTITIES.items():
        token = mint_token(ring, role=role, org=who["org"], region=who["region"])
        out[role] = {"Authorization": f"Bearer {token}"}
    return out


@dataclass
class MatrixReport:
    checked: int = 0
    undeclared: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.checked} calls checked"]
        lines += [f"no allow(): {u}" for u in self.undeclared]
        lines += [f"wrong: {f}" for f in self.failures]
        return "\n".join(lines)


def _refused(resp: httpx.Response) -> bool:
    return resp.status_code in (401, 403)


def _code(resp: httpx.Response) -> Any:
    try:
        return resp.json().get("code")
    except (ValueError, AttributeError):
        return None


async def run_matrix(client: httpx.AsyncClient, cases: list[RouteCase], ring: KeyRing, *,
                     prefix: str = "/api") -> MatrixReport:
    """Call every case as every role through the gateway (`prefix`/{service}{path})."""
    report = MatrixReport()
    headers = role_headers(ring)
    for case in cases:
        if case.allowed is None:
            report.undeclared.append(str(case))
            continue
        url = f"{prefix}/{case.service}{case.concrete_path()}"
        for role in ROLES:
            h = dict(headers[role])
            h["Idempotency-Key"] = uuid.uuid4().hex
            kw: dict[str, Any] = {"json": {}} if case.method in ("POST", "PUT", "PATCH") else {}
            resp = await client.request(case.method, url, headers=h, **kw)
            report.checked += 1
            where = f"{case} as {role}: {resp.status_code} {resp.text[:200]}"
            if resp.status_code >= 500:
                report.server_errors.append(where)
            if role in case.allowed:
                if _refused(resp):
                    report.failures.append(f"allowed but refused — {where}")
            elif role == "public":
                if resp.status_code != 401 or _code(resp) != "auth.required":
                    report.failures.append(f"anonymous not refused with 401 — {where}")
            elif resp.status_code != 403 or _code(resp) != "auth.role.forbidden":
                report.failures.append(f"not allowed but not refused with 403 — {where}")
    return report
