"""Use cases of the contract service: keyword-only functions over a UnitOfWork, called by routes and handlers.

Functions called by routes commit; functions called by handlers (`record_settlements`, `record_blacklisting`,
`record_delisting`) do not: the consumer commits their effects with the inbox row.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.app import ServiceContext
from services.chassis.auth import Principal
from services.chassis.calendar import business_date, today, utcnow
from services.chassis.errors import Conflict, NotFound, Problem, Unprocessable
from services.chassis.http import RemoteProblem
from services.chassis.inbox import Delivery
from services.chassis.money import fen_to_yuan
from services.chassis.policy import PolicyError, PolicyPack
from services.chassis.uow import UnitOfWork
from services.contract import domain as d
from services.contract import models as m
from services.contract import schemas as s
from services.contract.clients import Clients
from services.events.assessment import AssessmentFinalized
from services.events.contract import (
    ContractAwarded,
    ContractCompleted,
    ContractFiled,
    ContractFlagged,
    ContractPaymentMade,
    ContractSettlementApproved,
    ContractSigned,
    ContractTerminated,
    ContractWithheldReleased,
    ScheduledInstalment,
)
from services.events.registry import SupplierBlacklisted, SupplierDelisted

log = logging.getLogger(__name__)

RESERVATION_NS = uuid.UUID("6f1d8c1e-3b7a-4c55-9a0e-2f43c0b1d7a1")




def pack_for(ctx: ServiceContext, region: str | None, on: date | None = None) -> PolicyPack:
    """The pack in force: the region's own pack when there is one (e.g. "changzhou"), else the deployment's
    (the same rule as the budget and catalogue services). A date before the pack's first version takes the
    newest version."""
    name = region if region and region in ctx.policies.names else None
    try:
        return ctx.policy(on or today(), pack=name)
    except PolicyError:
        return ctx.policy(None, pack=name)


def _clients(ctx: ServiceContext) -> Clients:
    clients: Clients = ctx.clients
    return clients


# ---------------------------------------------------------------- scope
def can_see(c: m.Contract, p: Principal) -> bool:
    """Purchaser: its department's contracts; supplier: its own once awarded; finance: its region; auditor: all."""
    if p.role in ("auditor", "service"):
        return True
    if p.role == "finance":
        return p.region is None or c.region == p.region
    if p.role == "purchaser":
        return c.department == p.org
    if p.role == "supplier":
        return c.supplier_code == p.org and c.status != d.DRAFT
    return False


def _scoped(query: Select[Any], p: Principal) -> Select[Any]:
    if p.role == "finance" and p.region is not None:
        return query.where(m.Contract.region == p.region)
    if p.role == "purchaser":
        return query.where(m.Contract.department == p.org)
    if p.role == "supplier":
        return query.where(m.Contract.supplier_code == p.org, m.Contract.status != d.DRAFT)
    if p.role in ("auditor", "service", "finance"):
        return query
    return query.where(m.Contract.id.is_(None))


async def _load(session: AsyncSession, contract_id: str, p: Principal, *, lock: bool = False) -> m.Contract:
    q = select(m.Contract).where(m.Contract.id == contract_id)
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    c = (await session.execute(q)).scalar_one_or_none()
    if c is None or not can_see(c, p):
        raise NotFound("contract.not_found", f"no contract {contract_id}")
    return c


async def _for_update(uow: UnitOfWork, contract_id: str, p: Principal, version: int) -> m.Contract:
    c = await _load(uow.session, contract_id, p, lock=True)
    if c.version != version:
        raise Conflict("contract.version.conflict",
                       f"the contract is at version {c.version}, not {version}; reload it and try again",
                       field="version", rule="optimistic concurrency", current_version=c.version)
    return c


def _require(p: Principal, c: m.Contract, *roles: str, what: str) -> None:
    """Beyond seeing it: which parties may do this to the contract."""
    if p.role not in roles:
        raise Problem("auth.role.forbidden", f"role {p.role!r} may not {what}; allowed: {', '.join(roles)}",
                      status=403)


def _touch(c: m.Contract) -> None:
    c.version += 1
    c.updated_at = utcnow()


def _transition(uow: UnitOfWork, c: m.Contract, to: str, reason: str | None, p: Principal | None) -> None:
    uow.session.add(m.Transition(contract_id=c.id, from_status=c.status if c.status != to else None, to_status=to,
                                 reason=reason, actor=p.subject if p else "system", at=utcnow()))
    c.status = to


async def instalments_of(session: AsyncSession, contract_id: str) -> list[m.Instalment]:
    rows = await session.execute(select(m.Instalment).where(m.Instalment.contract_id == contract_id)
                                 .order_by(m.Instalment.seq))
    return list(rows.scalars())


async def settled_periods(session: AsyncSession, contract_id: str) -> set[str]:
    rows = await session.execute(select(m.Settlement.period).where(m.Settlement.contract_id == contract_id))
    return set(rows.scalars())


async def contract_view(session: AsyncSession, c: m.Contract) -> s.ContractOut:
    return s.ContractOut.of(c, await instalments_of(session, c.id), await settled_periods(session, c.id))


# ---------------------------------------------------------------- create (draft)
async def _line(ctx: ServiceContext, line_id: str) -> dict[str, Any]:
    try:
        return await _clients(ctx).budget.line(line_id)
    except RemoteProblem as exc:
        if exc.status in (404, 403):
            raise Unprocessable("contract.line.unknown", f"budget line {line_id} does not exist or is not yours",
                                field="line_id", rule="a purchase names an approved budget line of its department",
                                cause=exc.code) from exc
        raise


@dataclass(frozen=True)
class DraftTerms:
    """A draft's terms, checked: the columns they set and the settlement schedule they make."""

    columns: dict[str, Any]
    schedule: list[d.Instalment]
    audit: dict[str, Any]


async def _checked_terms(uow: UnitOfWork, ctx: ServiceContext, principal: Principal, data: s.ContractIn,
                         *, revising: str | None = None) -> DraftTerms:
    """Method checked against policy, terms checked, the settlement schedule built (a new draft or a revision)."""
    department = principal.org or ""
    if data.amount <= 0:
        raise Unprocessable("contract.amount.not_positive", "amount must be more than 0", field="amount",
                            rule="amount > 0")
    line = await _line(ctx, data.line_id)
    pack = pack_for(ctx, line.get("region"))
    term = d.check_term(pack.contract, starts_on=data.starts_on, ends_on=data.ends_on,
                        continuous_service=data.continuous_service, continuous_basis=data.continuous_basis)
    plan = d.AssessmentPlan(frequency=data.assessment_plan.frequency or data.schedule,
                            indicators=list(data.assessment_plan.indicators),
                            assessor_org=data.assessment_plan.assessor_org,
                            description=data.assessment_plan.description)
    d.check_assessment_plan(plan, data.schedule)
    renewal = data.renewal_of is not None
    if line.get("department") != department:
        raise Unprocessable("contract.line.other_department",
                            f"budget line {data.line_id} belongs to another department", field="line_id",
                            rule="a department purchases on its own lines")
    service_type = str(line.get("service_type") or "")
    if renewal:
        prev = await uow.session.get(m.Contract, data.renewal_of)
        if prev is None or prev.id == revising or prev.department != department or prev.status == d.DRAFT:
            raise Unprocessable("contract.renewal_of.unknown", f"no awarded contract {data.renewal_of} of department "
                                f"{department} to renew", field="renewal_of",
                                rule="a renewal names the previous cycle's contract")
        if prev.service_type != service_type:
            raise Unprocessable("contract.renewal_of.other_service",
                                f"the previous contract was for {prev.service_type}, this line funds {service_type}",
                                field="renewal_of", rule="a renewal continues the same service")
        if data.method == "single_source" and prev.supplier_code != data.supplier_code:
            raise Unprocessable("contract.renewal_of.other_supplier",
                                "a single-source renewal goes to the supplier of the last cycle",
                                field="supplier_code", rule="single-source renewal of the incumbent (seed 002)")
    decision = d.check_method(pack, method=data.method, amount_fen=data.amount, service_type=service_type,
                              renewal=renewal)
    d.require_justification(decision, data.method_justification)
    schedule = d.build_schedule(data.amount, data.starts_on, data.ends_on, data.schedule)
    columns: dict[str, Any] = {
        "title": data.title, "department": department, "region": line.get("region"), "line_id": data.line_id,
        "item_code": line.get("item_code"), "fiscal_year": line.get("fiscal_year"), "service_type": service_type,
        "supplier_code": data.supplier_code, "supplier_name": data.supplier_name, "amount_fen": data.amount,
        "method": data.method, "renewal_of": data.renewal_of, "method_decision": decision.as_dict(),
        "method_outside_policy": not decision.within_policy,
        "method_justification": data.method_justification or None, "content": data.content,
        "starts_on": data.starts_on, "ends_on": data.ends_on, "term_months": term.months,
        "continuous_service": data.continuous_service, "continuous_basis": data.continuous_basis,
        "long_term": term.long_term, "quantity_standard": data.quantity_standard,
        "quality_standard": data.quality_standard, "pricing_method": data.pricing_method, "schedule": data.schedule,
        "payment_rule": d.PaymentRule.from_policy(pack).as_dict(), "rights_obligations": data.rights_obligations,
        "liability": data.liability,
        "assessment_plan": {"frequency": plan.frequency, "indicators": plan.indicators,
                            "assessor_org": plan.assessor_org, "description": plan.description},
        "policy": pack.ref,
        "review_status": "pending" if (not decision.within_policy or term.long_term) else None,
    }
    return DraftTerms(columns, list(schedule), {"method": decision.as_dict(), "amount": fen_to_yuan(data.amount),
                                                "long_term": term.long_term, "policy": pack.ref})


def _add_schedule(uow: UnitOfWork, contract_id: str, schedule: Sequence[d.Instalment]) -> None:
    for i in schedule:
        uow.session.add(m.Instalment(contract_id=contract_id, seq=i.seq, period=i.period, starts_on=i.starts_on,
                                     ends_on=i.ends_on, amount_fen=i.amount_fen, partial=i.partial))


async def create_contract(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal,
                          data: s.ContractIn) -> m.Contract:
    """A draft contract: method checked against policy, terms checked, the settlement schedule built."""
    terms = await _checked_terms(uow, ctx, principal, data)
    stamp = utcnow()
    c = m.Contract(id=str(uuid.uuid4()), version=1, status=d.DRAFT, **terms.columns, filing_required=False,
                   flagged=False, created_by=principal.subject, created_at=stamp, updated_at=stamp)
    uow.session.add(c)
    await uow.flush()
    _add_schedule(uow, c.id, terms.schedule)
    uow.session.add(m.Transition(contract_id=c.id, from_status=None, to_status=d.DRAFT, reason="drafted",
                                 actor=principal.subject, at=stamp))
    uow.audit("contract.drafted", "contract", c.id, terms.audit)
    await uow.commit()
    return c


async def revise_draft(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, contract_id: str,
                       data: s.DraftRevisionIn) -> m.Contract:
    """A draft's terms replaced as a whole (checked as a new draft's are), before it is awarded; its schedule is
    built again. After the award, terms change only by signed amendment."""
    c = await _for_update(uow, contract_id, principal, data.version)
    _require(principal, c, "purchaser", what="revise a draft")
    if c.status != d.DRAFT:
        raise Conflict("contract.not_draft", f"the contract is {c.status}; only a draft is revised",
                       field="version", rule="after the award, terms change by signed amendment")
    terms = await _checked_terms(uow, ctx, principal, data, revising=c.id)
    before = {"amount": fen_to_yuan(c.amount_fen), "supplier_code": c.supplier_code, "method": c.method}
    for name, value in terms.columns.items():
        setattr(c, name, value)
    await uow.session.execute(delete(m.Instalment).where(m.Instalment.contract_id == c.id))
    _add_schedule(uow, c.id, terms.schedule)
    uow.audit("contract.draft_revised", "contract", c.id, {**terms.audit, "before": before})
    _touch(c)
    await uow.commit()
    return c


# ---------------------------------------------------------------- read
async def get_contract(*, session: AsyncSession, principal: Principal, contract_id: str) -> m.Contract:
    return await _load(session, contract_id, principal)


async def list_contracts(*, session: AsyncSession, principal: Principal, status: str | None, supplier_code: str | None,
                         flagged: bool | None, review: str | None, limit: int, offset: int
                         ) -> tuple[list[m.Contract], int]:
    q = _scoped(select(m.Contract), principal)
    if status:
        q = q.where(m.Contract.status == status)
    if supplier_code:
        q = q.where(m.Contract.supplier_code == supplier_code)
    if flagged is not None:
        q = q.where(m.Contract.flagged.is_(flagged))
    if review:
        q = q.where(m.Contract.review_status == review)
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = await session.execute(q.order_by(m.Contract.created_at, m.Contract.id).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)


# ---------------------------------------------------------------- finance review of exceptions
async def review_exception(*, uow: UnitOfWork, principal: Principal, contract_id: str, data: s.ReviewIn) -> m.Contract:
    c = await _for_update(uow, contract_id, principal, data.version)
    if c.review_status is None:
        raise Conflict("contract.review.not_needed", "this contract has nothing for finance to review",
                       field="decision", rule="only methods outside policy and multi-year terms are reviewed")
    if c.review_status != "pending":
        raise Conflict("contract.review.done", f"already reviewed: {c.review_status}", field="decision",
                       rule="one review per contract")
    c.review_status, c.review_note = data.decision, data.note
    c.reviewed_by, c.reviewed_at = principal.subject, utcnow()
    _touch(c)
    uow.audit("contract.reviewed", "contract", c.id, {"decision": data.decision, "note": data.note})
    await uow.commit()
    return c


# ---------------------------------------------------------------- award
async def _blacklisted(session: AsyncSession, supplier_code: str, on: date) -> list[d.BlacklistEntry]:
    rows = (await session.execute(select(m.BlacklistedSupplier)
                                  .where(m.BlacklistedSupplier.supplier_code == supplier_code))).scalars()
    entries = [d.BlacklistEntry(r.entry_id, r.starts_on, r.ends_on, r.ended_on, r.reason) for r in rows]
    return d.active_entries(entries, on)


async def award_contract(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, contract_id: str,
                         version: int) -> m.Contract:
    """Award: approved (and from 100万 finance-approved) line, supplier eligible at this moment, no blacklist, the
    method (single-source renewal confirmed by the registry), then funds reserved. A refusal leaves nothing
    reserved: the reservation is the last call, and anything failing after it releases it. The contract row stays
    locked from the version check to the commit, so a second award of the same contract waits, then finds the
    version moved (409) before calling anyone."""
    c = await _for_update(uow, contract_id, principal, version)
    _require(principal, c, "purchaser", what="award a contract")
    if c.status != d.DRAFT:
        raise Conflict("contract.state.invalid_transition", f"only a draft is awarded; this contract is {c.status}",
                       field="status", rule="draft → awarded")
    if c.review_status == "rejected":
        raise Unprocessable("contract.review.rejected",
                            f"finance rejected this contract's exception: {c.review_note}", field="method",
                            rule="a rejected exception cannot be awarded")
    on = today()
    pack = pack_for(ctx, c.region, on)
    vetoes = await _blacklisted(uow.session, c.supplier_code, on)
    if vetoes:
        raise Unprocessable("contract.supplier.blacklisted",
                            f"supplier {c.supplier_code} is on the blacklist: {vetoes[0].reason}"
                            + (f" (until {vetoes[0].ends_on})" if vetoes[0].ends_on else ""),
                            field="supplier_code", rule="one-vote veto (一票否决) for a blacklisted supplier, seed 002")
    # 1. the budget line
    line = await _line(ctx, c.line_id)
    check = d.check_line(line, department=c.department, amount_fen=c.amount_fen, service_type=c.service_type,
                         finance_approval_from_fen=pack.budget.finance_approval_from_fen)
    if not check.ok:
        raise Unprocessable(check.code, check.detail, field=check.field,
                            rule="budget first; finance approval from "
                                 f"{fen_to_yuan(pack.budget.finance_approval_from_fen)} yuan (seed 004)",
                            line_status=line.get("status"))
    # 2. the supplier, at this moment
    try:
        answer = await _clients(ctx).registry.eligibility(c.supplier_code, service_type=c.service_type,
                                                          method=c.method, as_of=on)
    except RemoteProblem as exc:
        if exc.status == 404:
            raise Unprocessable("contract.supplier.unknown", f"the registry does not know supplier {c.supplier_code}",
                                field="supplier_code", rule="awards go to registered suppliers",
                                cause=exc.code) from exc
        raise
    refusal = d.eligibility_refusal(answer)
    renewal = c.renewal_of is not None
    if refusal is not None and c.method == "single_source" and renewal and answer.get("single_source_renewal") is False:
        raise Unprocessable("contract.method.single_source_not_qualified",
                            f"single-source renewal refused: the registry says the last cycle does not qualify "
                            f"(single_source_renewal = false): {refusal}", field="method",
                            rule=f"single source only for a renewal after a qualifying cycle ({answer.get('policy')})",
                            reasons=answer.get("reasons") or [])
    if refusal is not None:
        raise Unprocessable("contract.supplier.ineligible", f"supplier {c.supplier_code} is not eligible: {refusal}",
                            field="supplier_code", rule=f"registry eligibility ({answer.get('policy')})",
                            reasons=answer.get("reasons") or [])
    # 3. the method, now with the registry's word on a single-source renewal
    decision = d.check_method(pack, method=c.method, amount_fen=c.amount_fen, service_type=c.service_type,
                              renewal=renewal, single_source_renewal=bool(answer.get("single_source_renewal")))
    if not decision.within_policy and not c.method_justification:
        raise Unprocessable("contract.method.single_source_not_qualified" if c.method == "single_source"
                            else "contract.method.outside_policy", "; ".join(decision.reasons), field="method",
                            rule=f"method bands of {decision.policy}", allowed=list(decision.allowed))
    # 4. the funds (last; released if anything after it fails)
    reservation_id = str(uuid.uuid5(RESERVATION_NS, f"{c.id}:{c.version}"))
    budget = _clients(ctx).budget
    try:
        await budget.reserve(c.line_id, reservation_id=reservation_id, amount_fen=c.amount_fen, contract_id=c.id)
    except RemoteProblem:
        raise  # the budget refused (budget.funds.insufficient, …): nothing was reserved
    except Exception:
        await _release_quietly(ctx, reservation_id, "award failed while reserving")
        raise
    try:
        stamp = utcnow()
        c.reservation_id, c.awarded_at = reservation_id, stamp
        c.eligibility = {**answer, "checked_at": stamp.isoformat()}
        c.line_snapshot = line
        c.region = c.region or line.get("region")
        c.method_decision = decision.as_dict()
        if not decision.within_policy and not c.method_outside_policy:
            c.method_outside_policy = True
            c.review_status = c.review_status or "pending"
        _transition(uow, c, d.AWARDED, f"awarded to {c.supplier_code}", principal)
        _touch(c)
        uow.emit(ContractAwarded(contract_id=c.id, line_id=c.line_id, reservation_id=reservation_id,
                                 supplier_code=c.supplier_code, service_type=c.service_type, method=c.method,
                                 amount=c.amount_fen, department=c.department))
        uow.audit("contract.awarded", "contract", c.id, {"reservation_id": reservation_id, "eligibility": answer,
                                                         "method": decision.as_dict()})
        await uow.commit()
    except BaseException:
        await _release_quietly(ctx, reservation_id, "award failed after reserving")
        raise
    return c


async def _release_quietly(ctx: ServiceContext, reservation_id: str, reason: str) -> None:
    try:
        await _clients(ctx).budget.release(reservation_id, reason=reason)
    except Exception:  # logged; the budget also releases on contract.terminated, and operators see the log
        log.exception("could not release reservation %s (%s)", reservation_id, reason)


# ---------------------------------------------------------------- sign
async def sign_contract(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, contract_id: str,
                        data: s.SignIn) -> m.Contract:
    """Both parties sign; the contract is signed when the second does (signed_on = the later date)."""
    c = await _for_update(uow, contract_id, principal, data.version)
    _require(principal, c, "purchaser", "supplier", what="sign a contract")
    if c.status != d.AWARDED:
        raise Conflict("contract.state.invalid_transition", f"only an awarded contract is signed; it is {c.status}",
                       field="status", rule="awarded → signed")
    if c.flagged:
        raise Conflict("contract.flagged", f"the contract is under termination review: {c.flag_reason}",
                       field="status", rule="no signature while flagged for termination review")
    if c.awarded_at is not None and data.signed_on < business_date(c.awarded_at):
        raise Unprocessable("contract.signed_on.before_award", "a contract is signed on or after its award",
                            field="signed_on", rule="award before signature")
    party = "purchaser" if principal.role == "purchaser" else "supplier"
    attr = f"{party}_signed_on"
    if getattr(c, attr) is not None:
        raise Conflict("contract.already_signed", f"the {party} signed already on {getattr(c, attr)}",
                       field="signed_on", rule="each party signs once")
    setattr(c, attr, data.signed_on)
    uow.audit("contract.signature", "contract", c.id, {"party": party, "signed_on": data.signed_on})
    if c.purchaser_signed_on and c.supplier_signed_on:
        c.signed_on = max(c.purchaser_signed_on, c.supplier_signed_on)
        pack = pack_for(ctx, c.region, c.signed_on)
        duty = d.filing_duty(pack.contract, amount_fen=c.amount_fen, signed_on=c.signed_on,
                             line_says_required=bool((c.line_snapshot or {}).get("filing_required")))
        c.filing_required, c.filing_due_on = duty.required, duty.due_on
        _transition(uow, c, d.SIGNED, "signed by both parties", principal)
        insts = await instalments_of(uow.session, c.id)
        uow.emit(ContractSigned(
            contract_id=c.id, supplier_code=c.supplier_code, line_id=c.line_id, signed_on=c.signed_on,
            starts_on=c.starts_on, ends_on=c.ends_on, amount=c.amount_fen, service_type=c.service_type,
            department=c.department, schedule=c.schedule, periods=[i.period for i in insts],
            instalments=[ScheduledInstalment(period=i.period, starts_on=i.starts_on, ends_on=i.ends_on,
                                             amount=i.amount_fen) for i in insts],
            method=c.method, filing_required=duty.required, filing_due_on=duty.due_on,
            assessor_org=(c.assessment_plan or {}).get("assessor_org"), region=c.region or ""))
    _touch(c)
    await uow.commit()
    return c


# ---------------------------------------------------------------- states
async def transition(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, contract_id: str,
                     data: s.TransitionIn) -> m.Contract:
    c = await _for_update(uow, contract_id, principal, data.version)
    _require(principal, c, "purchaser", "finance", what="change a contract's state")
    on = data.on or today()
    if data.action == "clear_flag":
        if not c.flagged:
            raise Conflict("contract.not_flagged", "the contract is not flagged", field="action",
                           rule="clear_flag ends a termination review")
        if not (data.reason and data.reason.strip()):
            raise Unprocessable("contract.reason.required", "ending a termination review needs a reason",
                                field="reason", rule="every review decision is recorded with its reason")
        c.flagged, c.flag_reason = False, f"{c.flag_reason} — cleared: {data.reason}"
        uow.audit("contract.flag_cleared", "contract", c.id, {"reason": data.reason})
        _touch(c)
        await uow.commit()
        return c
    target = d.next_state(c.status, data.action, reason=data.reason)
    if data.action == "complete":
        settled = await settled_periods(uow.session, c.id)
        missing = [i.period for i in await instalments_of(uow.session, c.id) if i.period not in settled]
        if missing:
            raise Conflict("contract.settlement.incomplete",
                           f"periods not yet settled: {', '.join(missing)}", field="action",
                           rule="a contract completes when every period is assessed and settled", missing=missing)
    c.status_reason = data.reason
    _transition(uow, c, target, data.reason, principal)
    if target == d.TERMINATED:
        c.terminated_on = on
        c.flagged = False
        if c.reservation_id:
            uow.emit(ContractTerminated(contract_id=c.id, line_id=c.line_id, reservation_id=c.reservation_id,
                                        supplier_code=c.supplier_code, reason=data.reason or "", terminated_on=on))
    if target == d.COMPLETED and c.reservation_id:
        total = (await uow.session.execute(select(func.coalesce(func.sum(m.Settlement.amount_fen), 0))
                                             .where(m.Settlement.contract_id == c.id))).scalar_one()
        uow.emit(ContractCompleted(contract_id=c.id, line_id=c.line_id, reservation_id=c.reservation_id,
                                   supplier_code=c.supplier_code, completed_on=on, settled_total=int(total)))
    uow.audit(f"contract.{data.action}", "contract", c.id, {"reason": data.reason, "to": target, "on": on})
    _touch(c)
    await uow.commit()
    return c


async def history(*, session: AsyncSession, principal: Principal, contract_id: str, limit: int,
                  offset: int) -> tuple[list[m.Transition], int]:
    await _load(session, contract_id, principal)
    q = select(m.Transition).where(m.Transition.contract_id == contract_id)
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = await session.execute(q.order_by(m.Transition.id).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)


# ---------------------------------------------------------------- filing (备案)
async def file_contract(*, uow: UnitOfWork, principal: Principal, contract_id: str, data: s.FilingIn) -> m.Contract:
    c = await _for_update(uow, contract_id, principal, data.version)
    _require(principal, c, "purchaser", what="file a contract copy")
    if c.signed_on is None or c.status not in (d.SIGNED, d.PERFORMING, d.SUSPENDED, d.COMPLETED):
        raise Conflict("contract.filing.not_signed", f"a contract copy is filed after signing; it is {c.status}",
                       field="status", rule="filing follows signature")
    if not c.filing_required:
        raise Conflict("contract.filing.not_required", "this contract needs no filing (below the policy threshold)",
                       field="filed_on", rule="filing from the policy's filing_from amount (seed 004)")
    if c.filed_on is not None:
        raise Conflict("contract.filing.done", f"the contract copy was filed on {c.filed_on}", field="filed_on",
                       rule="one filing per contract")
    if data.filed_on < c.signed_on:
        raise Unprocessable("contract.filing.before_signature", "filed_on is before the signature",
                            field="filed_on", rule="a signed contract's copy is filed")
    assert c.filing_due_on is not None
    late = data.filed_on > c.filing_due_on
    c.filed_on, c.filing_late = data.filed_on, late
    c.filing_document = {**data.document.model_dump(mode="json"), "filed_with": data.filed_with}
    uow.session.add(m.LedgerEntry(id=str(uuid.uuid4()), contract_id=c.id, kind="document", period=None,
                                  title=f"合同副本备案 {data.document.name}", summary="late" if late else "on time",
                                  amount_fen=None, document=c.filing_document, recorded_by=principal.subject,
                                  recorded_role=principal.role, created_at=utcnow()))
    uow.emit(ContractFiled(contract_id=c.id, line_id=c.line_id, filed_on=data.filed_on, due_on=c.filing_due_on,
                           late=late))
    uow.audit("contract.filed", "contract", c.id, {"filed_on": data.filed_on, "due_on": c.filing_due_on, "late": late})
    _touch(c)
    await uow.commit()
    return c


async def overdue_filings(*, session: AsyncSession, principal: Principal, as_of: date, limit: int,
                          offset: int) -> tuple[list[m.Contract], int]:
    q = _scoped(select(m.Contract), principal).where(
        m.Contract.filing_required.is_(True), m.Contract.filed_on.is_(None), m.Contract.filing_due_on < as_of,
        m.Contract.status.in_((d.SIGNED, d.PERFORMING, d.SUSPENDED, d.COMPLETED)))
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = await session.execute(q.order_by(m.Contract.filing_due_on, m.Contract.id).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)


# ---------------------------------------------------------------- settlement (handler: no commit)
async def record_settlements(*, uow: UnitOfWork, deliveries: Sequence[Delivery]) -> list[m.Settlement | None]:
    """assessment.finalized → the period's settlement = instalment × the grade's factor, once per contract and period.
    The inbox drops a redelivered event; the unique (contract, period) drops a second assessment of a period.

    A run of events at once, with one statement per table whatever its length: the contracts named (locked, in
    id order), their instalments and settlements for the periods named; then each event in order against those
    rows in memory, so a run ends as its events one by one would (a second event for a period finds the first's
    settlement). New rows are inserted together when the consumer commits. Per event: its settlement, the one
    kept, or None."""
    session = uow.session
    events: list[tuple[AssessmentFinalized, str]] = [(dl.payload, dl.event.id) for dl in deliveries]
    contract_ids = sorted({e.contract_id for e, _ in events})
    contracts: dict[str, m.Contract] = {}
    if contract_ids:
        rows = await session.execute(select(m.Contract).where(m.Contract.id.in_(contract_ids))
                                     .order_by(m.Contract.id).with_for_update())
        contracts = {c.id: c for c in rows.scalars()}
    pairs = sorted({(e.contract_id, e.period) for e, _ in events
                    if e.contract_id in contracts and contracts[e.contract_id].status in d.SETTLEABLE})
    instalments: dict[tuple[str, str], m.Instalment] = {}
    settled: dict[tuple[str, str], m.Settlement] = {}
    if pairs:
        inst_rows = await session.execute(select(m.Instalment)
                                          .where(tuple_(m.Instalment.contract_id, m.Instalment.period).in_(pairs))
                                          .order_by(m.Instalment.id))
        instalments = {(i.contract_id, i.period): i for i in inst_rows.scalars()}
        known = [p for p in pairs if p in instalments]
        if known:
            set_rows = await session.execute(select(m.Settlement)
                                             .where(tuple_(m.Settlement.contract_id, m.Settlement.period).in_(known))
                                             .order_by(m.Settlement.id))
            settled = {(r.contract_id, r.period): r for r in set_rows.scalars()}
    out: list[m.Settlement | None] = []
    for event, event_id in events:
        c = contracts.get(event.contract_id)
        if c is None:
            log.info("assessment %s names no contract of ours (%s)", event.assessment_id, event.contract_id)
            out.append(None)
            continue
        if c.status not in d.SETTLEABLE:
            log.warning("assessment %s for contract %s in state %s: not settled", event.assessment_id, c.id, c.status)
            uow.audit("contract.settlement.skipped", "contract", c.id,
                      {"assessment_id": event.assessment_id, "period": event.period, "status": c.status})
            out.append(None)
            continue
        inst = instalments.get((c.id, event.period))
        if inst is None:
            log.warning("assessment %s: period %s is not in contract %s's schedule",
                        event.assessment_id, event.period, c.id)
            uow.audit("contract.settlement.unmatched", "contract", c.id,
                      {"assessment_id": event.assessment_id, "period": event.period})
            out.append(None)
            continue
        existing = settled.get((c.id, inst.period))
        if existing is not None:
            if existing.assessment_id != event.assessment_id:
                uow.audit("contract.settlement.duplicate_period", "contract", c.id,
                          {"period": event.period, "kept": existing.assessment_id, "ignored": event.assessment_id})
            out.append(existing)
            continue
        row = settled[(c.id, inst.period)] = _settle(uow, c, inst, event, event_id)
        out.append(row)
    return out


def _settle(uow: UnitOfWork, c: m.Contract, inst: m.Instalment, event: AssessmentFinalized,
            event_id: str) -> m.Settlement:
    """The period's settlement, its ledger entry, the first one's start of performance, the event and the audit
    row: all added to the session, nothing flushed (the settlement's id is ours)."""
    rule = d.PaymentRule.from_dict(c.payment_rule)
    result = d.settle(rule, period=inst.period, grade=event.grade, instalment_fen=inst.amount_fen)
    stamp = utcnow()
    row = m.Settlement(
        id=str(uuid.uuid4()), contract_id=c.id, period=inst.period, period_index=inst.seq,
        assessment_id=event.assessment_id, event_id=event_id, score=str(event.score), grade=event.grade,
        instalment_fen=inst.amount_fen, factor_percent=format(result.factor_percent.normalize(), "f"),
        amount_fen=result.amount_fen, withheld_fen=result.withheld_fen, withheld_reason=result.withheld_reason,
        reward_fen=result.reward_fen, policy=rule.policy or c.policy, status="approved", created_at=stamp)
    uow.session.add(row)
    uow.session.add(m.LedgerEntry(
        id=str(uuid.uuid4()), contract_id=c.id, kind="settlement", period=inst.period,
        title=f"{inst.period} 结算 ({event.grade})", summary=result.withheld_reason, amount_fen=result.amount_fen,
        document=None, recorded_by="system", recorded_role="system", created_at=stamp))
    if c.status == d.SIGNED:
        _transition(uow, c, d.PERFORMING, f"first period settled ({inst.period})", None)
        _touch(c)
    uow.emit(ContractSettlementApproved(
        contract_id=c.id, settlement_id=row.id, line_id=c.line_id, reservation_id=c.reservation_id or "",
        supplier_code=c.supplier_code, period=inst.period, grade=event.grade, instalment=inst.amount_fen,
        factor_percent=row.factor_percent, amount=result.amount_fen, withheld=result.withheld_fen,
        reward=result.reward_fen, withheld_reason=result.withheld_reason, assessment_id=event.assessment_id,
        policy=row.policy))
    uow.audit("contract.settlement.approved", "settlement", row.id,
              {"contract_id": c.id, "period": inst.period, "grade": event.grade, "amount": fen_to_yuan(row.amount_fen),
               "withheld": fen_to_yuan(row.withheld_fen)})
    return row


async def list_settlements(*, session: AsyncSession, principal: Principal, contract_id: str) -> s.SettlementList:
    c = await _load(session, contract_id, principal)
    rows = list((await session.execute(select(m.Settlement).where(m.Settlement.contract_id == c.id)
                                       .order_by(m.Settlement.period_index))).scalars())
    return s.SettlementList(
        items=[s.SettlementOut.of(r) for r in rows], total=len(rows), instalments_total=c.amount_fen,
        settled_amount=sum(r.amount_fen for r in rows), withheld_total=sum(r.withheld_fen for r in rows),
        reward_total=sum(r.reward_fen for r in rows), released_total=sum(r.released_fen or 0 for r in rows),
        paid_total=sum(r.amount_fen + r.reward_fen for r in rows if r.status == "paid"))


async def _settlement_locked(session: AsyncSession, c: m.Contract, settlement_id: str) -> m.Settlement:
    row = (await session.execute(select(m.Settlement).where(m.Settlement.id == settlement_id,
                                                            m.Settlement.contract_id == c.id)
                                 .with_for_update())).scalar_one_or_none()
    if row is None:
        raise NotFound("contract.settlement.not_found", f"no settlement {settlement_id} on contract {c.id}")
    return row


async def release_withheld(*, uow: UnitOfWork, principal: Principal, contract_id: str, settlement_id: str,
                           data: s.RemediationIn) -> m.Settlement:
    """The purchaser verified the supplier's remediation of a settled period: the contract's rule decides the
    share of the withheld amount now approved for payment (contract.withheld.released → the budget records
    it against the reservation)."""
    c = await _load(uow.session, contract_id, principal, lock=True)
    _require(principal, c, "purchaser", what="record a verified remediation")
    row = await _settlement_locked(uow.session, c, settlement_id)
    rule = d.PaymentRule.from_dict(c.payment_rule)
    release = d.release_withheld(rule, withheld_fen=row.withheld_fen, released_before=row.release_id is not None,
                                 contract_status=c.status, settled_on=business_date(row.created_at),
                                 verified_on=data.verified_on, today=today(), remediation=data.remediation)
    stamp = utcnow()
    row.release_id, row.released_fen = str(uuid.uuid4()), release.amount_fen
    row.remediation, row.remediation_verified_on = data.remediation, data.verified_on
    row.released_by, row.released_at = principal.subject, stamp
    uow.session.add(m.LedgerEntry(
        id=str(uuid.uuid4()), contract_id=c.id, kind="release", period=row.period, title=f"{row.period} 整改后补付",
        summary=data.remediation, amount_fen=release.amount_fen, document=None, recorded_by=principal.subject,
        recorded_role=principal.role, created_at=stamp))
    uow.emit(ContractWithheldReleased(
        contract_id=c.id, release_id=row.release_id, settlement_id=row.id, line_id=c.line_id,
        reservation_id=c.reservation_id or "", supplier_code=c.supplier_code, period=row.period,
        withheld=row.withheld_fen, amount=release.amount_fen, kept=release.kept_fen,
        release_percent=format(release.percent.normalize(), "f"), remediation=data.remediation,
        verified_on=data.verified_on, policy=rule.policy or c.policy))
    uow.audit("contract.withheld.released", "settlement", row.id,
              {"contract_id": c.id, "period": row.period, "released": fen_to_yuan(release.amount_fen),
               "kept": fen_to_yuan(release.kept_fen), "verified_on": data.verified_on.isoformat()})
    await uow.commit()
    return row


async def confirm_payment(*, uow: UnitOfWork, principal: Principal, contract_id: str, settlement_id: str,
                          data: s.PaymentIn) -> m.Settlement:
    c = await _load(uow.session, contract_id, principal, lock=True)
    _require(principal, c, "purchaser", "finance", what="confirm a payment")
    row = await _settlement_locked(uow.session, c, settlement_id)
    if row.status == "paid":
        raise Conflict("contract.payment.already_made", f"settlement {row.period} was paid on {row.paid_on}",
                       field="settlement_id", rule="a settlement is paid once")
    due = row.amount_fen + row.reward_fen  # the performance-linked amount and any reward
    if due == 0:
        raise Conflict("contract.payment.nothing_due", "this settlement approves nothing to pay",
                       field="settlement_id", rule="only a settled amount is paid")
    if c.signed_on and data.paid_on < c.signed_on:
        raise Unprocessable("contract.payment.before_signature", "paid_on is before the contract was signed",
                            field="paid_on", rule="payments follow the contract")
    row.status, row.paid_on, row.payment_reference = "paid", data.paid_on, data.reference
    uow.session.add(m.LedgerEntry(
        id=str(uuid.uuid4()), contract_id=c.id, kind="payment", period=row.period, title=f"{row.period} 支付",
        summary=data.reference, amount_fen=due, document=None, recorded_by=principal.subject,
        recorded_role=principal.role, created_at=utcnow()))
    uow.emit(ContractPaymentMade(contract_id=c.id, settlement_id=row.id, line_id=c.line_id, amount=due,
                                 paid_on=data.paid_on))
    uow.audit("contract.payment.made", "settlement", row.id, {"contract_id": c.id, "amount": fen_to_yuan(due),
                                                              "reference": data.reference})
    await uow.commit()
    return row


# ---------------------------------------------------------------- blacklist (handler: no commit)
async def record_blacklisting(*, uow: UnitOfWork, event: SupplierBlacklisted, event_id: str) -> list[m.Contract]:
    """registry.supplier.blacklisted → our record (no new award) and the supplier's live contracts flagged for
    termination review (contract.flagged)."""
    session = uow.session
    entry = await session.get(m.BlacklistedSupplier, event.entry_id)
    if entry is None:
        session.add(m.BlacklistedSupplier(entry_id=event.entry_id, supplier_code=event.supplier_code,
                                          reason=event.reason, source=event.source, starts_on=event.starts_on,
                                          ends_on=event.ends_on, ended_on=None, policy=event.policy,
                                          recorded_at=utcnow()))
    rows = await session.execute(select(m.Contract).where(m.Contract.supplier_code == event.supplier_code,
                                                          m.Contract.status.in_(d.LIVE))
                                 .order_by(m.Contract.id).with_for_update())
    flagged = []
    reason = f"supplier blacklisted ({event.source}): {event.reason}"
    for c in rows.scalars():
        if c.flagged:
            continue
        c.flagged, c.flag_reason = True, reason
        _touch(c)
        uow.emit(ContractFlagged(contract_id=c.id, supplier_code=c.supplier_code, reason=reason,
                                 cause_event_id=event_id, line_id=c.line_id, department=c.department,
                                 status=c.status))
        uow.audit("contract.flagged", "contract", c.id, {"reason": reason, "entry_id": event.entry_id})
        flagged.append(c)
    return flagged


async def record_delisting(*, uow: UnitOfWork, event: SupplierDelisted) -> None:
    entry = await uow.session.get(m.BlacklistedSupplier, event.entry_id)
    if entry is not None and entry.ended_on is None:
        entry.ended_on = event.ended_on
        uow.audit("contract.supplier.delisted", "supplier", event.supplier_code,
                  {"entry_id": event.entry_id, "ended_on": event.ended_on})


# ---------------------------------------------------------------- amendments
AMENDABLE_STATES = (d.SIGNED, d.PERFORMING, d.SUSPENDED)


async def propose_amendment(*, uow: UnitOfWork, principal: Principal, contract_id: str,
                            data: s.AmendmentIn) -> m.Amendment:
    c = await _load(uow.session, contract_id, principal, lock=True)
    _require(principal, c, "purchaser", "supplier", what="propose an amendment")
    if c.status not in AMENDABLE_STATES:
        raise Conflict("contract.amendment.state", f"a {c.status} contract is not amended",
                       field="status", rule="amendments to signed, performing or suspended contracts")
    changes = data.changes.model_dump(mode="json", exclude_none=True)
    d.check_amendment(data.type, changes, data.rationale)
    if "assessment_plan" in changes:
        plan = changes["assessment_plan"]
        plan["frequency"] = plan.get("frequency") or c.schedule
        d.check_assessment_plan(d.AssessmentPlan(frequency=plan["frequency"]), c.schedule)
    seq = (await uow.session.execute(select(func.coalesce(func.max(m.Amendment.seq), 0))
                                     .where(m.Amendment.contract_id == c.id))).scalar_one() + 1
    a = m.Amendment(id=str(uuid.uuid4()), contract_id=c.id, seq=seq, type=data.type, rationale=data.rationale,
                    changes=changes, before=None, status="proposed", proposed_by=principal.subject,
                    proposed_role=principal.role, proposed_at=utcnow())
    uow.session.add(a)
    uow.audit("contract.amendment.proposed", "contract", c.id, {"seq": seq, "type": data.type, "changes": changes})
    await uow.commit()
    return a


async def _amendment(uow: UnitOfWork, c: m.Contract, seq: int) -> m.Amendment:
    a = (await uow.session.execute(select(m.Amendment).where(m.Amendment.contract_id == c.id, m.Amendment.seq == seq)
                                   .with_for_update())).scalar_one_or_none()
    if a is None:
        raise NotFound("contract.amendment.not_found", f"no amendment {seq} on contract {c.id}")
    if a.status != "proposed":
        raise Conflict("contract.amendment.closed", f"amendment {seq} is {a.status}", field="seq",
                       rule="only a proposed amendment is signed or withdrawn")
    return a


async def sign_amendment(*, uow: UnitOfWork, principal: Principal, contract_id: str, seq: int,
                         data: s.AmendmentSignIn) -> m.Amendment:
    """The other party signs; amendments are signed in order; the terms change and the old ones are kept."""
    c = await _for_update(uow, contract_id, principal, data.version)
    _require(principal, c, "purchaser", "supplier", what="sign an amendment")
    if c.status not in AMENDABLE_STATES:
        raise Conflict("contract.amendment.state", f"a {c.status} contract is not amended", field="status",
                       rule="amendments to signed, performing or suspended contracts")
    a = await _amendment(uow, c, seq)
    if a.proposed_role == principal.role:
        raise Conflict("contract.amendment.same_party", "the other party signs an amendment", field="seq",
                       rule="an amendment binds both parties: the one that did not propose it signs")
    earlier = (await uow.session.execute(select(m.Amendment.status).where(m.Amendment.contract_id == c.id,
                                                                          m.Amendment.seq < seq))).scalars().all()
    d.check_amendment_order(seq, list(earlier))
    a.before = {k: getattr(c, k) for k in a.changes}
    for k, v in a.changes.items():
        setattr(c, k, v)
    a.status, a.signed_by, a.signed_on = "signed", principal.subject, data.signed_on
    _touch(c)
    uow.audit("contract.amended", "contract", c.id, {"seq": seq, "type": a.type, "changes": a.changes,
                                                     "before": a.before})
    await uow.commit()
    return a


async def withdraw_amendment(*, uow: UnitOfWork, principal: Principal, contract_id: str, seq: int) -> m.Amendment:
    c = await _load(uow.session, contract_id, principal, lock=True)
    a = await _amendment(uow, c, seq)
    if a.proposed_role != principal.role:
        raise Conflict("contract.amendment.not_yours", "only the proposing party withdraws an amendment",
                       field="seq", rule="the proposer withdraws")
    a.status = "withdrawn"
    uow.audit("contract.amendment.withdrawn", "contract", c.id, {"seq": seq})
    await uow.commit()
    return a


async def list_amendments(*, session: AsyncSession, principal: Principal, contract_id: str, limit: int,
                          offset: int) -> tuple[list[m.Amendment], int]:
    await _load(session, contract_id, principal)
    q = select(m.Amendment).where(m.Amendment.contract_id == contract_id)
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = await session.execute(q.order_by(m.Amendment.seq).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)


# ---------------------------------------------------------------- service ledger (服务台账)
async def add_ledger_entry(*, uow: UnitOfWork, principal: Principal, contract_id: str,
                           data: s.LedgerIn) -> m.LedgerEntry:
    c = await _load(uow.session, contract_id, principal)
    _require(principal, c, "purchaser", "supplier", what="write to the service ledger")
    if c.status in (d.DRAFT, d.TERMINATED):
        raise Conflict("contract.ledger.state", f"a {c.status} contract has no service ledger entries",
                       field="status", rule="the ledger runs from award to completion")
    if data.period is not None:
        periods = {i.period for i in await instalments_of(uow.session, c.id)}
        if data.period not in periods:
            raise Unprocessable("contract.ledger.period_unknown", f"{data.period} is not a period of this contract "
                                f"({', '.join(sorted(periods))})", field="period",
                                rule="ledger periods are the schedule's")
    e = m.LedgerEntry(id=str(uuid.uuid4()), contract_id=c.id, kind=data.kind, period=data.period, title=data.title,
                      summary=data.summary, amount_fen=None,
                      document=data.document.model_dump(mode="json") if data.document else None,
                      recorded_by=principal.subject, recorded_role=principal.role, created_at=utcnow())
    uow.session.add(e)
    uow.audit("contract.ledger.recorded", "contract", c.id, {"kind": data.kind, "title": data.title})
    await uow.commit()
    return e


async def list_ledger(*, session: AsyncSession, principal: Principal, contract_id: str, kind: str | None, limit: int,
                      offset: int) -> tuple[list[m.LedgerEntry], int]:
    await _load(session, contract_id, principal)
    q = select(m.LedgerEntry).where(m.LedgerEntry.contract_id == contract_id)
    if kind:
        q = q.where(m.LedgerEntry.kind == kind)
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = await session.execute(q.order_by(m.LedgerEntry.created_at, m.LedgerEntry.id).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)



# ---------------------------------------------------------------- public disclosure (合同公告)
PUBLISHED = (d.AWARDED, d.SIGNED, d.PERFORMING, d.SUSPENDED, d.COMPLETED, d.TERMINATED)


def _published() -> Select[Any]:
    """Contracts that were awarded (drafts never; a draft terminated before award neither)."""
    return select(m.Contract).where(m.Contract.status.in_(PUBLISHED), m.Contract.awarded_at.is_not(None))


async def public_notices(*, session: AsyncSession, department: str | None, fiscal_year: int | None,
                         supplier_code: str | None, service_type: str | None, region: str | None, limit: int,
                         offset: int) -> tuple[list[m.Contract], int]:
    q = _published()
    if department:
        q = q.where(m.Contract.department == department)
    if fiscal_year:
        q = q.where(m.Contract.fiscal_year == fiscal_year)
    if supplier_code:
        q = q.where(m.Contract.supplier_code == supplier_code)
    if service_type:
        q = q.where(m.Contract.service_type == service_type)
    if region:
        q = q.where(m.Contract.region == region)
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = await session.execute(q.order_by(m.Contract.awarded_at.desc(), m.Contract.id).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)


async def public_notice(*, session: AsyncSession, contract_id: str) -> m.Contract:
    c: m.Contract | None = (
        await session.execute(_published().where(m.Contract.id == contract_id))).scalar_one_or_none()
    if c is None:
        raise NotFound("contract.notice.not_found", f"no published contract notice {contract_id}")
    return c
