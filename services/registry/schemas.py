"""Request and response bodies of the registry service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from services.registry import domain

ServiceType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contact(_In):
    name: Name
    role: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if not (self.phone or self.email):
            raise ValueError("a contact needs a phone or an email")
        return self


def _unique(v: list[str]) -> list[str]:
    if len(set(v)) != len(v):
        raise ValueError("service types must not repeat")
    return v


class SupplierIn(_In):
    credit_code: str = Field(description="统一社会信用代码, 18 characters with a check character")
    name: Name
    kind: Literal["enterprise", "social_organisation", "public_institution", "other"]
    legal_representative: str | None = Field(None, max_length=100)
    address: str | None = Field(None, max_length=300)
    region: str | None = Field(None, max_length=40)
    contacts: list[Contact] = Field(min_length=1, max_length=20)
    service_types: list[ServiceType] = Field(min_length=1, max_length=100)

    _u = field_validator("service_types")(_unique)


class SupplierUpdate(_In):
    version: int = Field(ge=1)
    name: Name | None = None
    legal_representative: str | None = Field(None, max_length=100)
    address: str | None = Field(None, max_length=300)
    contacts: list[Contact] | None = Field(None, min_length=1, max_length=20)
    service_types: list[ServiceType] | None = Field(None, min_length=1, max_length=100)

    @field_validator("service_types")
    @classmethod
    def _u(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _unique(v)


class SupplierOut(BaseModel):
    credit_code: str
    name: str
    kind: str
    kind_label: str
    legal_representative: str | None
    address: str | None
    region: str | None
    contacts: list[dict[str, Any]]
    service_types: list[str]
    qualified: bool | None
    review_id: str | None
    review_reasons: list[str]
    reviewed_at: datetime | None
    registered_at: datetime
    version: int


class ReviewItemIn(_In):
    condition: str = Field(description="one of the checklist conditions, e.g. independent_civil_liability")
    passed: bool
    evidence: str = Field(max_length=2000, description="the document or check that shows it")
    reviewer: str | None = Field(None, max_length=200, description="who checked it (default: the caller)")
    note: str = Field("", max_length=2000)


class ReviewIn(_In):
    items: list[ReviewItemIn] = Field(min_length=1, max_length=50)


class ReviewOut(BaseModel):
    review_id: str
    supplier_code: str
    qualified: bool
    reasons: list[str]
    items: list[dict[str, Any]]
    concluded_by: str
    concluded_at: datetime
    policy: str


class QualificationIn(_In):
    name: Name = Field(description="e.g. 物业服务企业资质")
    number: Text
    issuer: Name
    service_types: list[ServiceType] = Field(min_length=1, max_length=100)
    valid_from: date
    expires_on: date | None = Field(None, description="the last valid day; none = no expiry")
    evidence: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _order(self) -> QualificationIn:
        if self.expires_on is not None and self.expires_on < self.valid_from:
            raise ValueError("expires_on must not be before valid_from")
        return self


class QualificationOut(BaseModel):
    qualification_id: str
    supplier_code: str
    name: str
    number: str
    issuer: str
    service_types: list[str]
    valid_from: date
    expires_on: date | None
    status: str  # valid | expired | not_yet_valid
    evidence: str


class CreditRecordIn(_In):
    kind: Literal["false_materials", "breach", "major_violation", "serious_dishonesty", "abnormal_operation", "fraud"]
    description: Text
    source: Name = Field(description="who found it: the finance bureau, a court, the market regulator …")
    occurred_on: date


class CreditRecordOut(BaseModel):
    record_id: str
    supplier_code: str
    kind: str
    kind_label: str
    description: str
    source: str
    occurred_on: date
    assessment_id: str | None


class BlacklistIn(_In):
    supplier_code: str
    reason: Text
    source: Literal["assessment", "fraud", "false_claim", "violation", "authority"]
    basis: str = Field("", max_length=2000, description="the decision or document")
    starts_on: date | None = Field(None, description="default: today")
    ends_on: date | None = Field(None, description="the last day on the list")
    years: int | None = Field(None, ge=1, le=10)
    indefinite: bool = False

    @model_validator(mode="after")
    def _one_end(self) -> BlacklistIn:
        given = sum([self.ends_on is not None, self.years is not None, self.indefinite])
        if given != 1:
            raise ValueError("give exactly one of ends_on, years or indefinite: true")
        return self


class AppealIn(_In):
    reason: Text


class AppealDecisionIn(_In):
    outcome: Literal["upheld", "overturned"]
    reason: Text
    version: int = Field(ge=1)


class RemovalIn(_In):
    reason: Text
    version: int = Field(ge=1)


class BlacklistOut(BaseModel):
    entry_id: str
    supplier_code: str
    supplier_name: str
    reason: str
    source: str
    rule: str | None
    basis: str
    starts_on: date
    ends_on: date | None
    status: str  # scheduled | in_force | expired | removed | overturned
    ended_on: date | None
    end_reason: str | None
    appeal: dict[str, Any] | None
    assessment_id: str | None
    policy: str
    delisted: bool
    version: int


class PublicBlacklistOut(BaseModel):
    name: str
    credit_code: str
    reason: str
    starts_on: date
    ends_on: date | None


class ReasonOut(BaseModel):
    code: str
    message: str
    until: date | None = None


class EligibilityOut(BaseModel):
    supplier_code: str
    service_type: str
    method: str | None
    eligible: bool
    reasons: list[ReasonOut]
    single_source_renewal: bool
    policy: str
    as_of: date
    last_cycle: dict[str, Any] | None = None

    @classmethod
    def of(cls, e: domain.Eligibility) -> EligibilityOut:
        return cls(supplier_code=e.supplier_code, service_type=e.service_type, method=e.method, eligible=e.eligible,
                   reasons=[ReasonOut(code=r.code, message=r.message, until=r.until) for r in e.reasons],
                   single_source_renewal=e.single_source_renewal, policy=e.policy, as_of=e.as_of,
                   last_cycle=cycle_dict(e.last_cycle) if e.last_cycle else None)


def cycle_dict(c: domain.Cycle) -> dict[str, Any]:
    return {"contract_id": c.contract_id, "service_type": c.service_type, "starts_on": c.starts_on.isoformat(),
            "ends_on": c.ends_on.isoformat(), "periods": c.periods, "average": str(c.average), "grade": c.grade,
            "failing": c.failing, "failing_periods": c.failing_periods}


class PeriodOut(BaseModel):
    assessment_id: str
    contract_id: str
    service_type: str
    department: str
    period: str
    period_index: int
    score: Decimal
    grade: str
    failing: bool
    violations: list[str]
    serious_violation: bool
    fraud: bool
    policy: str


class DirectoryEntryOut(BaseModel):
    rank: int
    credit_code: str
    name: str
    kind: str
    service_type: str
    recent_average: Decimal | None
    last_cycle_grade: str | None
    single_source_renewal: bool


class SweepOut(BaseModel):
    delisted: list[str]
    lapsed_qualifications: list[str] = Field(
        description="suppliers whose eligibility was re-evaluated because a qualification lapsed")
    as_of: date
