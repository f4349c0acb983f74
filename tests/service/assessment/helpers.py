"""Shared steps for the assessment service tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.support.cluster import Cluster

SUPPLIER = "91350100M000100Y43"
DEPT = "D01"
ASSESSOR = "A01"
ITEMS = [{"code": "q1", "text": "环境卫生"}, {"code": "q2", "text": "安全秩序"}, {"code": "q3", "text": "服务态度"}]

PURCHASER_SHEET = {"price": "9", "savings": "5", "policy_execution": "4", "internal_control": "5", "sq_emergency": "4"}
THIRD_PARTY_SHEET = {"price": "8", "savings": "4", "policy_execution": "5", "internal_control": "4",
                     "sq_emergency": "5"}


def api(c: Cluster) -> httpx.AsyncClient:
    return c.clients["assessment"]


def purchaser(c: Cluster, org: str = DEPT) -> dict[str, str]:
    return c.auth("purchaser", org=org)


def assessor(c: Cluster, org: str = ASSESSOR) -> dict[str, str]:
    return c.auth("assessor", org=org)


def supplier(c: Cluster, org: str = SUPPLIER) -> dict[str, str]:
    return c.auth("supplier", org=org)


async def ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


async def make_plan(c: Cluster, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contract_id": f"C-{uuid.uuid4().hex[:10]}", "supplier_code": SUPPLIER,
        "service_type": "property_management", "department": DEPT, "line_id": "L-1", "period_kind": "monthly",
        "periods": ["2025-08", "2025-09", "2025-10"], "assessor_org": ASSESSOR,
    }
    body.update(overrides)
    return await ok(await api(c).post("/plans", json=body, headers=purchaser(c)), 201)


def at(day: str, hour: int = 2) -> str:
    """An instant on a Shanghai business day (02:00 UTC = 10:00 in Shanghai)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC).isoformat()


async def inspect(c: Cluster, plan_id: str, day: str, findings: list[dict[str, Any]], *,
                  as_assessor: bool = False, kind: str = "inspection") -> dict[str, Any]:
    body = {"kind": kind, "inspector": "张三", "inspected_at": at(day), "location": "A座",
            "findings": findings}
    headers = assessor(c) if as_assessor else purchaser(c)
    return await ok(await api(c).post(f"/plans/{plan_id}/inspections", json=body, headers=headers), 201)


async def sheets(c: Cluster, plan_id: str, period: str) -> None:
    await ok(await api(c).post(f"/plans/{plan_id}/sheets", json={"period": period, "points": PURCHASER_SHEET},
                               headers=purchaser(c)), 201)
    await ok(await api(c).post(f"/plans/{plan_id}/sheets", json={"period": period, "points": THIRD_PARTY_SHEET},
                               headers=assessor(c)), 201)


async def survey(c: Cluster, plan_id: str, period: str, *, invited: int = 20,
                 levels: list[str] | None = None) -> dict[str, Any]:
    """Default: 15 respondents all 优, 4 all 较好, 1 all 一般 — score 95.00, satisfaction 95.00%."""
    s = await ok(await api(c).post(f"/plans/{plan_id}/surveys", json={
        "period": period, "title": "满意度测评", "items": ITEMS, "invited": invited}, headers=purchaser(c)), 201)
    levels = levels if levels is not None else ["优"] * 15 + ["较好"] * 4 + ["一般"]
    for n, lvl in enumerate(levels):
        await ok(await api(c).post(f"/surveys/{s['id']}/responses", json={
            "respondent_id": f"E{n:04d}", "answers": {i["code"]: lvl for i in ITEMS}, "comment": "意见"},
            headers=purchaser(c)), 201)
    return s
