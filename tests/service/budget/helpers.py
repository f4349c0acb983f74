"""Helpers for the budget service tests: catalogue items through the catalogue's API, lines through
two-up-two-down, events delivered to the budget consumer (twice, to check exactly-once effects)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from services.chassis.bus import InMessage, OutMessage
from services.chassis.calendar import business_date, utcnow
from services.events import Envelope, EventPayload
from tests.support.cluster import Cluster


def uid(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@dataclass
class Dept:
    """A department with its catalogue for a year, in a region with its finance bureau."""

    c: Cluster
    code: str
    region: str
    year: int
    catalogue_id: str

    def purchaser(self, **kw: Any) -> dict[str, str]:
        return self.c.auth("purchaser", org=self.code, **kw)

    def finance(self, **kw: Any) -> dict[str, str]:
        return self.c.auth("finance", org=f"FIN-{self.region}", region=self.region, **kw)


THIS_YEAR = business_date(utcnow()).year


async def catalogue_for(c: Cluster, *, year: int = THIS_YEAR, region: str | None = None,
                        items: list[tuple[str, str, str]] | None = None, department: str | None = None) -> Dept:
    """Open, fill and issue a department's catalogue through the catalogue service's API.
    `items`: (code, name, service type key)."""
    code = department or uid("D")
    region = region or uid("R")
    cat = c.clients["catalogue"]
    pur = c.auth("purchaser", org=code)
    r = await cat.post("/catalogues", json={"fiscal_year": year, "region": region}, headers=pur)
    assert r.status_code == 201, r.text
    cat_id = r.json()["id"]
    for item_code, name, stype in items or [("PROP-01", "机关办公区物业管理服务", "property")]:
        r = await cat.post(f"/catalogues/{cat_id}/items", headers=c.auth("purchaser", org=code),
                           json={"code": item_code, "name": name, "service_type": stype,
                                 "description": f"{name}(保洁、秩序维护、设备运行维护)"})
        assert r.status_code == 201, r.text
    def fin() -> dict[str, str]:
        return c.auth("finance", org=f"FIN-{region}", region=region)

    r = await cat.get(f"/catalogues/{cat_id}", headers=fin())
    assert r.status_code == 200, r.text
    r = await cat.post(f"/catalogues/{cat_id}/issue", headers=fin(),
                       json={"revision": r.json()["version"]["revision"], "issued_on": f"{year}-01-05"})
    assert r.status_code == 200, r.text
    r = await cat.post(f"/catalogues/{cat_id}/publish", headers=fin(),
                       json={"revision": r.json()["version"]["revision"], "published_on": f"{year}-01-06"})
    assert r.status_code == 200, r.text
    return Dept(c, code, region, year, cat_id)


def line_body(d: Dept, *, amount: str = "800000.00", item_code: str = "PROP-01", method: str = "public_tender",
              name: str | None = None, ex_ante: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {"region": d.region, "fiscal_year": d.year, "item_code": item_code, "name": name or f"物业服务 {uid()}",
            "content": "办公区保洁、秩序维护、设备运行维护", "recipients": "市级机关干部职工", "method": method,
            "amount": amount}
    if ex_ante is not None:
        body["ex_ante_assessment"] = ex_ante
    body.update(extra)
    return body


async def create_line(d: Dept, **kw: Any) -> dict[str, Any]:
    r = await d.c.clients["budget"].post("/lines", json=line_body(d, **kw), headers=d.purchaser())
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def approved_line(d: Dept, *, control: str | None = None, finance_approve: bool = True,
                        **kw: Any) -> dict[str, Any]:
    """一上 → 一下 → 二上 → 二下 (and finance's approval before purchase when the line needs it)."""
    b = d.c.clients["budget"]
    line = await create_line(d, **kw)
    lid = line["line_id"]
    r = await b.post(f"/lines/{lid}/submit", json={}, headers=d.purchaser())
    assert r.status_code == 200, r.text
    r = await b.post(f"/lines/{lid}/control-figure", json={"amount": control or line["amount"]},
                     headers=d.finance())
    assert r.status_code == 200, r.text
    r = await b.post(f"/lines/{lid}/resubmit", json={}, headers=d.purchaser())
    assert r.status_code == 200, r.text
    r = await b.post(f"/lines/{lid}/approve", json={}, headers=d.finance())
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    if finance_approve and out["finance_approval_required"]:
        r = await b.post(f"/lines/{lid}/finance-approval", json={}, headers=d.finance())
        assert r.status_code == 200, r.text
        out = r.json()
    return out


def envelope(payload: EventPayload, source: str) -> Envelope:
    return Envelope.wrap(payload, source=f"/goumai/{source}")


def in_message(c: Cluster, env: Envelope, offset: int = 0) -> InMessage:
    key, value, headers = env.to_kafka()
    return InMessage(topic=env.topic(c.prefix), partition=0, offset=offset, key=key, value=value,
                     headers=tuple(headers))


async def deliver(c: Cluster, env: Envelope, *, times: int = 2) -> None:
    """Hand the same event to the budget consumer `times` times (a redelivery), as the loop would."""
    consumer = c.ctx("budget").consumer
    assert consumer is not None
    for i in range(times):
        await consumer.process([in_message(c, env, i)])


async def publish(c: Cluster, *envs: Envelope) -> None:
    """Publish envelopes to Kafka as their producers' relays would (the same one twice = a redelivery)."""
    transport = c.ctx("budget").transport
    msgs = []
    for env in envs:
        key, value, headers = env.to_kafka()
        msgs.append(OutMessage(topic=env.topic(c.prefix), key=key, value=value, headers=tuple(headers)))
    await transport.publish(msgs)
