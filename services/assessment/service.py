"""Use cases of the assessment service: keyword-only functions over a UnitOfWork, called by routes and
handlers. Scope is checked here against the record; another organisation's record answers 404."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from services.assessment import domain, schemas, templates
from services.assessment.models import (
    Assessment,
    ExAnteAssessment,
    Finalization,
    Finding,
    IndicatorSystemRow,
    Inspection,
    KnownContract,
    Plan,
    Publication,
    ScoreSheet,
    SupplierResponse,
    Survey,
    SurveyResponse,
)
from services.chassis.app import ServiceContext
from services.chassis.auth import Principal
from services.chassis.calendar import SHANGHAI, business_date, utcnow
from services.chassis.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.chassis.policy import PolicyPack
from services.chassis.uow import UnitOfWork
from services.events.assessment import AssessmentFinalized, AssessmentPublished, ScoreComponent
from services.events.contract import ContractSigned

READ_ALL = ("finance", "auditor", "service")  # finance: within its region (see _regional)


def clock() -> datetime:
    """Now, in UTC (one place, so tests can move time)."""
    return utcnow()


def _id() -> str:
    return str(uuid.uuid4())


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _s(value: Decimal) -> str:
    return str(domain.q2(value))


# ---------------------------------------------------------------- scope
def party_of(principal: Principal) -> str:
    return "third_party" if principal.role == "assessor" else "purchaser"


def _regional(principal: Principal) -> str | None:
    """The region a finance principal is confined to (None: not confined; a finance token without a region
    reads every region, as in the contract service)."""
    return principal.region if principal.role == "finance" and principal.region is not None else None


def can_read_plan(principal: Principal, plan: Plan) -> bool:
    region = _regional(principal)
    if region is not None:
        return plan.region == region
    if principal.role in READ_ALL:
        return True
    if principal.role == "purchaser":
        return plan.department == principal.org
    if principal.role == "assessor":
        return plan.assessor_org is not None and plan.assessor_org == principal.org
    return False


def can_write_plan(principal: Principal, plan: Plan) -> bool:
    return principal.role in ("purchaser", "assessor") and can_read_plan(principal, plan)


def can_read_assessment(principal: Principal, a: Assessment, plan: Plan | None = None) -> bool:
    """`plan` is the assessment's plan; it is needed (and read) only for a finance principal of a region."""
    if _regional(principal) is not None:
        return plan is not None and plan.id == a.plan_id and can_read_plan(principal, plan)
    if principal.role in READ_ALL:
        return True
    if principal.role == "purchaser":
        return a.department == principal.org
    if principal.role == "assessor":
        return a.assessor_org is not None and a.assessor_org == principal.org
    if principal.role == "supplier":
        return a.supplier_code == principal.org
    return False


def _scoped_assessments(stmt: Select[tuple[Assessment]], principal: Principal) -> Select[tuple[Assessment]]:
    region = _regional(principal)
    if region is not None:
        return stmt.where(Assessment.plan_id.in_(select(Plan.id).where(Plan.region == region)))
    if principal.role in READ_ALL:
        return stmt
    if principal.role == "purchaser":
        return stmt.where(Assessment.department == (principal.org or ""))
    if principal.role == "assessor":
        return stmt.where(Assessment.assessor_org == (principal.org or ""))
    if principal.role == "supplier":
        return stmt.where(Assessment.supplier_code == (principal.org or ""))
    return stmt.where(Assessment.id == "")


async def get_plan(session: AsyncSession, plan_id: str, principal: Principal, *, write: bool = False) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None or not can_read_plan(principal, plan) or (write and not can_write_plan(principal, plan)):
        raise NotFound("assessment.plan.not_found", f"no plan {plan_id}")
    return plan


async def get_assessment(session: AsyncSession, assessment_id: str, principal: Principal, *,
                         for_update: bool = False) -> Assessment:
    stmt = select(Assessment).where(Assessment.id == assessment_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    a = (await session.execute(stmt)).scalar_one_or_none()
    plan = await session.get(Plan, a.plan_id) if a is not None and _regional(principal) is not None else None
    if a is None or not can_read_assessment(principal, a, plan):
        raise NotFound("assessment.not_found", f"no assessment {assessment_id}")
    return a


# ---------------------------------------------------------------- indicator systems
def system_of(row: IndicatorSystemRow) -> domain.IndicatorSystem:
    return domain.IndicatorSystem(
        code=row.code, version=row.version, service_type=row.service_type, name=row.name,
        indicators=tuple(indicator_of(i) for i in row.indicators),
    )


def indicator_of(d: dict[str, Any]) -> domain.Indicator:
    return domain.Indicator(
        code=d["code"], name=d["name"], dimension=d["dimension"], weight=_dec(d["weight"]),
        method=d.get("method", "points"), veto=bool(d.get("veto", False)), description=d.get("description", ""),
        rules=tuple(domain.DeductionRule(code=r["code"], description=r.get("description", ""),
                                         points_per_item=_dec(r["points_per_item"]),
                                         cap=_dec(r["cap"]) if r.get("cap") is not None else None)
                    for r in d.get("rules", [])),
    )


def indicator_json(ind: domain.Indicator) -> dict[str, Any]:
    return {"code": ind.code, "name": ind.name, "dimension": ind.dimension, "weight": str(ind.weight),
            "method": ind.method, "veto": ind.veto, "description": ind.description,
            "rules": [{"code": r.code, "description": r.description, "points_per_item": str(r.points_per_item),
                       "cap": str(r.cap) if r.cap is not None else None} for r in ind.rules]}


async def _next_version(session: AsyncSession, code: str) -> int:
    current = (await session.execute(select(func.max(IndicatorSystemRow.version))
                                     .where(IndicatorSystemRow.code == code))).scalar()
    return int(current or 0) + 1


async def _new_system(uow: UnitOfWork, *, code: str, service_type: str, name: str, template: str | None,
                      indicators: Sequence[domain.Indicator], created_by: str) -> IndicatorSystemRow:
    domain.validate_indicators(indicators)
    row = IndicatorSystemRow(
        id=_id(), code=code, version=await _next_version(uow.session, code), service_type=service_type,
        name=name, template=template, indicators=[indicator_json(i) for i in indicators],
        created_by=created_by, created_at=clock(),
    )
    uow.session.add(row)
    uow.audit("indicator_system.created", "indicator_system", row.id,
              {"code": code, "version": row.version, "service_type": service_type, "template": template})
    return row


async def create_indicator_system(*, uow: UnitOfWork, principal: Principal,
                                  data: schemas.IndicatorSystemIn) -> IndicatorSystemRow:
    if (data.template is None) == (data.indicators is None):
        raise Unprocessable("assessment.indicator_system.source", "give either template or indicators",
                            field="indicators", rule="template xor indicators")
    if data.template is not None:
        if data.template not in templates.TEMPLATES:
            raise Unprocessable("assessment.indicator_system.template_unknown",
                                f"no template {data.template!r}; have {sorted(templates.TEMPLATES)}",
                                field="template", rule="a shipped template")
        inds = [indicator_of(d) for d in templates.template_indicators(data.template)]
        name = data.name or str(templates.TEMPLATES[data.template]["name"])
    else:
        inds = [domain.Indicator(
            code=i.code, name=i.name, dimension=i.dimension, weight=i.weight, method=i.method, veto=i.veto,
            description=i.description,
            rules=tuple(domain.DeductionRule(r.code, r.description, r.points_per_item, r.cap) for r in i.rules),
        ) for i in data.indicators or []]
        name = data.name or f"{data.service_type} 考核评分细则"
    code = data.code or data.template or templates.template_for_service_type(data.service_type) or data.service_type
    row = await _new_system(uow, code=code, service_type=data.service_type, name=name, template=data.template,
                            indicators=inds, created_by=principal.subject)
    await _flush_unique(uow, "assessment.indicator_system.version_race",
                        "another version of this indicator system was created at the same time")
    await uow.commit()
    return row


async def get_indicator_system(session: AsyncSession, system_id: str) -> IndicatorSystemRow:
    row = await session.get(IndicatorSystemRow, system_id)
    if row is None:
        raise NotFound("assessment.indicator_system.not_found", f"no indicator system {system_id}")
    return row


async def list_indicator_systems(session: AsyncSession, *, service_type: str | None, limit: int,
                                 offset: int) -> tuple[list[IndicatorSystemRow], int]:
    stmt = select(IndicatorSystemRow)
    if service_type:
        stmt = stmt.where(IndicatorSystemRow.service_type == service_type)
    return await _page(session, stmt.order_by(IndicatorSystemRow.code, IndicatorSystemRow.version), limit, offset)


async def _system_for_plan(uow: UnitOfWork, principal: Principal, service_type: str,
                           system_id: str | None) -> IndicatorSystemRow:
    session = uow.session
    if system_id is not None:
        row = await session.get(IndicatorSystemRow, system_id)
        if row is None:
            raise Unprocessable("assessment.plan.indicator_system_unknown", f"no indicator system {system_id}",
                                field="indicator_system_id", rule="an existing indicator system")
        return row
    latest = (await session.execute(
        select(IndicatorSystemRow).where(IndicatorSystemRow.service_type == service_type)
        .order_by(IndicatorSystemRow.created_at.desc(), IndicatorSystemRow.version.desc()).limit(1)
    )).scalar_one_or_none()
    if latest is not None:
        return latest
    key = templates.template_for_service_type(service_type)
    if key is None:
        raise Unprocessable("assessment.plan.indicator_system_missing",
                            f"no indicator system for service type {service_type!r} and no template for it; "
                            "create one (POST /indicator-systems) and name it", field="indicator_system_id",
                            rule=f"templates: {', '.join(sorted(templates.TEMPLATES))}")
    row = await _new_system(uow, code=key, service_type=service_type, name=str(templates.TEMPLATES[key]["name"]),
                            template=key, indicators=[indicator_of(d) for d in templates.template_indicators(key)],
                            created_by=principal.subject)
    await _flush_unique(uow, "assessment.indicator_system.version_race",
                        "the indicator system was created by another request at the same time; retry")
    return row


# ---------------------------------------------------------------- contracts we know (contract.signed)
async def record_contract(*, uow: UnitOfWork, event_id: str, payload: ContractSigned) -> None:
    row = await uow.session.get(KnownContract, payload.contract_id)
    values: dict[str, Any] = {
        "supplier_code": payload.supplier_code, "line_id": payload.line_id, "service_type": payload.service_type,
        "department": payload.department, "region": payload.region or None,
        "schedule": payload.schedule if payload.schedule in domain.PERIOD_KINDS else "monthly",
        "periods": list(payload.periods), "starts_on": payload.starts_on, "ends_on": payload.ends_on,
        "signed_on": payload.signed_on, "event_id": event_id, "recorded_at": clock(),
    }
    if row is None:
        uow.session.add(KnownContract(contract_id=payload.contract_id, **values))
    else:
        for k, v in values.items():
            setattr(row, k, v)
    uow.audit("contract.recorded", "contract", payload.contract_id, {"event_id": event_id})


# ---------------------------------------------------------------- plans
def _check_periods(labels: Sequence[str], kind: str) -> list[str]:
    parsed = [domain.parse_period(lbl, f"periods[{n}]") for n, lbl in enumerate(labels)]
    for n, p in enumerate(parsed):
        if p.kind != kind:
            raise Unprocessable("assessment.plan.period_kind", f"{p.label} is not a {kind} period",
                                field=f"periods[{n}]", rule="every period of a plan is of its period_kind")
    if len({p.label for p in parsed}) != len(parsed) or parsed != sorted(parsed):
        raise Unprocessable("assessment.plan.periods_order", "periods must be unique and in order",
                            field="periods", rule="unique, ascending")
    return [p.label for p in parsed]


async def create_plan(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal,
                      data: schemas.PlanIn) -> Plan:
    session = uow.session
    known = await session.get(KnownContract, data.contract_id)
    if known is not None:
        if principal.role == "purchaser" and known.department and known.department != principal.org:
            raise NotFound("assessment.contract.not_found", f"no contract {data.contract_id}")
        for name in ("supplier_code", "service_type", "department", "line_id", "region"):
            given, have = getattr(data, name), getattr(known, name)
            if given is not None and have and given != have:
                raise Unprocessable("assessment.plan.contract_mismatch",
                                    f"{name} {given!r} differs from the signed contract's {have!r}",
                                    field=name, rule="a known contract's fields come from contract.signed")
        supplier_code = known.supplier_code
        service_type = known.service_type or data.service_type
        department = known.department or data.department
        line_id = known.line_id or data.line_id
        region = known.region or data.region
        kind = data.period_kind or known.schedule
        if data.periods is not None:
            periods = _check_periods(data.periods, kind)
        elif kind == known.schedule and known.periods:
            periods = _check_periods(known.periods, kind)
        else:
            periods = domain.periods_between(known.starts_on, known.ends_on, kind)
    else:
        for name in ("supplier_code", "service_type", "department", "period_kind"):
            if getattr(data, name) is None:
                raise Unprocessable("assessment.plan.field_missing",
                                    f"{name} is needed: contract {data.contract_id} is not known here "
                                    "(no contract.signed received)", field=name,
                                    rule="explicit fields when the contract is not known")
        supplier_code = data.supplier_code or ""
        service_type = data.service_type
        department = data.department
        line_id = data.line_id
        region = data.region
        kind = data.period_kind or "monthly"
        if data.periods is not None:
            periods = _check_periods(data.periods, kind)
        elif data.starts_on is not None and data.ends_on is not None:
            periods = domain.periods_between(data.starts_on, data.ends_on, kind)
        else:
            raise Unprocessable("assessment.plan.field_missing", "give periods, or starts_on and ends_on",
                                field="periods", rule="explicit periods when the contract is not known")
    if not service_type or not department:
        raise Unprocessable("assessment.plan.field_missing", "the contract names no service type or department",
                            field="service_type" if not service_type else "department",
                            rule="a plan has a service type and a department")
    if principal.role == "purchaser" and department != principal.org:
        raise Forbidden("assessment.plan.department_scope", "a purchaser plans only for its own department",
                        field="department", rule="purchaser: own department")
    if principal.role == "purchaser" and principal.region and known is None and region not in (None, principal.region):
        raise Forbidden("assessment.plan.region_scope", "a purchaser plans only in its own region",
                        field="region", rule="purchaser: own region")
    if region is None and principal.role == "purchaser":
        region = principal.region  # the department's own region
    if (await session.execute(select(Plan.id).where(Plan.contract_id == data.contract_id))).first():
        raise Conflict("assessment.plan.exists", f"contract {data.contract_id} already has a plan",
                       field="contract_id", rule="one plan per contract")
    pack = ctx.policy(on=business_date(clock()))
    weights = domain.resolve_party_weights(pack.assessment, data.party_weights, has_assessor=bool(data.assessor_org))
    system = await _system_for_plan(uow, principal, service_type, data.indicator_system_id)
    plan = Plan(
        id=_id(), contract_id=data.contract_id, supplier_code=supplier_code, service_type=service_type,
        department=department, line_id=line_id, region=region, period_kind=kind, periods=periods,
        assessor_org=data.assessor_org,
        party_weights={k: _s(v) for k, v in weights.items()}, indicator_system_id=system.id, policy_ref=pack.ref,
        contract_known=known is not None, created_at=clock(),
    )
    session.add(plan)
    uow.audit("plan.created", "plan", plan.id, {"contract_id": plan.contract_id, "weights": plan.party_weights,
                                                "indicator_system": system_of(system).ref, "policy": pack.ref,
                                                "region": plan.region})
    await _flush_unique(uow, "assessment.plan.exists", f"contract {data.contract_id} already has a plan")
    await uow.commit()
    return plan


async def list_plans(session: AsyncSession, principal: Principal, *, contract_id: str | None, limit: int,
                     offset: int) -> tuple[list[Plan], int]:
    stmt = select(Plan)
    region = _regional(principal)
    if region is not None:
        stmt = stmt.where(Plan.region == region)
    elif principal.role == "purchaser":
        stmt = stmt.where(Plan.department == (principal.org or ""))
    elif principal.role == "assessor":
        stmt = stmt.where(Plan.assessor_org == (principal.org or ""))
    elif principal.role not in READ_ALL:
        stmt = stmt.where(Plan.id == "")
    if contract_id:
        stmt = stmt.where(Plan.contract_id == contract_id)
    return await _page(session, stmt.order_by(Plan.created_at, Plan.id), limit, offset)


def _weights(plan: Plan) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in plan.party_weights.items()}


async def _period_open(session: AsyncSession, plan: Plan, period: str, field: str) -> None:
    if period not in plan.periods:
        raise Unprocessable("assessment.period.outside_plan", f"{period} is not a period of the plan",
                            field=field, rule=f"periods: {', '.join(plan.periods[:12])}")
    drafted = (await session.execute(select(Assessment.id).where(
        Assessment.plan_id == plan.id, Assessment.period == period))).first()
    if drafted:
        raise Unprocessable("assessment.period.drafted",
                            f"the assessment of {period} is drafted; its inputs are closed", field=field,
                            rule="findings and sheets close when the period's draft is made")


# ---------------------------------------------------------------- daily supervision
def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=SHANGHAI)


async def record_inspection(*, uow: UnitOfWork, principal: Principal, plan_id: str,
                            data: schemas.InspectionIn) -> tuple[Inspection, list[Finding]]:
    session = uow.session
    plan = await get_plan(session, plan_id, principal, write=True)
    at = _aware(data.inspected_at)
    if at > clock() + timedelta(minutes=5):
        raise Unprocessable("assessment.inspection.future", "inspected_at is in the future",
                            field="inspected_at", rule="inspections are recorded after they happen")
    period = domain.period_of(plan.period_kind, business_date(at)).label
    await _period_open(session, plan, period, "inspected_at")
    party = party_of(principal)
    system = system_of(await get_indicator_system(session, plan.indicator_system_id))
    inspection = Inspection(id=_id(), plan_id=plan.id, kind=data.kind, party=party, inspector=data.inspector,
                            inspected_at=at, period=period, location=data.location, note=data.note,
                            recorded_by=principal.subject, created_at=clock())
    session.add(inspection)
    await uow.flush()  # the inspection row before its findings (no ORM relationship orders them)
    rows: list[Finding] = []
    for n, f in enumerate(data.findings):
        ind = system.indicator(f.indicator)
        if ind is None:
            raise Unprocessable("assessment.finding.indicator_unknown",
                                f"{system.ref} has no indicator {f.indicator!r}",
                                field=f"findings[{n}].indicator", rule=f"indicators of {system.ref}")
        deduction = domain.finding_deduction(ind, f.rule, f.count, f.deduction, f"findings[{n}]")
        rows.append(Finding(
            id=_id(), inspection_id=inspection.id, plan_id=plan.id, period=period, party=party,
            indicator_code=ind.code, rule_code=f.rule, count=f.count, deduction=deduction,
            description=f.description, evidence=[e.model_dump(mode="json") for e in f.evidence],
            serious_violation=f.serious_violation, fraud=f.fraud, inspector=data.inspector, found_at=at,
        ))
    session.add_all(rows)
    uow.audit("inspection.recorded", "plan", plan.id,
              {"inspection_id": inspection.id, "kind": data.kind, "period": period, "party": party,
               "findings": [{"id": r.id, "indicator": r.indicator_code, "deduction": str(r.deduction),
                             "serious_violation": r.serious_violation, "fraud": r.fraud} for r in rows]})
    await uow.commit()
    return inspection, rows


async def list_findings(session: AsyncSession, principal: Principal, plan_id: str,
                        period: str | None) -> list[Finding]:
    plan = await get_plan(session, plan_id, principal)
    stmt = select(Finding).where(Finding.plan_id == plan.id)
    if period:
        stmt = stmt.where(Finding.period == period)
    return list((await session.execute(stmt.order_by(Finding.found_at, Finding.id))).scalars())


# ---------------------------------------------------------------- score sheets
async def submit_sheet(*, uow: UnitOfWork, principal: Principal, plan_id: str, data: schemas.SheetIn) -> ScoreSheet:
    session = uow.session
    plan = await get_plan(session, plan_id, principal, write=True)
    period = domain.parse_period(data.period).label
    await _period_open(session, plan, period, "period")
    party = party_of(principal)
    if _weights(plan).get(party, Decimal(0)) == 0:
        raise Unprocessable("assessment.sheet.party_unweighted", f"the {party} has no weight in this plan",
                            field="party", rule="only weighted parties score")
    system = system_of(await get_indicator_system(session, plan.indicator_system_id))
    domain.sheet_score(system, party, data.points, [])  # validates the points against the indicators
    exists = (await session.execute(select(ScoreSheet.id).where(
        ScoreSheet.plan_id == plan.id, ScoreSheet.period == period, ScoreSheet.party == party))).first()
    if exists:
        raise Conflict("assessment.sheet.exists", f"the {party} sheet for {period} is already in",
                       field="period", rule="one sheet per party and period")
    sheet = ScoreSheet(id=_id(), plan_id=plan.id, period=period, party=party,
                       points={k: _s(v) for k, v in data.points.items()}, comment=data.comment,
                       submitted_by=principal.subject, created_at=clock())
    session.add(sheet)
    uow.audit("sheet.submitted", "plan", plan.id, {"sheet_id": sheet.id, "period": period, "party": party})
    await _flush_unique(uow, "assessment.sheet.exists", f"the {party} sheet for {period} is already in")
    await uow.commit()
    return sheet


async def list_sheets(session: AsyncSession, principal: Principal, plan_id: str) -> list[ScoreSheet]:
    plan = await get_plan(session, plan_id, principal)
    return list((await session.execute(select(ScoreSheet).where(ScoreSheet.plan_id == plan.id)
                                       .order_by(ScoreSheet.period, ScoreSheet.party))).scalars())


# ---------------------------------------------------------------- surveys
def _related(a: domain.Period, b: domain.Period) -> bool:
    return a.contains(b) or b.contains(a)


async def create_survey(*, uow: UnitOfWork, principal: Principal, plan_id: str, data: schemas.SurveyIn) -> Survey:
    session = uow.session
    plan = await get_plan(session, plan_id, principal, write=True)
    period = domain.parse_period(data.period)
    if not any(_related(period, domain.parse_period(p)) for p in plan.periods):
        raise Unprocessable("assessment.survey.outside_plan", f"{period.label} does not overlap the plan's periods",
                            field="period", rule="a survey covers, or is covered by, a period of the plan")
    codes = [i.code for i in data.items]
    if len(set(codes)) != len(codes):
        raise Unprocessable("assessment.survey.items_duplicate", "item codes must be unique", field="items",
                            rule="unique item codes")
    if (await session.execute(select(Survey.id).where(Survey.plan_id == plan.id,
                                                      Survey.period == period.label))).first():
        raise Conflict("assessment.survey.exists", f"the plan already has a survey for {period.label}",
                       field="period", rule="one survey per plan and period")
    survey = Survey(id=_id(), plan_id=plan.id, period=period.label, title=data.title,
                    items=[i.model_dump() for i in data.items], invited=data.invited, salt=secrets.token_hex(16),
                    created_by=principal.subject, created_at=clock())
    session.add(survey)
    uow.audit("survey.created", "survey", survey.id, {"plan_id": plan.id, "period": period.label,
                                                      "items": len(codes), "invited": data.invited})
    await _flush_unique(uow, "assessment.survey.exists", f"the plan already has a survey for {period.label}")
    await uow.commit()
    return survey


async def get_survey(session: AsyncSession, principal: Principal, survey_id: str, *,
                     write: bool = False) -> tuple[Survey, Plan]:
    survey = await session.get(Survey, survey_id)
    if survey is None:
        raise NotFound("assessment.survey.not_found", f"no survey {survey_id}")
    try:
        plan = await get_plan(session, survey.plan_id, principal, write=write)
    except NotFound:
        raise NotFound("assessment.survey.not_found", f"no survey {survey_id}") from None
    return survey, plan


async def _responses(session: AsyncSession, survey_ids: Sequence[str]) -> list[SurveyResponse]:
    if not survey_ids:
        return []
    return list((await session.execute(select(SurveyResponse).where(
        SurveyResponse.survey_id.in_(survey_ids)))).scalars())


async def respond_to_survey(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, survey_id: str,
                            data: schemas.SurveyResponseIn) -> tuple[SurveyResponse, int]:
    session = uow.session
    survey, _plan = await get_survey(session, principal, survey_id, write=True)
    pack = ctx.policy(on=business_date(clock()))
    domain.check_answers(pack.assessment, [i["code"] for i in survey.items], data.answers)
    count = int((await session.execute(select(func.count()).select_from(SurveyResponse)
                                       .where(SurveyResponse.survey_id == survey.id))).scalar_one())
    if count >= survey.invited:
        raise Unprocessable("assessment.survey.full", f"all {survey.invited} invited respondents have answered",
                            field="respondent_id", rule="respondents <= invited")
    digest = domain.respondent_hash(survey.salt, data.respondent_id)
    if (await session.execute(select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id,
                                                              SurveyResponse.respondent_hash == digest))).first():
        raise Conflict("assessment.survey.duplicate_respondent", "this respondent has already answered",
                       field="respondent_id", rule="one response per respondent")
    resp = SurveyResponse(id=_id(), survey_id=survey.id, respondent_hash=digest, answers=dict(data.answers),
                          comment=data.comment, suggestion=data.suggestion, created_at=clock())
    session.add(resp)
    uow.audit("survey.answered", "survey", survey.id, {"response_id": resp.id})  # no respondent id, ever
    await _flush_unique(uow, "assessment.survey.duplicate_respondent", "this respondent has already answered")
    await uow.commit()
    return resp, count + 1


async def survey_summary(session: AsyncSession, ctx: ServiceContext, survey: Survey) -> dict[str, Any]:
    pack = ctx.policy(on=business_date(survey.created_at))
    responses = await _responses(session, [survey.id])
    tally = domain.tally_survey(pack.assessment, survey.invited, [r.answers for r in responses])
    per_item: dict[str, dict[str, int]] = {i["code"]: {} for i in survey.items}
    for r in responses:
        for item, level in r.answers.items():
            per_item.setdefault(item, {})[level] = per_item.get(item, {}).get(level, 0) + 1
    return {"respondents": tally.respondents, "response_rate": tally.response_rate,
            "satisfaction_rate": tally.satisfaction_rate, "score": tally.score, "per_level": tally.per_level,
            "per_item": per_item}


# ---------------------------------------------------------------- drafts
async def _surveys_for(session: AsyncSession, plan: Plan, period: domain.Period,
                       survey_id: str | None) -> list[Survey]:
    surveys = list((await session.execute(select(Survey).where(Survey.plan_id == plan.id))).scalars())
    if survey_id is not None:
        chosen = [s for s in surveys if s.id == survey_id]
        if not chosen or not _related(domain.parse_period(chosen[0].period), period):
            raise Unprocessable("assessment.survey.not_for_period", f"survey {survey_id} is not a survey of "
                                f"this plan covering {period.label}", field="survey_id",
                                rule="the survey's period covers, or is covered by, the assessment's")
        return chosen
    covering = [s for s in surveys if domain.parse_period(s.period).contains(period)]
    if covering:  # the most specific survey that covers the period (e.g. the half-year's for a month)
        return [min(covering, key=lambda s: (domain.parse_period(s.period).months, -s.created_at.timestamp()))]
    return [s for s in surveys if period.contains(domain.parse_period(s.period))]  # pooled within the period


def _finding_fact(d: dict[str, Any]) -> domain.FindingFact:
    return domain.FindingFact(id=d["id"], party=d["party"], indicator_code=d["indicator"], rule_code=d["rule"],
                              deduction=Decimal(d["deduction"]), description=d["description"],
                              serious_violation=d["serious_violation"], fraud=d["fraud"])


def _result_json(scored: domain.Scored) -> dict[str, Any]:
    return {
        "score": _s(scored.score), "grade": scored.grade, "failing": scored.failing,
        "band_grade": scored.band_grade, "veto": scored.veto, "veto_reasons": list(scored.veto_reasons),
        "components": [{"party": c.party, "weight": _s(c.weight), "score": _s(c.score),
                        "lines": [{"code": ln.code, "weight": _s(ln.weight), "points": _s(ln.points),
                                   "deducted": _s(ln.deducted)} for ln in c.lines]} for c in scored.components],
        "deductions": {p: {k: _s(v) for k, v in d.items()} for p, d in scored.deductions.items()},
        "violations": list(scored.violations), "serious_violation": scored.serious_violation,
        "fraud": scored.fraud,
    }


def _score(system: domain.IndicatorSystem, pack: PolicyPack, inputs: dict[str, Any],
           withdrawn: Sequence[str] = ()) -> domain.Scored:
    findings = [_finding_fact(f) for f in inputs["findings"] if f["id"] not in set(withdrawn)]
    sheets = {p: {k: Decimal(v) for k, v in pts.items()} for p, pts in inputs["sheets"].items()}
    survey = inputs.get("survey")
    survey_score = Decimal(survey["score"]) if survey else None
    weights = {k: Decimal(v) for k, v in inputs["weights"].items()}
    return domain.score_assessment(system, weights, sheets, findings, survey_score, pack.assessment)


async def draft_assessment(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, plan_id: str,
                           data: schemas.DraftIn) -> Assessment:
    session = uow.session
    plan = await get_plan(session, plan_id, principal, write=True)
    period = domain.parse_period(data.period)
    if period.label not in plan.periods:
        raise Unprocessable("assessment.period.outside_plan", f"{period.label} is not a period of the plan",
                            field="period", rule=f"periods: {', '.join(plan.periods[:12])}")
    now = clock()
    today = business_date(now)
    if today < period.start:
        raise Unprocessable("assessment.period.not_started", f"{period.label} has not started",
                            field="period", rule="a period is assessed once it has started")
    if (await session.execute(select(Assessment.id).where(Assessment.plan_id == plan.id,
                                                          Assessment.period == period.label))).first():
        raise Conflict("assessment.exists", f"{period.label} already has an assessment", field="period",
                       rule="one assessment per plan and period")
    pack = ctx.policy(on=today)
    system_row = await get_indicator_system(session, plan.indicator_system_id)
    system = system_of(system_row)
    weights = _weights(plan)
    sheets = list((await session.execute(select(ScoreSheet).where(
        ScoreSheet.plan_id == plan.id, ScoreSheet.period == period.label))).scalars())
    findings = list((await session.execute(select(Finding, Inspection.kind).join(
        Inspection, Inspection.id == Finding.inspection_id).where(
        Finding.plan_id == plan.id, Finding.period == period.label).order_by(Finding.found_at, Finding.id))).all())
    survey_json: dict[str, Any] | None = None
    if weights.get("recipients", Decimal(0)) > 0:
        surveys = await _surveys_for(session, plan, period, data.survey_id)
        if not surveys:
            raise Unprocessable("assessment.survey.missing",
                                f"the recipients weigh {weights['recipients']} but no survey covers {period.label}",
                                field="survey_id", rule="recipients are scored by a satisfaction survey")
        responses = await _responses(session, [s.id for s in surveys])
        invited = sum(s.invited for s in surveys)
        tally = domain.tally_survey(pack.assessment, invited, [r.answers for r in responses])
        minimum = pack.assessment.min_response_rate_percent
        if tally.respondents == 0:
            raise Unprocessable("assessment.survey.no_responses", "the survey has no responses",
                                field="survey_id", rule="a survey with responses")
        if tally.response_rate < minimum and data.low_response_reason is None:
            raise Unprocessable("assessment.survey.response_rate_low",
                                f"the response rate {tally.response_rate}% is below the policy's {minimum}%; "
                                "give low_response_reason to assess anyway", field="low_response_reason",
                                rule=f"assessment.min_response_rate_percent ({pack.ref}; seed 002: >95%)")
        survey_json = {"ids": [s.id for s in surveys], "periods": [s.period for s in surveys],
                       "invited": invited, "respondents": tally.respondents, "answers": tally.answers,
                       "response_rate": _s(tally.response_rate), "satisfaction_rate": _s(tally.satisfaction_rate),
                       "score": _s(tally.score), "per_level": tally.per_level,
                       "low_response_reason": data.low_response_reason if tally.response_rate < minimum else None}
    inputs: dict[str, Any] = {
        "weights": {k: _s(v) for k, v in weights.items()},
        "sheets": {s.party: dict(s.points) for s in sheets},
        "findings": [{"id": f.id, "inspection_id": f.inspection_id, "kind": kind, "party": f.party,
                      "indicator": f.indicator_code, "rule": f.rule_code, "count": f.count,
                      "deduction": _s(_dec(f.deduction)), "description": f.description, "evidence": f.evidence,
                      "serious_violation": f.serious_violation, "fraud": f.fraud, "inspector": f.inspector,
                      "found_at": _aware(f.found_at).isoformat()} for f, kind in findings],
        "survey": survey_json,
    }
    scored = _score(system, pack, inputs)
    deadline = domain.response_deadline(today, pack.assessment, ctx.calendar(pack))
    result = _result_json(scored)
    a = Assessment(
        id=_id(), plan_id=plan.id, contract_id=plan.contract_id, supplier_code=plan.supplier_code,
        service_type=plan.service_type, department=plan.department, line_id=plan.line_id,
        assessor_org=plan.assessor_org, period=period.label, period_index=plan.periods.index(period.label) + 1,
        state="draft", score=scored.score, grade=scored.grade, failing=scored.failing, veto=scored.veto,
        result=result, inputs=inputs, draft_result=result, serious_violation=scored.serious_violation,
        fraud=scored.fraud, policy_ref=pack.ref, indicator_system_ref=system.ref, drafted_at=now, drafted_on=today,
        response_due=deadline.due, response_due_provisional=deadline.provisional,
        response_window_kind=pack.assessment.response_window_kind,
        response_window_days=pack.assessment.response_window_days,
        decision=None, finalized_at=None, finalized_by=None, published_at=None,
    )
    session.add(a)
    uow.audit("assessment.drafted", "assessment", a.id,
              {"plan_id": plan.id, "period": period.label, "score": str(scored.score), "grade": scored.grade,
               "response_due": deadline.due.isoformat(), "policy": pack.ref})
    await _flush_unique(uow, "assessment.exists", f"{period.label} already has an assessment")
    await uow.commit()
    return a


async def list_assessments(session: AsyncSession, principal: Principal, *, contract_id: str | None,
                           supplier_code: str | None, state: str | None, period: str | None, limit: int,
                           offset: int) -> tuple[list[Assessment], int]:
    stmt = _scoped_assessments(select(Assessment), principal)
    if contract_id:
        stmt = stmt.where(Assessment.contract_id == contract_id)
    if supplier_code:
        stmt = stmt.where(Assessment.supplier_code == supplier_code)
    if state:
        stmt = stmt.where(Assessment.state == state)
    if period:
        stmt = stmt.where(Assessment.period == period)
    return await _page(session, stmt.order_by(Assessment.contract_id, Assessment.period_index), limit, offset)


async def get_response(session: AsyncSession, assessment_id: str) -> SupplierResponse | None:
    return (await session.execute(select(SupplierResponse).where(
        SupplierResponse.assessment_id == assessment_id))).scalar_one_or_none()


# ---------------------------------------------------------------- the supplier's response
async def respond(*, uow: UnitOfWork, principal: Principal, assessment_id: str,
                  data: schemas.SupplierResponseIn) -> tuple[Assessment, SupplierResponse]:
    session = uow.session
    a = await get_assessment(session, assessment_id, principal, for_update=True)
    if a.state != "draft":
        raise Conflict("assessment.state.not_draft", f"the assessment is {a.state}; responses are to drafts",
                       field="state", rule="draft → response → final")
    today = business_date(clock())
    if not domain.window_open(today, a.response_due):
        raise Unprocessable("assessment.response.window_closed",
                            f"the response window closed on {a.response_due}",
                            field="submitted_on",
                            rule=f"respond within {a.response_window_days} {a.response_window_kind} days of the "
                                 f"draft ({a.policy_ref}: assessment.response_window_days)")
    if await get_response(session, a.id) is not None:
        raise Conflict("assessment.response.exists", "the supplier has already responded",
                       field="assessment_id", rule="one response per draft")
    known = {f["id"] for f in a.inputs["findings"]}
    for n, fid in enumerate(data.disputed_findings):
        if fid not in known:
            raise Unprocessable("assessment.response.finding_unknown", f"{fid} is not a finding of this draft",
                                field=f"disputed_findings[{n}]", rule="findings of the draft")
    if data.accepts and data.disputed_findings:
        raise Unprocessable("assessment.response.accepts_and_disputes", "accepting the draft disputes nothing",
                            field="disputed_findings", rule="accepts: no disputed findings")
    if not data.accepts and not data.text.strip():
        raise Unprocessable("assessment.response.text_missing", "say what is disputed and why", field="text",
                            rule="a dispute has a text")
    resp = SupplierResponse(id=_id(), assessment_id=a.id, supplier_code=a.supplier_code, accepts=data.accepts,
                            text=data.text, disputed_findings=list(dict.fromkeys(data.disputed_findings)),
                            submitted_at=clock(), submitted_on=today)
    session.add(resp)
    uow.audit("assessment.responded", "assessment", a.id,
              {"accepts": data.accepts, "disputed_findings": resp.disputed_findings})
    await _flush_unique(uow, "assessment.response.exists", "the supplier has already responded")
    await uow.commit()
    return a, resp


# ---------------------------------------------------------------- finalisation and publication
async def finalize(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, assessment_id: str,
                   data: schemas.FinalizeIn) -> Assessment:
    """Draft → final, with the response and the decision on it; emits assessment.finalized exactly once
    (row lock + state check; the finalizations table's primary key guards a race). A repeat answers the
    final assessment again without a new event."""
    session = uow.session
    a = await get_assessment(session, assessment_id, principal, for_update=True)
    if a.state != "draft":
        return a
    if principal.role not in ("purchaser", "assessor"):
        raise NotFound("assessment.not_found", f"no assessment {assessment_id}")
    today = business_date(clock())
    resp = await get_response(session, a.id)
    if resp is None:
        if not domain.may_finalize(today, a.response_due, responded=False):
            raise Unprocessable("assessment.finalize.window_open",
                                f"the supplier may respond until {a.response_due}",
                                field="response_due",
                                rule=f"final after the response or after {a.response_window_days} "
                                     f"{a.response_window_kind} days ({a.policy_ref})")
        if data.decision is not None or data.withdrawn_findings:
            raise Unprocessable("assessment.decision.no_response", "the supplier did not respond; there is "
                                "nothing to decide", field="decision", rule="a decision answers a response")
    else:
        domain.check_decision(data.decision, resp.disputed_findings, data.withdrawn_findings, resp.accepts)
        if not resp.accepts and not data.reason.strip():
            raise Unprocessable("assessment.decision.reason_missing", "give the reason for the decision",
                                field="reason", rule="a decision has a reason")
    pack = ctx.policy(on=a.drafted_on)
    plan = await session.get(Plan, a.plan_id)
    if plan is None:  # pragma: no cover - plans are never deleted
        raise NotFound("assessment.plan.not_found", "the assessment's plan is gone")
    system = system_of(await get_indicator_system(session, plan.indicator_system_id))
    withdrawn = list(dict.fromkeys(data.withdrawn_findings))
    scored = _score(system, pack, a.inputs, withdrawn)
    now = clock()
    a.state = "final"
    a.score = scored.score
    a.grade = scored.grade
    a.failing = scored.failing
    a.veto = scored.veto
    a.serious_violation = scored.serious_violation
    a.fraud = scored.fraud
    a.result = _result_json(scored)
    a.finalized_at = now
    a.finalized_by = principal.subject
    decision = None if resp is None else ("accepted_by_supplier" if resp.accepts else data.decision)
    a.decision = {"decision": decision, "reason": data.reason, "withdrawn_findings": withdrawn,
                  "decided_by": principal.subject, "decided_at": now.isoformat()} if resp is not None else None
    envelope = uow.emit(AssessmentFinalized(
        assessment_id=a.id, contract_id=a.contract_id, supplier_code=a.supplier_code, service_type=a.service_type,
        department=a.department, line_id=a.line_id, period=a.period, period_index=a.period_index,
        score=scored.score, grade=scored.grade, failing=scored.failing,
        components=[ScoreComponent(party=c.party, weight=c.weight, score=c.score) for c in scored.components],
        violations=list(scored.violations), serious_violation=scored.serious_violation, fraud=scored.fraud,
        policy=a.policy_ref, veto=scored.veto, indicator_system=a.indicator_system_ref, decision=decision,
    ))
    session.add(Finalization(assessment_id=a.id, event_id=envelope.id, finalized_at=now))
    uow.audit("assessment.finalized", "assessment", a.id,
              {"score": str(scored.score), "grade": scored.grade, "decision": decision, "withdrawn": withdrawn,
               "event_id": envelope.id})
    try:
        await uow.flush()
    except IntegrityError:
        await uow.rollback()
        return await get_assessment(session, assessment_id, principal)
    await uow.commit()
    return a


async def publish(*, uow: UnitOfWork, principal: Principal, assessment_id: str) -> Assessment:
    session = uow.session
    a = await get_assessment(session, assessment_id, principal, for_update=True)
    if a.state == "published":
        return a
    if principal.role not in ("purchaser", "finance"):
        raise NotFound("assessment.not_found", f"no assessment {assessment_id}")
    if a.state != "final":
        raise Conflict("assessment.state.not_final", "only a final assessment is published", field="state",
                       rule="draft → final → published")
    now = clock()
    a.state = "published"
    a.published_at = now
    envelope = uow.emit(AssessmentPublished(
        assessment_id=a.id, contract_id=a.contract_id, supplier_code=a.supplier_code, period=a.period,
        score=_dec(a.score), grade=a.grade, service_type=a.service_type, department=a.department))
    session.add(Publication(assessment_id=a.id, event_id=envelope.id, published_at=now))
    uow.audit("assessment.published", "assessment", a.id, {"event_id": envelope.id})
    try:
        await uow.flush()
    except IntegrityError:
        await uow.rollback()
        return await get_assessment(session, assessment_id, principal)
    await uow.commit()
    return a


async def public_assessments(session: AsyncSession, *, contract_id: str | None, supplier_code: str | None,
                             limit: int, offset: int) -> tuple[list[Assessment], int]:
    stmt = select(Assessment).where(Assessment.state == "published")
    if contract_id:
        stmt = stmt.where(Assessment.contract_id == contract_id)
    if supplier_code:
        stmt = stmt.where(Assessment.supplier_code == supplier_code)
    return await _page(session, stmt.order_by(Assessment.contract_id, Assessment.period_index), limit, offset)


async def public_assessment(session: AsyncSession, assessment_id: str) -> Assessment:
    a = await session.get(Assessment, assessment_id)
    if a is None or a.state != "published":
        raise NotFound("assessment.not_found", f"no published assessment {assessment_id}")
    return a


# ---------------------------------------------------------------- ex-ante performance assessments
async def create_ex_ante(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal,
                         data: schemas.ExAnteIn) -> ExAnteAssessment:
    session = uow.session
    if principal.role == "purchaser" and data.department != principal.org:
        raise Forbidden("assessment.ex_ante.department_scope", "a purchaser files only its own department's lines",
                        field="department", rule="purchaser: own department")
    if data.amount <= 0:
        raise Unprocessable("assessment.ex_ante.amount", "the amount must be positive", field="amount",
                            rule="amount > 0")
    previous = list((await session.execute(select(ExAnteAssessment).where(
        ExAnteAssessment.line_id == data.line_id).order_by(ExAnteAssessment.version.desc()))).scalars())
    if previous and previous[0].department != data.department:
        if principal.role == "purchaser":
            raise NotFound("assessment.ex_ante.not_found", f"no line {data.line_id}")
        raise Unprocessable("assessment.ex_ante.department_mismatch",
                            f"line {data.line_id} belongs to {previous[0].department}", field="department",
                            rule="a line belongs to one department")
    pack = ctx.policy(on=business_date(clock()))
    row = ExAnteAssessment(
        id=_id(), line_id=data.line_id, version=(previous[0].version + 1) if previous else 1,
        department=data.department, fiscal_year=data.fiscal_year, amount_fen=data.amount,
        required=data.amount >= pack.budget.ex_ante_assessment_from_fen, conclusion=data.conclusion,
        score=data.score, dimensions={k: _s(v) for k, v in data.dimensions.items()}, summary=data.summary,
        assessor_org=data.assessor_org or (principal.org if principal.role == "assessor" else None),
        report_ref=data.report_ref, policy_ref=pack.ref, created_by=principal.subject, created_at=clock(),
    )
    session.add(row)
    uow.audit("ex_ante.recorded", "budget_line", data.line_id,
              {"id": row.id, "version": row.version, "conclusion": row.conclusion, "required": row.required})
    await _flush_unique(uow, "assessment.ex_ante.version_race", "another ex-ante assessment was filed at once")
    await uow.commit()
    return row


async def ex_ante_for_line(session: AsyncSession, principal: Principal, line_id: str) -> list[ExAnteAssessment]:
    rows = list((await session.execute(select(ExAnteAssessment).where(ExAnteAssessment.line_id == line_id)
                                       .order_by(ExAnteAssessment.version.desc()))).scalars())
    if not rows or (principal.role == "purchaser" and rows[0].department != principal.org):
        raise NotFound("assessment.ex_ante.not_found", f"no ex-ante assessment for line {line_id}")
    return rows


# ---------------------------------------------------------------- helpers
async def _page(session: AsyncSession, stmt: Select[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    total = int((await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())))
                .scalar_one())
    rows = list((await session.execute(stmt.limit(limit).offset(offset))).scalars())
    return rows, total


async def _flush_unique(uow: UnitOfWork, code: str, detail: str) -> None:
    """Flush; a unique constraint lost to a concurrent request answers 409, nothing written."""
    try:
        await uow.flush()
    except IntegrityError as exc:
        await uow.rollback()
        raise Conflict(code, detail, rule="unique") from exc


def today_shanghai() -> date:
    return business_date(clock())
