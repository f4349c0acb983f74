"""Finance governs its region only: a finance token of region A reads region A's plans, findings, sheets,
surveys and assessments; region B's answer 404 and lists leave them out. Auditors and region-less finance
read everything. A plan takes its region from contract.signed, else from the body, else from the purchaser."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.assessment import service
from services.assessment.models import KnownContract
from services.events.contract import ContractSigned
from tests.service.assessment.helpers import SUPPLIER, api, make_plan, ok, purchaser, sheets, survey
from tests.support.cluster import poll

A, B = "410100", "310000"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "clock", lambda: datetime(2025, 9, 29, 2, 0, tzinfo=UTC))


async def test_finance_reads_its_own_region_only(cluster, frozen) -> None:
    c = await cluster("assessment")
    mine = await make_plan(c, region=A)
    theirs = await make_plan(c, region=B)
    assert mine["region"] == A and theirs["region"] == B
    await sheets(c, theirs["id"], "2025-09")
    s = await survey(c, theirs["id"], "2025-09")
    draft = await ok(await api(c).post(f"/plans/{theirs['id']}/assessments", json={"period": "2025-09"},
                                       headers=purchaser(c)), 201)
    fin_a, fin_b = c.auth("finance", org="F-410100", region=A), c.auth("finance", org="F-310000", region=B)

    await ok(await api(c).get(f"/plans/{mine['id']}", headers=fin_a))
    for path in (f"/plans/{theirs['id']}", f"/plans/{theirs['id']}/findings", f"/plans/{theirs['id']}/sheets",
                 f"/surveys/{s['id']}", f"/assessments/{draft['id']}"):
        r = await api(c).get(path, headers=fin_a)
        assert r.status_code == 404, (path, r.text)
        await ok(await api(c).get(path, headers=fin_b))
    publish = await api(c).post(f"/assessments/{draft['id']}/publish", headers=fin_a)
    assert publish.status_code == 404

    listed = await ok(await api(c).get("/plans", params={"limit": 200}, headers=fin_a))
    ids = {p["id"] for p in listed["items"]}
    assert mine["id"] in ids and theirs["id"] not in ids and all(p["region"] == A for p in listed["items"])
    one = await ok(await api(c).get("/plans", params={"contract_id": theirs["contract_id"]}, headers=fin_a))
    assert one["total"] == 0 and one["items"] == []
    gone = await ok(await api(c).get("/assessments", params={"contract_id": theirs["contract_id"]}, headers=fin_a))
    assert gone["total"] == 0
    seen = await ok(await api(c).get("/assessments", params={"contract_id": theirs["contract_id"]}, headers=fin_b))
    assert [a["id"] for a in seen["items"]] == [draft["id"]]

    for everyone in (c.auth("auditor"), c.auth("finance", org="F-ALL")):  # no region: not confined
        await ok(await api(c).get(f"/plans/{theirs['id']}", headers=everyone))
        await ok(await api(c).get(f"/assessments/{draft['id']}", headers=everyone))


async def test_plan_region_from_the_signed_contract_or_the_purchaser(cluster) -> None:
    c = await cluster("assessment")
    cid = f"C-{uuid.uuid4().hex[:10]}"
    async with c.ctx("assessment").uow() as uow:
        uow.emit(ContractSigned(contract_id=cid, supplier_code=SUPPLIER, line_id="L-7", signed_on=date(2025, 1, 2),
                                starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31), amount=120_000_00,
                                service_type="包厨服务", department="D01", schedule="quarterly", region=B))
        await uow.commit()

    async def known() -> bool:
        async with c.ctx("assessment").sessions() as s:
            row = await s.get(KnownContract, cid)
            return row is not None and row.region == B

    await poll(known, timeout=30, message="contract.signed consumed with its region")
    mismatch = await api(c).post("/plans", json={"contract_id": cid, "region": A}, headers=purchaser(c))
    assert mismatch.status_code == 422 and mismatch.json()["field"] == "region"
    plan = await ok(await api(c).post("/plans", json={"contract_id": cid, "assessor_org": "A01"},
                                      headers=purchaser(c)), 201)
    assert plan["region"] == B
    r = await api(c).get(f"/plans/{plan['id']}", headers=c.auth("finance", org="F-410100", region=A))
    assert r.status_code == 404

    regional = c.auth("purchaser", org="D01", region=A)
    body = {"contract_id": f"C-{uuid.uuid4().hex[:10]}", "supplier_code": SUPPLIER, "service_type": "包厨服务",
            "department": "D01", "period_kind": "monthly", "periods": ["2025-08"], "assessor_org": "A01"}
    plan = await ok(await api(c).post("/plans", json=body, headers=regional), 201)
    assert plan["region"] == A
    other = await api(c).post("/plans", json={**body, "contract_id": f"C-{uuid.uuid4().hex[:10]}", "region": B},
                              headers=c.auth("purchaser", org="D01", region=A))
    assert other.status_code == 403 and other.json()["field"] == "region"
