"""Request and answer bodies of the budget service (money: yuan strings outside, fen inside)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.chassis.money import Money, YuanIn


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------- lines
class LineIn(_In):
    department: str | None = Field(None, max_length=100, description="the purchaser's own department (default)")
    region: str = Field(min_length=1, max_length=100)
    fiscal_year: int = Field(ge=2000, le=2100)
    item_code: str = Field(min_length=1, max_length=100, description="catalogue level-3 item")
    name: str = Field(min_length=1, max_length=300)
    content: str = Field(min_length=1, max_length=5000)
    recipients: str = Field(min_length=1, max_length=2000, description="服务对象")
    method: str = Field(min_length=1, max_length=40, description="intended purchase method")
    amount: YuanIn
    ex_ante_assessment: str | None = Field(None, max_length=5000,
                                           description="事前绩效评估 (summary or document reference)")


class LinePatch(_In):
    version: int = Field(ge=1)
    item_code: str | None = Field(None, min_length=1, max_length=100)
    name: str | None = Field(None, min_length=1, max_length=300)
    content: str | None = Field(None, min_length=1, max_length=5000)
    recipients: str | None = Field(None, min_length=1, max_length=2000)
    method: str | None = Field(None, min_length=1, max_length=40)
    amount: YuanIn | None = None
    ex_ante_assessment: str | None = Field(None, max_length=5000)


class StepIn(_In):
    version: int | None = Field(None, ge=1, description="optimistic concurrency: 409 when the line changed")
    note: str | None = Field(None, max_length=2000)


class SubmitIn(StepIn):
    ex_ante_assessment: str | None = Field(None, max_length=5000)


class ControlIn(StepIn):
    amount: YuanIn = Field(description="一下 control figure")


class ResubmitIn(StepIn):
    amount: YuanIn | None = Field(None, description="二上 amount; the control figure when left out")
    ex_ante_assessment: str | None = Field(None, max_length=5000)


class RejectIn(StepIn):
    reason: str = Field(max_length=2000)


class OneOffIn(StepIn):
    reason: str = Field(max_length=2000, description="why the item is approved outside the cycle (一事一议)")
    amount: YuanIn | None = Field(None, description="approved amount; the amount asked when left out")


class StepOut(BaseModel):
    step: str
    label: str
    status_after: str
    amount: Money | None
    note: str | None
    actor: str
    role: str
    at: datetime


class ResultOut(BaseModel):
    assessment_id: str
    contract_id: str
    supplier_code: str
    period: str
    score: str
    grade: str
    failing: bool
    policy: str


class ResultSummaryOut(BaseModel):
    fiscal_year: int
    count: int
    average_score: str | None
    failing: int
    grades: dict[str, int]


class LineOut(BaseModel):
    line_id: str
    version: int
    status: str
    department: str
    region: str
    fiscal_year: int
    item_code: str
    item_name: str
    catalogue_id: str | None
    catalogue_version: int | None
    name: str
    content: str
    recipients: str
    method: str
    service_type: str
    level1_class: str
    requested_amount: Money
    control_amount: Money | None
    amount: Money
    approved_amount: Money
    reserved: Money
    paid: Money
    available: Money
    ex_ante_assessment: str | None
    one_off: bool
    one_off_reason: str | None
    rejection_reason: str | None
    finance_approval_required: bool
    finance_approved: bool
    finance_approved_at: datetime | None
    filing_required: bool
    approved_on: date | None
    purchased_on: date | None
    item_withdrawn: bool
    flags: list[dict[str, Any]]
    policy: str | None
    created_at: datetime
    updated_at: datetime
    steps: list[StepOut] = []
    results: list[ResultOut] = []
    prior_results: ResultSummaryOut | None = None


class FinanceApprovalIn(StepIn):
    pass


# ---------------------------------------------------------------- ledger
class ReservationIn(_In):
    reservation_id: str = Field(min_length=1, max_length=100)
    amount: YuanIn
    contract_id: str | None = Field(None, max_length=100)


class ReservationOut(BaseModel):
    reservation_id: str
    line_id: str
    amount: Money
    available_after: Money
    contract_id: str | None
    status: str
    paid: Money
    released: Money
    outstanding: Money
    created_at: datetime


class ReleaseIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class ReleaseOut(BaseModel):
    reservation_id: str
    line_id: str
    released: Money = Field(description="released by this call (0.00 when nothing was left)")
    released_total: Money
    status: str
    available_after: Money


class PaymentIn(_In):
    payment_id: str = Field(min_length=1, max_length=100)
    amount: YuanIn
    settlement_id: str | None = Field(None, max_length=100)
    period: str | None = Field(None, max_length=20)


class PaymentOut(BaseModel):
    payment_id: str
    reservation_id: str
    line_id: str
    amount: Money
    from_reservation: Money
    settlement_id: str | None
    contract_id: str | None
    period: str | None
    paid_total: Money
    available_after: Money
    recorded_at: datetime


class LedgerEntryOut(BaseModel):
    kind: str
    reservation_id: str
    amount: Money
    available_after: Money
    reference: str | None
    at: datetime


class LedgerOut(BaseModel):
    line_id: str
    approved_amount: Money
    reserved: Money
    paid: Money
    available: Money
    reservations: list[ReservationOut]
    entries: list[LedgerEntryOut]


# ---------------------------------------------------------------- filings
class FilingIn(_In):
    document: str = Field(min_length=1, max_length=2000, description="the filed document (reference)")
    ex_ante_assessment: str | None = Field(None, max_length=5000)


class FilingOut(BaseModel):
    filing_id: str
    line_id: str
    department: str
    region: str
    kind: str
    contract_id: str
    started_on: date
    due_on: date
    filed_on: date | None
    late: bool | None
    overdue: bool
    days_overdue: int
    document: str | None
    ex_ante_assessment: str | None
    policy: str


# ---------------------------------------------------------------- disclosure
class PlanItemOut(BaseModel):
    line_id: str
    name: str
    level1_class: str
    service_type: str
    content: str
    recipients: str
    method: str
    method_label: str
    amount: Money
    one_off: bool


class PlanLineOut(PlanItemOut):
    """One approved line of an annual plan, with whose plan it is (the list of plans across departments)."""

    department: str
    region: str
    fiscal_year: int


class PlanOut(BaseModel):
    department: str
    fiscal_year: int
    count: int
    total: Money
    items: list[PlanItemOut]


# ---------------------------------------------------------------- statistics
class GroupOut(BaseModel):
    key: str
    label: str
    count: int
    amount: Money
    amount_wan: str
    share: str = Field(description="share of the amount, percent with two decimals")
    count_share: str


class StatisticsOut(BaseModel):
    period: str | None
    date_from: date | None
    date_to: date | None
    fiscal_year: int | None
    region: str | None
    department: str | None
    count: int
    amount: Money
    amount_wan: str
    by: dict[str, list[GroupOut]]
