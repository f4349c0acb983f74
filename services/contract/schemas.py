"""Request and response bodies of the contract service (money: yuan strings outside, fen inside)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from stdnum.cn import uscc

from services.chassis.money import Money, YuanIn
from services.chassis.pagination import Page
from services.chassis.policy import PURCHASE_METHODS
from services.contract import models as m

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def _credit_code(value: str) -> str:
    if not uscc.is_valid(value):
        raise ValueError("not a unified social credit code (统一社会信用代码): 18 characters with a valid check "
                         "character")
    return value


# Unified social credit code (统一社会信用代码): 18 characters with a check character.
SupplierCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                                pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
                         AfterValidator(_credit_code)]
Schedule = Literal["monthly", "quarterly", "half_yearly", "yearly"]
Method = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
                  Field(description="one of " + ", ".join(PURCHASE_METHODS))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssessmentPlanIn(_In):
    """The assessment plan the contract is measured by (its frequency is the settlement schedule's)."""

    frequency: Schedule | None = None  # defaults to the schedule
    indicators: list[Short] = Field(default_factory=list, max_length=100)
    assessor_org: Id | None = None
    description: Annotated[str, StringConstraints(max_length=20_000)] = ""


class ContractIn(_In):
    title: Short
    line_id: Id
    supplier_code: SupplierCode
    supplier_name: Short | None = None
    method: Method
    method_justification: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5_000)] | None = None
    renewal_of: Id | None = Field(None, description="the previous cycle's contract when this one renews it")
    amount: YuanIn
    content: Text
    starts_on: date
    ends_on: date
    continuous_service: bool = Field(False, description="stable, continuous, budget-backed: a term up to 3 years")
    continuous_basis: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5_000)] | None = None
    quantity_standard: Text
    quality_standard: Text
    pricing_method: Text
    schedule: Schedule
    rights_obligations: Text
    liability: Text
    assessment_plan: AssessmentPlanIn = Field(default_factory=AssessmentPlanIn)


class VersionIn(_In):
    version: int = Field(ge=1)


class DraftRevisionIn(ContractIn):
    """A draft's terms, whole, with the version they replace."""

    version: int = Field(ge=1)


class SignIn(VersionIn):
    signed_on: date


class TransitionIn(VersionIn):
    action: Literal["start", "suspend", "resume", "complete", "terminate", "clear_flag"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5_000)] | None = None
    on: date | None = None


class DocumentIn(_In):
    """Metadata of a document kept elsewhere (the platform stores no files)."""

    name: Short
    media_type: Annotated[str, StringConstraints(max_length=100)] = "application/pdf"
    size_bytes: int | None = Field(None, ge=0)
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    uri: Annotated[str, StringConstraints(max_length=2_000)] | None = None


class FilingIn(VersionIn):
    filed_on: date
    document: DocumentIn
    filed_with: Short | None = None  # e.g. the finance bureau


class ReviewIn(VersionIn):
    decision: Literal["accepted", "rejected"]
    note: Text


class PaymentIn(_In):
    paid_on: date
    reference: Short


class RemediationIn(_In):
    """The supplier's remediation of a settled period, verified by the purchaser (整改验收)."""

    remediation: Text
    verified_on: date


class LedgerIn(_In):
    kind: Literal["work_plan", "report", "document"]
    title: Short
    period: Annotated[str, StringConstraints(pattern=r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]|H[12]))?$")] | None = None
    summary: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    document: DocumentIn | None = None


class AmendmentChanges(_In):
    content: Text | None = None
    quantity_standard: Text | None = None
    quality_standard: Text | None = None
    pricing_method: Text | None = None
    rights_obligations: Text | None = None
    liability: Text | None = None
    assessment_plan: AssessmentPlanIn | None = None


class AmendmentIn(_In):
    type: Literal["content", "standards", "pricing", "obligations", "liability", "assessment_plan", "other"]
    rationale: Text
    changes: AmendmentChanges


class AmendmentSignIn(VersionIn):
    signed_on: date


# ---------------------------------------------------------------- answers
class InstalmentOut(BaseModel):
    seq: int
    period: str
    starts_on: date
    ends_on: date
    amount: Money
    partial: bool
    settled: bool = False

    @classmethod
    def of(cls, i: m.Instalment, settled: set[str] | None = None) -> InstalmentOut:
        return cls(seq=i.seq, period=i.period, starts_on=i.starts_on, ends_on=i.ends_on, amount=i.amount_fen,
                   partial=i.partial, settled=i.period in (settled or set()))


class ContractOut(BaseModel):
    id: str
    version: int
    status: str
    title: str
    department: str
    region: str | None
    line_id: str
    item_code: str | None
    fiscal_year: int | None
    service_type: str
    supplier_code: str
    supplier_name: str | None
    amount: Money
    method: str
    renewal_of: str | None
    method_decision: dict[str, Any]
    method_outside_policy: bool
    method_justification: str | None
    content: str
    starts_on: date
    ends_on: date
    term_months: int
    continuous_service: bool
    continuous_basis: str | None
    long_term: bool
    quantity_standard: str
    quality_standard: str
    pricing_method: str
    schedule: str
    instalments: list[InstalmentOut]
    payment_rule: dict[str, Any]
    rights_obligations: str
    liability: str
    assessment_plan: dict[str, Any]
    policy: str
    review_status: str | None
    review_note: str | None
    reservation_id: str | None
    awarded_at: datetime | None
    eligibility: dict[str, Any] | None
    purchaser_signed_on: date | None
    supplier_signed_on: date | None
    signed_on: date | None
    filing_required: bool
    filing_due_on: date | None
    filed_on: date | None
    filing_late: bool | None
    flagged: bool
    flag_reason: str | None
    status_reason: str | None
    terminated_on: date | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: m.Contract, instalments: list[m.Instalment], settled: set[str] | None = None) -> ContractOut:
        fields = {k: getattr(c, k) for k in cls.model_fields if k not in ("amount", "instalments")}
        return cls(**fields, amount=c.amount_fen,
                   instalments=[InstalmentOut.of(i, settled) for i in sorted(instalments, key=lambda i: i.seq)])


class ContractSummary(BaseModel):
    id: str
    version: int
    status: str
    title: str
    department: str
    supplier_code: str
    service_type: str
    method: str
    amount: Money
    starts_on: date
    ends_on: date
    flagged: bool
    review_status: str | None
    filing_required: bool
    filing_due_on: date | None
    filed_on: date | None

    @classmethod
    def of(cls, c: m.Contract) -> ContractSummary:
        return cls(**{k: getattr(c, k) for k in cls.model_fields if k != "amount"}, amount=c.amount_fen)


class ContractNotice(BaseModel):
    """A contract notice (合同公告): what the public may see of an awarded or signed contract, nothing internal."""

    contract_id: str
    title: str
    department: str
    region: str | None
    fiscal_year: int | None
    service_type: str
    content: str
    supplier_code: str
    supplier_name: str | None
    method: str
    amount: Money
    starts_on: date
    ends_on: date
    status: str
    awarded_on: date | None
    signed_on: date | None
    filing_required: bool
    filed: bool

    @classmethod
    def of(cls, c: m.Contract) -> ContractNotice:
        return cls(contract_id=c.id, title=c.title, department=c.department, region=c.region,
                   fiscal_year=c.fiscal_year, service_type=c.service_type, content=c.content,
                   supplier_code=c.supplier_code, supplier_name=c.supplier_name, method=c.method, amount=c.amount_fen,
                   starts_on=c.starts_on, ends_on=c.ends_on, status=c.status,
                   awarded_on=c.awarded_at.date() if c.awarded_at else None, signed_on=c.signed_on,
                   filing_required=c.filing_required, filed=c.filed_on is not None)


class SettlementOut(BaseModel):
    id: str
    contract_id: str
    period: str
    period_index: int
    assessment_id: str
    score: str
    grade: str
    instalment: Money
    factor_percent: str
    amount: Money
    withheld: Money
    withheld_reason: str | None
    reward: Money
    policy: str
    status: str
    paid_on: date | None
    payment_reference: str | None
    created_at: datetime
    released: Money  # of `withheld`, approved for payment after a verified remediation
    release_id: str | None
    remediation: str | None
    remediation_verified_on: date | None

    @classmethod
    def of(cls, s: m.Settlement) -> SettlementOut:
        return cls(id=s.id, contract_id=s.contract_id, period=s.period, period_index=s.period_index,
                   assessment_id=s.assessment_id, score=s.score, grade=s.grade, instalment=s.instalment_fen,
                   factor_percent=s.factor_percent, amount=s.amount_fen, withheld=s.withheld_fen,
                   withheld_reason=s.withheld_reason, reward=s.reward_fen, policy=s.policy, status=s.status,
                   paid_on=s.paid_on, payment_reference=s.payment_reference, created_at=s.created_at,
                   released=s.released_fen or 0, release_id=s.release_id, remediation=s.remediation,
                   remediation_verified_on=s.remediation_verified_on)


class SettlementList(BaseModel):
    items: list[SettlementOut]
    total: int
    instalments_total: Money
    settled_amount: Money  # performance-linked amounts, without rewards
    withheld_total: Money
    reward_total: Money
    released_total: Money
    paid_total: Money  # confirmed paid: amounts and rewards


class AmendmentOut(BaseModel):
    id: str
    contract_id: str
    seq: int
    type: str
    rationale: str
    changes: dict[str, Any]
    before: dict[str, Any] | None
    status: str
    proposed_by: str
    proposed_role: str
    proposed_at: datetime
    signed_by: str | None
    signed_on: date | None

    @classmethod
    def of(cls, a: m.Amendment) -> AmendmentOut:
        return cls(**{k: getattr(a, k) for k in cls.model_fields})


class LedgerOut(BaseModel):
    id: str
    contract_id: str
    kind: str
    period: str | None
    title: str
    summary: str | None
    amount: Money | None
    document: dict[str, Any] | None
    recorded_by: str
    recorded_role: str
    created_at: datetime

    @classmethod
    def of(cls, e: m.LedgerEntry) -> LedgerOut:
        return cls(**{k: getattr(e, k) for k in cls.model_fields if k != "amount"}, amount=e.amount_fen)


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    at: datetime


class ContractPage(Page[ContractSummary]):
    pass


class ContractNoticePage(Page[ContractNotice]):
    pass


class AmendmentPage(Page[AmendmentOut]):
    pass


class LedgerPage(Page[LedgerOut]):
    pass


class TransitionPage(Page[TransitionOut]):
    pass


class OverdueFiling(BaseModel):
    contract_id: str
    title: str
    department: str
    amount: Money
    signed_on: date | None
    filing_due_on: date | None
    days_overdue: int


class OverduePage(Page[OverdueFiling]):
    as_of: date
