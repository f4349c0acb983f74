"""Events the contract service publishes (topic goumai.contract, key = contract id)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from services.chassis.money import Money
from services.events.base import EventPayload, event


class ScheduledInstalment(BaseModel):
    """One instalment of a contract's settlement schedule."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    period: str
    starts_on: date
    ends_on: date
    amount: Money


@event("contract.awarded", key="contract_id")
class ContractAwarded(EventPayload):
    """A purchase was awarded to an eligible supplier with funds reserved on an approved line."""

    contract_id: str
    line_id: str
    reservation_id: str
    supplier_code: str
    service_type: str
    method: str
    amount: Money
    department: str


@event("contract.signed", key="contract_id")
class ContractSigned(EventPayload):
    """The contract was signed; filing duties (备案) start from this date."""

    contract_id: str
    supplier_code: str
    line_id: str
    signed_on: date
    starts_on: date
    ends_on: date
    amount: Money
    service_type: str = ""
    department: str = ""
    schedule: str = "monthly"  # monthly | quarterly | half_yearly | yearly
    periods: list[str] = []  # the settlement periods, labelled as assessments label them
    instalments: list[ScheduledInstalment] = []  # the periods with their amounts (they add up to `amount`)
    method: str = ""
    filing_required: bool = False
    filing_due_on: date | None = None
    assessor_org: str | None = None
    region: str = ""  # the budget line's region (finance of that region governs the contract)


@event("contract.filed", key="contract_id")
class ContractFiled(EventPayload):
    """The contract copy was filed with finance (合同备案)."""

    contract_id: str
    line_id: str
    filed_on: date
    due_on: date
    late: bool


@event("contract.settlement.approved", key="contract_id")
class ContractSettlementApproved(EventPayload):
    """A period's settlement: instalment × the payment factor of the period's grade (`amount`), plus the reward
    of its grade where the policy gives one (`reward`); both are paid."""

    contract_id: str
    settlement_id: str
    line_id: str
    reservation_id: str
    supplier_code: str
    period: str
    grade: str
    instalment: Money
    factor_percent: str
    amount: Money
    withheld: Money
    reward: Money = 0
    withheld_reason: str | None = None
    assessment_id: str
    policy: str


@event("contract.payment.made", key="contract_id")
class ContractPaymentMade(EventPayload):
    """A settlement was paid to the supplier (`amount`: its amount and any reward)."""

    contract_id: str
    settlement_id: str
    line_id: str
    amount: Money
    paid_on: date


@event("contract.withheld.released", key="contract_id")
class ContractWithheldReleased(EventPayload):
    """The purchaser verified the supplier's remediation of a period (整改验收): the rule's share of what that
    period's settlement withheld is approved for payment (`amount`), the rest (`kept`) stays a deduction. The
    budget records the payment against the reservation, as for a settlement."""

    contract_id: str
    release_id: str
    settlement_id: str
    line_id: str
    reservation_id: str
    supplier_code: str
    period: str
    withheld: Money
    amount: Money
    kept: Money
    release_percent: str
    remediation: str
    verified_on: date
    policy: str


@event("contract.terminated", key="contract_id")
class ContractTerminated(EventPayload):
    """The contract ended early; the budget releases what was reserved and not paid."""

    contract_id: str
    line_id: str
    reservation_id: str
    supplier_code: str
    reason: str
    terminated_on: date


@event("contract.completed", key="contract_id")
class ContractCompleted(EventPayload):
    """Every period was assessed and settled and the contract is complete; the budget releases what is still
    reserved and unpaid (amounts withheld for poor results, a reward band not reached)."""

    contract_id: str
    line_id: str
    reservation_id: str
    supplier_code: str
    completed_on: date
    settled_total: Money


@event("contract.flagged", key="contract_id")
class ContractFlagged(EventPayload):
    """A live contract was flagged for termination review (e.g. its supplier was blacklisted)."""

    contract_id: str
    supplier_code: str
    reason: str
    cause_event_id: str | None = None
    line_id: str = ""
    department: str = ""
    status: str = ""
