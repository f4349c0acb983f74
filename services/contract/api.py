"""HTTP routes of the contract service. Thin: parse, authorise, call service.py, shape the answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.chassis.app import CtxDep, SessionDep, UowDep
from services.chassis.auth import Allow, Principal
from services.chassis.calendar import today
from services.chassis.idempotency import IdempotencyKey
from services.contract import schemas as s
from services.contract import service

READERS = ("purchaser", "supplier", "finance", "auditor")
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]

contracts = APIRouter(prefix="/contracts", tags=["contracts"])
reviews = APIRouter(tags=["finance review"])
filings = APIRouter(prefix="/filings", tags=["filing (备案)"])
public = APIRouter(prefix="/public", tags=["public disclosure (信息公开)"])
EVERYONE = Allow("public", "purchaser", "supplier", "finance", "auditor", "assessor", "service", "ops")


# ---------------------------------------------------------------- contracts
@contracts.post("", status_code=status.HTTP_201_CREATED, response_model=s.ContractOut,
                summary="Draft a contract: method checked against policy, terms, settlement schedule")
async def create_contract(body: s.ContractIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                          principal: Annotated[Principal, Allow("purchaser")]) -> s.ContractOut:
    c = await service.create_contract(uow=uow, ctx=ctx, principal=principal, data=body)
    return await service.contract_view(uow.session, c)


@contracts.get("", response_model=s.ContractPage, summary="Contracts in the caller's scope")
async def list_contracts(session: SessionDep, principal: Annotated[Principal, Allow(*READERS)],
                         status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
                         supplier_code: Annotated[str | None, Query(max_length=64)] = None,
                         flagged: bool | None = None,
                         review: Annotated[str | None, Query(max_length=16)] = None,
                         limit: Limit = 50, offset: Offset = 0) -> s.ContractPage:
    rows, total = await service.list_contracts(session=session, principal=principal, status=status_,
                                               supplier_code=supplier_code, flagged=flagged, review=review,
                                               limit=limit, offset=offset)
    return s.ContractPage(items=[s.ContractSummary.of(c) for c in rows], total=total, limit=limit, offset=offset)


@contracts.get("/{contract_id}", response_model=s.ContractOut, summary="A contract with its schedule")
async def get_contract(contract_id: str, session: SessionDep,
                       principal: Annotated[Principal, Allow(*READERS)]) -> s.ContractOut:
    c = await service.get_contract(session=session, principal=principal, contract_id=contract_id)
    return await service.contract_view(session, c)


@contracts.put("/{contract_id}", response_model=s.ContractOut,
               summary="Revise a draft: its terms replaced whole, checked as a new draft's, schedule rebuilt")
async def revise_draft(contract_id: str, body: s.DraftRevisionIn, uow: UowDep, ctx: CtxDep,
                       principal: Annotated[Principal, Allow("purchaser")]) -> s.ContractOut:
    c = await service.revise_draft(uow=uow, ctx=ctx, principal=principal, contract_id=contract_id, data=body)
    return await service.contract_view(uow.session, c)


@contracts.post("/{contract_id}/award", response_model=s.ContractOut,
                summary="Award: approved line, eligible supplier now, funds reserved (nothing reserved on refusal)")
async def award_contract(contract_id: str, body: s.VersionIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                         principal: Annotated[Principal, Allow("purchaser")]) -> s.ContractOut:
    c = await service.award_contract(uow=uow, ctx=ctx, principal=principal, contract_id=contract_id,
                                     version=body.version)
    return await service.contract_view(uow.session, c)


@contracts.post("/{contract_id}/signatures", response_model=s.ContractOut,
                summary="A party signs; signed when both have (contract.signed)")
async def sign_contract(contract_id: str, body: s.SignIn, uow: UowDep, ctx: CtxDep,
                        principal: Annotated[Principal, Allow("purchaser", "supplier")]) -> s.ContractOut:
    c = await service.sign_contract(uow=uow, ctx=ctx, principal=principal, contract_id=contract_id, data=body)
    return await service.contract_view(uow.session, c)


@contracts.post("/{contract_id}/transitions", response_model=s.ContractOut,
                summary="start, suspend, resume, complete, terminate (with reason), clear_flag")
async def transition(contract_id: str, body: s.TransitionIn, uow: UowDep, ctx: CtxDep,
                     principal: Annotated[Principal, Allow("purchaser", "finance")]) -> s.ContractOut:
    c = await service.transition(uow=uow, ctx=ctx, principal=principal, contract_id=contract_id, data=body)
    return await service.contract_view(uow.session, c)


@contracts.get("/{contract_id}/history", response_model=s.TransitionPage, summary="State changes with reasons")
async def history(contract_id: str, session: SessionDep, principal: Annotated[Principal, Allow(*READERS)],
                  limit: Limit = 50, offset: Offset = 0) -> s.TransitionPage:
    rows, total = await service.history(session=session, principal=principal, contract_id=contract_id,
                                        limit=limit, offset=offset)
    return s.TransitionPage(items=[s.TransitionOut(from_status=t.from_status, to_status=t.to_status, reason=t.reason,
                                                   actor=t.actor, at=t.at) for t in rows],
                            total=total, limit=limit, offset=offset)


# ---------------------------------------------------------------- filing
@contracts.post("/{contract_id}/filing", status_code=status.HTTP_201_CREATED, response_model=s.ContractOut,
                summary="File the contract copy with finance (备案, from the policy threshold)")
async def file_contract(contract_id: str, body: s.FilingIn, uow: UowDep, _key: IdempotencyKey,
                        principal: Annotated[Principal, Allow("purchaser")]) -> s.ContractOut:
    c = await service.file_contract(uow=uow, principal=principal, contract_id=contract_id, data=body)
    return await service.contract_view(uow.session, c)


@filings.get("/overdue", response_model=s.OverduePage, summary="Contracts whose copy is not filed by the due date")
async def overdue(session: SessionDep, principal: Annotated[Principal, Allow("purchaser", "finance", "auditor")],
                  as_of: date | None = None, limit: Limit = 50, offset: Offset = 0) -> s.OverduePage:
    day = as_of or today()
    rows, total = await service.overdue_filings(session=session, principal=principal, as_of=day, limit=limit,
                                                offset=offset)
    items = [s.OverdueFiling(contract_id=c.id, title=c.title, department=c.department, amount=c.amount_fen,
                             signed_on=c.signed_on, filing_due_on=c.filing_due_on,
                             days_overdue=(day - c.filing_due_on).days if c.filing_due_on else 0) for c in rows]
    return s.OverduePage(as_of=day, items=items, total=total, limit=limit, offset=offset)


# ---------------------------------------------------------------- finance review
@reviews.get("/reviews", response_model=s.ContractPage,
             summary="Contracts for finance review: methods outside policy, multi-year terms")
async def list_reviews(session: SessionDep, principal: Annotated[Principal, Allow("finance", "auditor")],
                       review: Annotated[str, Query(pattern="^(pending|accepted|rejected)$")] = "pending",
                       limit: Limit = 50, offset: Offset = 0) -> s.ContractPage:
    rows, total = await service.list_contracts(session=session, principal=principal, status=None, supplier_code=None,
                                               flagged=None, review=review, limit=limit, offset=offset)
    return s.ContractPage(items=[s.ContractSummary.of(c) for c in rows], total=total, limit=limit, offset=offset)


@contracts.post("/{contract_id}/review", response_model=s.ContractOut, summary="Finance accepts or rejects")
async def review(contract_id: str, body: s.ReviewIn, uow: UowDep,
                 principal: Annotated[Principal, Allow("finance")]) -> s.ContractOut:
    c = await service.review_exception(uow=uow, principal=principal, contract_id=contract_id, data=body)
    return await service.contract_view(uow.session, c)


# ---------------------------------------------------------------- settlements and payments
@contracts.get("/{contract_id}/settlements", response_model=s.SettlementList,
               summary="Performance-linked settlements with totals")
async def list_settlements(contract_id: str, session: SessionDep,
                           principal: Annotated[Principal, Allow(*READERS)]) -> s.SettlementList:
    return await service.list_settlements(session=session, principal=principal, contract_id=contract_id)


@contracts.post("/{contract_id}/settlements/{settlement_id}/payment", status_code=status.HTTP_201_CREATED,
                response_model=s.SettlementOut, summary="Confirm a settlement's payment (contract.payment.made)")
async def confirm_payment(contract_id: str, settlement_id: str, body: s.PaymentIn, uow: UowDep,
                          _key: IdempotencyKey,
                          principal: Annotated[Principal, Allow("finance", "purchaser")]) -> s.SettlementOut:
    row = await service.confirm_payment(uow=uow, principal=principal, contract_id=contract_id,
                                        settlement_id=settlement_id, data=body)
    return s.SettlementOut.of(row)


@contracts.post("/{contract_id}/settlements/{settlement_id}/remediation", status_code=status.HTTP_201_CREATED,
                response_model=s.SettlementOut,
                summary="Record a verified remediation: the withheld amount is released (contract.withheld.released)")
async def release_withheld(contract_id: str, settlement_id: str, body: s.RemediationIn, uow: UowDep,
                           _key: IdempotencyKey,
                           principal: Annotated[Principal, Allow("purchaser")]) -> s.SettlementOut:
    row = await service.release_withheld(uow=uow, principal=principal, contract_id=contract_id,
                                         settlement_id=settlement_id, data=body)
    return s.SettlementOut.of(row)


# ---------------------------------------------------------------- amendments
@contracts.post("/{contract_id}/amendments", status_code=status.HTTP_201_CREATED, response_model=s.AmendmentOut,
                summary="Propose an amendment with its type and rationale")
async def propose_amendment(contract_id: str, body: s.AmendmentIn, uow: UowDep, _key: IdempotencyKey,
                            principal: Annotated[Principal, Allow("purchaser", "supplier")]) -> s.AmendmentOut:
    a = await service.propose_amendment(uow=uow, principal=principal, contract_id=contract_id, data=body)
    return s.AmendmentOut.of(a)


@contracts.get("/{contract_id}/amendments", response_model=s.AmendmentPage, summary="Amendments, in order")
async def list_amendments(contract_id: str, session: SessionDep, principal: Annotated[Principal, Allow(*READERS)],
                          limit: Limit = 50, offset: Offset = 0) -> s.AmendmentPage:
    rows, total = await service.list_amendments(session=session, principal=principal, contract_id=contract_id,
                                                limit=limit, offset=offset)
    return s.AmendmentPage(items=[s.AmendmentOut.of(a) for a in rows], total=total, limit=limit, offset=offset)


@contracts.post("/{contract_id}/amendments/{seq}/signature", response_model=s.AmendmentOut,
                summary="The other party signs (in order); the terms change, the old ones are kept")
async def sign_amendment(contract_id: str, seq: int, body: s.AmendmentSignIn, uow: UowDep,
                         principal: Annotated[Principal, Allow("purchaser", "supplier")]) -> s.AmendmentOut:
    a = await service.sign_amendment(uow=uow, principal=principal, contract_id=contract_id, seq=seq, data=body)
    return s.AmendmentOut.of(a)


@contracts.post("/{contract_id}/amendments/{seq}/withdrawal", response_model=s.AmendmentOut,
                summary="The proposer withdraws an unsigned amendment")
async def withdraw_amendment(contract_id: str, seq: int, uow: UowDep,
                             principal: Annotated[Principal, Allow("purchaser", "supplier")]) -> s.AmendmentOut:
    a = await service.withdraw_amendment(uow=uow, principal=principal, contract_id=contract_id, seq=seq)
    return s.AmendmentOut.of(a)


# ---------------------------------------------------------------- service ledger (服务台账)
@contracts.post("/{contract_id}/ledger", status_code=status.HTTP_201_CREATED, response_model=s.LedgerOut,
                summary="Record a work plan, report or document in the service ledger")
async def add_ledger_entry(contract_id: str, body: s.LedgerIn, uow: UowDep, _key: IdempotencyKey,
                           principal: Annotated[Principal, Allow("purchaser", "supplier")]) -> s.LedgerOut:
    e = await service.add_ledger_entry(uow=uow, principal=principal, contract_id=contract_id, data=body)
    return s.LedgerOut.of(e)


@contracts.get("/{contract_id}/ledger", response_model=s.LedgerPage,
               summary="The service ledger: work plans, reports, settlements, payments, documents")
async def list_ledger(contract_id: str, session: SessionDep, principal: Annotated[Principal, Allow(*READERS)],
                      kind: Annotated[str | None, Query(max_length=16)] = None,
                      limit: Limit = 50, offset: Offset = 0) -> s.LedgerPage:
    rows, total = await service.list_ledger(session=session, principal=principal, contract_id=contract_id, kind=kind,
                                            limit=limit, offset=offset)
    return s.LedgerPage(items=[s.LedgerOut.of(e) for e in rows], total=total, limit=limit, offset=offset)


# ---------------------------------------------------------------- public disclosure (合同公告)
@public.get("/contract-notices", response_model=s.ContractNoticePage,
            summary="Contract notices (public, no token): awarded and signed contracts, never drafts")
async def list_contract_notices(session: SessionDep, _p: Annotated[Principal, EVERYONE],
                                department: Annotated[str | None, Query(max_length=64)] = None,
                                year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                                supplier_code: Annotated[str | None, Query(max_length=64)] = None,
                                service_type: Annotated[str | None, Query(max_length=120)] = None,
                                region: Annotated[str | None, Query(max_length=64)] = None,
                                limit: Limit = 50, offset: Offset = 0) -> s.ContractNoticePage:
    rows, total = await service.public_notices(session=session, department=department, fiscal_year=year,
                                               supplier_code=supplier_code, service_type=service_type, region=region,
                                               limit=limit, offset=offset)
    return s.ContractNoticePage(items=[s.ContractNotice.of(c) for c in rows], total=total, limit=limit,
                                offset=offset)


@public.get("/contract-notices/{contract_id}", response_model=s.ContractNotice,
            summary="One contract notice (public, no token)")
async def get_contract_notice(contract_id: str, session: SessionDep,
                              _p: Annotated[Principal, EVERYONE]) -> s.ContractNotice:
    return s.ContractNotice.of(await service.public_notice(session=session, contract_id=contract_id))


router = APIRouter()
for r in (contracts, reviews, filings, public):
    router.include_router(r)
