"""Events the assessment service publishes (topic goumai.assessment, key = contract id)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from services.events.base import EventPayload, event


class ScoreComponent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    party: str  # purchaser | recipients | third_party
    weight: Decimal
    score: Decimal


@event("assessment.finalized", key="contract_id")
class AssessmentFinalized(EventPayload):
    """A period's performance assessment is final: it drives settlement, blacklist and eligibility."""

    assessment_id: str
    contract_id: str
    supplier_code: str
    service_type: str
    department: str
    line_id: str | None = None
    period: str  # e.g. "2025-03", "2025-Q1", "2025-H1", "2025"
    period_index: int  # 1-based position of the period in the contract's schedule
    score: Decimal
    grade: str
    failing: bool
    components: list[ScoreComponent] = []
    violations: list[str] = []
    serious_violation: bool = False
    fraud: bool = False
    policy: str
    veto: bool = False  # a veto item (一票否决) capped the grade
    indicator_system: str | None = None  # the indicator system version used, e.g. "property_management@v1"
    decision: str | None = None  # the decision on the supplier's response, if it responded


@event("assessment.published", key="contract_id")
class AssessmentPublished(EventPayload):
    """A final assessment was published for the public (without respondents' identities)."""

    assessment_id: str
    contract_id: str
    supplier_code: str
    period: str
    score: Decimal
    grade: str
    service_type: str = ""
    department: str = ""
