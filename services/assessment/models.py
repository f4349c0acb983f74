"""Tables of the assessment service's own database. Scores are NUMERIC(7,2); money is integer fen;
decimals inside JSON columns are strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class KnownContract(Base):
    """What contract.signed told us about a contract, so a plan can be made from its id."""

    __tablename__ = "known_contracts"
    contract_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(32))
    line_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    service_type: Mapped[str] = mapped_column(String(100), default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    schedule: Mapped[str] = mapped_column(String(20), default="monthly")
    periods: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    signed_on: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IndicatorSystemRow(Base):
    __tablename__ = "indicator_systems"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_indicator_systems_code_version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    service_type: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    template: Mapped[str | None] = mapped_column(String(50), nullable=True)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Plan(Base):
    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(64), unique=True)
    supplier_code: Mapped[str] = mapped_column(String(32), index=True)
    service_type: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100), index=True)
    line_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    period_kind: Mapped[str] = mapped_column(String(20))
    periods: Mapped[list[str]] = mapped_column(JSON)
    assessor_org: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    party_weights: Mapped[dict[str, str]] = mapped_column(JSON)
    indicator_system_id: Mapped[str] = mapped_column(ForeignKey("indicator_systems.id"))
    policy_ref: Mapped[str] = mapped_column(String(100))
    contract_known: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Inspection(Base):
    """Daily supervision: an inspection, spot check, unannounced visit or sample test."""

    __tablename__ = "inspections"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    party: Mapped[str] = mapped_column(String(20))
    inspector: Mapped[str] = mapped_column(String(200))
    inspected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period: Mapped[str] = mapped_column(String(10))
    location: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Finding(Base):
    __tablename__ = "findings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"), index=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    party: Mapped[str] = mapped_column(String(20))
    indicator_code: Mapped[str] = mapped_column(String(100))
    rule_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    count: Mapped[int] = mapped_column(Integer)
    deduction: Mapped[Any] = mapped_column(Numeric(7, 2))
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    serious_violation: Mapped[bool] = mapped_column(Boolean)
    fraud: Mapped[bool] = mapped_column(Boolean)
    inspector: Mapped[str] = mapped_column(String(200))
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScoreSheet(Base):
    """A party's points on the indicator sheet for a period (purchaser or third party)."""

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("plan_id", "period", "party", name="uq_score_sheets_plan_period_party"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    party: Mapped[str] = mapped_column(String(20))
    points: Mapped[dict[str, str]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("plan_id", "period", name="uq_surveys_plan_period"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    items: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    invited: Mapped[int] = mapped_column(Integer)
    salt: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "respondent_hash", name="uq_survey_responses_survey_respondent"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id"), index=True)
    respondent_hash: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    suggestion: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("plan_id", "period", name="uq_assessments_plan_period"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    contract_id: Mapped[str] = mapped_column(String(64), index=True)
    supplier_code: Mapped[str] = mapped_column(String(32), index=True)
    service_type: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100))
    line_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assessor_org: Mapped[str | None] = mapped_column(String(100), nullable=True)
    period: Mapped[str] = mapped_column(String(10))
    period_index: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    score: Mapped[Any] = mapped_column(Numeric(7, 2))
    grade: Mapped[str] = mapped_column(String(20))
    failing: Mapped[bool] = mapped_column(Boolean)
    veto: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)  # components, deductions, veto reasons, violations
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)  # sheets, findings, survey summary used
    draft_result: Mapped[dict[str, Any]] = mapped_column(JSON)  # the draft as the supplier saw it
    serious_violation: Mapped[bool] = mapped_column(Boolean)
    fraud: Mapped[bool] = mapped_column(Boolean)
    policy_ref: Mapped[str] = mapped_column(String(100))
    indicator_system_ref: Mapped[str] = mapped_column(String(120))
    drafted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    drafted_on: Mapped[date] = mapped_column(Date)
    response_due: Mapped[date] = mapped_column(Date)
    response_due_provisional: Mapped[bool] = mapped_column(Boolean)
    response_window_kind: Mapped[str] = mapped_column(String(20))
    response_window_days: Mapped[int] = mapped_column(Integer)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finalized_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SupplierResponse(Base):
    __tablename__ = "supplier_responses"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), unique=True)
    supplier_code: Mapped[str] = mapped_column(String(32))
    accepts: Mapped[bool] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text)
    disputed_findings: Mapped[list[str]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_on: Mapped[date] = mapped_column(Date)


class Finalization(Base):
    """One row per finalised assessment: the unique guard that makes finalising emit exactly once."""

    __tablename__ = "finalizations"
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    finalized_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Publication(Base):
    __tablename__ = "publications"
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExAnteAssessment(Base):
    """Ex-ante performance assessment (事前绩效评估) of a large budget line, kept for the budget service."""

    __tablename__ = "ex_ante_assessments"
    __table_args__ = (UniqueConstraint("line_id", "version", name="uq_ex_ante_assessments_line_version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(100))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    required: Mapped[bool] = mapped_column(Boolean)
    conclusion: Mapped[str] = mapped_column(String(30))
    score: Mapped[Any] = mapped_column(Numeric(7, 2), nullable=True)
    dimensions: Mapped[dict[str, str]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    assessor_org: Mapped[str | None] = mapped_column(String(100), nullable=True)
    report_ref: Mapped[str | None] = mapped_column(String(300), nullable=True)
    policy_ref: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
