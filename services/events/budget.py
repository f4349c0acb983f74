"""Events the budget service publishes (topic goumai.budget, key = budget line id)."""

from __future__ import annotations

from services.chassis.money import Money
from services.events.base import EventPayload, event


@event("budget.line.approved", key="line_id")
class BudgetLineApproved(EventPayload):
    """Finance approved a purchase budget line (二下, or 一事一议 outside the cycle)."""

    line_id: str
    department: str
    region: str
    fiscal_year: int
    item_code: str
    service_type: str
    approved_amount: Money
    one_off: bool = False
    finance_approval_required: bool = False
    filing_required: bool = False
    name: str = ""
    method: str = ""
    level1_class: str = ""
    policy: str = ""


@event("budget.funds.reserved", key="line_id")
class BudgetFundsReserved(EventPayload):
    """Funds on a line were reserved for a contract."""

    line_id: str
    reservation_id: str
    amount: Money
    available_after: Money
    contract_id: str | None = None


@event("budget.funds.released", key="line_id")
class BudgetFundsReleased(EventPayload):
    """An unspent reservation (or part of it) went back to the line."""

    line_id: str
    reservation_id: str
    amount: Money
    reason: str
    contract_id: str | None = None


@event("budget.payment.recorded", key="line_id")
class BudgetPaymentRecorded(EventPayload):
    """A payment was recorded against a reservation (`kind`: a settlement's amount, its reward, a withheld amount
    released after remediation, or one finance entered); `paid_total` is the line's paid sum."""

    line_id: str
    reservation_id: str
    payment_id: str
    amount: Money
    paid_total: Money
    contract_id: str | None = None
    settlement_id: str | None = None
    period: str | None = None
    kind: str | None = None  # settlement | reward | release | entered (by finance); None from older producers
