"""Tables of the registry service's own database."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class Supplier(Base):
    """A supplier (承接主体), identified by its unified social credit code."""

    __tablename__ = "suppliers"

    code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    legal_representative: Mapped[str | None] = mapped_column(String(100), nullable=True)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    region: Mapped[str | None] = mapped_column(String(40), nullable=True)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    service_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # the latest concluded qualification review, kept here so eligibility reads one row
    review_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    review_qualified: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    review_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)


class SupplierServiceType(Base):
    """Which service types a supplier offers (the directory reads it by service type)."""

    __tablename__ = "supplier_service_types"

    service_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(18), primary_key=True)


class QualificationReview(Base):
    __tablename__ = "qualification_reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(18), index=True)
    qualified: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    concluded_by: Mapped[str] = mapped_column(String(200))
    concluded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    policy: Mapped[str] = mapped_column(String(80))


class Qualification(Base):
    """A professional qualification (资质) covering service types, valid up to `expires_on` (inclusive)."""

    __tablename__ = "qualifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(200))
    service_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    evidence: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CreditRecord(Base):
    """A bad record (不良记录) that vetoes eligibility within the lookback: false materials, breach, …"""

    __tablename__ = "credit_records"
    __table_args__ = (Index("ix_credit_records_supplier_on", "supplier_code", "occurred_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(18))
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    occurred_on: Mapped[date] = mapped_column(Date)
    assessment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BlacklistEntry(Base):
    """A blacklisting (黑名单): `ends_on` is the last day on the list (None = indefinite)."""

    __tablename__ = "blacklist_entries"
    __table_args__ = (
        Index("ix_blacklist_entries_supplier", "supplier_code"),
        Index("ix_blacklist_entries_undelisted_end", "ends_on", postgresql_where="delisted_at IS NULL",
              sqlite_where="delisted_at IS NULL"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(18))
    supplier_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str | None] = mapped_column(String(60), nullable=True)
    basis: Mapped[str] = mapped_column(Text, default="")  # the decision or document
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="active")  # active | removed | overturned
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    appeal_state: Mapped[str | None] = mapped_column(String(20), nullable=True)  # submitted|upheld|overturned
    appeal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    appeal_submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    appeal_decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    appeal_decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    assessment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    policy: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delisted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class PerformanceRecord(Base):
    """One final period assessment (from assessment.finalized), per supplier, service type and cycle."""

    __tablename__ = "performance_records"
    __table_args__ = (
        Index("ix_performance_records_supplier_type_end", "supplier_code", "service_type", "period_end"),
        Index("ix_performance_records_contract", "contract_id", "period_index"),
    )

    assessment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(18))
    service_type: Mapped[str] = mapped_column(String(64))
    contract_id: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(10))
    period_index: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    grade: Mapped[str] = mapped_column(String(20))
    failing: Mapped[bool] = mapped_column(Boolean)
    violations: Mapped[list[str]] = mapped_column(JSON, default=list)
    serious_violation: Mapped[bool] = mapped_column(Boolean, default=False)
    fraud: Mapped[bool] = mapped_column(Boolean, default=False)
    policy: Mapped[str] = mapped_column(String(80))
    event_id: Mapped[str] = mapped_column(String(36))
    recorded_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EligibilitySnapshot(Base):
    """The last computed next-cycle eligibility per supplier and service type, to tell when it changed."""

    __tablename__ = "eligibility_snapshots"

    supplier_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    service_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    eligible: Mapped[bool] = mapped_column(Boolean)
    single_source_renewal: Mapped[bool] = mapped_column(Boolean)
    reason_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    policy: Mapped[str] = mapped_column(String(80))
    as_of: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
