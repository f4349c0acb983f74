"""Use cases of the registry service: keyword-only functions over a UnitOfWork, called by routes and handlers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.app import ServiceContext
from services.chassis.auth import Principal
from services.chassis.calendar import business_date, today, utcnow
from services.chassis.db import insert_ignore_many
from services.chassis.errors import Conflict, NotFound, Unprocessable
from services.chassis.inbox import Delivery
from services.chassis.policy import PolicyError, PolicyPack
from services.chassis.uow import UnitOfWork
from services.events.assessment import AssessmentFinalized
from services.events.registry import (
    SupplierBlacklisted,
    SupplierDelisted,
    SupplierEligibilityChanged,
    SupplierQualified,
    SupplierRegistered,
)
from services.registry import domain, schemas
from services.registry.models import (
    BlacklistEntry,
    CreditRecord,
    EligibilitySnapshot,
    PerformanceRecord,
    Qualification,
    QualificationReview,
    Supplier,
    SupplierServiceType,
)

S = cast(Table, Supplier.__table__)
Q = cast(Table, Qualification.__table__)
B = cast(Table, BlacklistEntry.__table__)
C = cast(Table, CreditRecord.__table__)
P = cast(Table, PerformanceRecord.__table__)
SST = cast(Table, SupplierServiceType.__table__)
SNAP = cast(Table, EligibilitySnapshot.__table__)




def _new_id() -> str:
    return str(uuid.uuid4())


def policy_on(ctx: ServiceContext, on: date, *, field: str = "as_of") -> PolicyPack:
    try:
        return ctx.policy(on=on)
    except PolicyError as exc:
        raise Unprocessable("registry.policy.none_in_force", str(exc), field=field,
                            rule="a policy pack version must be in force on the date") from exc


def _check_scope(principal: Principal, code: str) -> None:
    """A supplier sees only its own records; another's answers 404 so codes cannot be probed."""
    if principal.role == "supplier" and principal.org != code:
        raise NotFound("registry.supplier.not_found", f"no supplier {code}")


def _normalise(code: str, field_name: str = "code") -> str:
    return domain.normalise_credit_code(code, field_name=field_name)


# ----------------------------------------------------------------- suppliers
def supplier_out(s: Supplier) -> schemas.SupplierOut:
    return schemas.SupplierOut(
        credit_code=s.code, name=s.name, kind=s.kind, kind_label=domain.SUPPLIER_KIND_LABELS.get(s.kind, s.kind),
        legal_representative=s.legal_representative, address=s.address, region=s.region,
        contacts=list(s.contacts or []), service_types=list(s.service_types or []), qualified=s.review_qualified,
        review_id=s.review_id, review_reasons=list(s.review_reasons or []), reviewed_at=s.reviewed_at,
        registered_at=s.registered_at, version=s.version)


async def register_supplier(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal,
                            data: schemas.SupplierIn) -> Supplier:
    code = _normalise(data.credit_code, "credit_code")
    if principal.role == "supplier" and principal.org != code:
        raise Unprocessable("registry.supplier.not_own_code", "a supplier registers only its own credit code",
                            field="credit_code", rule="a supplier acts for its own credit code")
    if await uow.session.get(Supplier, code) is not None:
        raise Conflict("registry.supplier.exists", f"supplier {code} is already registered", field="credit_code",
                       rule="one registration per unified social credit code")
    now = utcnow()
    s = Supplier(code=code, name=data.name, kind=data.kind, legal_representative=data.legal_representative,
                 address=data.address, region=data.region,
                 contacts=[c.model_dump(exclude_none=True) for c in data.contacts],
                 service_types=list(data.service_types), review_id=None, review_qualified=None, review_reasons=[],
                 reviewed_at=None, registered_at=now, updated_at=now, version=1)
    uow.session.add(s)
    for t in data.service_types:
        uow.session.add(SupplierServiceType(service_type=t, supplier_code=code))
    await uow.flush()
    uow.emit(SupplierRegistered(supplier_code=code, name=s.name, kind=s.kind, service_types=list(s.service_types)))
    uow.audit("supplier.registered", "supplier", code, {"name": s.name, "kind": s.kind,
                                                        "service_types": s.service_types})
    await recheck(uow=uow, ctx=ctx, code=code, service_types=s.service_types, emit=False)
    await uow.commit()
    return s


async def get_supplier(*, session: AsyncSession, principal: Principal, code: str) -> Supplier:
    code = _normalise(code)
    _check_scope(principal, code)
    s = await session.get(Supplier, code)
    if s is None:
        raise NotFound("registry.supplier.not_found", f"no supplier {code}")
    return s


async def list_suppliers(*, session: AsyncSession, principal: Principal, service_type: str | None, kind: str | None,
                         limit: int, offset: int) -> tuple[list[Supplier], int]:
    q = select(Supplier)
    if service_type:
        q = q.join(SupplierServiceType, SupplierServiceType.supplier_code == Supplier.code).where(
            SupplierServiceType.service_type == service_type)
    if kind:
        q = q.where(Supplier.kind == kind)
    if principal.role == "supplier":
        q = q.where(Supplier.code == (principal.org or ""))
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = (await session.execute(q.order_by(Supplier.code).limit(limit).offset(offset))).scalars().all()
    return list(rows), int(total)


async def update_supplier(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, code: str,
                          data: schemas.SupplierUpdate) -> Supplier:
    s = await get_supplier(session=uow.session, principal=principal, code=code)
    if s.version != data.version:
        raise Conflict("registry.supplier.version_mismatch",
                       f"supplier {s.code} is at version {s.version}, not {data.version}", field="version",
                       rule="updates name the version they change (optimistic concurrency)")
    changes: dict[str, Any] = {}
    for f in ("name", "legal_representative", "address"):
        v = getattr(data, f)
        if v is not None and v != getattr(s, f):
            changes[f] = v
    if data.contacts is not None:
        changes["contacts"] = [c.model_dump(exclude_none=True) for c in data.contacts]
    old_types = list(s.service_types or [])
    if data.service_types is not None and data.service_types != old_types:
        changes["service_types"] = list(data.service_types)
    res = await uow.session.execute(
        update(Supplier).where(Supplier.code == s.code, Supplier.version == data.version)
        .values(**changes, updated_at=utcnow(), version=data.version + 1)
        .execution_options(synchronize_session=False))
    if getattr(res, "rowcount", 1) != 1:
        raise Conflict("registry.supplier.version_mismatch", "the supplier changed meanwhile", field="version",
                       rule="optimistic concurrency")
    if "service_types" in changes:
        await uow.session.execute(delete(SupplierServiceType).where(SupplierServiceType.supplier_code == s.code))
        for t in changes["service_types"]:
            uow.session.add(SupplierServiceType(service_type=t, supplier_code=s.code))
    uow.audit("supplier.updated", "supplier", s.code, changes)
    await uow.flush()
    await uow.session.refresh(s)
    if "service_types" in changes:
        await recheck(uow=uow, ctx=ctx, code=s.code, service_types=sorted(set(old_types) | set(s.service_types)))
    await uow.commit()
    return s


# ----------------------------------------------------------------- qualification review
def review_out(r: QualificationReview) -> schemas.ReviewOut:
    return schemas.ReviewOut(review_id=r.id, supplier_code=r.supplier_code, qualified=r.qualified,
                             reasons=list(r.reasons), items=list(r.items), concluded_by=r.concluded_by,
                             concluded_at=r.concluded_at, policy=r.policy)


async def conclude_review(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, code: str,
                          data: schemas.ReviewIn) -> QualificationReview:
    s = await get_supplier(session=uow.session, principal=principal, code=code)
    pack = policy_on(ctx, today())
    items = [domain.ReviewItem(condition=i.condition, passed=i.passed, evidence=i.evidence,
                               reviewer=i.reviewer or principal.name or principal.subject, note=i.note)
             for i in data.items]
    outcome = domain.conclude_review(items, pack)
    now = utcnow()
    r = QualificationReview(
        id=_new_id(), supplier_code=s.code, qualified=outcome.qualified, reasons=outcome.reasons,
        items=[{"condition": i.condition, "label": domain.REVIEW_CONDITION_LABELS[i.condition], "passed": i.passed,
                "evidence": i.evidence, "reviewer": i.reviewer, "note": i.note} for i in items],
        concluded_by=principal.subject, concluded_at=now, policy=pack.ref)
    uow.session.add(r)
    s.review_id, s.review_qualified, s.review_reasons, s.reviewed_at = r.id, outcome.qualified, outcome.reasons, now
    s.updated_at = now
    s.version += 1
    await uow.flush()
    uow.emit(SupplierQualified(supplier_code=s.code, review_id=r.id, qualified=outcome.qualified,
                               reasons=outcome.reasons, service_types=list(s.service_types)))
    uow.audit("supplier.reviewed", "supplier", s.code, {"review_id": r.id, "qualified": outcome.qualified,
                                                        "reasons": outcome.reasons, "policy": pack.ref})
    await recheck(uow=uow, ctx=ctx, code=s.code, service_types=s.service_types)
    await uow.commit()
    return r


async def list_reviews(*, session: AsyncSession, principal: Principal, code: str) -> list[QualificationReview]:
    s = await get_supplier(session=session, principal=principal, code=code)
    rows = await session.execute(select(QualificationReview).where(QualificationReview.supplier_code == s.code)
                                 .order_by(QualificationReview.concluded_at.desc()))
    return list(rows.scalars().all())


# ----------------------------------------------------------------- professional qualifications
def qualification_out(q: Qualification, on: date) -> schemas.QualificationOut:
    status = ("not_yet_valid" if on < q.valid_from
              else "expired" if q.expires_on is not None and q.expires_on < on else "valid")
    return schemas.QualificationOut(qualification_id=q.id, supplier_code=q.supplier_code, name=q.name,
                                    number=q.number, issuer=q.issuer, service_types=list(q.service_types),
                                    valid_from=q.valid_from, expires_on=q.expires_on, status=status,
                                    evidence=q.evidence)


async def add_qualification(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, code: str,
                            data: schemas.QualificationIn) -> Qualification:
    s = await get_supplier(session=uow.session, principal=principal, code=code)
    q = Qualification(id=_new_id(), supplier_code=s.code, name=data.name, number=data.number, issuer=data.issuer,
                      service_types=list(data.service_types), valid_from=data.valid_from, expires_on=data.expires_on,
                      evidence=data.evidence, recorded_by=principal.subject, recorded_at=utcnow())
    uow.session.add(q)
    await uow.flush()
    uow.audit("qualification.recorded", "supplier", s.code, {"qualification_id": q.id, "name": q.name,
                                                             "service_types": q.service_types,
                                                             "expires_on": q.expires_on})
    await recheck(uow=uow, ctx=ctx, code=s.code, service_types=sorted(set(s.service_types) & set(q.service_types)))
    await uow.commit()
    return q


async def list_qualifications(*, session: AsyncSession, principal: Principal, code: str) -> list[Qualification]:
    s = await get_supplier(session=session, principal=principal, code=code)
    rows = await session.execute(select(Qualification).where(Qualification.supplier_code == s.code)
                                 .order_by(Qualification.valid_from))
    return list(rows.scalars().all())


# ----------------------------------------------------------------- credit records (one-vote veto)
def credit_out(r: CreditRecord) -> schemas.CreditRecordOut:
    return schemas.CreditRecordOut(record_id=r.id, supplier_code=r.supplier_code, kind=r.kind,
                                   kind_label=domain.CREDIT_RECORD_LABELS.get(r.kind, r.kind),
                                   description=r.description, source=r.source, occurred_on=r.occurred_on,
                                   assessment_id=r.assessment_id)


async def add_credit_record(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, code: str,
                            data: schemas.CreditRecordIn) -> CreditRecord:
    s = await get_supplier(session=uow.session, principal=principal, code=code)
    if data.occurred_on > today():
        raise Unprocessable("registry.credit_record.in_future", "a record is of something that happened",
                            field="occurred_on", rule="occurred_on is not after today")
    r = CreditRecord(id=_new_id(), supplier_code=s.code, kind=data.kind, description=data.description,
                     source=data.source, occurred_on=data.occurred_on, assessment_id=None,
                     recorded_by=principal.subject, recorded_at=utcnow())
    uow.session.add(r)
    await uow.flush()
    uow.audit("credit_record.recorded", "supplier", s.code, {"record_id": r.id, "kind": r.kind,
                                                             "occurred_on": r.occurred_on})
    await recheck(uow=uow, ctx=ctx, code=s.code, service_types=s.service_types)
    await uow.commit()
    return r


async def list_credit_records(*, session: AsyncSession, principal: Principal, code: str) -> list[CreditRecord]:
    s = await get_supplier(session=session, principal=principal, code=code)
    rows = await session.execute(select(CreditRecord).where(CreditRecord.supplier_code == s.code)
                                 .order_by(CreditRecord.occurred_on))
    return list(rows.scalars().all())


# ----------------------------------------------------------------- blacklist
def _view(e: Any) -> domain.BlacklistView:
    return domain.BlacklistView(entry_id=e.id, reason=e.reason, source=e.source, starts_on=e.starts_on,
                                ends_on=e.ends_on, state=e.state, ended_on=e.ended_on)


def blacklist_out(e: BlacklistEntry, on: date) -> schemas.BlacklistOut:
    appeal = None
    if e.appeal_state:
        appeal = {"state": e.appeal_state, "reason": e.appeal_reason, "submitted_at": e.appeal_submitted_at,
                  "decision_reason": e.appeal_decision_reason, "decided_at": e.appeal_decided_at}
    return schemas.BlacklistOut(
        entry_id=e.id, supplier_code=e.supplier_code, supplier_name=e.supplier_name, reason=e.reason,
        source=e.source, rule=e.rule, basis=e.basis, starts_on=e.starts_on, ends_on=e.ends_on,
        status=_view(e).status(on), ended_on=e.ended_on, end_reason=e.end_reason, appeal=appeal,
        assessment_id=e.assessment_id, policy=e.policy, delisted=e.delisted_at is not None, version=e.version)


async def _add_blacklist(uow: UnitOfWork, *, supplier_code: str, supplier_name: str, reason: str, source: str,
                         rule: str | None, basis: str, starts_on: date, ends_on: date | None, policy: str,
                         created_by: str, assessment_id: str | None = None) -> BlacklistEntry:
    e = BlacklistEntry(id=_new_id(), supplier_code=supplier_code, supplier_name=supplier_name, reason=reason,
                       source=source, rule=rule, basis=basis, starts_on=starts_on, ends_on=ends_on, state="active",
                       ended_on=None, end_reason=None, appeal_state=None, assessment_id=assessment_id, policy=policy,
                       created_by=created_by, created_at=utcnow(), delisted_at=None, version=1)
    uow.session.add(e)
    await uow.flush()
    uow.emit(SupplierBlacklisted(supplier_code=supplier_code, entry_id=e.id, reason=reason, source=source,
                                 starts_on=starts_on, ends_on=ends_on, policy=policy))
    uow.audit("supplier.blacklisted", "blacklist_entry", e.id,
              {"supplier_code": supplier_code, "reason": reason, "source": source, "rule": rule,
               "starts_on": starts_on, "ends_on": ends_on, "policy": policy, "assessment_id": assessment_id})
    return e


async def blacklist_supplier(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal,
                             data: schemas.BlacklistIn) -> BlacklistEntry:
    code = _normalise(data.supplier_code, "supplier_code")
    s = await uow.session.get(Supplier, code)
    if s is None:
        raise Unprocessable("registry.supplier.not_registered", f"no supplier {code} is registered",
                            field="supplier_code", rule="blacklisting names a registered supplier")
    starts = data.starts_on or today()
    pack = policy_on(ctx, starts, field="starts_on")
    ends = data.ends_on if data.ends_on is not None else (
        None if data.indefinite else domain.blacklist_end(starts, data.years))
    field_ = "years" if data.years is not None else "ends_on"
    try:
        domain.check_blacklist_period(starts, ends, pack)
    except Unprocessable as exc:
        exc.field = field_
        raise
    e = await _add_blacklist(uow, supplier_code=code, supplier_name=s.name, reason=data.reason, source=data.source,
                             rule=None, basis=data.basis, starts_on=starts, ends_on=ends, policy=pack.ref,
                             created_by=principal.subject)
    await recheck(uow=uow, ctx=ctx, code=code, service_types=s.service_types)
    await uow.commit()
    return e


async def list_blacklist(*, session: AsyncSession, principal: Principal, supplier_code: str | None,
                         limit: int, offset: int) -> tuple[list[BlacklistEntry], int]:
    q = select(BlacklistEntry)
    if supplier_code:
        q = q.where(BlacklistEntry.supplier_code == supplier_code.strip().upper())
    if principal.role == "supplier":
        q = q.where(BlacklistEntry.supplier_code == (principal.org or ""))
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = await session.execute(q.order_by(BlacklistEntry.created_at.desc(), BlacklistEntry.id)
                                 .limit(limit).offset(offset))
    return list(rows.scalars().all()), int(total)


async def public_blacklist(*, session: AsyncSession, as_of: date, limit: int,
                           offset: int) -> tuple[list[BlacklistEntry], int]:
    """The public list (名单公开): entries in force on `as_of` — name, code, reason, period."""
    q = select(BlacklistEntry).where(
        BlacklistEntry.state == "active", BlacklistEntry.starts_on <= as_of,
        (BlacklistEntry.ends_on.is_(None)) | (BlacklistEntry.ends_on >= as_of))
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = await session.execute(q.order_by(BlacklistEntry.starts_on.desc(), BlacklistEntry.id)
                                 .limit(limit).offset(offset))
    return list(rows.scalars().all()), int(total)


async def get_blacklist_entry(*, session: AsyncSession, principal: Principal, entry_id: str,
                              for_update: bool = False) -> BlacklistEntry:
    try:
        uuid.UUID(entry_id)
    except ValueError as exc:
        raise NotFound("registry.blacklist.not_found", f"no blacklist entry {entry_id}") from exc
    q = select(BlacklistEntry).where(BlacklistEntry.id == entry_id)
    if for_update:
        q = q.with_for_update()
    e = (await session.execute(q)).scalar_one_or_none()
    if e is None or (principal.role == "supplier" and principal.org != e.supplier_code):
        raise NotFound("registry.blacklist.not_found", f"no blacklist entry {entry_id}")
    return e


def _check_version(e: BlacklistEntry, version: int) -> None:
    if e.version != version:
        raise Conflict("registry.blacklist.version_mismatch", f"entry is at version {e.version}, not {version}",
                       field="version", rule="updates name the version they change (optimistic concurrency)")


def _delist(uow: UnitOfWork, e: BlacklistEntry, *, reason: str, ended_on: date) -> None:
    e.delisted_at = utcnow()
    uow.emit(SupplierDelisted(supplier_code=e.supplier_code, entry_id=e.id, reason=reason, ended_on=ended_on))
    uow.audit("supplier.delisted", "blacklist_entry", e.id, {"supplier_code": e.supplier_code, "reason": reason,
                                                             "ended_on": ended_on})


async def submit_appeal(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, entry_id: str,
                        data: schemas.AppealIn) -> BlacklistEntry:
    e = await get_blacklist_entry(session=uow.session, principal=principal, entry_id=entry_id, for_update=True)
    if e.appeal_state is not None:
        raise Conflict("registry.blacklist.appeal_exists", f"an appeal was already {e.appeal_state}",
                       field="entry_id", rule="one appeal per blacklisting")
    if _view(e).status(today()) not in ("in_force", "scheduled"):
        raise Conflict("registry.blacklist.not_in_force", "only a blacklisting in force can be appealed",
                       field="entry_id", rule="appeal a blacklisting in force")
    e.appeal_state, e.appeal_reason, e.appeal_submitted_at = "submitted", data.reason, utcnow()
    e.version += 1
    uow.audit("blacklist.appeal_submitted", "blacklist_entry", e.id, {"reason": data.reason})
    await uow.commit()
    return e


async def decide_appeal(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, entry_id: str,
                        data: schemas.AppealDecisionIn) -> BlacklistEntry:
    e = await get_blacklist_entry(session=uow.session, principal=principal, entry_id=entry_id, for_update=True)
    _check_version(e, data.version)
    if e.appeal_state != "submitted":
        raise Conflict("registry.blacklist.no_open_appeal", "there is no submitted appeal to decide",
                       field="entry_id", rule="an appeal is submitted before it is decided")
    on = today()
    e.appeal_state, e.appeal_decision_reason, e.appeal_decided_at = data.outcome, data.reason, utcnow()
    e.version += 1
    uow.audit("blacklist.appeal_decided", "blacklist_entry", e.id, {"outcome": data.outcome, "reason": data.reason})
    if data.outcome == "overturned":
        e.state, e.ended_on, e.end_reason = "overturned", on, f"appeal overturned: {data.reason}"
        if e.delisted_at is None:
            _delist(uow, e, reason=e.end_reason, ended_on=on)
        await uow.flush()
        s = await uow.session.get(Supplier, e.supplier_code)
        await recheck(uow=uow, ctx=ctx, code=e.supplier_code, service_types=s.service_types if s else [])
    await uow.commit()
    return e


async def remove_early(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, entry_id: str,
                       data: schemas.RemovalIn) -> BlacklistEntry:
    e = await get_blacklist_entry(session=uow.session, principal=principal, entry_id=entry_id, for_update=True)
    _check_version(e, data.version)
    on = today()
    if _view(e).status(on) not in ("in_force", "scheduled"):
        raise Conflict("registry.blacklist.not_in_force", f"the entry is {_view(e).status(on)}; nothing to remove",
                       field="entry_id", rule="early removal ends a blacklisting in force")
    e.state, e.ended_on, e.end_reason = "removed", on, f"early removal: {data.reason}"
    e.version += 1
    uow.audit("blacklist.removed_early", "blacklist_entry", e.id, {"reason": data.reason})
    if e.delisted_at is None:
        _delist(uow, e, reason=e.end_reason, ended_on=on)
    await uow.flush()
    s = await uow.session.get(Supplier, e.supplier_code)
    await recheck(uow=uow, ctx=ctx, code=e.supplier_code, service_types=s.service_types if s else [])
    await uow.commit()
    return e


async def _delist_expired(uow: UnitOfWork, ids: Sequence[str]) -> list[str]:
    """Mark entries that ran out as delisted and emit registry.supplier.delisted once for each (the
    conditional UPDATE makes a concurrent reader or sweep lose the race instead of emitting twice)."""
    if not ids:
        return []
    rows = (await uow.session.execute(
        update(B).where(B.c.id.in_(ids), B.c.delisted_at.is_(None), B.c.state == "active")
        .values(delisted_at=utcnow()).returning(B.c.id, B.c.supplier_code, B.c.ends_on)
    )).all()
    done: list[str] = []
    for row in sorted(rows, key=lambda r: (r.ends_on, r.id)):
        ended = row.ends_on + timedelta(days=1)  # the first day off the list
        uow.emit(SupplierDelisted(supplier_code=row.supplier_code, entry_id=row.id,
                                  reason=f"blacklisting expired after {row.ends_on}", ended_on=ended))
        uow.audit("supplier.delisted", "blacklist_entry", row.id,
                  {"supplier_code": row.supplier_code, "reason": "expired", "ended_on": ended})
        done.append(row.id)
    return done


@dataclass(frozen=True)
class Swept:
    delisted: list[str]  # blacklist entries that ran out
    lapsed: list[str]  # suppliers whose last eligibility predates a qualification's expiry


async def sweep_expired(*, uow: UnitOfWork, ctx: ServiceContext, limit: int = 1000) -> Swept:
    """Delist every blacklisting that ran out before today, and re-evaluate the eligibility recorded before a
    qualification lapsed, so registry.supplier.eligibility.changed goes out for both (reads are right by date
    without it; no cron needed: ops or a scheduler call the sweep)."""
    on = today()
    ids = (await uow.session.execute(
        select(B.c.id).where(B.c.delisted_at.is_(None), B.c.state == "active", B.c.ends_on < on)
        .order_by(B.c.ends_on).limit(limit))).scalars().all()
    done = await _delist_expired(uow, list(ids))
    codes = select(B.c.supplier_code).where(B.c.id.in_(done))
    suppliers = (await uow.session.execute(
        select(Supplier).where(Supplier.code.in_(codes)).order_by(Supplier.code))).scalars().all()
    pairs = {(s.code, t) for s in suppliers for t in s.service_types or ()}
    stale = (await uow.session.execute(
        select(SNAP.c.supplier_code, SNAP.c.service_type).distinct()
        .join(Q, Q.c.supplier_code == SNAP.c.supplier_code)
        .where(SNAP.c.eligible.is_(True), Q.c.expires_on < on, Q.c.expires_on >= SNAP.c.as_of)
        .order_by(SNAP.c.supplier_code, SNAP.c.service_type).limit(limit))).all()
    pairs |= {(r.supplier_code, r.service_type) for r in stale}
    await recheck_many(uow=uow, ctx=ctx, pairs=sorted(pairs))
    await uow.commit()
    return Swept(delisted=list(done), lapsed=sorted({r.supplier_code for r in stale}))


# ----------------------------------------------------------------- performance history
def _period_result(r: Any) -> domain.PeriodResult:
    return domain.PeriodResult(
        assessment_id=r.assessment_id, contract_id=r.contract_id, service_type=r.service_type, period=r.period,
        period_index=r.period_index, period_start=r.period_start, period_end=r.period_end,
        score=Decimal(r.score), grade=r.grade, failing=r.failing, recorded_on=r.recorded_on,
        violations=tuple(r.violations or ()), serious_violation=r.serious_violation, fraud=r.fraud)


async def performance(*, session: AsyncSession, ctx: ServiceContext, principal: Principal, code: str,
                      service_type: str | None) -> tuple[list[PerformanceRecord], list[domain.Cycle]]:
    code = _normalise(code)
    _check_scope(principal, code)
    q = select(PerformanceRecord).where(PerformanceRecord.supplier_code == code)
    if service_type:
        q = q.where(PerformanceRecord.service_type == service_type)
    rows = list((await session.execute(
        q.order_by(PerformanceRecord.period_end, PerformanceRecord.contract_id))).scalars().all())
    if not rows and await session.get(Supplier, code) is None:
        raise NotFound("registry.supplier.not_found", f"no supplier {code}")
    bands = policy_on(ctx, today()).assessment.grade_bands
    cycles: list[domain.Cycle] = []
    for t in sorted({r.service_type for r in rows}):
        cycles.extend(domain.cycles_of([_period_result(r) for r in rows if r.service_type == t], bands))
    return rows, cycles


# ----------------------------------------------------------------- eligibility
@dataclass
class Facts:
    supplier: domain.SupplierFacts | None
    qualifications: list[domain.QualificationView]
    blacklist: list[domain.BlacklistView]
    credit: list[domain.CreditRecordView]
    history: list[domain.PeriodResult]
    undelisted_expired: list[str]


_ONE_SUPPLIER_PG = text("""
SELECT
  (SELECT json_build_object('code', code, 'name', name, 'service_types', service_types,
                            'review_qualified', review_qualified, 'review_reasons', review_reasons)
     FROM suppliers WHERE code = :code) AS s,
  (SELECT json_agg(json_build_object('id', id, 'name', name, 'service_types', service_types,
                                     'valid_from', valid_from, 'expires_on', expires_on))
     FROM qualifications WHERE supplier_code = :code) AS q,
  (SELECT json_agg(json_build_object('id', id, 'reason', reason, 'source', source, 'starts_on', starts_on,
                                     'ends_on', ends_on, 'state', state, 'ended_on', ended_on,
                                     'delisted', delisted_at IS NOT NULL))
     FROM blacklist_entries WHERE supplier_code = :code AND state <> 'overturned') AS b,
  (SELECT json_agg(json_build_object('id', id, 'kind', kind, 'occurred_on', occurred_on,
                                     'description', description))
     FROM credit_records WHERE supplier_code = :code AND occurred_on > :window AND occurred_on <= :as_of) AS c,
  (SELECT json_agg(json_build_object('assessment_id', assessment_id, 'contract_id', contract_id,
                                     'period', period, 'period_index', period_index, 'period_start', period_start,
                                     'period_end', period_end, 'score', score::text, 'grade', grade,
                                     'failing', failing, 'recorded_on', recorded_on, 'violations', violations,
                                     'serious_violation', serious_violation, 'fraud', fraud))
     FROM performance_records
    WHERE supplier_code = :code AND service_type = :service_type AND period_end >= :since
      AND recorded_on <= :as_of) AS p
""")


def _d(v: str | None) -> date | None:
    return None if v is None else date.fromisoformat(v)


def _j(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


async def _load_one_pg(session: AsyncSession, code: str, service_type: str, as_of: date,
                       pack: PolicyPack) -> dict[str, Facts]:
    """The eligibility read for one supplier in one round trip (Postgres): five indexed subqueries."""
    row = (await session.execute(_ONE_SUPPLIER_PG, {
        "code": code, "service_type": service_type, "as_of": as_of,
        "window": domain.violation_window_start(as_of, pack), "since": domain.history_window_start(as_of, pack),
    })).one()
    s = _j(row.s)
    if s is None:
        return {}
    real_today = today()
    f = Facts(
        supplier=domain.SupplierFacts(code=s["code"], name=s["name"], service_types=tuple(s["service_types"] or ()),
                                      review_qualified=s["review_qualified"],
                                      review_reasons=tuple(s["review_reasons"] or ())),
        qualifications=[domain.QualificationView(
            qualification_id=q["id"], name=q["name"], service_types=tuple(q["service_types"] or ()),
            valid_from=date.fromisoformat(q["valid_from"]), expires_on=_d(q["expires_on"]))
            for q in _j(row.q) or ()],
        blacklist=[], credit=[domain.CreditRecordView(record_id=c["id"], kind=c["kind"],
                                                      occurred_on=date.fromisoformat(c["occurred_on"]),
                                                      description=c["description"]) for c in _j(row.c) or ()],
        history=[domain.PeriodResult(
            assessment_id=p["assessment_id"], contract_id=p["contract_id"], service_type=service_type,
            period=p["period"], period_index=p["period_index"], period_start=date.fromisoformat(p["period_start"]),
            period_end=date.fromisoformat(p["period_end"]), score=Decimal(p["score"]), grade=p["grade"],
            failing=p["failing"], recorded_on=date.fromisoformat(p["recorded_on"]),
            violations=tuple(p["violations"] or ()), serious_violation=p["serious_violation"], fraud=p["fraud"])
            for p in _j(row.p) or ()],
        undelisted_expired=[])
    for b in _j(row.b) or ():
        v = domain.BlacklistView(entry_id=b["id"], reason=b["reason"], source=b["source"],
                                 starts_on=date.fromisoformat(b["starts_on"]), ends_on=_d(b["ends_on"]),
                                 state=b["state"], ended_on=_d(b["ended_on"]))
        f.blacklist.append(v)
        if not b["delisted"] and v.expired(real_today):
            f.undelisted_expired.append(v.entry_id)
    return {code: f}


async def load_facts(session: AsyncSession, codes: Sequence[str], service_type: str, as_of: date,
                     pack: PolicyPack) -> dict[str, Facts]:
    """Everything eligibility needs for these suppliers: one round trip for one supplier on Postgres,
    otherwise five indexed reads."""
    one = len(codes) == 1
    if one and session.get_bind().dialect.name == "postgresql":
        return await _load_one_pg(session, codes[0], service_type, as_of, pack)

    def by_code(col: Any) -> Any:
        return col == codes[0] if one else col.in_(codes)

    out: dict[str, Facts] = {}
    r: Any
    for r in (await session.execute(
            select(S.c.code, S.c.name, S.c.service_types, S.c.review_qualified, S.c.review_reasons)
            .where(by_code(S.c.code)))).all():
        out[r.code] = Facts(
            supplier=domain.SupplierFacts(code=r.code, name=r.name, service_types=tuple(r.service_types or ()),
                                          review_qualified=r.review_qualified,
                                          review_reasons=tuple(r.review_reasons or ())),
            qualifications=[], blacklist=[], credit=[], history=[], undelisted_expired=[])
    if not out:
        return out
    found = list(out)
    one = len(found) == 1
    codes = found
    for r in (await session.execute(
            select(Q.c.supplier_code, Q.c.id, Q.c.name, Q.c.service_types, Q.c.valid_from, Q.c.expires_on)
            .where(by_code(Q.c.supplier_code)))).all():
        out[r.supplier_code].qualifications.append(domain.QualificationView(
            qualification_id=r.id, name=r.name, service_types=tuple(r.service_types or ()),
            valid_from=r.valid_from, expires_on=r.expires_on))
    real_today = today()
    for r in (await session.execute(
            select(B.c.supplier_code, B.c.id, B.c.reason, B.c.source, B.c.starts_on, B.c.ends_on, B.c.state,
                   B.c.ended_on, B.c.delisted_at)
            .where(by_code(B.c.supplier_code), B.c.state != "overturned"))).all():
        f = out[r.supplier_code]
        v = _view(r)
        f.blacklist.append(v)
        if r.delisted_at is None and v.expired(real_today):
            f.undelisted_expired.append(r.id)
    window = domain.violation_window_start(as_of, pack)
    for r in (await session.execute(
            select(C.c.supplier_code, C.c.id, C.c.kind, C.c.occurred_on, C.c.description)
            .where(by_code(C.c.supplier_code), C.c.occurred_on > window, C.c.occurred_on <= as_of))).all():
        out[r.supplier_code].credit.append(domain.CreditRecordView(record_id=r.id, kind=r.kind,
                                                                   occurred_on=r.occurred_on,
                                                                   description=r.description))
    since = domain.history_window_start(as_of, pack)
    for r in (await session.execute(
            select(P.c.supplier_code, P.c.assessment_id, P.c.contract_id, P.c.service_type, P.c.period,
                   P.c.period_index, P.c.period_start, P.c.period_end, P.c.score, P.c.grade, P.c.failing,
                   P.c.recorded_on, P.c.violations, P.c.serious_violation, P.c.fraud)
            .where(by_code(P.c.supplier_code), P.c.service_type == service_type, P.c.period_end >= since,
                   P.c.recorded_on <= as_of))).all():
        out[r.supplier_code].history.append(_period_result(r))
    return out


def _evaluate(code: str, facts: Facts | None, service_type: str, method: str | None, as_of: date,
              pack: PolicyPack) -> domain.Eligibility:
    if facts is None:
        return domain.evaluate(supplier=None, code=code, service_type=service_type, method=method, as_of=as_of,
                               pack=pack)
    return domain.evaluate(supplier=facts.supplier, code=code, service_type=service_type, method=method,
                           as_of=as_of, pack=pack, qualifications=facts.qualifications, blacklist=facts.blacklist,
                           credit_records=facts.credit, history=facts.history)


async def eligibility(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, code: str,
                      service_type: str, method: str | None, as_of: date | None) -> domain.Eligibility:
    """`GET /suppliers/{code}/eligibility` as agreed in CONTRIBUTING.md; an unknown supplier is not eligible
    (200, with the reason). A blacklisting found expired is delisted (event once) on the way."""
    code = _normalise(code)
    _check_scope(principal, code)
    on = as_of or today()
    pack = policy_on(ctx, on)
    facts = (await load_facts(uow.session, [code], service_type, on, pack)).get(code)
    result = _evaluate(code, facts, service_type, method, on, pack)
    if facts is not None and facts.undelisted_expired:
        if await _delist_expired(uow, facts.undelisted_expired):
            s = facts.supplier
            await recheck(uow=uow, ctx=ctx, code=code, service_types=list(s.service_types) if s else [])
        await uow.commit()
    return result


async def recheck(*, uow: UnitOfWork, ctx: ServiceContext, code: str, service_types: Sequence[str],
                  emit: bool = True) -> list[domain.Eligibility]:
    """`recheck_many` for one supplier's service types."""
    return await recheck_many(uow=uow, ctx=ctx, pairs=[(code, t) for t in service_types], emit=emit)


async def recheck_many(*, uow: UnitOfWork, ctx: ServiceContext, pairs: Iterable[tuple[str, str]],
                       emit: bool = True) -> list[domain.Eligibility]:
    """Recompute next-cycle eligibility (as of today) for these (supplier, service type) pairs; record it in the
    snapshots and emit registry.supplier.eligibility.changed where it differs from the last snapshot. The same
    statements for one pair or many: the facts of each service type's suppliers in one go, the snapshots in
    one SELECT, the new ones in one INSERT, the changed ones in one UPDATE."""
    wanted = sorted(set(pairs))
    if not wanted:
        return []
    on = today()
    pack = policy_on(ctx, on)
    by_type: dict[str, list[str]] = {}
    for code, t in wanted:
        by_type.setdefault(t, []).append(code)
    facts: dict[tuple[str, str], Facts] = {}
    for t, codes in by_type.items():
        for code, f in (await load_facts(uow.session, codes, t, on, pack)).items():
            facts[(code, t)] = f
    suppliers = sorted({code for code, _ in wanted})
    snaps = {(r.supplier_code, r.service_type): r for r in (await uow.session.execute(
        select(SNAP.c.supplier_code, SNAP.c.service_type, SNAP.c.eligible, SNAP.c.single_source_renewal,
               SNAP.c.reason_codes).where(SNAP.c.supplier_code.in_(suppliers)))).all()}
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changed: list[domain.Eligibility] = []
    for code, t in wanted:
        e = _evaluate(code, facts.get((code, t)), t, None, on, pack)
        row = {"supplier_code": code, "service_type": t, "eligible": e.eligible,
               "single_source_renewal": e.single_source_renewal, "reason_codes": e.reason_codes, "policy": pack.ref,
               "as_of": on, "updated_at": now}
        snap = snaps.get((code, t))
        if snap is None:
            differs = e.eligible or e.single_source_renewal
            inserts.append(row)
        else:
            differs = (snap.eligible != e.eligible or snap.single_source_renewal != e.single_source_renewal
                       or sorted(snap.reason_codes or []) != e.reason_codes)
            if differs:
                updates.append(row)
        if differs and emit:
            uow.emit(SupplierEligibilityChanged(
                supplier_code=code, service_type=t, eligible=e.eligible,
                single_source_renewal=e.single_source_renewal,
                reasons=[f"{r.code}: {r.message}" for r in e.reasons], policy=pack.ref))
            changed.append(e)
    await insert_ignore_many(uow.session, SNAP, inserts)
    if updates:  # ORM bulk UPDATE by primary key: one executemany
        await uow.session.execute(update(EligibilitySnapshot), updates)
    return changed


# ----------------------------------------------------------------- directory
@dataclass(frozen=True)
class DirectoryEntry:
    credit_code: str
    name: str
    kind: str
    recent_average: Decimal | None
    last_cycle_grade: str | None
    single_source_renewal: bool


async def directory(*, session: AsyncSession, ctx: ServiceContext, service_type: str, as_of: date | None,
                    limit: int, offset: int) -> tuple[list[DirectoryEntry], int]:
    """The supplier directory (合作供应商目录, 003): suppliers eligible for a service type, ranked by the
    average of their last periods (survival of the fittest), then those without history, by name."""
    on = as_of or today()
    pack = policy_on(ctx, on)
    candidates = (await session.execute(
        select(S.c.code, S.c.name, S.c.kind).join(SST, SST.c.supplier_code == S.c.code)
        .where(SST.c.service_type == service_type, S.c.review_qualified.is_(True)))).all()
    entries: list[DirectoryEntry] = []
    n = pack.registry.directory_recent_periods
    chunk = 500
    for i in range(0, len(candidates), chunk):
        part = candidates[i:i + chunk]
        facts = await load_facts(session, [c.code for c in part], service_type, on, pack)
        for c in part:
            f = facts.get(c.code)
            e = _evaluate(c.code, f, service_type, None, on, pack)
            if not e.eligible:
                continue
            entries.append(DirectoryEntry(
                credit_code=c.code, name=c.name, kind=c.kind,
                recent_average=domain.recent_average(f.history, n) if f else None,
                last_cycle_grade=e.last_cycle.grade if e.last_cycle else None,
                single_source_renewal=e.single_source_renewal))
    entries.sort(key=lambda d: (d.recent_average is None, -(d.recent_average or Decimal(0)), d.name, d.credit_code))
    return entries[offset:offset + limit], len(entries)


# ----------------------------------------------------------------- assessment.finalized
@dataclass(frozen=True)
class _Finalized:
    payload: AssessmentFinalized
    event_id: str
    code: str
    on: date
    pack: PolicyPack
    result: domain.PeriodResult


def _finalized(delivery: Delivery, ctx: ServiceContext, packs: dict[date, PolicyPack]) -> _Finalized:
    payload = cast(AssessmentFinalized, delivery.payload)
    on = business_date(delivery.event.time)
    pack = packs.get(on)
    if pack is None:
        pack = packs[on] = policy_on(ctx, on, field="time")
    start, end = domain.period_bounds(payload.period)
    return _Finalized(
        payload=payload, event_id=delivery.event.id, code=payload.supplier_code.strip().upper(), on=on, pack=pack,
        result=domain.PeriodResult(
            assessment_id=payload.assessment_id, contract_id=payload.contract_id, service_type=payload.service_type,
            period=payload.period, period_index=payload.period_index, period_start=start, period_end=end,
            score=payload.score, grade=payload.grade, failing=payload.failing, recorded_on=on,
            violations=tuple(payload.violations), serious_violation=payload.serious_violation,
            fraud=payload.fraud))


async def record_assessments(*, uow: UnitOfWork, ctx: ServiceContext, deliveries: Sequence[Delivery]) -> None:
    """Flows 2 and 3 (DESIGN) for a run of assessment.finalized events, in order: history updated; blacklist
    rules applied; next-cycle eligibility recomputed, once per (supplier, service type) at the end. Effect once
    per assessment id as well as per event id (the inbox). The same rows as the events one at a time, in a
    constant number of statements: the performance rows in one INSERT, the earlier results of the contracts
    that need them and the suppliers in one SELECT each, the credit records in one flush; a blacklisting (rare)
    is written per event."""
    packs: dict[date, PolicyPack] = {}
    items = [_finalized(d, ctx, packs) for d in deliveries]
    first: dict[str, _Finalized] = {}
    for it in items:
        first.setdefault(it.payload.assessment_id, it)
    now = utcnow()
    inserted = await insert_ignore_many(uow.session, P, [{
        "assessment_id": aid, "supplier_code": it.code, "service_type": it.payload.service_type,
        "contract_id": it.payload.contract_id, "department": it.payload.department, "period": it.payload.period,
        "period_index": it.payload.period_index, "period_start": it.result.period_start,
        "period_end": it.result.period_end, "score": it.payload.score, "grade": it.payload.grade,
        "failing": it.payload.failing, "violations": list(it.payload.violations),
        "serious_violation": it.payload.serious_violation, "fraud": it.payload.fraud, "policy": it.payload.policy,
        "event_id": it.event_id, "recorded_on": it.on, "recorded_at": now} for aid, it in sorted(first.items())])
    fresh = [it for it in items if first[it.payload.assessment_id] is it and (it.payload.assessment_id,) in inserted]
    if not fresh:
        return
    # each result sees the contract's results recorded before it: those before the batch, then the batch's own
    batch_ids = {it.payload.assessment_id for it in fresh}
    contracts = sorted({it.payload.contract_id for it in fresh if domain.reads_contract_history(it.result, it.pack)})
    earlier: dict[tuple[str, str], list[domain.PeriodResult]] = {}
    if contracts:
        for r in (await uow.session.execute(select(P).where(P.c.contract_id.in_(contracts)))).all():
            if r.assessment_id not in batch_ids:
                earlier.setdefault((r.contract_id, r.supplier_code), []).append(_period_result(r))
    suppliers = {r.code: r for r in (await uow.session.execute(
        select(S.c.code, S.c.name, S.c.service_types).where(S.c.code.in_(sorted({it.code for it in fresh}))))).all()}
    pairs: set[tuple[str, str]] = set()
    for it in fresh:
        payload, code, new = it.payload, it.code, it.result
        uow.audit("performance.recorded", "supplier", code, {"assessment_id": payload.assessment_id,
                                                             "contract_id": payload.contract_id,
                                                             "period": payload.period, "score": payload.score,
                                                             "grade": payload.grade})
        same = earlier.setdefault((payload.contract_id, code), [])
        supplier = suppliers.get(code)
        # bad records the result itself is (veto for the lookback): a serious violation, fraud
        for kind, flag, what in (("major_violation", payload.serious_violation, "serious violation"),
                                 ("fraud", payload.fraud, "fraud")):
            if flag:
                uow.session.add(CreditRecord(
                    id=_new_id(), supplier_code=code, kind=kind,
                    description=f"{what} found in the assessment of {payload.period} (contract {payload.contract_id})",
                    source=f"assessment {payload.assessment_id}", occurred_on=it.on,
                    assessment_id=payload.assessment_id, recorded_by="system", recorded_at=utcnow()))
        decisions = domain.blacklist_triggers(new, same, on=it.on, pack=it.pack)
        same.append(new)
        if decisions:
            await _blacklist_from_result(uow, it, decisions, supplier.name if supplier else code)
        pairs.add((code, payload.service_type))
        if supplier and decisions:
            pairs.update((code, t) for t in supplier.service_types or ())
    await uow.flush()
    await recheck_many(uow=uow, ctx=ctx, pairs=pairs)


async def _blacklist_from_result(uow: UnitOfWork, it: _Finalized, decisions: Sequence[domain.BlacklistDecision],
                                 supplier_name: str) -> None:
    existing = [_view(r) for r in (await uow.session.execute(
        select(B).where(B.c.supplier_code == it.code, B.c.state == "active"))).all()]
    for d in decisions:
        if domain.covered_by(d, existing):
            continue
        e = await _add_blacklist(uow, supplier_code=it.code, supplier_name=supplier_name, reason=d.reason,
                                 source=d.source, rule=d.rule,
                                 basis=f"assessment {it.payload.assessment_id} ({it.payload.policy})",
                                 starts_on=d.starts_on, ends_on=d.ends_on, policy=it.pack.ref, created_by="system",
                                 assessment_id=it.payload.assessment_id)
        existing.append(_view(e))
