"""Every route of every service declares its roles; each role is let in or refused accordingly, called
through the gateway. Generic: it walks whatever routes the services have when it runs."""

from __future__ import annotations

import importlib
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from gateway.app import create_app
from services.chassis.auth import ROLES, Allow, KeyRing, Principal, allow, current_principal
from services.chassis.errors import install_problem_handlers
from services.chassis.idempotency import IdempotencyKey
from services.chassis.settings import SERVICES
from tests.service.gateway.matrix import allowed_roles, flat_api_routes, run_matrix, service_routes


def test_every_service_route_declares_its_roles() -> None:
    undeclared = []
    for s in SERVICES:
        spec = importlib.import_module(f"services.{s}.app").SPEC
        app = FastAPI()
        for router in spec.routers:
            app.include_router(router)
        undeclared += [str(c) for c in service_routes(s, app) if c.allowed is None]
    assert not undeclared, f"routes without allow(): {undeclared}"


async def test_route_role_matrix_through_the_gateway(stack) -> None:
    cluster, gw = stack
    cases = [c for s in SERVICES for c in service_routes(s, cluster.apps[s])]
    report = await run_matrix(gw.client, cases, gw.ring)
    print(f"\nroute × role: {len(cases)} routes, {report.summary()}")
    for e in report.server_errors:
        print(f"server error (not a role failure): {e}")
    assert not report.undeclared and not report.failures, report.summary()


# ----------------------------------------------------------------- the walk itself can fail
class ThingIn(BaseModel):
    name: str


def fake_service(*, honest: bool = True) -> FastAPI:
    """A stand-in service with declared roles; `honest=False` declares roles it does not enforce."""
    r = APIRouter()

    @r.get("/things/{thing_id}")
    async def get_thing(thing_id: str, p: Annotated[Principal, Allow("purchaser", "auditor")]) -> dict[str, str]:
        return {"id": thing_id}

    @r.post("/things", status_code=201)
    async def create_thing(body: ThingIn, _key: IdempotencyKey,
                           p: Annotated[Principal, Allow("purchaser")]) -> dict[str, str]:
        return {"name": body.name}

    @r.get("/open", dependencies=[Depends(allow("public", "finance", "purchaser", "supplier", "assessor",
                                                "auditor", "ops", "service"))])
    async def open_to_all() -> dict[str, str]:
        return {}

    if not honest:
        async def lax(p: Annotated[Principal, Depends(current_principal)]) -> Principal:
            return p

        lax.allowed_roles = ("finance",)  # type: ignore[attr-defined]

        @r.delete("/things/{thing_id}", dependencies=[Depends(lax)])
        async def delete_thing(thing_id: str) -> dict[str, str]:
            return {}

        @r.get("/undeclared")
        async def undeclared() -> dict[str, str]:
            return {}

    return r_app(r)


def r_app(router: APIRouter) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    return app


def test_allowed_roles_are_read_from_the_dependencies() -> None:
    app = fake_service(honest=False)
    got = {(c.method, c.path): c.allowed for c in service_routes("catalogue", app)}
    assert got[("GET", "/things/{thing_id}")] == ("purchaser", "auditor")
    assert got[("POST", "/things")] == ("purchaser",)
    assert got[("GET", "/open")] is not None and len(got[("GET", "/open")]) == 8
    assert got[("DELETE", "/things/{thing_id}")] == ("finance",)
    assert got[("GET", "/undeclared")] is None
    [open_dep] = [d for p, _, d in flat_api_routes(app) if p == "/open"]
    assert set(allowed_roles(open_dep) or ()) == set(ROLES)


@pytest.mark.parametrize("honest", [True, False])
async def test_the_matrix_catches_undeclared_and_unenforced_routes(edge, keys_dir, honest: bool) -> None:
    fake = fake_service(honest=honest)
    gw = await edge({"catalogue": httpx.ASGITransport(app=fake)})
    fake.state.keyring = KeyRing(keys_dir)
    fake.state.settings = gw.app.state.settings
    report = await run_matrix(gw.client, service_routes("catalogue", fake), gw.ring)
    if honest:
        assert report.checked == 3 * 8 and not report.failures and not report.undeclared, report.summary()
    else:
        assert report.undeclared == ["catalogue GET /undeclared"]
        wrong = {f.split(" — ")[1].split(":")[0] for f in report.failures}
        # Every role but finance got into the DELETE that claims finance only.
        assert wrong == {f"catalogue DELETE /things/{{thing_id}} as {r}" for r in
                         ("purchaser", "supplier", "assessor", "auditor", "ops", "public", "service")}


def test_gateway_has_its_own_roles_declared() -> None:
    # The gateway's own API (audit trail) declares its roles like any service route.
    app = create_app()
    cases = [c for c in service_routes("gateway", app) if c.path.startswith("/api/audit")]
    assert cases and all(c.allowed == ("auditor",) for c in cases)
