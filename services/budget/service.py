"""Use cases of the budget service: keyword-only functions over a UnitOfWork, called by routes and handlers.

Routes' functions commit; the functions that handlers call (`on_…`) do not: the consumer commits their
effects with the inbox row, so a redelivered event changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError

from services.budget import domain
from services.budget.domain import FilingKind, Funds, LineStatus, Step
from services.budget.models import BudgetLine, Filing, LedgerEntry, LineResult, LineStep, Payment, Reservation
from services.budget.schemas import LineIn, LinePatch
from services.chassis.app import ServiceContext
from services.chassis.auth import Principal
from services.chassis.calendar import business_date, utcnow
from services.chassis.errors import Conflict, Forbidden, NotFound, Problem, Unprocessable
from services.chassis.money import fen_to_yuan
from services.chassis.policy import PolicyPack
from services.chassis.uow import UnitOfWork
from services.events.budget import (
    BudgetFundsReleased,
    BudgetFundsReserved,
    BudgetLineApproved,
    BudgetPaymentRecorded,
)

log = logging.getLogger(__name__)

SEEING_ALL = ("auditor", "service")


# ---------------------------------------------------------------- scope
def can_see(principal: Principal, *, department: str, region: str) -> bool:
    """Purchaser: its own department; finance: its own region; auditor and service: everything."""
    if principal.role in SEEING_ALL:
        return True
    if principal.role == "finance":
        return principal.region is not None and principal.region == region
    if principal.role == "purchaser":
        return principal.org is not None and principal.org == department
    return False


def _not_found(line_id: str) -> NotFound:
    return NotFound("budget.line.not_found", f"no budget line {line_id}", field="line_id")


async def _line(uow: UnitOfWork, line_id: str, principal: Principal | None, *, lock: bool = False) -> BudgetLine:
    stmt = select(BudgetLine).where(BudgetLine.id == line_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    line = (await uow.session.execute(stmt)).scalar_one_or_none()
    if line is None or (principal is not None and not can_see(principal, department=line.department,
                                                                 region=line.region)):
        raise _not_found(line_id)
    return line


def _check_version(line: BudgetLine, version: int | None) -> None:
    if version is not None and version != line.version:
        raise Conflict("budget.line.version_mismatch",
                       f"the line is at version {line.version}, not {version}; read it again",
                       field="version", rule="optimistic concurrency", current_version=line.version)


def _touch(line: BudgetLine) -> None:
    line.version += 1
    line.updated_at = utcnow()


def pack_for(ctx: ServiceContext, region: str | None, on: date | None = None) -> PolicyPack:
    """The pack in force: the region's own pack when there is one (e.g. "zhengzhou"), else the deployment's."""
    name = region if region and region in ctx.policies.names else None
    return ctx.policy(on or business_date(utcnow()), pack=name)


def funds_of(line: BudgetLine) -> Funds:
    return Funds(approved=line.approved_fen, reserved=line.reserved_fen, paid=line.paid_fen)


def _step(uow: UnitOfWork, line: BudgetLine, principal: Principal, step: Step, *, amount: int | None,
          note: str | None) -> None:
    uow.session.add(LineStep(line_id=line.id, step=step.value, status_after=line.status, amount_fen=amount,
                             note=note, actor=principal.subject, role=principal.role, at=utcnow()))
    uow.audit(f"budget.line.{step.value}", "budget_line", line.id,
              {"status": line.status, "amount": None if amount is None else fen_to_yuan(amount), "note": note,
               "label": domain.STEP_LABELS[step], "version": line.version})


# ---------------------------------------------------------------- catalogue
async def _purchasable(ctx: ServiceContext, *, item_code: str, department: str, year: int) -> Any:
    answer = await ctx.clients.catalogue.purchasable(item_code, department=department, year=year)
    if not answer.purchasable:
        reasons = "; ".join(answer.reasons) or "not in the department's catalogue"
        raise Unprocessable(
            "budget.item.not_purchasable",
            f"catalogue item {item_code} is not purchasable by {department} in {year}: {reasons}",
            field="item_code",
            rule=f"budget first, with a catalogue item (先有预算、后购买服务, {domain.SEED_ZZ})",
            reasons=answer.reasons,
        )
    return answer


# ---------------------------------------------------------------- lines
async def create_line(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, data: LineIn) -> BudgetLine:
    department = data.department or principal.org
    if principal.role == "purchaser" and department != principal.org:
        raise Forbidden("budget.scope.department", "a purchaser enters lines for its own department only",
                        field="department", rule="purchaser: own department")
    if not department:
        raise Unprocessable("budget.line.department_missing", "name the department", field="department",
                            rule="a line belongs to a department")
    if principal.role == "finance" and principal.region != data.region:
        raise Forbidden("budget.scope.region", "finance enters lines in its own region only", field="region",
                        rule="finance: own region")
    domain.check_method(data.method)
    domain.check_positive(data.amount, "amount")
    item = await _purchasable(ctx, item_code=data.item_code, department=department, year=data.fiscal_year)
    now = utcnow()
    line = BudgetLine(
        id=str(uuid.uuid4()), version=1, department=department, region=data.region, fiscal_year=data.fiscal_year,
        item_code=data.item_code, item_name=item.name or data.item_code,
        catalogue_id=item.catalogue_id, catalogue_version=item.catalogue_version,
        name=data.name, content=data.content, recipients=data.recipients, method=data.method,
        service_type=item.service_type or "", level1_class=item.level1_class or "",
        requested_fen=data.amount, control_fen=None, amount_fen=data.amount, approved_fen=0, reserved_fen=0,
        paid_fen=0, ex_ante_assessment=data.ex_ante_assessment or None, status=LineStatus.DRAFT.value,
        one_off=False, finance_approval_required=False, finance_approved=False, filing_required=False,
        item_withdrawn=False, flags=[], created_by=principal.subject, created_at=now, updated_at=now,
    )
    uow.session.add(line)
    uow.audit("budget.line.created", "budget_line", line.id,
              {"department": department, "fiscal_year": data.fiscal_year, "item_code": data.item_code,
               "amount": fen_to_yuan(data.amount)})
    await uow.commit()
    return line


async def update_line(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, line_id: str,
                      data: LinePatch) -> BudgetLine:
    line = await _line(uow, line_id, principal, lock=True)
    _check_version(line, data.version)
    if line.status != LineStatus.DRAFT:
        raise Conflict("budget.line.not_editable", f"a line that is {line.status} cannot be edited; only drafts",
                       field="status", rule="edits before 一上 only")
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "method" in changes and changes["method"] is not None:
        domain.check_method(changes["method"])
    if changes.get("amount") is not None:
        domain.check_positive(changes["amount"], "amount")
    if changes.get("item_code") and changes["item_code"] != line.item_code:
        item = await _purchasable(ctx, item_code=changes["item_code"], department=line.department,
                                  year=line.fiscal_year)
        line.item_code, line.item_name = item.item_code, item.name or item.item_code
        line.catalogue_id, line.catalogue_version = item.catalogue_id, item.catalogue_version
        line.service_type, line.level1_class = item.service_type or "", item.level1_class or ""
        line.item_withdrawn = False
    for key in ("name", "content", "recipients", "method"):
        if changes.get(key) is not None:
            setattr(line, key, changes[key])
    if "ex_ante_assessment" in changes:
        line.ex_ante_assessment = changes["ex_ante_assessment"] or None
    if changes.get("amount") is not None:
        line.amount_fen = line.requested_fen = changes["amount"]
    _touch(line)
    uow.audit("budget.line.updated", "budget_line", line.id, {k: str(v) for k, v in changes.items()})
    await uow.commit()
    return line


async def submit_line(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, line_id: str,
                      version: int | None, ex_ante: str | None, note: str | None) -> BudgetLine:
    """一上: the department submits its request."""
    line = await _line(uow, line_id, principal, lock=True)
    _check_version(line, version)
    new_status = domain.transition(line.status, Step.SUBMIT)
    if ex_ante:
        line.ex_ante_assessment = ex_ante
    pack = pack_for(ctx, line.region)
    domain.check_ex_ante(line.amount_fen, line.ex_ante_assessment, pack.budget, pack_ref=pack.ref)
    if line.item_withdrawn:
        raise _withdrawn(line)
    await _purchasable(ctx, item_code=line.item_code, department=line.department, year=line.fiscal_year)
    line.status = new_status.value
    line.requested_fen = line.amount_fen
    line.rejection_reason = None
    _touch(line)
    _step(uow, line, principal, Step.SUBMIT, amount=line.amount_fen, note=note)
    await uow.commit()
    return line


async def issue_control_figure(*, uow: UnitOfWork, principal: Principal, line_id: str, version: int | None,
                               amount: int, note: str | None) -> BudgetLine:
    """一下: finance returns a control figure."""
    line = await _line(uow, line_id, principal, lock=True)
    _check_version(line, version)
    new_status = domain.transition(line.status, Step.CONTROL)
    domain.check_control_figure(line.requested_fen, amount)
    line.status = new_status.value
    line.control_fen = amount
    _touch(line)
    _step(uow, line, principal, Step.CONTROL, amount=amount, note=note)
    await uow.commit()
    return line


async def resubmit_line(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, line_id: str,
                        version: int | None, amount: int | None, ex_ante: str | None,
                        note: str | None) -> BudgetLine:
    """二上: the department resubmits within the control figure."""
    line = await _line(uow, line_id, principal, lock=True)
    _check_version(line, version)
    new_status = domain.transition(line.status, Step.RESUBMIT)
    assert line.control_fen is not None
    chosen = line.control_fen if amount is None else amount
    domain.check_within_control(line.control_fen, chosen)
    if ex_ante:
        line.ex_ante_assessment = ex_ante
    pack = pack_for(ctx, line.region)
    domain.check_ex_ante(chosen, line.ex_ante_assessment, pack.budget, pack_ref=pack.ref)
    if line.item_withdrawn:
        raise _withdrawn(line)
    line.status = new_status.value
    line.amount_fen = chosen
    _touch(line)
    _step(uow, line, principal, Step.RESUBMIT, amount=chosen, note=note)
    await uow.commit()
    return line


def _withdrawn(line: BudgetLine) -> Unprocessable:
    return Unprocessable("budget.line.item_withdrawn",
                         f"catalogue item {line.item_code} was withdrawn from {line.department}'s {line.fiscal_year} "
                         "catalogue; the line is flagged", field="item_code",
                         rule="no purchase without a catalogue item")


def _approve(uow: UnitOfWork, pack: PolicyPack, principal: Principal, line: BudgetLine, *, amount: int,
             step: Step, note: str | None) -> None:
    domain.check_ex_ante(amount, line.ex_ante_assessment, pack.budget, pack_ref=pack.ref)
    if line.item_withdrawn:
        raise _withdrawn(line)
    limits = domain.thresholds(amount, pack.budget)
    line.status = domain.transition(line.status, step).value
    line.amount_fen = amount
    line.approved_fen = amount
    line.approved_on = business_date(utcnow())
    line.finance_approval_required = limits.finance_approval_required
    line.filing_required = limits.filing_required
    line.policy_ref = pack.ref
    _touch(line)
    _step(uow, line, principal, step, amount=amount, note=note)
    uow.emit(BudgetLineApproved(
        line_id=line.id, department=line.department, region=line.region, fiscal_year=line.fiscal_year,
        item_code=line.item_code, service_type=line.service_type, approved_amount=amount, one_off=line.one_off,
        finance_approval_required=limits.finance_approval_required, filing_required=limits.filing_required,
        name=line.name, method=line.method, level1_class=line.level1_class, policy=pack.ref,
    ))


async def approve_line(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, line_id: str,
                       version: int | None, note: str | None) -> BudgetLine:
    """二下: finance approves the resubmitted amount; thresholds from the policy pack apply."""
    line = await _line(uow, line_id, principal, lock=True)
    _check_version(line, version)
    domain.transition(line.status, Step.APPROVE)
    _approve(uow, pack_for(ctx, line.region), principal, line, amount=line.amount_fen, step=Step.APPROVE, note=note)
    await uow.commit()
    return line


async def approve_one_off(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, line_id: str,
                          version: int | None, reason: str, amount: int | None) -> BudgetLine:
    """一事一议: finance approves a submitted emergency item outside the cycle; the line is flagged."""
    line = await _line(uow, line_id, principal, lock=True)
    _check_version(line, version)
    domain.transition(line.status, Step.ONE_OFF)
    why = domain.check_reason(reason)
    chosen = line.amount_fen if amount is None else amount
    domain.check_positive(chosen, "amount")
    if chosen > line.amount_fen:
        raise Unprocessable("budget.line.above_request",
                            f"{fen_to_yuan(chosen)} is above the amount asked {fen_to_yuan(line.amount_fen)}",
                            field="amount", rule="approval ≤ request")
    line.one_off = True
    line.one_off_reason = why
    _approve(uow, pack_for(ctx, line.region), principal, line, amount=chosen, step=Step.ONE_OFF, note=why)
    await uow.commit()
    return line


async def reject_line(*, uow: UnitOfWork, principal: Principal, line_id: str, version: int | None,
                      reason: str) -> BudgetLine:
    line = await _line(uow, line_id, principal, lock=True)
    _check_version(line, version)
    new_status = domain.transition(line.status, Step.REJECT)
    why = domain.check_reason(reason)
    line.status = new_status.value
    line.rejection_reason = why
    _touch(line)
    _step(uow, line, principal, Step.REJECT, amount=None, note=why)
    await uow.commit()
    return line


async def grant_finance_approval(*, uow: UnitOfWork, principal: Principal, line_id: str, version: int | None,
                                 note: str | None) -> BudgetLine:
    """Finance's approval before purchase for lines from the policy threshold (100万, 004)."""
    line = await _line(uow, line_id, principal, lock=True)
    _check_version(line, version)
    if line.status != LineStatus.APPROVED:
        raise Conflict("budget.line.not_approved", f"the line is {line.status}; it must be approved (二下) first",
                       field="status", rule="finance approval follows 二下")
    if not line.finance_approval_required:
        raise Unprocessable("budget.finance_approval.not_required",
                            f"a line of {fen_to_yuan(line.approved_fen)} needs no finance approval before purchase "
                            f"under {line.policy_ref}", field="line_id",
                            rule=f"finance_approval_from ({line.policy_ref}; {domain.SEED_ZZ})")
    if not line.finance_approved:
        line.finance_approved = True
        line.finance_approved_at = utcnow()
        line.finance_approved_by = principal.subject
        _touch(line)
        uow.audit("budget.line.finance_approved", "budget_line", line.id, {"note": note})
        await uow.commit()
    return line


async def get_line(*, uow: UnitOfWork, principal: Principal, line_id: str) -> BudgetLine:
    return await _line(uow, line_id, principal)


@dataclass(frozen=True)
class LineDetail:
    line: BudgetLine
    steps: list[LineStep]
    results: list[LineResult]
    prior: domain.ResultSummary | None


async def line_detail(*, uow: UnitOfWork, principal: Principal, line_id: str) -> LineDetail:
    line = await _line(uow, line_id, principal)
    s = uow.session
    steps = list((await s.execute(select(LineStep).where(LineStep.line_id == line.id)
                                  .order_by(LineStep.id))).scalars())
    results = list((await s.execute(select(LineResult).where(LineResult.line_id == line.id)
                                    .order_by(LineResult.attached_at))).scalars())
    prior_rows = list((await s.execute(
        select(LineResult).join(BudgetLine, BudgetLine.id == LineResult.line_id).where(
            BudgetLine.department == line.department, BudgetLine.item_code == line.item_code,
            BudgetLine.fiscal_year == line.fiscal_year - 1))).scalars())
    prior = domain.summarise_results(domain.Result(Decimal(r.score), r.grade, r.failing) for r in prior_rows) \
        if prior_rows else None
    return LineDetail(line, steps, results, prior)


async def list_lines(*, uow: UnitOfWork, principal: Principal, department: str | None, region: str | None,
                     fiscal_year: int | None, status: str | None, flagged: bool | None, item_code: str | None,
                     limit: int, offset: int) -> tuple[list[BudgetLine], int]:
    conds: list[Any] = []
    if principal.role == "purchaser":
        conds.append(BudgetLine.department == principal.org)
    elif principal.role == "finance":
        conds.append(BudgetLine.region == principal.region)
    if department:
        conds.append(BudgetLine.department == department)
    if region:
        conds.append(BudgetLine.region == region)
    if fiscal_year:
        conds.append(BudgetLine.fiscal_year == fiscal_year)
    if status:
        conds.append(BudgetLine.status == status)
    if item_code:
        conds.append(BudgetLine.item_code == item_code)
    if flagged is not None:
        conds.append(BudgetLine.item_withdrawn.is_(flagged))
    s = uow.session
    total = (await s.execute(select(func.count()).select_from(BudgetLine).where(*conds))).scalar_one()
    rows = (await s.execute(select(BudgetLine).where(*conds).order_by(BudgetLine.created_at, BudgetLine.id)
                            .limit(limit).offset(offset))).scalars()
    return list(rows), int(total)


# ---------------------------------------------------------------- ledger
def _ledger(uow: UnitOfWork, line: BudgetLine, kind: str, reservation_id: str, amount: int,
            reference: str | None) -> None:
    uow.session.add(LedgerEntry(line_id=line.id, kind=kind, reservation_id=reservation_id, amount_fen=amount,
                                available_after_fen=funds_of(line).available, reference=reference, at=utcnow()))


async def reserve(*, uow: UnitOfWork, principal: Principal, line_id: str, reservation_id: str, amount: int,
                  contract_id: str | None) -> Reservation:
    """Reserve funds on an approved line, idempotent by reservation id; the line row is locked, so
    concurrent reservations never over-commit it."""
    line = await _line(uow, line_id, principal, lock=True)
    existing = await uow.session.get(Reservation, reservation_id, populate_existing=True)
    if existing is not None:
        if existing.line_id != line.id or existing.amount_fen != amount or existing.contract_id != contract_id:
            raise Conflict("budget.reservation.conflict",
                           f"reservation {reservation_id} already exists with other terms", field="reservation_id",
                           rule="a reservation id names one reservation")
        return existing
    if line.status != LineStatus.APPROVED:
        raise Unprocessable("budget.line.not_approved", f"the line is {line.status}; only approved lines (二下) "
                            "can fund a purchase", field="line_id",
                            rule=f"budget first, purchase after (先有预算、后购买服务, {domain.SEED_ZZ})")
    if line.finance_approval_required and not line.finance_approved:
        raise Unprocessable("budget.finance_approval.missing",
                            f"a line of {fen_to_yuan(line.approved_fen)} needs finance approval before purchase",
                            field="line_id", rule=f"finance_approval_from ({line.policy_ref}; {domain.SEED_ZZ})")
    if line.item_withdrawn:
        raise _withdrawn(line)
    after = funds_of(line).reserve(amount)
    line.reserved_fen = after.reserved
    line.updated_at = utcnow()
    res = Reservation(id=reservation_id, line_id=line.id, contract_id=contract_id, amount_fen=amount, paid_fen=0,
                      released_fen=0, available_after_fen=after.available, status="active", created_at=utcnow())
    uow.session.add(res)
    _ledger(uow, line, "reserve", reservation_id, amount, contract_id)
    uow.emit(BudgetFundsReserved(line_id=line.id, reservation_id=reservation_id, amount=amount,
                                 available_after=after.available, contract_id=contract_id))
    uow.audit("budget.funds.reserved", "budget_line", line.id,
              {"reservation_id": reservation_id, "amount": fen_to_yuan(amount), "contract_id": contract_id})
    try:
        await uow.commit()
    except IntegrityError as exc:  # the same id, at the same time, on another line
        raise Conflict("budget.reservation.conflict", f"reservation {reservation_id} already exists",
                       field="reservation_id", rule="a reservation id names one reservation") from exc
    return res


async def _reservation_locked(uow: UnitOfWork, reservation_id: str,
                              principal: Principal | None) -> tuple[Reservation, BudgetLine]:
    reservations, lines = await _reservations_locked(uow, [reservation_id])
    return _visible(reservation_id, reservations, lines, principal)


def _visible(reservation_id: str, reservations: dict[str, Reservation], lines: dict[str, BudgetLine],
             principal: Principal | None) -> tuple[Reservation, BudgetLine]:
    """A locked reservation and its line, if there is one the principal may see (else not found)."""
    res = reservations.get(reservation_id)
    line = None if res is None else lines[res.line_id]
    if res is None or line is None or (principal is not None and not can_see(
            principal, department=line.department, region=line.region)):
        raise NotFound("budget.reservation.not_found", f"no reservation {reservation_id}", field="reservation_id")
    return res, line


@dataclass(frozen=True)
class Released:
    reservation: Reservation
    line: BudgetLine
    amount: int


async def _release(uow: UnitOfWork, principal: Principal | None, reservation_id: str, reason: str) -> Released:
    res, line = await _reservation_locked(uow, reservation_id, principal)
    left = domain.reservation_outstanding(res.amount_fen, res.paid_fen, res.released_fen)
    if left == 0:
        if res.status == "active":
            res.status = "spent"
        return Released(res, line, 0)
    after = funds_of(line).release(left)
    line.reserved_fen = after.reserved
    line.updated_at = utcnow()
    res.released_fen += left
    res.status = "released"
    res.release_reason = reason
    res.released_at = utcnow()
    _ledger(uow, line, "release", res.id, left, reason)
    uow.emit(BudgetFundsReleased(line_id=line.id, reservation_id=res.id, amount=left, reason=reason,
                                 contract_id=res.contract_id))
    uow.audit("budget.funds.released", "budget_line", line.id,
              {"reservation_id": res.id, "amount": fen_to_yuan(left), "reason": reason})
    return Released(res, line, left)


async def release(*, uow: UnitOfWork, principal: Principal, reservation_id: str, reason: str) -> Released:
    """Release what is reserved and unpaid (idempotent: a second call releases 0.00)."""
    out = await _release(uow, principal, reservation_id, domain.check_reason(reason))
    await uow.commit()
    return out


async def get_reservation(*, uow: UnitOfWork, principal: Principal, reservation_id: str) -> Reservation:
    res = await uow.session.get(Reservation, reservation_id)
    if res is None:
        raise NotFound("budget.reservation.not_found", f"no reservation {reservation_id}", field="reservation_id")
    line = await uow.session.get(BudgetLine, res.line_id)
    if line is None or not can_see(principal, department=line.department, region=line.region):
        raise NotFound("budget.reservation.not_found", f"no reservation {reservation_id}", field="reservation_id")
    return res


@dataclass(frozen=True)
class Recorded:
    payment: Payment
    line: BudgetLine


@dataclass(frozen=True)
class PaymentToRecord:
    """A payment to record against a reservation: a settlement's, or one finance enters."""

    reservation_id: str
    payment_id: str
    amount: int
    settlement_id: str | None = None
    period: str | None = None
    event_id: str | None = None  # the event that asked for it, if any
    kind: str = "entered"  # settlement | reward | release | entered (by finance)


# What to do with a payment that is refused: the line is None when the reservation is unknown (or not visible).
Refusal = Callable[[PaymentToRecord, BudgetLine | None, Problem], None]


class _KnownPayments:
    """Payments already recorded, by id and by settlement id: those found in the database, then those
    recorded earlier in the same batch."""

    def __init__(self, rows: Iterable[Payment]) -> None:
        self.by_id: dict[str, Payment] = {}
        self.by_settlement: dict[str, Payment] = {}
        for p in rows:
            self.add(p)

    def add(self, p: Payment) -> None:
        self.by_id[p.id] = p
        if p.settlement_id:
            self.by_settlement[p.settlement_id] = p

    def find(self, payment_id: str, settlement_id: str | None) -> Payment | None:
        found = self.by_id.get(payment_id)
        if found is None and settlement_id:
            found = self.by_settlement.get(settlement_id)
        return found


async def _reservations_locked(uow: UnitOfWork, reservation_ids: Iterable[str]
                               ) -> tuple[dict[str, Reservation], dict[str, BudgetLine]]:
    """The reservations and their lines, locked with one statement per table: the lines first, ordered by
    id, then the reservations (the order `reserve` and `_release` lock in), so concurrent batches cannot
    deadlock. A reservation whose line was not locked (made since) counts as unknown, as it would have
    one statement earlier."""
    ids = sorted(set(reservation_ids))
    s = uow.session
    lines = {line.id: line for line in (await s.execute(
        select(BudgetLine)
        .where(BudgetLine.id.in_(select(Reservation.line_id).where(Reservation.id.in_(ids))))
        .order_by(BudgetLine.id).with_for_update().execution_options(populate_existing=True))).scalars()}
    reservations = {res.id: res for res in (await s.execute(
        select(Reservation).where(Reservation.id.in_(ids))
        .order_by(Reservation.id).with_for_update().execution_options(populate_existing=True))).scalars()
        if res.line_id in lines}
    return reservations, lines


async def _record_payments(uow: UnitOfWork, principal: Principal | None, items: Sequence[PaymentToRecord], *,
                           refused: Refusal | None) -> list[Recorded | None]:
    """Record payments in order, each once (by payment id, else settlement id), with a constant number of
    statements whatever their number: reservations and lines locked in one statement each, the payments
    already recorded read in one, then everything in memory, so several payments on one line or
    reservation add up as they would one by one. A refusal (a `Problem`) raises, or with `refused` is
    handed to it and the rest go on; a refused payment changes nothing."""
    if not items:
        return []
    s = uow.session
    reservations, lines = await _reservations_locked(uow, (i.reservation_id for i in items))
    settlement_ids = {i.settlement_id for i in items if i.settlement_id}
    known_cond: ColumnElement[bool] = Payment.id.in_({i.payment_id for i in items})
    if settlement_ids:
        known_cond = or_(known_cond, Payment.settlement_id.in_(settlement_ids))
    known = _KnownPayments((await s.execute(select(Payment).where(known_cond))).scalars())
    out: list[Recorded | None] = []
    for item in items:
        line: BudgetLine | None = None
        try:
            res, line = _visible(item.reservation_id, reservations, lines, principal)
            out.append(_pay(uow, res, line, item, known))
        except Problem as exc:
            if refused is None:
                raise
            refused(item, line, exc)
            out.append(None)
    return out


def _pay(uow: UnitOfWork, res: Reservation, line: BudgetLine, item: PaymentToRecord,
         known: _KnownPayments) -> Recorded:
    existing = known.find(item.payment_id, item.settlement_id)
    if existing is not None:
        if existing.reservation_id != item.reservation_id or existing.amount_fen != item.amount:
            raise Conflict("budget.payment.conflict", f"payment {existing.id} already exists with other terms",
                           field="payment_id", rule="a payment (or settlement) is recorded once")
        return Recorded(existing, line)
    against_reservation = domain.paid_from_reservation(item.kind)
    left = domain.reservation_outstanding(res.amount_fen, res.paid_fen, res.released_fen) if against_reservation else 0
    before = funds_of(line)
    after = before.pay(item.amount, from_reservation=left)
    taken = before.reserved - after.reserved
    line.reserved_fen, line.paid_fen = after.reserved, after.paid
    line.updated_at = utcnow()
    if against_reservation:
        res.paid_fen += item.amount  # beyond the reservation, the rest came from the line's available funds
    if domain.reservation_outstanding(res.amount_fen, res.paid_fen, res.released_fen) == 0 and res.status == "active":
        res.status = "spent"
    pay = Payment(id=item.payment_id, reservation_id=res.id, line_id=line.id, contract_id=res.contract_id,
                  settlement_id=item.settlement_id, period=item.period, amount_fen=item.amount,
                  from_reservation_fen=taken, recorded_at=utcnow())
    uow.session.add(pay)
    known.add(pay)
    _ledger(uow, line, "payment", res.id, item.amount, item.settlement_id or item.payment_id)
    uow.emit(BudgetPaymentRecorded(line_id=line.id, reservation_id=res.id, payment_id=item.payment_id,
                                   amount=item.amount, paid_total=line.paid_fen, contract_id=res.contract_id,
                                   settlement_id=item.settlement_id, period=item.period, kind=item.kind))
    uow.audit("budget.payment.recorded", "budget_line", line.id,
              {"reservation_id": res.id, "payment_id": item.payment_id, "amount": fen_to_yuan(item.amount),
               "settlement_id": item.settlement_id})
    return Recorded(pay, line)


async def record_payment(*, uow: UnitOfWork, principal: Principal, reservation_id: str, payment_id: str,
                         amount: int, settlement_id: str | None, period: str | None) -> Recorded:
    [out] = await _record_payments(uow, principal, [PaymentToRecord(
        reservation_id=reservation_id, payment_id=payment_id, amount=amount, settlement_id=settlement_id,
        period=period)], refused=None)
    assert out is not None  # without `refused`, a refusal raises
    try:
        await uow.commit()
    except IntegrityError as exc:
        raise Conflict("budget.payment.conflict", f"payment {payment_id} was recorded at the same time",
                       field="payment_id", rule="a payment (or settlement) is recorded once") from exc
    return out


@dataclass(frozen=True)
class Ledger:
    line: BudgetLine
    reservations: list[Reservation]
    entries: list[LedgerEntry]


async def ledger(*, uow: UnitOfWork, principal: Principal, line_id: str) -> Ledger:
    line = await _line(uow, line_id, principal)
    s = uow.session
    reservations = list((await s.execute(select(Reservation).where(Reservation.line_id == line.id)
                                         .order_by(Reservation.created_at))).scalars())
    entries = list((await s.execute(select(LedgerEntry).where(LedgerEntry.line_id == line.id)
                                    .order_by(LedgerEntry.id))).scalars())
    return Ledger(line, reservations, entries)


# ---------------------------------------------------------------- filings
async def list_filings(*, uow: UnitOfWork, principal: Principal, line_id: str | None, department: str | None,
                       kind: str | None, overdue: bool | None, as_of: date, limit: int,
                       offset: int) -> tuple[list[Filing], int]:
    conds: list[Any] = []
    if principal.role == "purchaser":
        conds.append(Filing.department == principal.org)
    elif principal.role == "finance":
        conds.append(Filing.region == principal.region)
    if line_id:
        conds.append(Filing.line_id == line_id)
    if department:
        conds.append(Filing.department == department)
    if kind:
        conds.append(Filing.kind == kind)
    late_now = Filing.filed_on.is_(None) & (Filing.due_on < as_of)
    if overdue is True:
        conds.append(late_now)
    elif overdue is False:
        conds.append(~late_now)
    s = uow.session
    total = (await s.execute(select(func.count()).select_from(Filing).where(*conds))).scalar_one()
    rows = (await s.execute(select(Filing).where(*conds).order_by(Filing.due_on, Filing.id)
                            .limit(limit).offset(offset))).scalars()
    return list(rows), int(total)


async def file_filing(*, uow: UnitOfWork, principal: Principal, filing_id: str, document: str,
                      ex_ante: str | None) -> Filing:
    s = uow.session
    filing = (await s.execute(select(Filing).where(Filing.id == filing_id).with_for_update())).scalar_one_or_none()
    if filing is None or not can_see(principal, department=filing.department, region=filing.region):
        raise NotFound("budget.filing.not_found", f"no filing duty {filing_id}", field="filing_id")
    if filing.filed_on is not None:
        raise Conflict("budget.filing.already_filed", f"this duty was filed on {filing.filed_on}", field="filing_id",
                       rule="a duty is filed once")
    line = await _line(uow, filing.line_id, None)
    if filing.kind == FilingKind.EVALUATION_REPORT:
        assessment = ex_ante or line.ex_ante_assessment
        if not (assessment or "").strip():
            raise Unprocessable("budget.filing.ex_ante_missing",
                                "the evaluation report is filed together with the ex-ante performance assessment",
                                field="ex_ante_assessment",
                                rule=f"评价报告连同事前绩效评估报告一并备案 ({domain.SEED_ZZ})")
        filing.ex_ante_assessment = assessment
    today = business_date(utcnow())
    filing.filed_on = today
    filing.late = today > filing.due_on
    filing.document = document
    uow.audit("budget.filing.filed", "budget_filing", filing.id,
              {"line_id": filing.line_id, "kind": filing.kind, "late": filing.late, "document": document})
    await uow.commit()
    return filing


async def _open_filing(uow: UnitOfWork, ctx: ServiceContext, line: BudgetLine, kind: FilingKind, contract_id: str,
                       started_on: date, cause: str) -> Filing | None:
    s = uow.session
    exists = (await s.execute(select(Filing.id).where(Filing.line_id == line.id, Filing.kind == kind.value,
                                                      Filing.contract_id == contract_id))).scalar_one_or_none()
    if exists is not None:
        return None
    pack = pack_for(ctx, line.region, started_on)
    filing = Filing(id=str(uuid.uuid4()), line_id=line.id, department=line.department, region=line.region,
                    kind=kind.value, contract_id=contract_id, started_on=started_on,
                    due_on=domain.filing_due(kind, started_on, pack.budget), cause_event_id=cause,
                    policy_ref=pack.ref, created_at=utcnow())
    s.add(filing)
    uow.audit("budget.filing.opened", "budget_filing", filing.id,
              {"line_id": line.id, "kind": kind.value, "contract_id": contract_id, "due_on": filing.due_on})
    return filing


# ---------------------------------------------------------------- disclosure
async def public_plan(*, uow: UnitOfWork, department: str, fiscal_year: int) -> list[BudgetLine]:
    """The annual plan (年度政府购买服务计划), public with the departmental budget (004)."""
    rows = await uow.session.execute(
        select(BudgetLine).where(BudgetLine.department == department, BudgetLine.fiscal_year == fiscal_year,
                                 BudgetLine.status == LineStatus.APPROVED.value)
        .order_by(BudgetLine.approved_fen.desc(), BudgetLine.name, BudgetLine.id))
    return list(rows.scalars())


async def public_plans(*, uow: UnitOfWork, fiscal_year: int | None, department: str | None, region: str | None,
                       limit: int, offset: int) -> tuple[list[BudgetLine], int]:
    """The annual plans across departments (approved lines only), newest year first, then as in one plan."""
    conds: list[Any] = [BudgetLine.status == LineStatus.APPROVED.value]
    if fiscal_year:
        conds.append(BudgetLine.fiscal_year == fiscal_year)
    if department:
        conds.append(BudgetLine.department == department)
    if region:
        conds.append(BudgetLine.region == region)
    s = uow.session
    total = (await s.execute(select(func.count()).select_from(BudgetLine).where(*conds))).scalar_one()
    rows = (await s.execute(select(BudgetLine).where(*conds)
                            .order_by(BudgetLine.fiscal_year.desc(), BudgetLine.department,
                                      BudgetLine.approved_fen.desc(), BudgetLine.name, BudgetLine.id)
                            .limit(limit).offset(offset))).scalars()
    return list(rows), int(total)


# ---------------------------------------------------------------- statistics
@dataclass(frozen=True)
class StatQuery:
    fiscal_year: int | None = None
    period: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    region: str | None = None
    department: str | None = None


async def statistics(*, uow: UnitOfWork, principal: Principal, q: StatQuery) -> tuple[StatQuery, domain.Statistics]:
    """Counts, amounts and shares of approved lines. A line counts on the day it was purchased (contract
    signed) or, before that, approved."""
    region, department = q.region, q.department
    if principal.role == "finance":
        if region and region != principal.region:
            raise Forbidden("budget.scope.region", "finance reports on its own region only", field="region",
                            rule="finance: own region")
        region = principal.region
    elif principal.role == "purchaser":
        if department and department != principal.org:
            raise Forbidden("budget.scope.department", "a purchaser reports on its own department only",
                            field="department", rule="purchaser: own department")
        department = principal.org
    start, end = q.date_from, q.date_to
    if q.period:
        start, end = domain.period_bounds(q.period)
    if start and end and start > end:
        raise Unprocessable("budget.period.invalid", "from is after to", field="from", rule="from ≤ to")
    conds: list[Any] = [BudgetLine.status == LineStatus.APPROVED.value]
    if q.fiscal_year:
        conds.append(BudgetLine.fiscal_year == q.fiscal_year)
    if region:
        conds.append(BudgetLine.region == region)
    if department:
        conds.append(BudgetLine.department == department)
    counted_on = func.coalesce(BudgetLine.purchased_on, BudgetLine.approved_on)
    if start:
        conds.append(counted_on >= start)
    if end:
        conds.append(counted_on <= end)
    rows = (await uow.session.execute(select(BudgetLine).where(*conds))).scalars()
    items = [domain.StatItem(level1_class=r.level1_class, service_type=r.service_type, method=r.method,
                             department=r.department, region=r.region, amount=r.approved_fen, item=r.item_code,
                             item_name=r.item_name) for r in rows]
    used = StatQuery(fiscal_year=q.fiscal_year, period=q.period, date_from=start, date_to=end, region=region,
                     department=department)
    return used, domain.statistics(items)


# ---------------------------------------------------------------- consumed events (no commit here)

@dataclass(frozen=True)
class SettlementApproved:
    """A contract.settlement.approved event, as the budget reads it."""

    event_id: str
    reservation_id: str
    settlement_id: str
    amount: int
    period: str
    reward: int = 0


async def on_settlements_approved(*, uow: UnitOfWork, settlements: Sequence[SettlementApproved]) -> None:
    """contract.settlement.approved (a run of them, in order) → each settlement's amount is recorded as a payment
    against its reservation, once, and its reward (if any) as a payment of its own out of the line's free funds."""
    items = []
    for st in settlements:
        if st.amount <= 0:
            log.info("settlement %s pays nothing; nothing to record", st.settlement_id)
        else:
            items.append(PaymentToRecord(
                reservation_id=st.reservation_id, payment_id=f"settlement:{st.settlement_id}", amount=st.amount,
                settlement_id=st.settlement_id, period=st.period, event_id=st.event_id, kind="settlement"))
        if st.reward > 0:  # its own payment: a reward the line cannot afford does not hold up the amount
            items.append(PaymentToRecord(
                reservation_id=st.reservation_id, payment_id=f"reward:{st.settlement_id}", amount=st.reward,
                period=st.period, event_id=st.event_id, kind="reward"))
    await _record_payments(uow, None, items, refused=_flag_the_line(uow))


def _flag_the_line(uow: UnitOfWork) -> Refusal:
    """For payments an event asked for: a refusal no redelivery will cure flags the line for finance (an unknown
    reservation is only logged), instead of dead-lettering the event."""

    def refused(item: PaymentToRecord, line: BudgetLine | None, exc: Problem) -> None:
        if line is None:
            log.warning("payment %s names unknown reservation %s; ignored", item.payment_id, item.reservation_id)
            return
        _flag(line, exc.code, exc.detail, event_id=item.event_id, settlement_id=item.settlement_id)
        uow.audit("budget.line.flagged", "budget_line", line.id, {"code": exc.code, "detail": exc.detail})

    return refused


@dataclass(frozen=True)
class WithheldReleased:
    """A contract.withheld.released event, as the budget reads it."""

    event_id: str
    reservation_id: str
    release_id: str
    amount: int
    period: str


async def on_withheld_released(*, uow: UnitOfWork, releases: Sequence[WithheldReleased]) -> None:
    """contract.withheld.released (a run of them, in order) → each released amount is recorded as a payment
    against the reservation, once (by release id), as a settlement's is."""
    items = [PaymentToRecord(reservation_id=r.reservation_id, payment_id=f"release:{r.release_id}", amount=r.amount,
                             period=r.period, event_id=r.event_id, kind="release")
             for r in releases if r.amount > 0]
    await _record_payments(uow, None, items, refused=_flag_the_line(uow))


async def on_contract_terminated(*, uow: UnitOfWork, event_id: str, reservation_id: str, contract_id: str,
                                 reason: str) -> None:
    """contract.terminated → what is reserved and unpaid goes back to the line."""
    try:
        await _release(uow, None, reservation_id, f"contract {contract_id} terminated: {reason}")
    except NotFound:
        log.warning("termination of %s names unknown reservation %s; ignored", contract_id, reservation_id)


async def on_contract_completed(*, uow: UnitOfWork, reservation_id: str, contract_id: str) -> None:
    """contract.completed → every period is settled: what the reservation still holds (amounts withheld, a
    reward not earned) goes back to the line."""
    try:
        await _release(uow, None, reservation_id, f"contract {contract_id} completed: unspent reservation returned")
    except NotFound:
        log.warning("completion of %s names unknown reservation %s; ignored", contract_id, reservation_id)


@dataclass(frozen=True)
class AssessmentResult:
    """An assessment.finalized event, as the budget reads it."""

    event_id: str
    at: datetime
    assessment_id: str
    contract_id: str
    line_id: str | None
    supplier_code: str
    period: str
    score: Decimal
    grade: str
    failing: bool
    policy: str


async def _lines_of_contracts(uow: UnitOfWork, results: Sequence[AssessmentResult]) -> list[BudgetLine | None]:
    """Each result's line: the one it names, else the line of its contract's (first) reservation; one
    statement for the lines named, one for the contracts of the rest."""
    s = uow.session
    named = {r.line_id for r in results if r.line_id}
    by_id: dict[str, BudgetLine] = {}
    if named:
        by_id = {line.id: line for line in (await s.execute(select(BudgetLine).where(BudgetLine.id.in_(named))))
                 .scalars()}
    contracts = {r.contract_id for r in results if not (r.line_id and r.line_id in by_id)}
    by_contract: dict[str, BudgetLine] = {}
    if contracts:
        rows = await s.execute(
            select(Reservation.contract_id, BudgetLine).join(BudgetLine, BudgetLine.id == Reservation.line_id)
            .where(Reservation.contract_id.in_(contracts))
            .order_by(Reservation.contract_id, Reservation.created_at, Reservation.id))
        for contract_id, line in rows:
            if contract_id is not None:
                by_contract.setdefault(contract_id, line)
    return [by_id[r.line_id] if r.line_id and r.line_id in by_id else by_contract.get(r.contract_id)
            for r in results]


async def on_assessments_finalized(*, uow: UnitOfWork, ctx: ServiceContext,
                                   results: Sequence[AssessmentResult]) -> None:
    """assessment.finalized (a run of them, in order) → each result is attached to its line once (an input
    for next year's budget); on a line from the filing threshold the evaluation report's filing clock
    starts."""
    if not results:
        return
    s = uow.session
    lines = await _lines_of_contracts(uow, results)
    attached = set((await s.execute(select(LineResult.assessment_id).where(
        LineResult.assessment_id.in_({r.assessment_id for r in results})))).scalars())
    for r, line in zip(results, lines, strict=True):
        if line is None:
            log.warning("assessment %s: no budget line for contract %s; ignored", r.assessment_id, r.contract_id)
            continue
        if r.assessment_id not in attached:
            attached.add(r.assessment_id)
            s.add(LineResult(assessment_id=r.assessment_id, line_id=line.id, contract_id=r.contract_id,
                             supplier_code=r.supplier_code, period=r.period, score=str(r.score), grade=r.grade,
                             failing=r.failing, policy=r.policy, attached_at=utcnow()))
            uow.audit("budget.line.result_attached", "budget_line", line.id,
                      {"assessment_id": r.assessment_id, "period": r.period, "score": str(r.score),
                       "grade": r.grade})
        if line.filing_required:  # rare (from the filing threshold): one query per event
            await _open_filing(uow, ctx, line, FilingKind.EVALUATION_REPORT, r.contract_id, business_date(r.at),
                               r.event_id)


async def on_contract_signed(*, uow: UnitOfWork, ctx: ServiceContext, event_id: str, line_id: str, contract_id: str,
                             signed_on: date) -> None:
    """contract.signed → the purchase date counts for statistics; from the filing threshold the contract
    copy is due within the policy's days (15, 004)."""
    line = await uow.session.get(BudgetLine, line_id)
    if line is None:
        log.warning("contract %s names unknown budget line %s; ignored", contract_id, line_id)
        return
    if line.purchased_on is None or signed_on < line.purchased_on:
        line.purchased_on = signed_on
        line.updated_at = utcnow()
        uow.audit("budget.line.purchased", "budget_line", line.id,
                  {"contract_id": contract_id, "signed_on": signed_on, "event_id": event_id})
    if line.filing_required:
        await _open_filing(uow, ctx, line, FilingKind.CONTRACT_COPY, contract_id, signed_on, event_id)


def _flag(line: BudgetLine, code: str, reason: str, **detail: Any) -> None:
    line.flags = [*line.flags, {"code": code, "reason": reason, "at": utcnow().isoformat(), **detail}]
    line.updated_at = utcnow()


async def on_item_withdrawn(*, uow: UnitOfWork, event_id: str, item_code: str, department: str, fiscal_year: int,
                            catalogue_version: int, reason: str) -> int:
    """catalogue.item.withdrawn → the department's lines of that year using the item are flagged."""
    rows = (await uow.session.execute(
        select(BudgetLine).where(BudgetLine.item_code == item_code, BudgetLine.department == department,
                                 BudgetLine.fiscal_year == fiscal_year,
                                 BudgetLine.status != LineStatus.REJECTED.value)
        .with_for_update())).scalars()
    n = 0
    for line in rows:
        line.item_withdrawn = True
        _flag(line, "catalogue.item.withdrawn", reason, event_id=event_id, catalogue_version=catalogue_version)
        uow.audit("budget.line.flagged", "budget_line", line.id,
                  {"code": "catalogue.item.withdrawn", "reason": reason, "event_id": event_id})
        n += 1
    return n
