"""Helpers for the contract service tests: an approved budget line (through catalogue and budget), an eligible
supplier (through the registry), contract bodies, and events driven onto the bus."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from stdnum.cn import uscc

from services.chassis.bus import OutMessage
from services.chassis.calendar import business_date, utcnow
from services.chassis.money import yuan_to_fen
from services.chassis.policy import REVIEW_CONDITIONS
from services.chassis.schema import inbox
from services.events import Envelope, EventPayload
from services.events.assessment import AssessmentFinalized
from tests.support.cluster import Cluster, poll

REGION = "changzhou"
YEAR = 2025
PROBLEM = "application/problem+json"
_seq = itertools.count(int(uuid.uuid4().int % 10_000_000) * 10)


def credit_code() -> str:
    base = f"91320411{next(_seq):09d}"
    return base + uscc.calc_check_digit(base)


def dept() -> str:
    return f"CZ{uuid.uuid4().hex[:8].upper()}"


def today() -> date:
    return business_date(utcnow())


def assert_problem(r: httpx.Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body = r.json()
    assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    return body


@dataclass
class World:
    """One department of Changzhou with its catalogue, lines and suppliers, through the services' APIs."""

    c: Cluster
    department: str = field(default_factory=dept)
    catalogue_id: str | None = None
    items: dict[str, str] = field(default_factory=dict)

    def purchaser(self, **kw: Any) -> dict[str, str]:
        return self.c.auth("purchaser", org=self.department, **kw)

    def finance(self, **kw: Any) -> dict[str, str]:
        return self.c.auth("finance", org="CZCZ", region=REGION, **kw)

    def supplier(self, code: str, **kw: Any) -> dict[str, str]:
        return self.c.auth("supplier", org=code, **kw)

    @property
    def api(self) -> httpx.AsyncClient:
        return self.c.clients["contract"]

    async def catalogue_item(self, service_type: str = "property") -> str:
        """The department's 2025 catalogue (opened and issued once) holds one item per service type asked for."""
        if service_type in self.items:
            return self.items[service_type]
        cat = self.c.clients["catalogue"]
        if self.catalogue_id is None:
            r = await cat.post("/catalogues", json={"fiscal_year": YEAR, "region": REGION}, headers=self.purchaser())
            assert r.status_code == 201, r.text
            self.catalogue_id = r.json()["id"]
        code = f"IT-{uuid.uuid4().hex[:6].upper()}"
        r = await cat.post(f"/catalogues/{self.catalogue_id}/items",
                           json={"code": code, "name": "机关后勤服务", "service_type": service_type},
                           headers=self.purchaser())
        assert r.status_code == 201, r.text
        rev = (await cat.get(f"/catalogues/{self.catalogue_id}", headers=self.purchaser())).json()["version"]
        if rev["status"] == "draft":
            r = await cat.post(f"/catalogues/{self.catalogue_id}/issue",
                               json={"revision": rev["revision"], "issued_on": "2025-01-06"}, headers=self.finance())
            assert r.status_code == 200, r.text
        self.items[service_type] = code
        return code

    async def line(self, amount: str, *, service_type: str = "property", approve: bool = True,
                   finance_approve: bool | None = None) -> dict[str, Any]:
        """A budget line (一上, then 一事一议 approval); from 100万 also finance-approved unless told otherwise."""
        item = await self.catalogue_item(service_type)
        budget = self.c.clients["budget"]
        body = {"region": REGION, "fiscal_year": YEAR, "item_code": item, "name": "行政中心物业服务",
                "content": "安保、保洁、会务、设施设备维保", "recipients": "市级机关干部职工",
                "method": "public_tender", "amount": amount,
                "ex_ante_assessment": "事前绩效评估报告:服务需求充分,成本测算合理"}
        r = await budget.post("/lines", json=body, headers=self.purchaser())
        assert r.status_code == 201, r.text
        line = r.json()
        if not approve:
            return line
        r = await budget.post(f"/lines/{line['line_id']}/submit", json={"version": line["version"]},
                              headers=self.purchaser())
        assert r.status_code == 200, r.text
        r = await budget.post(f"/lines/{line['line_id']}/one-off-approval",
                              json={"version": r.json()["version"], "reason": "年度后勤保障急需"},
                              headers=self.finance())
        assert r.status_code == 200, r.text
        line = r.json()
        if finance_approve is None:
            finance_approve = line["finance_approval_required"]
        if finance_approve:
            r = await budget.post(f"/lines/{line['line_id']}/finance-approval", json={"version": line["version"]},
                                  headers=self.finance())
            assert r.status_code == 200, r.text
            line = r.json()
        return line

    async def budget_line(self, line_id: str) -> dict[str, Any]:
        r = await self.c.clients["budget"].get(f"/lines/{line_id}", headers=self.purchaser(idempotency_key=False))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def supplier_code(self, service_types: list[str] | None = None, *, qualified: bool = True) -> str:
        types = service_types or ["property"]
        code = credit_code()
        reg = self.c.clients["registry"]
        r = await reg.post("/suppliers", json={
            "credit_code": code, "name": f"常州物业服务有限公司{code[-4:]}", "kind": "enterprise",
            "contacts": [{"name": "李经理", "phone": "0519-85680000"}], "service_types": types},
            headers=self.finance())
        assert r.status_code == 201, r.text
        if not qualified:
            return code
        r = await reg.post(f"/suppliers/{code}/reviews", json={"items": [
            {"condition": c, "passed": True, "evidence": f"材料 {c}", "reviewer": "王科长"}
            for c in REVIEW_CONDITIONS]},
            headers=self.finance())
        assert r.status_code == 201 and r.json()["qualified"], r.text
        r = await reg.post(f"/suppliers/{code}/qualifications", json={
            "name": "物业服务企业资质", "number": f"ZZ-{code[-6:]}", "issuer": "住建局", "service_types": types,
            "valid_from": "2020-01-01", "expires_on": "2099-12-31"}, headers=self.finance())
        assert r.status_code == 201, r.text
        return code

    async def blacklist(self, code: str, reason: str = "提供虚假材料") -> dict[str, Any]:
        r = await self.c.clients["registry"].post("/blacklist", json={
            "supplier_code": code, "reason": reason, "source": "fraud", "years": 3}, headers=self.finance())
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    # ------------------------------------------------------------ contracts
    async def draft(self, line: dict[str, Any], supplier: str, **over: Any) -> httpx.Response:
        return await self.api.post("/contracts", json=contract_body(line, supplier, **over), headers=self.purchaser())

    async def draft_ok(self, line: dict[str, Any], supplier: str, **over: Any) -> dict[str, Any]:
        r = await self.draft(line, supplier, **over)
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    async def award(self, contract: dict[str, Any]) -> httpx.Response:
        return await self.api.post(f"/contracts/{contract['id']}/award", json={"version": contract["version"]},
                                   headers=self.purchaser())

    async def award_ok(self, contract: dict[str, Any]) -> dict[str, Any]:
        r = await self.award(contract)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def sign_both(self, contract: dict[str, Any], on: str | None = None) -> dict[str, Any]:
        day = on or today().isoformat()
        r = await self.api.post(f"/contracts/{contract['id']}/signatures",
                                json={"version": contract["version"], "signed_on": day}, headers=self.purchaser())
        assert r.status_code == 200, r.text
        r = await self.api.post(f"/contracts/{contract['id']}/signatures",
                                json={"version": r.json()["version"], "signed_on": day},
                                headers=self.supplier(contract["supplier_code"]))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert body["status"] == "signed"
        return body

    async def signed(self, amount: str = "600000.00", *, schedule: str = "monthly", supplier: str | None = None,
                     line_amount: str | None = None, **over: Any) -> dict[str, Any]:
        line = await self.line(line_amount or amount)
        code = supplier or await self.supplier_code()
        draft = await self.draft_ok(line, code, amount=amount, schedule=schedule, **over)
        return await self.sign_both(await self.award_ok(draft))

    async def get(self, contract_id: str) -> dict[str, Any]:
        r = await self.api.get(f"/contracts/{contract_id}", headers=self.purchaser(idempotency_key=False))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def transition(self, contract: dict[str, Any], action: str, reason: str | None = None,
                         headers: dict[str, str] | None = None) -> httpx.Response:
        body = {"version": contract["version"], "action": action, "reason": reason}
        return await self.api.post(f"/contracts/{contract['id']}/transitions", json=body,
                                   headers=headers or self.purchaser())


def contract_body(line: dict[str, Any], supplier: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "行政中心物业管理服务合同", "line_id": line["line_id"], "supplier_code": supplier,
        "method": "public_tender", "amount": line.get("approved_amount") or "600000.00",
        "content": "安保、保洁、会务、设施设备维修保养", "starts_on": "2025-01-01", "ends_on": "2025-12-31",
        "quantity_standard": "保洁 3 万平方米,安保 24 小时 12 岗", "quality_standard": "《物业管理服务工作标准》",
        "pricing_method": "总价包干", "schedule": "monthly", "rights_obligations": "甲方监督考核,乙方建立服务台账",
        "liability": "考核不合格按合同扣减服务费并限期整改",
        "assessment_plan": {"indicators": ["服务质量", "满意度", "安全管理"], "description": "月度考核"},
    }
    body.update(over)
    if "schedule" in over and "assessment_plan" not in over:
        body["assessment_plan"] = {**body["assessment_plan"], "frequency": over["schedule"]}
    return body


def fen(yuan: str) -> int:
    return yuan_to_fen(yuan)


def finalized(contract: dict[str, Any], period: str, grade: str, *, index: int = 1, score: str | None = None,
              assessment_id: str | None = None) -> AssessmentFinalized:
    scores = {"优秀": "95", "良好": "85", "合格": "70", "不合格": "50"}
    return AssessmentFinalized(
        assessment_id=assessment_id or str(uuid.uuid4()), contract_id=contract["id"],
        supplier_code=contract["supplier_code"], service_type=contract["service_type"],
        department=contract["department"], line_id=contract["line_id"], period=period, period_index=index,
        score=Decimal(score or scores.get(grade, "0")), grade=grade, failing=grade == "不合格",
        policy="changzhou@2024.1")


async def publish(c: Cluster, *envelopes: Envelope) -> None:
    """Put events on the bus as their producer's relay would (the same envelope twice = a redelivery)."""
    t = c.transport()
    await t.start()
    try:
        msgs = []
        for env in envelopes:
            key, value, headers = env.to_kafka()
            msgs.append(OutMessage(topic=env.topic(c.prefix), key=key, value=value, headers=tuple(headers)))
        await t.publish(msgs)
    finally:
        await t.stop()


def envelope(payload: EventPayload, source: str = "/goumai/test") -> Envelope:
    return Envelope.wrap(payload, source=source)


async def handled(c: Cluster, *event_ids: str) -> bool:
    """True once the contract service's inbox holds every one of these events (handled or dead-lettered)."""
    async with c.ctx("contract").sessions() as session:
        rows = await session.execute(select(inbox.c.event_id).where(inbox.c.event_id.in_(event_ids)))
        return len(set(rows.scalars())) == len(set(event_ids))


async def wait_handled(c: Cluster, *envelopes: Envelope) -> None:
    ids = [e.id for e in envelopes]
    await poll(lambda: handled(c, *ids), message=f"contract handled {ids}")
