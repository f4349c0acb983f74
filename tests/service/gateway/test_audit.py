"""Every write passing the gateway is in its append-only audit trail, readable by auditors at /api/audit."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.service.gateway.fakes import echo_app


async def test_writes_are_audited_and_readable_by_auditors(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    h = gw.auth("purchaser", org="D-AUD-1", region="410100") | {"X-Request-ID": "audit-rid-1"}
    r = await gw.client.post("/api/catalogue/echo/items?draft=1", json={"a": 1}, headers=h)
    assert r.status_code == 201
    for method in ("PUT", "PATCH", "DELETE"):
        assert (await gw.client.request(method, "/api/catalogue/echo/items/1", headers=h)).status_code == 200
    assert (await gw.client.get("/api/catalogue/echo/items", headers=h)).status_code == 200  # reads: not audited

    auditor = gw.auth("auditor", key=False)
    page = (await gw.client.get("/api/audit", params={"org": "D-AUD-1"}, headers=auditor)).json()
    assert page["total"] == 4
    assert [i["method"] for i in page["items"]] == ["DELETE", "PATCH", "PUT", "POST"]
    post = page["items"][-1]
    assert post["subject"] == "purchaser:D-AUD-1" and post["role"] == "purchaser"
    assert post["org"] == "D-AUD-1" and post["region"] == "410100"
    assert post["service"] == "catalogue" and post["path"] == "/api/catalogue/echo/items"
    assert post["query"] == "draft=1" and post["status"] == 201
    assert post["request_id"] == "audit-rid-1" and post["idempotency_key"] == h["Idempotency-Key"]
    assert post["at"]
    by_rid = (await gw.client.get("/api/audit", params={"request_id": "audit-rid-1", "limit": 2},
                                  headers=auditor)).json()
    assert by_rid["total"] == 4 and len(by_rid["items"]) == 2 and by_rid["limit"] == 2


async def test_refused_writes_are_audited_too(edge) -> None:
    gw = await edge({})
    r = await gw.client.post("/api/budget/lines", json={}, headers={"Authorization": "Bearer nope",
                                                                    "X-Request-ID": "audit-rid-401"})
    assert r.status_code == 401
    r = await gw.client.post("/api/budget/lines", json={}, headers={"X-Request-ID": "audit-rid-503"})
    assert r.status_code == 503
    auditor = gw.auth("auditor", key=False)
    async def by_rid(rid: str) -> list[dict[str, object]]:
        r = await gw.client.get("/api/audit", params={"request_id": rid}, headers=auditor)
        return r.json()["items"]

    [bad] = await by_rid("audit-rid-401")
    assert (bad["subject"], bad["role"], bad["status"], bad["service"]) == ("invalid-token", "none", 401, "budget")
    [anon] = await by_rid("audit-rid-503")
    assert (anon["subject"], anon["role"], anon["status"]) == ("anonymous", "public", 503)


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("purchaser", 403), ("finance", 403), ("ops", 403)])
async def test_only_auditors_read_the_trail(edge, role: str | None, status: int) -> None:
    gw = await edge({})
    headers = gw.auth(role, org="X", region="R", key=False) if role else {}
    r = await gw.client.get("/api/audit", headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_the_trail_is_append_only(edge) -> None:
    gw = await edge({"catalogue": httpx.ASGITransport(app=echo_app())})
    await gw.client.post("/api/catalogue/echo/x", json={}, headers=gw.auth("purchaser", org="D-AO"))
    engine = gw.app.state.gateway.engine
    for sql in ("UPDATE gateway_audit SET status = 200", "DELETE FROM gateway_audit", "TRUNCATE gateway_audit"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(sql))
    async with engine.connect() as conn:
        n = (await conn.execute(text("SELECT count(*) FROM gateway_audit WHERE org = 'D-AO'"))).scalar_one()
    assert n == 1


async def test_gateway_history_migrates_sqlite_too(tmp_path) -> None:
    # The embedded default keeps the gateway's trail in SQLite; it is append-only there as well.
    from sqlalchemy.ext.asyncio import create_async_engine

    from services.chassis.migrations import upgrade_async

    url = f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    await upgrade_async("gateway", url)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO gateway_audit (at, subject, role, method, path, status) "
                "VALUES (CURRENT_TIMESTAMP, 's', 'purchaser', 'POST', '/api/x', 201)"))
        for sql in ("UPDATE gateway_audit SET status = 200", "DELETE FROM gateway_audit"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as conn:
                    await conn.execute(text(sql))
    finally:
        await engine.dispose()
