"""assessment.finalized is handled a run at a time in the registry: the same events as one batch or one at a time
(as the consumer retries a failed batch) give the same performance rows, credit records, blacklistings, audit
rows and emitted blacklistings, and the same final eligibility per (supplier, service type); a batch emits one
registry.supplier.eligibility.changed per pair whose eligibility ends up changed, as the last one-at-a-time
recheck of that pair did. A batch costs the same number of SQL statements whatever its size. Suppliers are
written straight to the registry's database, so these tests need Postgres only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.chassis.auth import Principal
from services.chassis.db import make_engine, make_session_factory
from services.chassis.inbox import Delivery
from services.chassis.policy import PolicyBook, PolicyPack
from services.chassis.uow import UnitOfWork
from services.events import Envelope
from services.events.assessment import AssessmentFinalized
from services.registry import models as m
from services.registry import service
from services.registry.handlers import handlers
from tests.service.registry.support import credit_code, month_label
from tests.support.batches import counting_statements, handle_in_one_transaction

POLICIES = PolicyBook.load(Path(__file__).resolve().parents[3] / "policies")
ELIGIBILITY = "registry.supplier.eligibility.changed"


class _Ctx:
    """What the handler uses of the service context: the policy in force (national)."""

    def policy(self, on: date | None = None, *, pack: str | None = None) -> PolicyPack:
        return POLICIES.pack(pack or "national", on)


CTX: Any = _Ctx()


@pytest.fixture
async def engine(pg_urls: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    e = make_engine(pg_urls["registry"])
    yield e
    await e.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


async def _suppliers(sessions: async_sessionmaker[AsyncSession], types: Sequence[Sequence[str]]) -> list[str]:
    """Registered, reviewed (qualified) suppliers holding a qualification for their service types, with their
    eligibility snapshots taken (as registration and review leave them)."""
    now = datetime.now(UTC)
    codes = [credit_code() for _ in types]
    async with UnitOfWork(sessions, service="registry") as uow:
        for i, (code, ts) in enumerate(zip(codes, types, strict=True)):
            uow.session.add(m.Supplier(
                code=code, name=f"常州物业服务有限公司{i}", kind="enterprise", legal_representative=None,
                address=None, region="changzhou", contacts=[], service_types=list(ts), review_id=str(uuid.uuid4()),
                review_qualified=True, review_reasons=[], reviewed_at=now, registered_at=now, updated_at=now,
                version=2))
            for t in ts:
                uow.session.add(m.SupplierServiceType(service_type=t, supplier_code=code))
            uow.session.add(m.Qualification(
                id=str(uuid.uuid4()), supplier_code=code, name="专业资质", number=f"ZZ-{i}", issuer="住建局",
                service_types=list(ts), valid_from=date(2020, 1, 1), expires_on=date(2099, 12, 31), evidence="",
                recorded_by="test", recorded_at=now))
        await uow.flush()
        await service.recheck_many(uow=uow, ctx=CTX, pairs=[(c, t) for c, ts in zip(codes, types, strict=True)
                                                            for t in ts], emit=False)
        await uow.commit()
    return codes


def _event(code: str, assessment_id: str, *, contract: str, months_ago: int, index: int, score: str,
           service_type: str = "property", **kw: Any) -> Delivery:
    s = Decimal(score)
    grade = "优秀" if s >= 90 else "良好" if s >= 80 else "合格" if s >= 60 else "不合格"
    payload = AssessmentFinalized(
        assessment_id=assessment_id, contract_id=f"K{contract}-{code}", supplier_code=code,
        service_type=service_type, department="D01", period=month_label(months_ago), period_index=index, score=s,
        grade=grade, failing=s < 60, policy="national@2020.1", **kw)
    env = Envelope.wrap(payload, source="/goumai/assessment")
    return Delivery(env.payload(), env)


def _again(d: Delivery) -> Delivery:
    """The same assessment in another envelope (a new event id)."""
    env = Envelope.wrap(d.payload, source="/goumai/assessment")
    return Delivery(env.payload(), env)


async def _handle(sessions: async_sessionmaker[AsyncSession],
                  deliveries: Sequence[Delivery]) -> tuple[list[Envelope], list[dict[str, Any]]]:
    return await handle_in_one_transaction(sessions, handlers, "assessment.finalized", deliveries,
                                           service="registry", ctx=CTX)


async def _state(sessions: async_sessionmaker[AsyncSession], codes: list[str]) -> dict[str, Any]:
    """Everything the handler writes, with row ids and stamps left out."""
    async with sessions() as session:
        def rows(model: Any, *cols: str) -> Any:
            return select(*(getattr(model, c) for c in cols)).where(model.supplier_code.in_(codes))

        performance = [tuple(r) for r in (await session.execute(rows(
            m.PerformanceRecord, "assessment_id", "supplier_code", "service_type", "contract_id", "period",
            "period_index", "period_start", "period_end", "score", "grade", "failing", "violations",
            "serious_violation", "fraud", "policy", "event_id", "recorded_on"))).all()]
        credit = [tuple(r) for r in (await session.execute(rows(
            m.CreditRecord, "supplier_code", "kind", "description", "source", "occurred_on", "assessment_id",
            "recorded_by"))).all()]
        blacklist = [tuple(r) for r in (await session.execute(rows(
            m.BlacklistEntry, "supplier_code", "supplier_name", "reason", "source", "rule", "basis", "starts_on",
            "ends_on", "state", "assessment_id", "policy", "created_by", "delisted_at"))).all()]
        snapshots = {(r.supplier_code, r.service_type): (r.eligible, r.single_source_renewal, sorted(r.reason_codes))
                     for r in (await session.execute(rows(
                         m.EligibilitySnapshot, "supplier_code", "service_type", "eligible", "single_source_renewal",
                         "reason_codes"))).all()}
    return {"performance": performance, "credit": credit, "blacklist": blacklist, "snapshots": snapshots}


def _relabel(value: Any, labels: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in labels.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {_relabel(k, labels): _relabel(v, labels) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_relabel(v, labels) for v in value)
    return value


async def _world(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[str], list[Delivery], dict[str, str]]:
    """Suppliers, results recorded before the run, and one run covering every path: two failing periods of one
    contract in the run (blacklisted by the second), a repeat of an assessment of the run and of one recorded
    before it, a failing period completing a run with one recorded before, a serious violation and fraud for
    one supplier of two service types (credit records, two blacklistings, both types rechecked), a good cycle
    (single-source renewal), one failing period (the next cycle excluded), an unregistered supplier."""
    codes = await _suppliers(sessions, [["property"], ["property", "cleaning"], ["property"], ["property"],
                                        ["property"]])
    codes.append(credit_code())  # not registered
    s0, s1, s2, s3, s4, s5 = codes
    aids = [str(uuid.uuid4()) for _ in range(12)]
    labels = {c: f"S{i}" for i, c in enumerate(codes)} | {a: f"A{i}" for i, a in enumerate(aids)}
    before = _event(s4, aids[0], contract="a", months_ago=3, index=1, score="55")
    await _handle(sessions, [before])
    first = _event(s0, aids[1], contract="a", months_ago=3, index=1, score="55")
    run = [
        first,
        _event(s0, aids[2], contract="a", months_ago=2, index=2, score="50"),
        _event(s2, aids[3], contract="a", months_ago=2, index=1, score="92"),
        _again(first),
        _event(s1, aids[4], contract="a", months_ago=1, index=1, score="75", serious_violation=True,
               violations=["safety_accident"]),
        _event(s4, aids[5], contract="a", months_ago=2, index=2, score="52"),
        _event(s2, aids[6], contract="a", months_ago=1, index=2, score="95"),
        _event(s3, aids[7], contract="a", months_ago=1, index=1, score="50"),
        _again(before),
        _event(s1, aids[8], contract="b", months_ago=1, index=1, score="80", fraud=True, service_type="cleaning"),
        _event(s5, aids[9], contract="a", months_ago=1, index=1, score="80"),
        _event(s0, aids[10], contract="a", months_ago=1, index=3, score="70"),
    ]
    labels |= {d.event.id: f"E{i}" for i, d in enumerate(run)} | {before.event.id: "P0"}
    return codes, run, labels


def _twin(d: Delivery, codes: dict[str, str], aids: dict[str, str]) -> Delivery:
    p: AssessmentFinalized = d.payload
    payload = p.model_copy(update={"supplier_code": codes[p.supplier_code],
                                   "contract_id": p.contract_id.replace(p.supplier_code, codes[p.supplier_code]),
                                   "assessment_id": aids[p.assessment_id]})
    env = Envelope.wrap(payload, source="/goumai/assessment")
    return Delivery(env.payload(), env)


def _normal(events: list[Envelope], audits: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "events": [(e.type, e.partitionkey, {k: v for k, v in e.data.items() if k != "entry_id"})
                   for e in events if e.type != ELIGIBILITY],
        "audits": [(a["action"], a["entity"], None if a["entity"] == "blacklist_entry" else a["entity_id"],
                    a["actor"], a["detail"]) for a in audits],
    }


def _codes(announced: dict[str, Any]) -> tuple[Any, ...]:
    return (announced["eligible"], announced["single_source_renewal"], announced["policy"],
            sorted(r.split(":", 1)[0] for r in announced["reasons"]))


async def _announced(sessions: async_sessionmaker[AsyncSession], code: str, service_type: str) -> dict[str, Any]:
    """The eligibility a recheck would announce now for the pair."""
    async with UnitOfWork(sessions, service="registry") as uow:
        e = await service.eligibility(uow=uow, ctx=CTX, principal=Principal(subject="test", role="auditor"),
                                      code=code, service_type=service_type, method=None, as_of=None)
    return {"supplier_code": code, "service_type": service_type, "eligible": e.eligible,
            "single_source_renewal": e.single_source_renewal,
            "reasons": sorted(f"{r.code}: {r.message}" for r in e.reasons), "policy": e.policy}


async def test_batch_and_one_by_one_give_the_same_result(sessions: async_sessionmaker[AsyncSession]) -> None:
    codes_a, run_a, labels_a = await _world(sessions)
    codes_b, run_b, labels_b = await _world(sessions)
    # world b gets the same run (its own suppliers, contracts and assessment ids; repeats stay repeats)
    by_label_b = {v: k for k, v in labels_b.items()}
    codes = {k: by_label_b[v] for k, v in labels_a.items() if v.startswith("S")}
    aids = {k: by_label_b[v] for k, v in labels_a.items() if v.startswith("A")}
    run_b = [_twin(d, codes, aids) for d in run_a]
    labels_b = {k: v for k, v in labels_b.items() if not v.startswith("E")}
    labels_b |= {d.event.id: f"E{i}" for i, d in enumerate(run_b)}
    initial = _relabel(await _state(sessions, codes_b), labels_b)["snapshots"]
    assert initial == _relabel(await _state(sessions, codes_a), labels_a)["snapshots"]

    emitted_a, audits_a = await _handle(sessions, run_a)  # one batch
    emitted_b: list[Envelope] = []
    audits_b: list[dict[str, Any]] = []
    for one in run_b:  # one at a time, each in its own transaction
        emitted, audits = await _handle(sessions, [one])
        emitted_b += emitted
        audits_b += audits

    a = _relabel({**await _state(sessions, codes_a), **_normal(emitted_a, audits_a)}, labels_a)
    b = _relabel({**await _state(sessions, codes_b), **_normal(emitted_b, audits_b)}, labels_b)
    for rows in ("performance", "credit", "blacklist"):
        a[rows], b[rows] = sorted(a[rows], key=repr), sorted(b[rows], key=repr)
    assert a == b

    # eligibility: the batch emits once per pair whose eligibility ends up changed, with the pair's final
    # eligibility, as the last one-at-a-time recheck that changed it did (in between, one at a time may have
    # emitted more: S0 failed, then was listed; its reasons' wording may have moved on since, e.g. an average)
    last_b: dict[tuple[str, str], dict[str, Any]] = {}
    for e in emitted_b:
        if e.type == ELIGIBILITY:
            last_b[(e.data["supplier_code"], e.data["service_type"])] = e.data
    last_b = _relabel(last_b, labels_b)
    changed = sorted(p for p, v in a["snapshots"].items() if initial.get(p) != v and (v[0] or v[1] or p in initial))
    # (reasons sorted: two blacklistings that start on the same day come in no particular order)
    batch = _relabel([{**e.data, "reasons": sorted(e.data["reasons"])} for e in emitted_a if e.type == ELIGIBILITY],
                     labels_a)
    assert [(d["supplier_code"], d["service_type"]) for d in batch] == changed
    assert [_codes(d) for d in batch] == [_codes(last_b[p]) for p in changed]
    assert batch == [_relabel(await _announced(sessions, by_label_b[code], t), labels_b) for code, t in changed]
    assert sum(1 for e in emitted_b if e.type == ELIGIBILITY and labels_b[e.data["supplier_code"]] == "S0") == 2

    # and the result is the one intended
    assert sorted((r[1], r[0]) for r in a["performance"]) == sorted(
        [("S0", "A1"), ("S0", "A2"), ("S0", "A10"), ("S1", "A4"), ("S1", "A8"), ("S2", "A3"), ("S2", "A6"),
         ("S3", "A7"), ("S4", "A0"), ("S4", "A5"), ("S5", "A9")])
    assert sorted((r[0], r[1], r[5]) for r in a["credit"]) == [("S1", "fraud", "A8"), ("S1", "major_violation", "A4")]
    assert sorted((r[0], r[4], r[9]) for r in a["blacklist"]) == [
        ("S0", "consecutive_failing", "A2"), ("S1", "fraud", "A8"), ("S1", "serious_violation", "A4"),
        ("S4", "consecutive_failing", "A5")]
    assert a["snapshots"] == {
        ("S0", "property"): (False, False, ["blacklisted", "last_cycle_failing"]),
        ("S1", "cleaning"): (False, False, ["blacklisted", "fraud", "major_violation"]),
        ("S1", "property"): (False, False, ["blacklisted", "fraud", "major_violation"]),
        ("S2", "property"): (True, True, []),
        ("S3", "property"): (False, False, ["last_cycle_failing"]),
        ("S4", "property"): (False, False, ["blacklisted", "last_cycle_failing"]),
        ("S5", "property"): (False, False, ["supplier_not_registered"]),
    }
    assert changed == [("S0", "property"), ("S1", "cleaning"), ("S1", "property"), ("S2", "property"),
                       ("S3", "property"), ("S4", "property")]
    assert [e[0] for e in a["events"]] == ["registry.supplier.blacklisted"] * 4


@pytest.mark.parametrize("score", ["70", "92"])
async def test_a_batch_costs_the_same_statements_whatever_its_size(engine: AsyncEngine,
                                                                   sessions: async_sessionmaker[AsyncSession],
                                                                   score: str) -> None:
    """合格 throughout: still eligible, no renewal, nothing written to the snapshots; 优秀: every pair becomes
    eligible for a single-source renewal (snapshots updated, eligibility.changed). Nothing failing, nobody
    listed."""
    async def statements(suppliers: int, periods: int) -> int:
        codes = await _suppliers(sessions, [["property"]] * suppliers)
        run = [_event(code, str(uuid.uuid4()), contract="a", months_ago=periods - i, index=i + 1, score=score)
               for i in range(periods) for code in codes]
        [handler] = handlers.handlers_for("assessment.finalized")
        async with UnitOfWork(sessions, service="registry") as uow:
            with counting_statements(engine) as seen:
                await handler(run, uow=uow, ctx=CTX)
            changed = sorted(e.data["supplier_code"] for e in uow.emitted)
            assert changed == ([] if score == "70" else sorted(codes))
            await uow.commit()
        async with sessions() as session:
            recorded = (await session.execute(select(m.PerformanceRecord.assessment_id).where(
                m.PerformanceRecord.supplier_code.in_(codes)))).all()
            renewal = (await session.execute(select(m.EligibilitySnapshot.single_source_renewal).where(
                m.EligibilitySnapshot.supplier_code.in_(codes)))).scalars().all()
        assert len(recorded) == suppliers * periods
        assert renewal == [score == "92"] * suppliers
        return len(seen)

    five = await statements(5, 1)
    fifty = await statements(10, 5)
    assert five == fifty, (five, fifty)
    assert five <= 10, five
