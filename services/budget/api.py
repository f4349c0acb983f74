"""HTTP routes of the budget service. Thin: parse, authorise, call service.py, shape the answer."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status

from services.budget import domain, service
from services.budget.models import BudgetLine, Filing, Reservation
from services.budget.schemas import (
    ControlIn,
    FilingIn,
    FilingOut,
    FinanceApprovalIn,
    GroupOut,
    LedgerEntryOut,
    LedgerOut,
    LineIn,
    LineOut,
    LinePatch,
    OneOffIn,
    PaymentIn,
    PaymentOut,
    PlanItemOut,
    PlanLineOut,
    PlanOut,
    RejectIn,
    ReleaseIn,
    ReleaseOut,
    ReservationIn,
    ReservationOut,
    ResubmitIn,
    ResultOut,
    ResultSummaryOut,
    StatisticsOut,
    StepIn,
    StepOut,
    SubmitIn,
)
from services.chassis.app import CtxDep, UowDep
from services.chassis.auth import ROLES, Allow, Principal
from services.chassis.calendar import business_date, utcnow
from services.chassis.idempotency import IdempotencyKey
from services.chassis.money import fen_to_wan, fen_to_yuan
from services.chassis.pagination import Page

router = APIRouter(tags=["budget"])
lines = APIRouter(prefix="/lines", tags=["budget lines (二上二下)"])
reservations = APIRouter(prefix="/reservations", tags=["funds ledger"])
filings = APIRouter(prefix="/filings", tags=["filings (备案)"])
plans = APIRouter(prefix="/plans", tags=["disclosure (信息公开)"])
stats = APIRouter(prefix="/statistics", tags=["statistics (信息统计上报)"])

READERS = ("purchaser", "finance", "auditor", "service")
EVERYONE = ROLES

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]
Year = Annotated[int | None, Query(ge=2000, le=2100)]


# ---------------------------------------------------------------- shaping
def line_out(line: BudgetLine, detail: service.LineDetail | None = None) -> LineOut:
    funds = service.funds_of(line)
    out = LineOut(
        line_id=line.id, version=line.version, status=line.status, department=line.department, region=line.region,
        fiscal_year=line.fiscal_year, item_code=line.item_code, item_name=line.item_name,
        catalogue_id=line.catalogue_id,
        catalogue_version=line.catalogue_version, name=line.name, content=line.content, recipients=line.recipients,
        method=line.method, service_type=line.service_type, level1_class=line.level1_class,
        requested_amount=line.requested_fen, control_amount=line.control_fen, amount=line.amount_fen,
        approved_amount=line.approved_fen, reserved=line.reserved_fen, paid=line.paid_fen,
        available=funds.available, ex_ante_assessment=line.ex_ante_assessment, one_off=line.one_off,
        one_off_reason=line.one_off_reason, rejection_reason=line.rejection_reason,
        finance_approval_required=line.finance_approval_required, finance_approved=line.finance_approved,
        finance_approved_at=line.finance_approved_at, filing_required=line.filing_required,
        approved_on=line.approved_on, purchased_on=line.purchased_on, item_withdrawn=line.item_withdrawn,
        flags=list(line.flags or []), policy=line.policy_ref, created_at=line.created_at, updated_at=line.updated_at,
    )
    if detail is not None:
        out.steps = [StepOut(step=s.step, label=domain.STEP_LABELS[domain.Step(s.step)], status_after=s.status_after,
                             amount=s.amount_fen, note=s.note, actor=s.actor, role=s.role, at=s.at)
                     for s in detail.steps]
        out.results = [ResultOut(assessment_id=r.assessment_id, contract_id=r.contract_id,
                                 supplier_code=r.supplier_code, period=r.period, score=r.score, grade=r.grade,
                                 failing=r.failing, policy=r.policy) for r in detail.results]
        if detail.prior is not None:
            p = detail.prior
            out.prior_results = ResultSummaryOut(
                fiscal_year=line.fiscal_year - 1, count=p.count, failing=p.failing, grades=p.grades,
                average_score=None if p.average_score is None else str(p.average_score))
    return out


def reservation_out(r: Reservation) -> ReservationOut:
    return ReservationOut(reservation_id=r.id, line_id=r.line_id, amount=r.amount_fen,
                          available_after=r.available_after_fen, contract_id=r.contract_id, status=r.status,
                          paid=r.paid_fen, released=r.released_fen,
                          outstanding=domain.reservation_outstanding(r.amount_fen, r.paid_fen, r.released_fen),
                          created_at=r.created_at)


def filing_out(f: Filing, as_of: date) -> FilingOut:
    overdue = f.filed_on is None and as_of > f.due_on
    end = f.filed_on or as_of
    return FilingOut(filing_id=f.id, line_id=f.line_id, department=f.department, region=f.region, kind=f.kind,
                     contract_id=f.contract_id, started_on=f.started_on, due_on=f.due_on, filed_on=f.filed_on,
                     late=f.late, overdue=overdue, days_overdue=max((end - f.due_on).days, 0),
                     document=f.document, ex_ante_assessment=f.ex_ante_assessment, policy=f.policy_ref)


# ---------------------------------------------------------------- lines
@lines.post("", status_code=status.HTTP_201_CREATED, response_model=LineOut,
            summary="Enter a budget line (draft) for a catalogue item")
async def create_line(body: LineIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                      principal: Annotated[Principal, Allow("purchaser", "finance")]) -> LineOut:
    line = await service.create_line(uow=uow, ctx=ctx, principal=principal, data=body)
    return line_out(line)


@lines.get("", response_model=Page[LineOut], summary="Budget lines in the caller's scope")
async def list_lines(uow: UowDep, principal: Annotated[Principal, Allow(*READERS)],
                     department: str | None = None, region: str | None = None,
                     fiscal_year: Year = None, status_: Annotated[str | None, Query(alias="status")] = None,
                     flagged: bool | None = None, item_code: str | None = None,
                     limit: Limit = 50, offset: Offset = 0) -> Page[LineOut]:
    rows, total = await service.list_lines(uow=uow, principal=principal, department=department, region=region,
                                           fiscal_year=fiscal_year, status=status_, flagged=flagged,
                                           item_code=item_code, limit=limit, offset=offset)
    return Page[LineOut](items=[line_out(r) for r in rows], total=total, limit=limit, offset=offset)


@lines.get("/{line_id}", response_model=LineOut, summary="A line with its funds, steps and attached results")
async def get_line(line_id: str, uow: UowDep, principal: Annotated[Principal, Allow(*READERS)]) -> LineOut:
    detail = await service.line_detail(uow=uow, principal=principal, line_id=line_id)
    return line_out(detail.line, detail)


@lines.patch("/{line_id}", response_model=LineOut, summary="Edit a draft line (takes its version)")
async def patch_line(line_id: str, body: LinePatch, uow: UowDep, ctx: CtxDep,
                     principal: Annotated[Principal, Allow("purchaser")]) -> LineOut:
    return line_out(await service.update_line(uow=uow, ctx=ctx, principal=principal, line_id=line_id, data=body))


@lines.post("/{line_id}/submit", response_model=LineOut, summary="一上: the department submits")
async def submit(line_id: str, body: SubmitIn, uow: UowDep, ctx: CtxDep,
                 principal: Annotated[Principal, Allow("purchaser")]) -> LineOut:
    return line_out(await service.submit_line(uow=uow, ctx=ctx, principal=principal, line_id=line_id,
                                              version=body.version, ex_ante=body.ex_ante_assessment, note=body.note))


@lines.post("/{line_id}/control-figure", response_model=LineOut, summary="一下: finance returns a control figure")
async def control_figure(line_id: str, body: ControlIn, uow: UowDep,
                         principal: Annotated[Principal, Allow("finance")]) -> LineOut:
    return line_out(await service.issue_control_figure(uow=uow, principal=principal, line_id=line_id,
                                                       version=body.version, amount=body.amount, note=body.note))


@lines.post("/{line_id}/resubmit", response_model=LineOut,
            summary="二上: the department resubmits within the control figure")
async def resubmit(line_id: str, body: ResubmitIn, uow: UowDep, ctx: CtxDep,
                   principal: Annotated[Principal, Allow("purchaser")]) -> LineOut:
    return line_out(await service.resubmit_line(uow=uow, ctx=ctx, principal=principal, line_id=line_id,
                                                version=body.version, amount=body.amount,
                                                ex_ante=body.ex_ante_assessment, note=body.note))


@lines.post("/{line_id}/approve", response_model=LineOut, summary="二下: finance approves")
async def approve(line_id: str, body: StepIn, uow: UowDep, ctx: CtxDep,
                  principal: Annotated[Principal, Allow("finance")]) -> LineOut:
    return line_out(await service.approve_line(uow=uow, ctx=ctx, principal=principal, line_id=line_id,
                                               version=body.version, note=body.note))


@lines.post("/{line_id}/reject", response_model=LineOut, summary="Finance refuses the line, with a reason")
async def reject(line_id: str, body: RejectIn, uow: UowDep,
                 principal: Annotated[Principal, Allow("finance")]) -> LineOut:
    return line_out(await service.reject_line(uow=uow, principal=principal, line_id=line_id, version=body.version,
                                              reason=body.reason))


@lines.post("/{line_id}/one-off-approval", response_model=LineOut,
            summary="一事一议: finance approves an emergency item outside the cycle (flagged)")
async def one_off(line_id: str, body: OneOffIn, uow: UowDep, ctx: CtxDep,
                  principal: Annotated[Principal, Allow("finance")]) -> LineOut:
    return line_out(await service.approve_one_off(uow=uow, ctx=ctx, principal=principal, line_id=line_id,
                                                  version=body.version, reason=body.reason, amount=body.amount))


@lines.post("/{line_id}/finance-approval", response_model=LineOut,
            summary="Finance approves purchasing on a line from the approval threshold (100万)")
async def finance_approval(line_id: str, body: FinanceApprovalIn, uow: UowDep,
                           principal: Annotated[Principal, Allow("finance")]) -> LineOut:
    return line_out(await service.grant_finance_approval(uow=uow, principal=principal, line_id=line_id,
                                                         version=body.version, note=body.note))


@lines.post("/{line_id}/reservations", status_code=status.HTTP_201_CREATED, response_model=ReservationOut,
            summary="Reserve funds on an approved line (idempotent by reservation id)")
async def reserve(line_id: str, body: ReservationIn, uow: UowDep, _key: IdempotencyKey,
                  principal: Annotated[Principal, Allow("purchaser", "finance", "service")]) -> ReservationOut:
    res = await service.reserve(uow=uow, principal=principal, line_id=line_id, reservation_id=body.reservation_id,
                                amount=body.amount, contract_id=body.contract_id)
    return reservation_out(res)


@lines.get("/{line_id}/ledger", response_model=LedgerOut, summary="Reservations, payments and releases of a line")
async def line_ledger(line_id: str, uow: UowDep, principal: Annotated[Principal, Allow(*READERS)]) -> LedgerOut:
    led = await service.ledger(uow=uow, principal=principal, line_id=line_id)
    line = led.line
    return LedgerOut(line_id=line.id, approved_amount=line.approved_fen, reserved=line.reserved_fen,
                     paid=line.paid_fen, available=service.funds_of(line).available,
                     reservations=[reservation_out(r) for r in led.reservations],
                     entries=[LedgerEntryOut(kind=e.kind, reservation_id=e.reservation_id, amount=e.amount_fen,
                                             available_after=e.available_after_fen, reference=e.reference, at=e.at)
                              for e in led.entries])


# ---------------------------------------------------------------- reservations
@reservations.get("/{reservation_id}", response_model=ReservationOut, summary="A reservation")
async def get_reservation(reservation_id: str, uow: UowDep,
                          principal: Annotated[Principal, Allow(*READERS)]) -> ReservationOut:
    return reservation_out(await service.get_reservation(uow=uow, principal=principal, reservation_id=reservation_id))


@reservations.post("/{reservation_id}/release", response_model=ReleaseOut,
                   summary="Release what is reserved and unpaid (idempotent)")
async def release(reservation_id: str, body: ReleaseIn, uow: UowDep,
                  principal: Annotated[Principal, Allow("purchaser", "finance", "service")]) -> ReleaseOut:
    out = await service.release(uow=uow, principal=principal, reservation_id=reservation_id, reason=body.reason)
    r = out.reservation
    return ReleaseOut(reservation_id=r.id, line_id=r.line_id, released=out.amount, released_total=r.released_fen,
                      status=r.status, available_after=service.funds_of(out.line).available)


@reservations.post("/{reservation_id}/payments", status_code=status.HTTP_201_CREATED, response_model=PaymentOut,
                   summary="Record a payment against a reservation (idempotent by payment id and settlement id)")
async def record_payment(reservation_id: str, body: PaymentIn, uow: UowDep, _key: IdempotencyKey,
                         principal: Annotated[Principal, Allow("finance", "service")]) -> PaymentOut:
    out = await service.record_payment(uow=uow, principal=principal, reservation_id=reservation_id,
                                       payment_id=body.payment_id, amount=body.amount,
                                       settlement_id=body.settlement_id, period=body.period)
    p = out.payment
    return PaymentOut(payment_id=p.id, reservation_id=p.reservation_id, line_id=p.line_id, amount=p.amount_fen,
                      from_reservation=p.from_reservation_fen, settlement_id=p.settlement_id,
                      contract_id=p.contract_id, period=p.period, paid_total=out.line.paid_fen,
                      available_after=service.funds_of(out.line).available, recorded_at=p.recorded_at)


# ---------------------------------------------------------------- filings
@filings.get("", response_model=Page[FilingOut],
             summary="Filing duties (备案); `overdue=true` lists what is late as of a day")
async def list_filings(uow: UowDep, principal: Annotated[Principal, Allow("purchaser", "finance", "auditor")],
                       line_id: str | None = None, department: str | None = None,
                       kind: Literal["contract_copy", "evaluation_report"] | None = None,
                       overdue: bool | None = None, as_of: date | None = None,
                       limit: Limit = 50, offset: Offset = 0) -> Page[FilingOut]:
    day = as_of or business_date(utcnow())
    rows, total = await service.list_filings(uow=uow, principal=principal, line_id=line_id, department=department,
                                             kind=kind, overdue=overdue, as_of=day, limit=limit, offset=offset)
    return Page[FilingOut](items=[filing_out(f, day) for f in rows], total=total, limit=limit, offset=offset)


@filings.get("/overdue", response_model=Page[FilingOut], summary="What is late: duties not filed by their due date")
async def overdue_filings(uow: UowDep, principal: Annotated[Principal, Allow("purchaser", "finance", "auditor")],
                          department: str | None = None, as_of: date | None = None, limit: Limit = 50,
                          offset: Offset = 0) -> Page[FilingOut]:
    day = as_of or business_date(utcnow())
    rows, total = await service.list_filings(uow=uow, principal=principal, line_id=None, department=department,
                                             kind=None, overdue=True, as_of=day, limit=limit, offset=offset)
    return Page[FilingOut](items=[filing_out(f, day) for f in rows], total=total, limit=limit, offset=offset)


@filings.post("/{filing_id}/file", response_model=FilingOut, summary="File the document for a duty")
async def file_filing(filing_id: str, body: FilingIn, uow: UowDep,
                      principal: Annotated[Principal, Allow("purchaser")]) -> FilingOut:
    f = await service.file_filing(uow=uow, principal=principal, filing_id=filing_id, document=body.document,
                                  ex_ante=body.ex_ante_assessment)
    return filing_out(f, business_date(utcnow()))


# ---------------------------------------------------------------- disclosure
def plan_fields(r: BudgetLine) -> dict[str, Any]:
    return {"line_id": r.id, "name": r.name, "level1_class": r.level1_class, "service_type": r.service_type,
            "content": r.content, "recipients": r.recipients, "method": r.method,
            "method_label": domain.METHOD_LABELS.get(r.method, r.method), "amount": r.approved_fen,
            "one_off": r.one_off}


@plans.get("", response_model=Page[PlanLineOut],
           summary="Annual purchase-of-services plans across departments (public): approved lines only")
async def public_plans(uow: UowDep, _principal: Annotated[Principal, Allow(*EVERYONE)], fiscal_year: Year = None,
                       department: Annotated[str | None, Query(max_length=64)] = None,
                       region: Annotated[str | None, Query(max_length=64)] = None,
                       limit: Limit = 50, offset: Offset = 0) -> Page[PlanLineOut]:
    rows, total = await service.public_plans(uow=uow, fiscal_year=fiscal_year, department=department, region=region,
                                             limit=limit, offset=offset)
    items = [PlanLineOut(**plan_fields(r), department=r.department, region=r.region, fiscal_year=r.fiscal_year)
             for r in rows]
    return Page[PlanLineOut](items=items, total=total, limit=limit, offset=offset)


@plans.get("/{department}/{fiscal_year}", response_model=PlanOut,
           summary="The department's annual purchase-of-services plan (public)")
async def public_plan(department: str, fiscal_year: Annotated[int, Path(ge=2000, le=2100)], uow: UowDep,
                      _principal: Annotated[Principal, Allow(*EVERYONE)]) -> PlanOut:
    rows = await service.public_plan(uow=uow, department=department, fiscal_year=fiscal_year)
    items = [PlanItemOut(**plan_fields(r)) for r in rows]
    return PlanOut(department=department, fiscal_year=fiscal_year, count=len(items),
                   total=sum(r.approved_fen for r in rows), items=items)


# ---------------------------------------------------------------- statistics
def _stat_query(fiscal_year: int | None, period: str | None, date_from: date | None, date_to: date | None,
                region: str | None, department: str | None) -> service.StatQuery:
    domain.check_report_window(period, date_from, date_to)
    return service.StatQuery(fiscal_year=fiscal_year, period=period, date_from=date_from, date_to=date_to,
                             region=region, department=department)


def statistics_out(q: service.StatQuery, s: domain.Statistics) -> StatisticsOut:
    return StatisticsOut(
        period=q.period, date_from=q.date_from, date_to=q.date_to, fiscal_year=q.fiscal_year, region=q.region,
        department=q.department, count=s.count, amount=s.amount, amount_wan=fen_to_wan(s.amount),
        by={d: [GroupOut(key=g.key, label=g.label, count=g.count, amount=g.amount, amount_wan=fen_to_wan(g.amount),
                         share=domain.percent(g.share), count_share=domain.percent(g.count_share)) for g in groups]
            for d, groups in s.by.items()})


StatReaders = Annotated[Principal, Allow("finance", "purchaser", "auditor")]
FromQ = Annotated[date | None, Query(alias="from")]
ToQ = Annotated[date | None, Query(alias="to")]


@stats.get("", response_model=StatisticsOut,
           summary="Counts, amounts and shares by class, service type, method, department and region")
async def get_statistics(uow: UowDep, principal: StatReaders, fiscal_year: Year = None,
                         period: str | None = None, date_from: FromQ = None, date_to: ToQ = None,
                         region: str | None = None, department: str | None = None) -> StatisticsOut:
    q, s = await service.statistics(uow=uow, principal=principal,
                                    q=_stat_query(fiscal_year, period, date_from, date_to, region, department))
    return statistics_out(q, s)


@stats.get("/reports/{month}", response_model=StatisticsOut,
           summary="The half-year report due in January or July (e.g. 2024-07 covers 2024-H1)")
async def half_year_report(month: Annotated[str, Path(pattern=r"^2[01]\d{2}-\d{2}$")], uow: UowDep, ctx: CtxDep,
                           principal: StatReaders, region: str | None = None,
                           department: str | None = None) -> StatisticsOut:
    first_day, _ = domain.period_bounds(month)  # refuses a month that does not exist
    year, mon = first_day.year, first_day.month
    pack = service.pack_for(ctx, region or principal.region, date(year, mon, 1))
    label = domain.report_period(year, mon, pack.budget)
    q, s = await service.statistics(uow=uow, principal=principal,
                                    q=service.StatQuery(period=label, region=region, department=department))
    return statistics_out(q, s)


def _rows(out: StatisticsOut) -> list[list[str]]:
    rows = [["dimension", "key", "label", "count", "amount_yuan", "amount_wan", "share_percent", "count_share_percent"],
            ["total", "", "合计", str(out.count), fen_to_yuan(out.amount), out.amount_wan, "100.00" if out.count else
             "0.00", "100.00" if out.count else "0.00"]]
    for dimension, groups in out.by.items():
        rows.extend([dimension, g.key, g.label, str(g.count), fen_to_yuan(g.amount), g.amount_wan, g.share,
                     g.count_share] for g in groups)
    return rows


@stats.get("/export", summary="The same statistics as CSV or XLSX",
           responses={200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument."
                                                              "spreadsheetml.sheet": {}}}})
async def export_statistics(uow: UowDep, principal: StatReaders, fmt: Annotated[Literal["csv", "xlsx"],
                            Query(alias="format")] = "csv", fiscal_year: Year = None,
                            period: str | None = None, date_from: FromQ = None, date_to: ToQ = None,
                            region: str | None = None, department: str | None = None) -> Response:
    q, s = await service.statistics(uow=uow, principal=principal,
                                    q=_stat_query(fiscal_year, period, date_from, date_to, region, department))
    out = statistics_out(q, s)
    rows = _rows(out)
    name = f"budget-statistics-{q.period or q.fiscal_year or 'all'}"
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        return Response(("\ufeff" + buf.getvalue()).encode(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "statistics"
    for row in rows:
        ws.append([int(c) if i == 3 and c.isdigit() else c for i, c in enumerate(row)])
    data = io.BytesIO()
    wb.save(data)
    return Response(data.getvalue(),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


router.include_router(lines)
router.include_router(reservations)
router.include_router(filings)
router.include_router(plans)
router.include_router(stats)
