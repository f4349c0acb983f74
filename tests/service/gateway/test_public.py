"""The public disclosure API: no token needed, none passed on, 503 naming the service for what is not built."""

from __future__ import annotations

import httpx

from gateway.public import PUBLIC
from tests.service.gateway.fakes import echo_app


async def test_index_lists_the_disclosures(edge) -> None:
    gw = await edge({})
    kinds = [i["kind"] for i in (await gw.client.get("/api/public")).json()["items"]]
    assert kinds == ["catalogues", "annual-plans", "contract-notices", "assessment-results", "blacklist"]


async def test_forwards_anonymously_even_with_a_token(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    r = await gw.client.get("/api/public/catalogues", params={"year": 2025},
                            headers=gw.auth("supplier", org="S1", key=False))
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [{"id": "c1"}] and r.json()["saw_authorization"] is False
    assert (await gw.client.get("/api/public/catalogues")).status_code == 200


async def test_a_missing_record_is_404_not_503(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    r = await gw.client.get("/api/public/catalogues/nope")
    assert r.status_code == 404 and r.json()["code"] == "catalogue.catalogue.not_found"


async def test_not_built_yet_is_503_naming_the_service(edge) -> None:
    fake = httpx.ASGITransport(app=echo_app())  # it has no /public/blacklist route
    gw = await edge({"registry": fake})
    r = await gw.client.get("/api/public/blacklist")
    assert r.status_code == 503
    assert r.json()["code"] == "gateway.public.not_available" and r.json()["service"] == "registry"


async def test_unknown_path_below_a_kind_is_404(edge) -> None:
    gw = await edge({"registry": httpx.ASGITransport(app=echo_app())})
    r = await gw.client.get("/api/public/blacklist/x/y")
    assert r.status_code == 404 and r.json()["code"] == "gateway.public.not_found"


async def test_service_down_is_503_naming_it(edge) -> None:
    gw = await edge({})
    for kind, entry in PUBLIC.items():
        r = await gw.client.get(f"/api/public/{kind}")
        assert r.status_code == 503
        assert r.json()["service"] == entry.service


async def test_writes_and_unknown_kinds_are_refused(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    assert (await gw.client.post("/api/public/catalogues", json={})).status_code == 405
    assert (await gw.client.get("/api/public/secrets")).json()["code"] == "gateway.public.unknown"
