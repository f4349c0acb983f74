"""Request and response bodies of the assessment API. Scores and weights are decimals: JSON strings
("92.5") or integers, never floats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from services.chassis.money import Money, YuanIn


def _no_float(value: Any) -> Any:
    if isinstance(value, (bool, float)):
        raise ValueError('write decimals as strings such as "92.5" (or integers), never floats')
    return value


Dec = Annotated[Decimal, BeforeValidator(_no_float), Field(max_digits=7, decimal_places=2, allow_inf_nan=False)]
Points = Annotated[Decimal, BeforeValidator(_no_float),
                   Field(ge=0, le=100, max_digits=5, decimal_places=2, allow_inf_nan=False)]
Code = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]
Text = Annotated[str, Field(max_length=2000)]
PeriodKind = Literal["monthly", "quarterly", "half_yearly", "yearly"]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- indicator systems
class DeductionRuleIn(In):
    code: Code
    description: Text = ""
    points_per_item: Points
    cap: Points | None = None


class IndicatorIn(In):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    dimension: Annotated[str, Field(min_length=1, max_length=50)]
    weight: Points
    method: Literal["points", "deduction"] = "points"
    rules: Annotated[list[DeductionRuleIn], Field(max_length=50)] = []
    veto: bool = False
    description: Text = ""


class IndicatorSystemIn(In):
    """Either `template` (a shipped template, see GET /indicator-templates) or your own `indicators`.
    A new system with an existing `code` is that code's next version."""

    service_type: Annotated[str, Field(min_length=1, max_length=100)]
    code: Code | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    template: Code | None = None
    indicators: Annotated[list[IndicatorIn], Field(max_length=200)] | None = None


class DeductionRuleOut(BaseModel):
    code: str
    description: str
    points_per_item: Decimal
    cap: Decimal | None


class IndicatorOut(BaseModel):
    code: str
    name: str
    dimension: str
    weight: Decimal
    method: str
    rules: list[DeductionRuleOut]
    veto: bool
    description: str


class IndicatorSystemOut(BaseModel):
    id: str
    code: str
    version: int
    ref: str
    service_type: str
    name: str
    template: str | None
    indicators: list[IndicatorOut]
    created_at: datetime


class TemplateOut(BaseModel):
    key: str
    name: str
    aliases: list[str]
    indicators: list[IndicatorOut]


# ---------------------------------------------------------------- plans
class PlanIn(In):
    """A plan for a contract. When the contract is known (contract.signed was received) its supplier,
    service type, department, line and periods come from it; otherwise give them here."""

    contract_id: Annotated[str, Field(min_length=1, max_length=64)]
    period_kind: PeriodKind | None = None
    assessor_org: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    party_weights: dict[str, Points] | None = None
    indicator_system_id: str | None = None
    supplier_code: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    service_type: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    department: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    line_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    region: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    periods: Annotated[list[str], Field(min_length=1, max_length=120)] | None = None


class PlanOut(BaseModel):
    id: str
    contract_id: str
    supplier_code: str
    service_type: str
    department: str
    line_id: str | None
    period_kind: str
    periods: list[str]
    assessor_org: str | None
    party_weights: dict[str, Decimal]
    indicator_system_id: str
    policy: str
    contract_known: bool
    region: str | None = None
    created_at: datetime


# ---------------------------------------------------------------- daily supervision
class EvidenceIn(In):
    kind: Literal["photo", "video", "document", "lab_report", "record", "other"]
    uri: Annotated[str, Field(min_length=1, max_length=1000)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    taken_at: datetime | None = None
    note: Text = ""


class FindingIn(In):
    indicator: Code
    rule: Code | None = None
    count: Annotated[int, Field(ge=1, le=1000)] = 1
    deduction: Points | None = None
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    evidence: Annotated[list[EvidenceIn], Field(max_length=50)] = []
    serious_violation: bool = False
    fraud: bool = False


class InspectionIn(In):
    kind: Literal["inspection", "spot_check", "unannounced_visit", "sample_test"]
    inspector: Annotated[str, Field(min_length=1, max_length=200)]
    inspected_at: datetime
    location: Annotated[str, Field(max_length=200)] = ""
    note: Text = ""
    findings: Annotated[list[FindingIn], Field(max_length=200)] = []


class FindingOut(BaseModel):
    id: str
    inspection_id: str
    period: str
    party: str
    indicator: str
    rule: str | None
    count: int
    deduction: Decimal
    description: str
    evidence: list[dict[str, Any]]
    serious_violation: bool
    fraud: bool
    inspector: str
    found_at: datetime


class InspectionOut(BaseModel):
    id: str
    plan_id: str
    kind: str
    party: str
    inspector: str
    inspected_at: datetime
    period: str
    location: str
    note: str
    findings: list[FindingOut]


# ---------------------------------------------------------------- score sheets
class SheetIn(In):
    period: Annotated[str, Field(min_length=4, max_length=10)]
    points: dict[str, Points]
    comment: Text = ""


class SheetOut(BaseModel):
    id: str
    plan_id: str
    period: str
    party: str
    points: dict[str, Decimal]
    comment: str
    created_at: datetime


# ---------------------------------------------------------------- surveys
class SurveyItemIn(In):
    code: Code
    text: Annotated[str, Field(min_length=1, max_length=500)]


class SurveyIn(In):
    period: Annotated[str, Field(min_length=4, max_length=10)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    items: Annotated[list[SurveyItemIn], Field(min_length=1, max_length=200)]
    invited: Annotated[int, Field(ge=1, le=1_000_000)]


class SurveyResponseIn(In):
    respondent_id: Annotated[str, Field(min_length=1, max_length=200)]
    answers: dict[str, str]
    comment: Text = ""  # 综合意见
    suggestion: Text = ""  # 建议表达


class SurveyResponseOut(BaseModel):
    survey_id: str
    response_id: str
    respondents: int


class SurveyOut(BaseModel):
    id: str
    plan_id: str
    period: str
    title: str
    items: list[dict[str, str]]
    invited: int
    respondents: int
    response_rate: Decimal
    satisfaction_rate: Decimal
    score: Decimal
    per_level: dict[str, int]
    per_item: dict[str, dict[str, int]]
    created_at: datetime


# ---------------------------------------------------------------- assessments
class DraftIn(In):
    period: Annotated[str, Field(min_length=4, max_length=10)]
    survey_id: str | None = None
    low_response_reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = None


class SupplierResponseIn(In):
    accepts: bool = False
    text: Annotated[str, Field(max_length=5000)] = ""
    disputed_findings: Annotated[list[str], Field(max_length=200)] = []


class FinalizeIn(In):
    decision: Literal["accepted", "partly_accepted", "rejected"] | None = None
    reason: Annotated[str, Field(max_length=5000)] = ""
    withdrawn_findings: Annotated[list[str], Field(max_length=200)] = []


class AssessmentOut(BaseModel):
    id: str
    plan_id: str
    contract_id: str
    supplier_code: str
    service_type: str
    department: str
    line_id: str | None
    period: str
    period_index: int
    state: str
    score: Decimal
    grade: str
    failing: bool
    veto: bool
    serious_violation: bool
    fraud: bool
    result: dict[str, Any]
    draft: dict[str, Any]
    findings: list[dict[str, Any]]
    survey: dict[str, Any] | None
    policy: str
    indicator_system: str
    drafted_at: datetime
    response_due: date
    response_due_provisional: bool
    response_window: str
    response: dict[str, Any] | None
    decision: dict[str, Any] | None
    finalized_at: datetime | None
    published_at: datetime | None


class PublicAssessmentOut(BaseModel):
    """What the public sees: no respondents, no inspectors, no evidence."""

    id: str
    contract_id: str
    supplier_code: str
    service_type: str
    department: str
    period: str
    score: Decimal
    grade: str
    components: list[dict[str, Any]]
    deductions: dict[str, dict[str, Decimal]]
    veto: bool
    survey: dict[str, Any] | None
    policy: str
    finalized_at: datetime | None
    published_at: datetime | None


# ---------------------------------------------------------------- ex-ante assessments
class ExAnteIn(In):
    line_id: Annotated[str, Field(min_length=1, max_length=64)]
    department: Annotated[str, Field(min_length=1, max_length=100)]
    fiscal_year: Annotated[int, Field(ge=2000, le=2100)]
    amount: YuanIn
    conclusion: Literal["supported", "supported_with_changes", "not_supported"]
    score: Points | None = None
    dimensions: dict[str, Points] = {}  # e.g. necessity, feasibility, cost, performance_targets
    summary: Annotated[str, Field(min_length=1, max_length=5000)]
    assessor_org: Annotated[str, Field(max_length=100)] | None = None
    report_ref: Annotated[str, Field(max_length=300)] | None = None


class ExAnteOut(BaseModel):
    id: str
    line_id: str
    version: int
    department: str
    fiscal_year: int
    amount: Money
    required: bool
    conclusion: str
    score: Decimal | None
    dimensions: dict[str, Decimal]
    summary: str
    assessor_org: str | None
    report_ref: str | None
    policy: str
    created_at: datetime


class ExAnteHistoryOut(BaseModel):
    line_id: str
    latest: ExAnteOut
    history: list[ExAnteOut]


class TemplatesOut(BaseModel):
    items: list[TemplateOut]
