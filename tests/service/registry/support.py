"""Helpers for the registry service tests: valid credit codes, a qualified supplier, assessment events."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stdnum.cn import uscc

from services.chassis.bus import OutMessage
from services.chassis.calendar import business_date, utcnow
from services.chassis.policy import REVIEW_CONDITIONS
from services.events import Envelope
from services.events.assessment import AssessmentFinalized
from tests.support.cluster import Cluster

_seq = itertools.count(int(uuid.uuid4().int % 10_000_000) * 10)


def credit_code() -> str:
    """A fresh valid unified social credit code: 17 characters and the check character stdnum computes."""
    base = f"91320400{next(_seq):09d}"
    return base + uscc.calc_check_digit(base)


def today() -> date:
    return business_date(utcnow())


def month_label(months_ago: int) -> str:
    d = today().replace(day=1)
    for _ in range(months_ago):
        d = (d - timedelta(days=1)).replace(day=1)
    return f"{d.year}-{d.month:02d}"


def supplier_body(code: str, service_types: list[str] | None = None, name: str | None = None) -> dict[str, Any]:
    return {"credit_code": code, "name": name or f"常州物业服务有限公司{code[-4:]}", "kind": "enterprise",
            "contacts": [{"name": "李经理", "phone": "0519-85680000"}],
            "service_types": service_types or ["property"]}


def review_body(failing: str | None = None) -> dict[str, Any]:
    return {"items": [{"condition": c, "passed": c != failing, "evidence": f"材料 {c}", "reviewer": "王科长"}
                      for c in REVIEW_CONDITIONS]}


async def register(c: Cluster, code: str | None = None, service_types: list[str] | None = None,
                   name: str | None = None) -> str:
    code = code or credit_code()
    r = await c.clients["registry"].post("/suppliers", json=supplier_body(code, service_types, name),
                                         headers=c.auth("finance"))
    assert r.status_code == 201, r.text
    return code


async def qualified_supplier(c: Cluster, service_types: list[str] | None = None, name: str | None = None,
                             expires_on: date | None = None) -> str:
    """Registered, reviewed (qualified) and holding a professional qualification for its service types."""
    types = service_types or ["property"]
    code = await register(c, service_types=types, name=name)
    api = c.clients["registry"]
    r = await api.post(f"/suppliers/{code}/reviews", json=review_body(), headers=c.auth("finance"))
    assert r.status_code == 201 and r.json()["qualified"], r.text
    q = {"name": "专业资质", "number": f"ZZ-{code[-6:]}", "issuer": "住建局", "service_types": types,
         "valid_from": "2020-01-01", "expires_on": (expires_on or date(2099, 12, 31)).isoformat()}
    r = await api.post(f"/suppliers/{code}/qualifications", json=q, headers=c.auth("finance"))
    assert r.status_code == 201, r.text
    return code


def finalized(code: str, *, contract_id: str, period: str, index: int, score: str, failing: bool | None = None,
              service_type: str = "property", **kw: Any) -> Envelope:
    s = Decimal(score)
    grade = "优秀" if s >= 90 else "良好" if s >= 80 else "合格" if s >= 60 else "不合格"
    payload = AssessmentFinalized(
        assessment_id=str(uuid.uuid4()), contract_id=contract_id, supplier_code=code, service_type=service_type,
        department="D01", period=period, period_index=index, score=s, grade=grade,
        failing=(s < 60) if failing is None else failing, policy="national@2020.1", **kw)
    return Envelope.wrap(payload, source="/goumai/assessment")


async def deliver(c: Cluster, *envelopes: Envelope) -> None:
    """Publish envelopes on the assessment topic as the assessment service's relay would (same id on repeat)."""
    transport = c.transport()
    await transport.start()
    try:
        topic = f"{c.prefix}.assessment"
        await transport.ensure_topics([topic])
        msgs = []
        for env in envelopes:
            key, value, headers = env.to_kafka()
            msgs.append(OutMessage(topic=topic, key=key, value=value, headers=tuple(headers)))
        await transport.publish(msgs)
    finally:
        await transport.stop()


async def eligibility(c: Cluster, code: str, service_type: str = "property", **params: Any) -> dict[str, Any]:
    r = await c.clients["registry"].get(f"/suppliers/{code}/eligibility",
                                        params={"service_type": service_type, **params},
                                        headers=c.auth("service", org="contract", idempotency_key=False))
    assert r.status_code == 200, r.text
    return dict(r.json())


def reason_codes(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"]]
