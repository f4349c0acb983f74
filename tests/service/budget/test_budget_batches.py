"""The hot handlers take a run of events at once (contract.settlement.approved, assessment.finalized): a run
handled as one batch ends in the same rows, amounts, ledger, audit trail and emitted events as the same
events handled one at a time (also when several events of the run touch the same line, reservation or
settlement), and a batch costs the same number of SQL statements whether it holds 5 events or 50."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.budget.handlers import handlers
from services.budget.models import BudgetLine, Filing, LedgerEntry, LineResult, Payment, Reservation
from services.chassis.app import ServiceContext
from services.chassis.calendar import utcnow
from services.chassis.inbox import EventConsumer
from services.chassis.schema import audit_log, outbox
from services.chassis.uow import UnitOfWork
from services.events import Envelope
from services.events.assessment import AssessmentFinalized
from services.events.contract import ContractSettlementApproved
from tests.service.budget.helpers import envelope, in_message
from tests.support.batches import counting_statements
from tests.support.cluster import Cluster


class CountingConsumer(EventConsumer):
    """The budget consumer, driven by hand; counts its transactions (a failed batch retried one event at a
    time would show as more than one)."""

    def __init__(self, c: Cluster) -> None:
        ctx = c.ctx("budget")
        super().__init__(service="budget", transport=ctx.transport, session_factory=ctx.sessions,
                         handlers=handlers, ctx=ctx, topic_prefix=c.prefix, group=f"{c.prefix}.budget.batch")
        self.transactions = 0

    def _uow(self) -> UnitOfWork:
        self.transactions += 1
        return super()._uow()


@dataclass
class World:
    """Lines and reservations whose ids all carry `tag`, so two worlds compare once the tag is blanked."""

    tag: str

    def id(self, role: str) -> str:
        return f"{self.tag}-{role}"


def _line(w: World, role: str, *, approved: int, reserved: int, filing_required: bool = False) -> BudgetLine:
    now = utcnow()
    return BudgetLine(
        id=w.id(role), version=1, department=f"D{w.tag}", region=f"R{w.tag}", fiscal_year=2025,
        item_code="PROP-01", item_name="机关办公区物业管理服务", catalogue_id=None, catalogue_version=None,
        name=f"物业服务 {role}", content="保洁", recipients="机关", method="public_tender",
        service_type="property", level1_class="", requested_fen=approved, control_fen=approved,
        amount_fen=approved, approved_fen=approved, reserved_fen=reserved, paid_fen=0, ex_ante_assessment=None,
        status="approved", one_off=False, finance_approval_required=False, finance_approved=False,
        filing_required=filing_required, item_withdrawn=False, flags=[], policy_ref="national@2020.1",
        created_by="test", created_at=now, updated_at=now)


def _reservation(w: World, role: str, line_role: str, amount: int, contract_role: str) -> Reservation:
    return Reservation(id=w.id(role), line_id=w.id(line_role), contract_id=w.id(contract_role), amount_fen=amount,
                       paid_fen=0, released_fen=0, available_after_fen=0, status="active", created_at=utcnow())


async def _seed(ctx: ServiceContext, rows: Sequence[BudgetLine | Reservation]) -> None:
    async with ctx.sessions() as s:
        s.add_all([r for r in rows if isinstance(r, BudgetLine)])
        await s.flush()
        s.add_all([r for r in rows if isinstance(r, Reservation)])
        await s.commit()


def _settlement(w: World, settlement: str, reservation: str, amount: int, *, line: str = "L0") -> Envelope:
    return envelope(ContractSettlementApproved(
        contract_id=w.id("C"), settlement_id=w.id(settlement), line_id=w.id(line), reservation_id=w.id(reservation),
        supplier_code="91610000X", period="2025-01", grade="合格", instalment=amount, factor_percent="100",
        amount=amount, withheld=0, assessment_id=w.id(f"asm-{settlement}"), policy="national@2020.1"), "contract")


def _finalized(w: World, assessment: str, line: str | None, contract: str, *, score: str = "92.5",
               grade: str = "优秀") -> Envelope:
    return envelope(AssessmentFinalized(
        assessment_id=w.id(assessment), contract_id=w.id(contract), supplier_code="91610000X",
        service_type="property", department=f"D{w.tag}", line_id=None if line is None else w.id(line),
        period="2025-H1", period_index=1, score=Decimal(score), grade=grade, failing=grade == "不合格",
        policy="national@2020.1"), "assessment")


async def _handle(c: Cluster, envs: Sequence[Envelope], *, as_batch: bool) -> CountingConsumer:
    consumer = CountingConsumer(c)
    messages = [in_message(c, env, i) for i, env in enumerate(envs)]
    if as_batch:
        await consumer.process(messages)
        assert consumer.transactions == 1, "the batch failed and was retried one event at a time"
    else:
        for m in messages:
            await consumer.process([m])
    assert consumer.dead_lettered == 0
    return consumer


def _blank(value: Any, w: World, envs: Sequence[Envelope]) -> Any:
    """The value with the world's tag and its event ids replaced by the same placeholders in every world."""
    text = json.dumps(value, default=str, ensure_ascii=False).replace(w.tag, "W")
    for i, env in enumerate(envs):
        text = text.replace(env.id, f"event-{i}")
    return json.loads(text)


async def _state(ctx: ServiceContext, w: World, envs: Sequence[Envelope]) -> dict[str, Any]:
    """Everything the handlers write for the world: rows, amounts, flags, ledger, audit, outbox."""
    like = f"{w.tag}-%"
    async with ctx.sessions() as s:
        lines = (await s.execute(select(BudgetLine).where(BudgetLine.id.like(like)).order_by(BudgetLine.id))).scalars()
        reservations = (await s.execute(select(Reservation).where(Reservation.id.like(like))
                                        .order_by(Reservation.id))).scalars()
        payments = (await s.execute(select(Payment).where(Payment.line_id.like(like)).order_by(Payment.id))).scalars()
        ledger = (await s.execute(select(LedgerEntry).where(LedgerEntry.line_id.like(like))
                                  .order_by(LedgerEntry.id))).scalars()
        results = (await s.execute(select(LineResult).where(LineResult.line_id.like(like))
                                   .order_by(LineResult.assessment_id))).scalars()
        filings = (await s.execute(select(Filing).where(Filing.line_id.like(like)).order_by(Filing.line_id,
                                                                                            Filing.kind))).scalars()
        audits = (await s.execute(select(audit_log.c.action, audit_log.c.entity_id, audit_log.c.detail)
                                  .where(audit_log.c.entity_id.like(like)).order_by(audit_log.c.id))).all()
        events = (await s.execute(select(outbox.c.type, outbox.c.key, outbox.c.payload)
                                  .where(outbox.c.key.like(like)).order_by(outbox.c.id))).all()
    state = {
        "lines": [(x.id, x.reserved_fen, x.paid_fen, [(f["code"], f["reason"], f.get("event_id"),
                                                        f.get("settlement_id")) for f in x.flags]) for x in lines],
        "reservations": [(x.id, x.line_id, x.amount_fen, x.paid_fen, x.released_fen, x.status)
                         for x in reservations],
        "payments": [(x.id, x.reservation_id, x.line_id, x.contract_id, x.settlement_id, x.period, x.amount_fen,
                      x.from_reservation_fen) for x in payments],
        "ledger": [(x.line_id, x.kind, x.reservation_id, x.amount_fen, x.available_after_fen, x.reference)
                   for x in ledger],
        "results": [(x.assessment_id, x.line_id, x.contract_id, x.supplier_code, x.period, x.score, x.grade,
                     x.failing, x.policy) for x in results],
        "filings": [(x.line_id, x.kind, x.contract_id, x.started_on, x.due_on, x.cause_event_id, x.policy_ref)
                    for x in filings],
        "audit": [(a.action, a.entity_id, a.detail) for a in audits],
        "events": [(e.type, e.key, json.loads(e.payload)) for e in events],
    }
    return dict(_blank(state, w, envs))


def _payment_world(w: World) -> list[BudgetLine | Reservation]:
    return [
        _line(w, "L0", approved=1_000_000, reserved=500_000),
        _line(w, "L1", approved=200_000, reserved=100_000),
        _line(w, "L2", approved=60_000, reserved=50_000),
        _reservation(w, "R0", "L0", 300_000, "C0"),
        _reservation(w, "R1", "L0", 200_000, "C1"),
        _reservation(w, "R2", "L1", 100_000, "C2"),
        _reservation(w, "R3", "L2", 50_000, "C3"),
    ]


def _payment_events(w: World) -> list[Envelope]:
    return [
        _settlement(w, "S1", "R0", 100_000),
        _settlement(w, "S2", "R0", 250_000),  # 200 000 left on R0: 50 000 comes from what is available on L0
        _settlement(w, "S3", "R1", 200_000),  # R1 spent; L0 again
        _settlement(w, "S1", "R0", 100_000),  # the same settlement again (another event): recorded once
        _settlement(w, "S4", "R2", 40_000, line="L1"),
        _settlement(w, "S5", "R3", 500_000, line="L2"),  # beyond the reservation and the line: L2 flagged
        _settlement(w, "S1", "R0", 99_000),  # the same settlement with another amount: L0 flagged
        _settlement(w, "S6", "R-unknown", 1_000),  # an unknown reservation: ignored
        _settlement(w, "S7", "R2", 0, line="L1"),  # pays nothing: ignored
        _settlement(w, "S8", "R2", 60_000, line="L1"),  # R2 spent
        _settlement(w, "S9", "R0", 800_000),  # more than L0 has left: flagged, nothing paid
        _settlement(w, "S10", "R0", 50_000),  # R0 has nothing left: from what is available
    ]


def _assessment_world(w: World) -> list[BudgetLine | Reservation]:
    return [
        _line(w, "L0", approved=1_000_000, reserved=300_000),
        _line(w, "L1", approved=500_000, reserved=200_000),
        _line(w, "L2", approved=60_000_000, reserved=60_000_000, filing_required=True),
        _reservation(w, "R0", "L0", 300_000, "C0"),
        _reservation(w, "R1", "L1", 200_000, "C1"),
        _reservation(w, "R2", "L2", 60_000_000, "C2"),
    ]


def _assessment_events(w: World) -> list[Envelope]:
    return [
        _finalized(w, "A1", "L0", "C0"),
        _finalized(w, "A2", None, "C1", score="55", grade="不合格"),  # found through the contract's reservation
        _finalized(w, "A3", "L-unknown", "C0", score="80", grade="合格"),  # an unknown line: the reservation's
        _finalized(w, "A1", "L0", "C0"),  # the same assessment again (another event): attached once
        _finalized(w, "A4", None, "C-unknown"),  # no line at all: ignored
        _finalized(w, "A5", "L2", "C2"),  # from the filing threshold: the evaluation report is due
        _finalized(w, "A6", "L2", "C2", score="70", grade="合格"),  # the same duty: opened once
        _finalized(w, "A7", "L0", "C0", score="60", grade="合格"),
    ]


async def _compare(c: Cluster, world: Any, events: Any) -> dict[str, Any]:
    ctx = c.ctx("budget")
    one, each = World(uuid.uuid4().hex[:12]), World(uuid.uuid4().hex[:12])
    await _seed(ctx, world(one))
    await _seed(ctx, world(each))
    one_events, each_events = events(one), events(each)
    await _handle(c, one_events, as_batch=True)
    await _handle(c, each_events, as_batch=False)
    batched = await _state(ctx, one, one_events)
    alone = await _state(ctx, each, each_events)
    assert batched == alone
    return batched


async def test_settlements_as_one_batch_equal_one_by_one(cluster) -> None:
    c = await cluster("budget", run_background=False)
    state = await _compare(c, _payment_world, _payment_events)
    lines = {x[0]: x[1:] for x in state["lines"]}
    assert lines["W-L0"][:2] == [500_000 - 300_000 - 200_000, 100_000 + 250_000 + 200_000 + 50_000]
    assert [f[0] for f in lines["W-L0"][2]] == ["budget.payment.conflict", "budget.funds.insufficient"]
    assert lines["W-L1"][:2] == [0, 100_000]
    assert lines["W-L2"] == [50_000, 0, [["budget.funds.insufficient", lines["W-L2"][2][0][1], "event-5", "W-S5"]]]
    assert [r[-1] for r in state["reservations"]] == ["spent", "spent", "spent", "active"]
    assert [(p[0], p[6], p[7]) for p in state["payments"]] == [
        ("settlement:W-S1", 100_000, 100_000), ("settlement:W-S10", 50_000, 0),
        ("settlement:W-S2", 250_000, 200_000), ("settlement:W-S3", 200_000, 200_000),
        ("settlement:W-S4", 40_000, 40_000), ("settlement:W-S8", 60_000, 60_000)]
    assert [(e[0], e[2]["paid_total"]) for e in state["events"]] == [
        ("budget.payment.recorded", "1000.00"), ("budget.payment.recorded", "3500.00"),
        ("budget.payment.recorded", "5500.00"), ("budget.payment.recorded", "400.00"),
        ("budget.payment.recorded", "1000.00"), ("budget.payment.recorded", "6000.00")]
    assert [x[4] for x in state["ledger"] if x[0] == "W-L0"] == [500_000, 450_000, 450_000, 400_000]


async def test_assessments_as_one_batch_equal_one_by_one(cluster) -> None:
    c = await cluster("budget", run_background=False)
    state = await _compare(c, _assessment_world, _assessment_events)
    assert [(r[0], r[1], r[6]) for r in state["results"]] == [
        ("W-A1", "W-L0", "优秀"), ("W-A2", "W-L1", "不合格"), ("W-A3", "W-L0", "合格"), ("W-A5", "W-L2", "优秀"),
        ("W-A6", "W-L2", "合格"), ("W-A7", "W-L0", "合格")]
    assert [(f[0], f[1], f[2], f[5]) for f in state["filings"]] == [
        ("W-L2", "evaluation_report", "W-C2", "event-5")]
    assert [a[0] for a in state["audit"]].count("budget.line.result_attached") == 6


# ---------------------------------------------------------------- statements per batch
async def _count(c: Cluster, envs: Sequence[Envelope]) -> list[str]:
    ctx = c.ctx("budget")
    consumer = CountingConsumer(c)
    messages = [in_message(c, env, i) for i, env in enumerate(envs)]
    with counting_statements(ctx.engine) as seen:
        await consumer.process(messages)
    assert consumer.transactions == 1 and consumer.handled == len(envs)
    return seen


def _many(w: World, n: int) -> list[BudgetLine | Reservation]:
    rows: list[BudgetLine | Reservation] = []
    for i in range(n):
        rows.append(_line(w, f"L{i:03}", approved=1_000_000, reserved=500_000))
        rows.append(_reservation(w, f"R{i:03}", f"L{i:03}", 500_000, f"C{i:03}"))
    return rows


async def test_settlement_batch_costs_the_same_statements_for_5_or_50(cluster) -> None:
    c = await cluster("budget", run_background=False)
    ctx = c.ctx("budget")
    counts = {}
    for n in (5, 50):
        w = World(uuid.uuid4().hex[:12])
        await _seed(ctx, _many(w, n))
        envs = [_settlement(w, f"S{i:03}", f"R{i:03}", 10_000 + i, line=f"L{i:03}") for i in range(n)]
        counts[n] = len(await _count(c, envs))
        state = await _state(ctx, w, envs)
        assert len(state["payments"]) == len(state["events"]) == n
    assert counts[5] == counts[50], counts


async def test_assessment_batch_costs_the_same_statements_for_5_or_50(cluster) -> None:
    c = await cluster("budget", run_background=False)
    ctx = c.ctx("budget")
    counts = {}
    for n in (5, 50):
        w = World(uuid.uuid4().hex[:12])
        await _seed(ctx, _many(w, n))
        envs = [_finalized(w, f"A{i:03}", f"L{i:03}", f"C{i:03}") for i in range(n)]
        counts[n] = len(await _count(c, envs))
        state = await _state(ctx, w, envs)
        assert len(state["results"]) == n
    assert counts[5] == counts[50], counts
