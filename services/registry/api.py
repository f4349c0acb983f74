"""HTTP routes of the registry service. Thin: parse, authorise, call service.py, shape the answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from services.chassis.app import CtxDep, SessionDep, UowDep
from services.chassis.auth import Allow, Principal
from services.chassis.calendar import today
from services.chassis.idempotency import IdempotencyKey
from services.chassis.policy import PURCHASE_METHODS
from services.registry import schemas, service
from services.registry.schemas import ServiceType

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]
Method = Literal[PURCHASE_METHODS]  # type: ignore[valid-type]

READERS = ("finance", "auditor", "purchaser", "service", "supplier")


def page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}


# ----------------------------------------------------------------- suppliers
suppliers = APIRouter(prefix="/suppliers", tags=["suppliers (承接主体)"])


@suppliers.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.SupplierOut,
                summary="Register a supplier by its unified social credit code")
async def register_supplier(body: schemas.SupplierIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                            principal: Annotated[Principal, Allow("finance", "supplier")]) -> schemas.SupplierOut:
    s = await service.register_supplier(uow=uow, ctx=ctx, principal=principal, data=body)
    return service.supplier_out(s)


@suppliers.get("", summary="Suppliers (a supplier sees only itself)")
async def list_suppliers(session: SessionDep, principal: Annotated[Principal, Allow(*READERS)],
                         service_type: str | None = None, kind: str | None = None, limit: Limit = 50,
                         offset: Offset = 0) -> dict[str, Any]:
    rows, total = await service.list_suppliers(session=session, principal=principal, service_type=service_type,
                                               kind=kind, limit=limit, offset=offset)
    return page([service.supplier_out(s) for s in rows], total, limit, offset)


@suppliers.get("/{code}", response_model=schemas.SupplierOut, summary="One supplier")
async def get_supplier(code: str, session: SessionDep,
                       principal: Annotated[Principal, Allow(*READERS)]) -> schemas.SupplierOut:
    return service.supplier_out(await service.get_supplier(session=session, principal=principal, code=code))


@suppliers.patch("/{code}", response_model=schemas.SupplierOut,
                 summary="Change contacts, name or service types (with the version read)")
async def update_supplier(code: str, body: schemas.SupplierUpdate, uow: UowDep, ctx: CtxDep,
                          principal: Annotated[Principal, Allow("finance", "supplier")]) -> schemas.SupplierOut:
    s = await service.update_supplier(uow=uow, ctx=ctx, principal=principal, code=code, data=body)
    return service.supplier_out(s)


@suppliers.post("/{code}/reviews", status_code=status.HTTP_201_CREATED, response_model=schemas.ReviewOut,
                summary="Conclude a qualification review (every checklist condition, with evidence and reviewer)")
async def conclude_review(code: str, body: schemas.ReviewIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                          principal: Annotated[Principal, Allow("finance")]) -> schemas.ReviewOut:
    r = await service.conclude_review(uow=uow, ctx=ctx, principal=principal, code=code, data=body)
    return service.review_out(r)


@suppliers.get("/{code}/reviews", summary="Qualification reviews, newest first")
async def list_reviews(code: str, session: SessionDep,
                       principal: Annotated[Principal, Allow("finance", "auditor", "supplier")]) -> dict[str, Any]:
    rows = await service.list_reviews(session=session, principal=principal, code=code)
    return page([service.review_out(r) for r in rows], len(rows), len(rows), 0)


@suppliers.post("/{code}/qualifications", status_code=status.HTTP_201_CREATED,
                response_model=schemas.QualificationOut,
                summary="Record a professional qualification (资质) with its expiry")
async def add_qualification(code: str, body: schemas.QualificationIn, uow: UowDep, ctx: CtxDep,
                            _key: IdempotencyKey,
                            principal: Annotated[Principal, Allow("finance")]) -> schemas.QualificationOut:
    q = await service.add_qualification(uow=uow, ctx=ctx, principal=principal, code=code, data=body)
    return service.qualification_out(q, today())


@suppliers.get("/{code}/qualifications", summary="Professional qualifications with their status today")
async def list_qualifications(code: str, session: SessionDep,
                              principal: Annotated[Principal, Allow(*READERS)]) -> dict[str, Any]:
    rows = await service.list_qualifications(session=session, principal=principal, code=code)
    on = today()
    return page([service.qualification_out(q, on) for q in rows], len(rows), len(rows), 0)


@suppliers.post("/{code}/credit-records", status_code=status.HTTP_201_CREATED,
                response_model=schemas.CreditRecordOut,
                summary="Record a bad record (false materials, breach, …): a one-vote veto within the lookback")
async def add_credit_record(code: str, body: schemas.CreditRecordIn, uow: UowDep, ctx: CtxDep,
                            _key: IdempotencyKey,
                            principal: Annotated[Principal, Allow("finance")]) -> schemas.CreditRecordOut:
    r = await service.add_credit_record(uow=uow, ctx=ctx, principal=principal, code=code, data=body)
    return service.credit_out(r)


@suppliers.get("/{code}/credit-records", summary="Bad records")
async def list_credit_records(code: str, session: SessionDep,
                              principal: Annotated[Principal, Allow("finance", "auditor", "supplier")]
                              ) -> dict[str, Any]:
    rows = await service.list_credit_records(session=session, principal=principal, code=code)
    return page([service.credit_out(r) for r in rows], len(rows), len(rows), 0)


@suppliers.get("/{code}/performance", summary="Performance history: periods and cycles per service type")
async def get_performance(code: str, session: SessionDep, ctx: CtxDep,
                          principal: Annotated[Principal, Allow(*READERS)],
                          service_type: str | None = None) -> dict[str, Any]:
    rows, cycles = await service.performance(session=session, ctx=ctx, principal=principal, code=code,
                                             service_type=service_type)
    return {"supplier_code": code.strip().upper(),
            "periods": [schemas.PeriodOut.model_validate(r, from_attributes=True) for r in rows],
            "cycles": [schemas.cycle_dict(c) for c in cycles]}


@suppliers.get("/{code}/eligibility", response_model=schemas.EligibilityOut,
               summary="Next-cycle eligibility for a service type and purchase method, with every reason")
async def get_eligibility(code: str, uow: UowDep, ctx: CtxDep,
                          principal: Annotated[Principal, Allow(*READERS)],
                          service_type: Annotated[ServiceType, Query()],
                          method: Method | None = None, as_of: date | None = None) -> schemas.EligibilityOut:
    e = await service.eligibility(uow=uow, ctx=ctx, principal=principal, code=code, service_type=service_type,
                                  method=method, as_of=as_of)
    return schemas.EligibilityOut.of(e)


# ----------------------------------------------------------------- blacklist
blacklist = APIRouter(prefix="/blacklist", tags=["blacklist (黑名单)"])


@blacklist.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.BlacklistOut,
                summary="Blacklist a supplier (1 to 3 years by policy, or indefinite)")
async def add_blacklist(body: schemas.BlacklistIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                        principal: Annotated[Principal, Allow("finance")]) -> schemas.BlacklistOut:
    e = await service.blacklist_supplier(uow=uow, ctx=ctx, principal=principal, data=body)
    return service.blacklist_out(e, today())


@blacklist.get("", summary="Blacklist entries with their status (a supplier sees only its own)")
async def list_blacklist(session: SessionDep, principal: Annotated[Principal, Allow("finance", "auditor", "supplier")],
                         supplier_code: str | None = None, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    rows, total = await service.list_blacklist(session=session, principal=principal, supplier_code=supplier_code,
                                               limit=limit, offset=offset)
    on = today()
    return page([service.blacklist_out(e, on) for e in rows], total, limit, offset)


@blacklist.get("/public", summary="The public blacklist: name, code, reason and period of entries in force")
async def public_blacklist(session: SessionDep, _p: Annotated[Principal, Allow(
        "public", "finance", "auditor", "purchaser", "supplier", "assessor", "service", "ops")],
                           as_of: date | None = None, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    rows, total = await service.public_blacklist(session=session, as_of=as_of or today(), limit=limit,
                                                 offset=offset)
    items = [schemas.PublicBlacklistOut(name=e.supplier_name, credit_code=e.supplier_code, reason=e.reason,
                                        starts_on=e.starts_on, ends_on=e.ends_on) for e in rows]
    return page(items, total, limit, offset)


@blacklist.post("/sweep", response_model=schemas.SweepOut,
                summary="Delist blacklistings that ran out; re-evaluate eligibility after lapsed qualifications "
                        "(reads notice both too; no cron needed)")
async def sweep(uow: UowDep, ctx: CtxDep,
                _p: Annotated[Principal, Allow("finance", "ops", "service")]) -> schemas.SweepOut:
    swept = await service.sweep_expired(uow=uow, ctx=ctx)
    return schemas.SweepOut(delisted=swept.delisted, lapsed_qualifications=swept.lapsed, as_of=today())


@blacklist.get("/{entry_id}", response_model=schemas.BlacklistOut, summary="One blacklist entry")
async def get_blacklist(entry_id: str, session: SessionDep,
                        principal: Annotated[Principal, Allow("finance", "auditor", "supplier")]
                        ) -> schemas.BlacklistOut:
    e = await service.get_blacklist_entry(session=session, principal=principal, entry_id=entry_id)
    return service.blacklist_out(e, today())


@blacklist.post("/{entry_id}/appeal", status_code=status.HTTP_201_CREATED, response_model=schemas.BlacklistOut,
                summary="Appeal a blacklisting (the supplier, or finance on its behalf)")
async def appeal(entry_id: str, body: schemas.AppealIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                 principal: Annotated[Principal, Allow("supplier", "finance")]) -> schemas.BlacklistOut:
    e = await service.submit_appeal(uow=uow, ctx=ctx, principal=principal, entry_id=entry_id, data=body)
    return service.blacklist_out(e, today())


@blacklist.post("/{entry_id}/appeal/decision", response_model=schemas.BlacklistOut,
                summary="Decide an appeal: upheld, or overturned (the entry ends, delisted)")
async def decide_appeal(entry_id: str, body: schemas.AppealDecisionIn, uow: UowDep, ctx: CtxDep,
                        principal: Annotated[Principal, Allow("finance")]) -> schemas.BlacklistOut:
    e = await service.decide_appeal(uow=uow, ctx=ctx, principal=principal, entry_id=entry_id, data=body)
    return service.blacklist_out(e, today())


@blacklist.post("/{entry_id}/removal", response_model=schemas.BlacklistOut,
                summary="Remove a blacklisting early, with the reason")
async def remove(entry_id: str, body: schemas.RemovalIn, uow: UowDep, ctx: CtxDep,
                 principal: Annotated[Principal, Allow("finance")]) -> schemas.BlacklistOut:
    e = await service.remove_early(uow=uow, ctx=ctx, principal=principal, entry_id=entry_id, data=body)
    return service.blacklist_out(e, today())


# ----------------------------------------------------------------- directory
directory = APIRouter(prefix="/directory", tags=["supplier directory (合作供应商目录)"])


@directory.get("", summary="Eligible suppliers for a service type, ranked by recent performance")
async def get_directory(session: SessionDep, ctx: CtxDep, _p: Annotated[Principal, Allow(
        "public", "finance", "auditor", "purchaser", "supplier", "assessor", "service", "ops")],
                        service_type: Annotated[ServiceType, Query()], as_of: date | None = None,
                        limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    rows, total = await service.directory(session=session, ctx=ctx, service_type=service_type, as_of=as_of,
                                          limit=limit, offset=offset)
    items = [schemas.DirectoryEntryOut(rank=offset + i + 1, credit_code=d.credit_code, name=d.name, kind=d.kind,
                                       service_type=service_type, recent_average=d.recent_average,
                                       last_cycle_grade=d.last_cycle_grade,
                                       single_source_renewal=d.single_source_renewal) for i, d in enumerate(rows)]
    return {**page(items, total, limit, offset), "service_type": service_type, "as_of": as_of or today()}


router = APIRouter()
router.include_router(suppliers)
router.include_router(blacklist)
router.include_router(directory)
