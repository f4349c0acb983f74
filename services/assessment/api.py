"""HTTP routes of the assessment service. Thin: parse, authorise, call service.py, shape the answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from services.assessment import service, templates
from services.assessment.models import (
    Assessment,
    ExAnteAssessment,
    Finding,
    IndicatorSystemRow,
    Inspection,
    Plan,
    ScoreSheet,
    SupplierResponse,
    Survey,
)
from services.assessment.schemas import (
    AssessmentOut,
    DraftIn,
    ExAnteHistoryOut,
    ExAnteIn,
    ExAnteOut,
    FinalizeIn,
    FindingOut,
    IndicatorOut,
    IndicatorSystemIn,
    IndicatorSystemOut,
    InspectionIn,
    InspectionOut,
    PlanIn,
    PlanOut,
    PublicAssessmentOut,
    SheetIn,
    SheetOut,
    SupplierResponseIn,
    SurveyIn,
    SurveyOut,
    SurveyResponseIn,
    SurveyResponseOut,
    TemplateOut,
    TemplatesOut,
)
from services.chassis.app import CtxDep, SessionDep, UowDep
from services.chassis.auth import Allow, Principal
from services.chassis.errors import NotFound
from services.chassis.idempotency import IdempotencyKey
from services.chassis.pagination import Page

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]

READERS = ("purchaser", "assessor", "finance", "auditor")
WRITERS = ("purchaser", "assessor")
EVERYONE = ("public", "purchaser", "assessor", "supplier", "finance", "auditor", "ops", "service")


# ---------------------------------------------------------------- shaping
def indicator_out(d: dict[str, Any]) -> IndicatorOut:
    return IndicatorOut.model_validate({**d, "rules": [{**r, "description": r.get("description", "")}
                                                       for r in d.get("rules", [])]})


def system_out(row: IndicatorSystemRow) -> IndicatorSystemOut:
    return IndicatorSystemOut(id=row.id, code=row.code, version=row.version, ref=f"{row.code}@v{row.version}",
                              service_type=row.service_type, name=row.name, template=row.template,
                              indicators=[indicator_out(i) for i in row.indicators], created_at=row.created_at)


def plan_out(p: Plan) -> PlanOut:
    return PlanOut(id=p.id, contract_id=p.contract_id, supplier_code=p.supplier_code, service_type=p.service_type,
                   department=p.department, line_id=p.line_id, period_kind=p.period_kind, periods=p.periods,
                   assessor_org=p.assessor_org, party_weights={k: Decimal(v) for k, v in p.party_weights.items()},
                   indicator_system_id=p.indicator_system_id, policy=p.policy_ref, contract_known=p.contract_known,
                   created_at=p.created_at, region=p.region)


def finding_out(f: Finding) -> FindingOut:
    return FindingOut(id=f.id, inspection_id=f.inspection_id, period=f.period, party=f.party,
                      indicator=f.indicator_code, rule=f.rule_code, count=f.count, deduction=Decimal(f.deduction),
                      description=f.description, evidence=f.evidence, serious_violation=f.serious_violation,
                      fraud=f.fraud, inspector=f.inspector, found_at=f.found_at)


def inspection_out(i: Inspection, findings: list[Finding]) -> InspectionOut:
    return InspectionOut(id=i.id, plan_id=i.plan_id, kind=i.kind, party=i.party, inspector=i.inspector,
                         inspected_at=i.inspected_at, period=i.period, location=i.location, note=i.note,
                         findings=[finding_out(f) for f in findings])


def sheet_out(s: ScoreSheet) -> SheetOut:
    return SheetOut(id=s.id, plan_id=s.plan_id, period=s.period, party=s.party,
                    points={k: Decimal(v) for k, v in s.points.items()}, comment=s.comment, created_at=s.created_at)


def survey_out(s: Survey, summary: dict[str, Any]) -> SurveyOut:
    return SurveyOut(id=s.id, plan_id=s.plan_id, period=s.period, title=s.title, items=s.items, invited=s.invited,
                     created_at=s.created_at, **summary)


def assessment_out(a: Assessment, resp: SupplierResponse | None) -> AssessmentOut:
    return AssessmentOut(
        id=a.id, plan_id=a.plan_id, contract_id=a.contract_id, supplier_code=a.supplier_code,
        service_type=a.service_type, department=a.department, line_id=a.line_id, period=a.period,
        period_index=a.period_index, state=a.state, score=Decimal(a.score), grade=a.grade, failing=a.failing,
        veto=a.veto, serious_violation=a.serious_violation, fraud=a.fraud, result=a.result, draft=a.draft_result,
        findings=a.inputs["findings"], survey=a.inputs.get("survey"), policy=a.policy_ref,
        indicator_system=a.indicator_system_ref, drafted_at=a.drafted_at, response_due=a.response_due,
        response_due_provisional=a.response_due_provisional,
        response_window=f"{a.response_window_days} {a.response_window_kind} days",
        response=None if resp is None else {"accepts": resp.accepts, "text": resp.text,
                                            "disputed_findings": resp.disputed_findings,
                                            "submitted_at": resp.submitted_at.isoformat()},
        decision=a.decision, finalized_at=a.finalized_at, published_at=a.published_at,
    )


def public_out(a: Assessment) -> PublicAssessmentOut:
    survey = a.inputs.get("survey")
    return PublicAssessmentOut(
        id=a.id, contract_id=a.contract_id, supplier_code=a.supplier_code, service_type=a.service_type,
        department=a.department, period=a.period, score=Decimal(a.score), grade=a.grade,
        components=[{"party": c["party"], "weight": c["weight"], "score": c["score"]} for c in a.result["components"]],
        deductions={p: {k: Decimal(v) for k, v in d.items()} for p, d in a.result["deductions"].items()},
        veto=a.veto,
        survey=None if survey is None else {k: survey[k] for k in ("periods", "invited", "respondents",
                                                                    "response_rate", "satisfaction_rate", "score")},
        policy=a.policy_ref, finalized_at=a.finalized_at, published_at=a.published_at,
    )


def ex_ante_out(r: ExAnteAssessment) -> ExAnteOut:
    return ExAnteOut(id=r.id, line_id=r.line_id, version=r.version, department=r.department,
                     fiscal_year=r.fiscal_year, amount=r.amount_fen, required=r.required, conclusion=r.conclusion,
                     score=None if r.score is None else Decimal(r.score),
                     dimensions={k: Decimal(v) for k, v in r.dimensions.items()}, summary=r.summary,
                     assessor_org=r.assessor_org, report_ref=r.report_ref, policy=r.policy_ref,
                     created_at=r.created_at)


# ---------------------------------------------------------------- indicator systems and templates
systems = APIRouter(tags=["indicator systems (考核评分细则)"])


@systems.get("/indicator-templates", response_model=TemplatesOut, summary="Shipped templates per service type")
async def list_templates(_p: Annotated[Principal, Allow(*READERS)]) -> TemplatesOut:
    return TemplatesOut(items=[
        TemplateOut(key=k, name=t["name"], aliases=t["aliases"],
                    indicators=[indicator_out(i) for i in templates.template_indicators(k)])
        for k, t in templates.TEMPLATES.items()])


@systems.post("/indicator-systems", status_code=status.HTTP_201_CREATED, response_model=IndicatorSystemOut,
              summary="A new indicator system (or the next version of a code), from a template or your own")
async def create_indicator_system(body: IndicatorSystemIn, uow: UowDep, _key: IdempotencyKey,
                                  principal: Annotated[Principal, Allow("purchaser", "finance")]
                                  ) -> IndicatorSystemOut:
    return system_out(await service.create_indicator_system(uow=uow, principal=principal, data=body))


@systems.get("/indicator-systems", response_model=Page[IndicatorSystemOut])
async def list_indicator_systems(session: SessionDep, _p: Annotated[Principal, Allow(*READERS)],
                                 service_type: str | None = None, limit: Limit = 50,
                                 offset: Offset = 0) -> Page[IndicatorSystemOut]:
    rows, total = await service.list_indicator_systems(session, service_type=service_type, limit=limit,
                                                       offset=offset)
    return Page(items=[system_out(r) for r in rows], total=total, limit=limit, offset=offset)


@systems.get("/indicator-systems/{system_id}", response_model=IndicatorSystemOut)
async def get_indicator_system(system_id: str, session: SessionDep,
                               _p: Annotated[Principal, Allow(*READERS, "supplier")]) -> IndicatorSystemOut:
    return system_out(await service.get_indicator_system(session, system_id))


# ---------------------------------------------------------------- plans and daily supervision
plans = APIRouter(prefix="/plans", tags=["assessment plans"])


@plans.post("", status_code=status.HTTP_201_CREATED, response_model=PlanOut,
            summary="A plan for a contract: periods, parties and weights, assessor, indicator system")
async def create_plan(body: PlanIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                      principal: Annotated[Principal, Allow("purchaser")]) -> PlanOut:
    return plan_out(await service.create_plan(uow=uow, ctx=ctx, principal=principal, data=body))


@plans.get("", response_model=Page[PlanOut])
async def list_plans(session: SessionDep, principal: Annotated[Principal, Allow(*READERS)],
                     contract_id: str | None = None, limit: Limit = 50, offset: Offset = 0) -> Page[PlanOut]:
    rows, total = await service.list_plans(session, principal, contract_id=contract_id, limit=limit, offset=offset)
    return Page(items=[plan_out(p) for p in rows], total=total, limit=limit, offset=offset)


@plans.get("/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: str, session: SessionDep, principal: Annotated[Principal, Allow(*READERS)]) -> PlanOut:
    return plan_out(await service.get_plan(session, plan_id, principal))


@plans.post("/{plan_id}/inspections", status_code=status.HTTP_201_CREATED, response_model=InspectionOut,
            summary="Daily supervision: an inspection, spot check, unannounced visit or sample test, with findings")
async def record_inspection(plan_id: str, body: InspectionIn, uow: UowDep, _key: IdempotencyKey,
                            principal: Annotated[Principal, Allow(*WRITERS)]) -> InspectionOut:
    inspection, findings = await service.record_inspection(uow=uow, principal=principal, plan_id=plan_id, data=body)
    return inspection_out(inspection, findings)


@plans.get("/{plan_id}/findings", response_model=list[FindingOut])
async def list_findings(plan_id: str, session: SessionDep, principal: Annotated[Principal, Allow(*READERS)],
                        period: str | None = None) -> list[FindingOut]:
    return [finding_out(f) for f in await service.list_findings(session, principal, plan_id, period)]


@plans.post("/{plan_id}/sheets", status_code=status.HTTP_201_CREATED, response_model=SheetOut,
            summary="The caller's party's points on the indicator sheet for a period")
async def submit_sheet(plan_id: str, body: SheetIn, uow: UowDep, _key: IdempotencyKey,
                       principal: Annotated[Principal, Allow(*WRITERS)]) -> SheetOut:
    return sheet_out(await service.submit_sheet(uow=uow, principal=principal, plan_id=plan_id, data=body))


@plans.get("/{plan_id}/sheets", response_model=list[SheetOut])
async def list_sheets(plan_id: str, session: SessionDep,
                      principal: Annotated[Principal, Allow(*READERS)]) -> list[SheetOut]:
    return [sheet_out(s) for s in await service.list_sheets(session, principal, plan_id)]


@plans.post("/{plan_id}/surveys", status_code=status.HTTP_201_CREATED, response_model=SurveyOut,
            summary="A satisfaction survey of the service recipients (N items on four levels)")
async def create_survey(plan_id: str, body: SurveyIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                        principal: Annotated[Principal, Allow(*WRITERS)]) -> SurveyOut:
    survey = await service.create_survey(uow=uow, principal=principal, plan_id=plan_id, data=body)
    return survey_out(survey, await service.survey_summary(uow.session, ctx, survey))


@plans.post("/{plan_id}/assessments", status_code=status.HTTP_201_CREATED, response_model=AssessmentOut,
            summary="Draft the period's assessment: composite score, deductions, veto, grade, response window")
async def draft_assessment(plan_id: str, body: DraftIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                           principal: Annotated[Principal, Allow(*WRITERS)]) -> AssessmentOut:
    a = await service.draft_assessment(uow=uow, ctx=ctx, principal=principal, plan_id=plan_id, data=body)
    return assessment_out(a, None)


# ---------------------------------------------------------------- surveys
surveys = APIRouter(prefix="/surveys", tags=["satisfaction surveys (满意度测评)"])


@surveys.get("/{survey_id}", response_model=SurveyOut, summary="A survey with its response and satisfaction rates")
async def get_survey(survey_id: str, session: SessionDep, ctx: CtxDep,
                     principal: Annotated[Principal, Allow(*READERS)]) -> SurveyOut:
    survey, _ = await service.get_survey(session, principal, survey_id)
    return survey_out(survey, await service.survey_summary(session, ctx, survey))


@surveys.post("/{survey_id}/responses", status_code=status.HTTP_201_CREATED, response_model=SurveyResponseOut,
              summary="One respondent's answers (the respondent id is kept only as a salted hash)")
async def respond_to_survey(survey_id: str, body: SurveyResponseIn, uow: UowDep, ctx: CtxDep,
                            _key: IdempotencyKey,
                            principal: Annotated[Principal, Allow(*WRITERS)]) -> SurveyResponseOut:
    resp, n = await service.respond_to_survey(uow=uow, ctx=ctx, principal=principal, survey_id=survey_id, data=body)
    return SurveyResponseOut(survey_id=survey_id, response_id=resp.id, respondents=n)


# ---------------------------------------------------------------- assessments
assessments = APIRouter(prefix="/assessments", tags=["assessments"])


@assessments.get("", response_model=Page[AssessmentOut])
async def list_assessments(session: SessionDep, principal: Annotated[Principal, Allow(*READERS, "supplier")],
                           contract_id: str | None = None, supplier_code: str | None = None,
                           state: str | None = None, period: str | None = None, limit: Limit = 50,
                           offset: Offset = 0) -> Page[AssessmentOut]:
    rows, total = await service.list_assessments(session, principal, contract_id=contract_id,
                                                 supplier_code=supplier_code, state=state, period=period,
                                                 limit=limit, offset=offset)
    items = [assessment_out(a, await service.get_response(session, a.id)) for a in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@assessments.get("/{assessment_id}", response_model=AssessmentOut)
async def get_assessment(assessment_id: str, session: SessionDep,
                         principal: Annotated[Principal, Allow(*READERS, "supplier", "service")]) -> AssessmentOut:
    a = await service.get_assessment(session, assessment_id, principal)
    return assessment_out(a, await service.get_response(session, a.id))


@assessments.post("/{assessment_id}/responses", status_code=status.HTTP_201_CREATED, response_model=AssessmentOut,
                  summary="The supplier's response to its draft, within the policy's window")
async def respond(assessment_id: str, body: SupplierResponseIn, uow: UowDep, _key: IdempotencyKey,
                  principal: Annotated[Principal, Allow("supplier")]) -> AssessmentOut:
    a, resp = await service.respond(uow=uow, principal=principal, assessment_id=assessment_id, data=body)
    return assessment_out(a, resp)


@assessments.post("/{assessment_id}/finalize", response_model=AssessmentOut,
                  summary="Draft → final with the decision on the response; emits assessment.finalized once")
async def finalize(assessment_id: str, body: FinalizeIn, uow: UowDep, ctx: CtxDep,
                   principal: Annotated[Principal, Allow(*WRITERS)]) -> AssessmentOut:
    a = await service.finalize(uow=uow, ctx=ctx, principal=principal, assessment_id=assessment_id, data=body)
    return assessment_out(a, await service.get_response(uow.session, a.id))


@assessments.post("/{assessment_id}/publish", response_model=AssessmentOut,
                  summary="Final → published; emits assessment.published once")
async def publish(assessment_id: str, uow: UowDep,
                  principal: Annotated[Principal, Allow("purchaser", "finance")]) -> AssessmentOut:
    a = await service.publish(uow=uow, principal=principal, assessment_id=assessment_id)
    return assessment_out(a, await service.get_response(uow.session, a.id))


# ---------------------------------------------------------------- public results
public = APIRouter(prefix="/public/assessment-results", tags=["public results (信息公开)"])


@public.get("", response_model=Page[PublicAssessmentOut],
            summary="Published assessments by contract and supplier, without respondents' identities")
async def public_assessments(session: SessionDep, _p: Annotated[Principal, Allow(*EVERYONE)],
                             contract_id: str | None = None, supplier_code: str | None = None,
                             limit: Limit = 50, offset: Offset = 0) -> Page[PublicAssessmentOut]:
    rows, total = await service.public_assessments(session, contract_id=contract_id, supplier_code=supplier_code,
                                                   limit=limit, offset=offset)
    return Page(items=[public_out(a) for a in rows], total=total, limit=limit, offset=offset)


@public.get("/{assessment_id}", response_model=PublicAssessmentOut)
async def public_assessment(assessment_id: str, session: SessionDep,
                            _p: Annotated[Principal, Allow(*EVERYONE)]) -> PublicAssessmentOut:
    return public_out(await service.public_assessment(session, assessment_id))


# ---------------------------------------------------------------- ex-ante performance assessments
ex_ante = APIRouter(prefix="/ex-ante", tags=["ex-ante performance assessments (事前绩效评估)"])


@ex_ante.post("", status_code=status.HTTP_201_CREATED, response_model=ExAnteOut,
              summary="File an ex-ante performance assessment of a budget line (a new version each time)")
async def create_ex_ante(body: ExAnteIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                         principal: Annotated[Principal, Allow("purchaser", "finance", "assessor")]) -> ExAnteOut:
    return ex_ante_out(await service.create_ex_ante(uow=uow, ctx=ctx, principal=principal, data=body))


@ex_ante.get("/{line_id}", response_model=ExAnteHistoryOut, summary="The latest ex-ante assessment of a line")
async def get_ex_ante(line_id: str, session: SessionDep,
                      principal: Annotated[Principal, Allow("service", "finance", "purchaser", "assessor", "auditor")]
                      ) -> ExAnteHistoryOut:
    rows = await service.ex_ante_for_line(session, principal, line_id)
    if not rows:  # pragma: no cover - the service raises first
        raise NotFound("assessment.ex_ante.not_found", f"no ex-ante assessment for line {line_id}")
    return ExAnteHistoryOut(line_id=line_id, latest=ex_ante_out(rows[0]), history=[ex_ante_out(r) for r in rows])


router = APIRouter()
for _r in (systems, plans, surveys, assessments, public, ex_ante):
    router.include_router(_r)
