"""assessment.finalized is handled a run at a time: the same events as one batch or one at a time (as the consumer
retries a failed batch) give the same rows, amounts, audit rows and emitted events, and a batch costs the same
number of SQL statements whatever its size. Contracts and instalments are written straight to the contract
service's database, so these tests need Postgres only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.chassis.db import make_engine, make_session_factory
from services.chassis.inbox import Delivery
from services.contract import domain as d
from services.contract import models as m
from services.contract.handlers import handlers
from services.events import Envelope
from services.events.assessment import AssessmentFinalized
from tests.support.batches import counting_statements, handle_in_one_transaction

RULE = d.PaymentRule({"优秀": Decimal(100), "良好": Decimal(100), "合格": Decimal(90), "不合格": Decimal(70)},
                     Decimal(10), policy="changzhou@2024.1")
SCORES = {"优秀": "95", "良好": "85", "合格": "70", "不合格": "50"}


@pytest.fixture
async def engine(pg_urls: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    e = make_engine(pg_urls["contract"])
    yield e
    await e.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


async def _contracts(sessions: async_sessionmaker[AsyncSession], *statuses: str,
                     amount_fen: int = 100_000_07) -> list[str]:
    """Contracts in these states with a monthly schedule over 2025 (12 instalments, remainder first)."""
    now = datetime.now(UTC)
    ids = []
    async with sessions() as session:
        for status in statuses:
            cid = str(uuid.uuid4())
            ids.append(cid)
            session.add(m.Contract(
                id=cid, version=3, status=status, title="行政中心物业管理服务合同", department="CZTEST",
                region="changzhou", line_id=f"L-{cid[:8]}", item_code="IT-1", fiscal_year=2025,
                service_type="property", supplier_code=f"S-{cid[:8]}", supplier_name="常州物业", amount_fen=amount_fen,
                method="public_tender", renewal_of=None, method_decision={}, method_outside_policy=False,
                method_justification=None, content="安保、保洁", starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31),
                term_months=12, continuous_service=False, continuous_basis=None, long_term=False,
                quantity_standard="q", quality_standard="q", pricing_method="总价包干", schedule="monthly",
                payment_rule=RULE.as_dict(), rights_obligations="r", liability="l",
                assessment_plan={"frequency": "monthly"}, policy="changzhou@2024.1", reservation_id=str(uuid.uuid4()),
                awarded_at=now, signed_on=date(2025, 1, 1), created_by="test", created_at=now, updated_at=now))
        await session.flush()
        for cid in ids:
            for i in d.build_schedule(amount_fen, date(2025, 1, 1), date(2025, 12, 31), "monthly"):
                session.add(m.Instalment(contract_id=cid, seq=i.seq, period=i.period, starts_on=i.starts_on,
                                         ends_on=i.ends_on, amount_fen=i.amount_fen, partial=i.partial))
        await session.commit()
    return ids


def _event(contract_id: str, period: str, grade: str, assessment_id: str | None = None) -> Delivery:
    payload = AssessmentFinalized(
        assessment_id=assessment_id or str(uuid.uuid4()), contract_id=contract_id, supplier_code="S",
        service_type="property", department="CZTEST", line_id="L", period=period, period_index=1,
        score=Decimal(SCORES[grade]), grade=grade, failing=grade == "不合格", policy="changzhou@2024.1")
    env = Envelope.wrap(payload, source="/goumai/test")
    return Delivery(env.payload(), env)


async def _handle(sessions: async_sessionmaker[AsyncSession],
                  deliveries: Sequence[Delivery]) -> tuple[list[Envelope], list[dict[str, Any]]]:
    return await handle_in_one_transaction(sessions, handlers, "assessment.finalized", deliveries,
                                           service="contract")


async def _state(sessions: async_sessionmaker[AsyncSession], ids: list[str]) -> dict[str, Any]:
    """Everything the handler writes, with row ids, stamps and event ids left out."""
    async with sessions() as session:
        rows = list((await session.execute(select(m.Contract).where(m.Contract.id.in_(ids)))).scalars())
        contracts = {c.id: (c.status, c.version) for c in rows}
        refs = {c.id: {"line": c.line_id, "reservation": c.reservation_id, "supplier": c.supplier_code} for c in rows}
        settlements = [
            (r.contract_id, r.period, r.period_index, r.assessment_id, r.score, r.grade, r.instalment_fen,
             r.factor_percent, r.amount_fen, r.withheld_fen, r.withheld_reason, r.reward_fen, r.policy, r.status)
            for r in (await session.execute(select(m.Settlement).where(m.Settlement.contract_id.in_(ids))
                                            .order_by(m.Settlement.contract_id, m.Settlement.period))).scalars()]
        ledger = sorted(
            (r.contract_id, r.kind, r.period, r.title, r.summary, r.amount_fen, r.recorded_by)
            for r in (await session.execute(select(m.LedgerEntry).where(m.LedgerEntry.contract_id.in_(ids)))
                      ).scalars())
        transitions = sorted(
            (r.contract_id, r.from_status, r.to_status, r.reason, r.actor)
            for r in (await session.execute(select(m.Transition).where(m.Transition.contract_id.in_(ids))
                                            )).scalars())
        settlement_ids = {(r.contract_id, r.period): r.id for r in (await session.execute(
            select(m.Settlement).where(m.Settlement.contract_id.in_(ids)))).scalars()}
    return {"contracts": contracts, "settlements": settlements, "ledger": ledger, "transitions": transitions,
            "settlement_ids": settlement_ids, "refs": refs}


def _relabel(value: Any, labels: dict[str, str]) -> Any:
    if isinstance(value, str):
        return labels.get(value, value)
    if isinstance(value, dict):
        return {k: _relabel(v, labels) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_relabel(v, labels) for v in value)
    return value


def _normal(state: dict[str, Any], emitted: list[Envelope], audits: list[dict[str, Any]],
            ids: list[str]) -> dict[str, Any]:
    labels = {cid: f"C{i}" for i, cid in enumerate(ids)}
    labels.update({sid: f"S:{labels[cid]}:{period}" for (cid, period), sid in state["settlement_ids"].items()})
    labels.update({ref: f"{labels[cid]}.{what}" for cid, refs in state["refs"].items() for what, ref in refs.items()})
    rest = {k: v for k, v in state.items() if k not in ("settlement_ids", "refs")}
    out: dict[str, Any] = _relabel({
        **rest,
        "contracts": {labels[k]: v for k, v in rest["contracts"].items()},
        "emitted": [(e.type, e.partitionkey, e.data) for e in emitted],
        "audits": [(a["action"], a["entity"], a["entity_id"], a["actor"], a["detail"]) for a in audits],
    }, labels)
    for unordered in ("settlements", "ledger", "transitions"):
        out[unordered] = sorted(out[unordered], key=repr)
    return out


async def _world(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[str], list[Delivery]]:
    """Contracts and one run of events covering every path: first settlements (signed → performing), two periods
    of one contract, a second assessment of a period in the same run (kept / duplicate_period), the same
    assessment twice, a period settled before the run, an unknown period, an unknown contract, a contract not in
    a settleable state, a suspended contract."""
    signed, signed2, performing, awarded, suspended = ids = await _contracts(
        sessions, d.SIGNED, d.SIGNED, d.PERFORMING, d.AWARDED, d.SUSPENDED)
    # settled before the run
    await _handle(sessions, [_event(performing, "2025-01", "良好", assessment_id="A-prior")])
    again = "A-again"
    run = [
        _event(signed, "2025-01", "合格", assessment_id="A1"),
        _event(signed, "2025-02", "优秀", assessment_id="A2"),
        _event(signed, "2025-01", "优秀", assessment_id="A3"),          # second assessment, same run
        _event(signed2, "2025-03", "不合格", assessment_id=again),
        _event(signed2, "2025-03", "不合格", assessment_id=again),      # the same assessment again
        _event(performing, "2025-01", "合格", assessment_id="A4"),      # settled before the run
        _event(performing, "2025-02", "合格", assessment_id="A5"),
        _event(performing, "2026-01", "合格", assessment_id="A6"),      # not in the schedule
        _event(str(uuid.uuid4()), "2025-01", "合格", assessment_id="A7"),  # not our contract
        _event(awarded, "2025-01", "合格", assessment_id="A8"),         # not settleable
        _event(suspended, "2025-12", "良好", assessment_id="A9"),
        _event(signed2, "2025-04", "合格", assessment_id="A10"),
    ]
    return ids, run


async def test_batch_and_one_by_one_give_the_same_result(sessions: async_sessionmaker[AsyncSession]) -> None:
    ids_a, run_a = await _world(sessions)
    ids_b, run_b = await _world(sessions)
    # the same events for world b: contract ids swapped, assessment ids kept
    swap = dict(zip(ids_a, ids_b, strict=True))
    run_b = [_event(swap.get(r.payload.contract_id, r.payload.contract_id), r.payload.period, r.payload.grade,
                    assessment_id=r.payload.assessment_id) for r in run_a]

    emitted_a, audits_a = await _handle(sessions, run_a)  # one batch
    emitted_b: list[Envelope] = []
    audits_b: list[dict[str, Any]] = []
    for one in run_b:  # one at a time, each in its own transaction
        emitted, audits = await _handle(sessions, [one])
        emitted_b += emitted
        audits_b += audits

    a = _normal(await _state(sessions, ids_a), emitted_a, audits_a, ids_a)
    b = _normal(await _state(sessions, ids_b), emitted_b, audits_b, ids_b)
    assert a == b

    # and the result is the one intended
    assert a["contracts"] == {"C0": ("performing", 4), "C1": ("performing", 4), "C2": ("performing", 3),
                              "C3": ("awarded", 3), "C4": ("suspended", 3)}
    settled = {(s[0], s[1]): (s[3], s[8], s[9], s[11]) for s in a["settlements"]}
    assert settled == {
        ("C0", "2025-01"): ("A1", 750001, 83333, 0),          # 8333.34 × 90% half-up; the rest withheld
        ("C0", "2025-02"): ("A2", 833334, 0, 83333),          # 优秀: all paid, 10% reward
        ("C1", "2025-03"): ("A-again", 583334, 250000, 0),    # 8333.34 × 70%
        ("C1", "2025-04"): ("A10", 750001, 83333, 0),
        ("C2", "2025-01"): ("A-prior", 833334, 0, 0),
        ("C2", "2025-02"): ("A5", 750001, 83333, 0),
        ("C4", "2025-12"): ("A9", 833333, 0, 0),
    }
    assert [e[0] for e in a["emitted"]] == ["contract.settlement.approved"] * 6
    assert [x[0] for x in a["audits"]] == [
        "contract.settlement.approved", "contract.settlement.approved", "contract.settlement.duplicate_period",
        "contract.settlement.approved", "contract.settlement.duplicate_period", "contract.settlement.approved",
        "contract.settlement.unmatched", "contract.settlement.skipped", "contract.settlement.approved",
        "contract.settlement.approved"]
    assert a["audits"][2][4] == {"period": "2025-01", "kept": "A1", "ignored": "A3"}
    assert a["transitions"] == [("C0", "signed", "performing", "first period settled (2025-01)", "system"),
                                ("C1", "signed", "performing", "first period settled (2025-03)", "system")]


async def _count_batch(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], n: int) -> list[str]:
    """A batch of n events over n/2 signed contracts (two periods each): settlements, ledger entries, the first
    period's transition to performing, a second assessment of a period."""
    ids = await _contracts(sessions, *[d.SIGNED] * ((n + 1) // 2))
    run = [_event(ids[i // 2], f"2025-{i % 2 + 1:02d}", "合格") for i in range(n - 1)]
    run.append(_event(ids[0], "2025-01", "优秀"))  # a second assessment of a settled period
    with counting_statements(engine) as statements:
        await _handle(sessions, run)
    async with sessions() as session:
        settled = (await session.execute(select(m.Settlement).where(m.Settlement.contract_id.in_(ids)))).all()
    assert len(settled) == n - 1
    return statements


async def test_a_batch_costs_the_same_statements_whatever_its_size(
        engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
    await _count_batch(engine, sessions, 5)  # warm up (prepared statements, the pool)
    five = await _count_batch(engine, sessions, 5)
    fifty = await _count_batch(engine, sessions, 50)
    assert len(five) == len(fifty), (len(five), len(fifty), five, fifty)
    assert len(five) <= 12, five
