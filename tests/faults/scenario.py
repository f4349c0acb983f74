"""One compact purchase cycle for the fault tests, with every amount known to the fen beforehand, and the check
that it closed exactly once: a quarterly contract of 800000.03 (200000.01 × 3 + 200000.00) on a line of
900000.00, its quarters graded 合格, 优秀, 不合格, 不合格 — so the settlements pay 90%, 100% (+10% reward),
70%, 70%; the two failing quarters blacklist the supplier, flag the contract and make it ineligible; every result
is attached to the line; then the contract is terminated and the withheld rest released."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.chassis.bus import Consumer, OutMessage, Transport
from services.events import Envelope
from tests.support.cluster import EventProbe, poll
from tests.support.flow import YEAR, Goumai, World, fen, percent_of

LINE = "900000.00"
AMOUNT = "800000.03"
PERIODS = [f"{YEAR}-Q{q}" for q in range(1, 5)]
GRADES = dict(zip(PERIODS, ["合格", "优秀", "不合格", "不合格"], strict=True))
FACTORS = {"优秀": "100", "良好": "100", "合格": "90", "不合格": "70"}
INSTALMENTS = dict(zip(PERIODS, [20000001, 20000001, 20000001, 20000000], strict=True))
PAID = {p: percent_of(INSTALMENTS[p], FACTORS[g]) for p, g in GRADES.items()}
# 180000.01 (180000.009 half-up) + 200000.01 + 140000.01 (140000.007) + 140000.00 = 660000.03
assert sum(PAID.values()) == 66000003 and sum(INSTALMENTS.values()) == fen(AMOUNT)
REWARD = {p: percent_of(INSTALMENTS[p], "10") if g == "优秀" else 0 for p, g in GRADES.items()}  # 20000.00 for Q2
PAID_OUT = sum(PAID.values()) + sum(REWARD.values())  # the reward is a payment of its own, from the line's free funds


class DoublingTransport:
    """Delivers every message twice: the relay's batch is published, then published again — as when a relay
    crashes after the broker acknowledged a batch and before it marked the rows sent."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.name = inner.name
        self.published = 0

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def publish(self, messages: Sequence[OutMessage]) -> None:
        await self.inner.publish(messages)
        await self.inner.publish(messages)
        self.published += 2 * len(messages)

    def consumer(self, *, group: str, topics: Sequence[str]) -> Consumer:
        return self.inner.consumer(group=group, topics=topics)

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        await self.inner.ensure_topics(topics)

    async def ping(self) -> bool:
        return await self.inner.ping()

    async def describe(self) -> str:
        return f"{await self.inner.describe()} (every message twice)"


@dataclass
class Cycle:
    w: World
    line: dict[str, Any]
    contract: dict[str, Any]
    supplier: str
    plan: dict[str, Any]

    @property
    def g(self) -> Goumai:
        return self.w.g


async def prepare(g: Goumai) -> Cycle:
    """Catalogue, line, supplier, award and signature through the gateway; the plan once contract.signed is in."""
    w = World(g)
    [item] = await w.catalogue("property")
    line = await w.line(item, LINE)
    supplier = await w.supplier_code()
    contract = await w.signed(line, supplier, AMOUNT, schedule="quarterly")
    assert {i["period"]: fen(i["amount"]) for i in contract["instalments"]} == INSTALMENTS
    return Cycle(w, line, contract, supplier, await w.plan(contract))


async def assess(cycle: Cycle, *periods: str) -> list[dict[str, Any]]:
    return [await cycle.w.assess(cycle.plan, p, GRADES[p]) for p in periods]


async def settled_and_paid(cycle: Cycle, *, timeout: float = 60) -> None:
    """Wait (with a deadline) until the four settlements are in and the line's paid amount is all of them."""
    await cycle.w.settled(cycle.contract["id"], len(PERIODS), timeout=timeout)

    async def paid() -> bool:
        return fen((await cycle.w.get_line(cycle.line["line_id"]))["paid"]) >= PAID_OUT

    await poll(paid, timeout=timeout, message="every settlement paid on the budget line")


async def terminate(cycle: Cycle) -> None:
    """Once the blacklisting has flagged the contract for termination review, the purchaser terminates it."""
    async def flagged() -> dict[str, Any] | None:
        c = await cycle.w.get_contract(cycle.contract["id"])
        return c if c["flagged"] else None

    c = await poll(flagged, timeout=30, message="the contract flagged for termination review")
    ended = await cycle.w.transition(c, "terminate", "连续两期考核不合格,解除合同")
    assert ended["status"] == "terminated"

    async def released() -> bool:
        line = await cycle.w.get_line(cycle.line["line_id"])
        return bool(line["reserved"] == "0.00")

    await poll(released, timeout=30, message="the unspent reservation released")


async def check_closed_once(cycle: Cycle, probe: EventProbe, *, copies: int | None = None) -> None:
    """Everything happened, once, and adds up to the fen. `copies`: how many messages each event must have been
    on the bus as (2 when every message was delivered twice); None: at least one."""
    w, cid, code, lid = cycle.w, cycle.contract["id"], cycle.supplier, cycle.line["line_id"]
    # contract: one settlement per period, instalment × factor, the rest withheld
    body = await w.settlements(cid)
    assert body["total"] == 4, body
    by = {s["period"]: s for s in body["items"]}
    for p, grade in GRADES.items():
        s = by[p]
        assert (s["grade"], fen(s["instalment"]), fen(s["amount"])) == (grade, INSTALMENTS[p], PAID[p]), s
        assert fen(s["withheld"]) == INSTALMENTS[p] - PAID[p], s
        assert fen(s["reward"]) == REWARD[p], s
    assert fen(body["settled_amount"]) == sum(PAID.values())
    assert fen(body["settled_amount"]) + fen(body["withheld_total"]) == fen(AMOUNT)
    contract = await w.get_contract(cid)
    assert contract["status"] == "terminated" and "连续两期考核不合格" in contract["flag_reason"], contract
    # budget: four payments, one release of the rest; results attached once each
    line = await w.get_line(lid)
    paid = PAID_OUT
    assert (fen(line["paid"]), fen(line["reserved"]), fen(line["available"])) == (
        paid, 0, fen(LINE) - paid), line
    assert line["flags"] == [], line["flags"]  # nothing refused on the way (e.g. a payment made a second time)
    assert sorted((r["period"], r["grade"]) for r in line["results"]) == sorted(GRADES.items()), line["results"]
    ledger = await w.call("GET", f"/api/budget/lines/{lid}/ledger", w.purchaser)
    kinds = collections.Counter(e["kind"] for e in ledger["entries"])
    assert (kinds["reserve"], kinds["payment"], kinds["release"]) == (1, 5, 1), ledger["entries"]  # 4 + a reward
    [release] = [e for e in ledger["entries"] if e["kind"] == "release"]
    assert fen(release["amount"]) == fen(AMOUNT) - sum(PAID.values())  # 140000.00 withheld, released at termination
    # registry: four periods in the history, one blacklisting, not eligible
    perf = await w.call("GET", f"/api/registry/suppliers/{code}/performance", w.finance)
    assert sorted(p["period"] for p in perf["periods"]) == PERIODS, perf
    entries = await w.call("GET", "/api/registry/blacklist", w.finance, params={"supplier_code": code})
    assert entries["total"] == 1 and entries["items"][0]["rule"] == "consecutive_failing", entries
    elig = await w.eligibility(code)
    assert elig["eligible"] is False and {r["code"] for r in elig["reasons"]} >= {"blacklisted"}, elig

    # the bus: each effect's event once (by CloudEvents id), each as many copies as the transport made
    await probe.settle(1.0)
    expected = {
        "assessment.finalized": (lambda d: d["contract_id"] == cid, 4),
        "contract.settlement.approved": (lambda d: d["contract_id"] == cid, 4),
        "budget.payment.recorded": (lambda d: d.get("contract_id") == cid, 5),  # four settlements, a reward
        "registry.supplier.blacklisted": (lambda d: d["supplier_code"] == code, 1),
        "contract.flagged": (lambda d: d["contract_id"] == cid, 1),
        "contract.terminated": (lambda d: d["contract_id"] == cid, 1),
        "budget.funds.released": (lambda d: d.get("contract_id") == cid, 1),
    }
    for type_, (where, n) in expected.items():
        seen = probe.matching(type_, where)
        ids = collections.Counter(e.id for e in seen)
        assert len(ids) == n, f"{type_}: {len(ids)} distinct events, expected {n}: {_short(seen)}"
        if copies is not None:
            assert set(ids.values()) == {copies}, f"{type_}: copies {dict(ids)}"
    payments = _unique(probe.matching("budget.payment.recorded", expected["budget.payment.recorded"][0]))
    assert sum(fen(e.data["amount"]) for e in payments) == paid
    assert max(fen(e.data["paid_total"]) for e in payments) == paid


def _unique(events: list[Envelope]) -> list[Envelope]:
    return list({e.id: e for e in events}.values())


def _short(events: list[Envelope]) -> list[tuple[str, str]]:
    return [(e.id[:8], e.subject) for e in events]
