"""Tables of the contract service's own database. Money is integer fen (BigInteger)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class Contract(Base):
    """A purchase of services: method, award, terms, state, filing, flags. `version` for optimistic concurrency."""

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str | None] = mapped_column(String(64), index=True)
    line_id: Mapped[str] = mapped_column(String(64), index=True)
    item_code: Mapped[str | None] = mapped_column(String(64))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    service_type: Mapped[str] = mapped_column(String(120))
    supplier_code: Mapped[str] = mapped_column(String(64), index=True)
    supplier_name: Mapped[str | None] = mapped_column(String(300))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # purchase method
    method: Mapped[str] = mapped_column(String(32))
    renewal_of: Mapped[str | None] = mapped_column(String(36))
    method_decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    method_outside_policy: Mapped[bool] = mapped_column(Boolean, default=False)
    method_justification: Mapped[str | None] = mapped_column(Text)
    # terms
    content: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    term_months: Mapped[int] = mapped_column(Integer)
    continuous_service: Mapped[bool] = mapped_column(Boolean, default=False)
    continuous_basis: Mapped[str | None] = mapped_column(Text)
    long_term: Mapped[bool] = mapped_column(Boolean, default=False)
    quantity_standard: Mapped[str] = mapped_column(Text)
    quality_standard: Mapped[str] = mapped_column(Text)
    pricing_method: Mapped[str] = mapped_column(Text)
    schedule: Mapped[str] = mapped_column(String(16))
    payment_rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    rights_obligations: Mapped[str] = mapped_column(Text)
    liability: Mapped[str] = mapped_column(Text)
    assessment_plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy: Mapped[str] = mapped_column(String(64))
    # finance review of exceptions (method outside policy, multi-year term)
    review_status: Mapped[str | None] = mapped_column(String(16), index=True)  # pending | accepted | rejected
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # award
    reservation_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    awarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    eligibility: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    line_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # signing
    purchaser_signed_on: Mapped[date | None] = mapped_column(Date)
    supplier_signed_on: Mapped[date | None] = mapped_column(Date)
    signed_on: Mapped[date | None] = mapped_column(Date)
    # filing (备案)
    filing_required: Mapped[bool] = mapped_column(Boolean, default=False)
    filing_due_on: Mapped[date | None] = mapped_column(Date, index=True)
    filed_on: Mapped[date | None] = mapped_column(Date)
    filing_late: Mapped[bool | None] = mapped_column(Boolean)
    filing_document: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # termination review (supplier blacklisted, …)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    flag_reason: Mapped[str | None] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    terminated_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Instalment(Base):
    """The settlement schedule: one instalment per period label; they add up to the amount to the fen."""

    __tablename__ = "instalments"
    __table_args__ = (UniqueConstraint("contract_id", "period", name="uq_instalments_contract_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)


class Settlement(Base):
    """A period's performance-linked settlement; once per contract and period, whatever the redelivery."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("contract_id", "period", name="uq_settlements_contract_period"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    period_index: Mapped[int] = mapped_column(Integer)
    assessment_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str] = mapped_column(String(32))
    instalment_fen: Mapped[int] = mapped_column(BigInteger)
    factor_percent: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    withheld_fen: Mapped[int] = mapped_column(BigInteger)
    withheld_reason: Mapped[str | None] = mapped_column(Text)
    reward_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    policy: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # approved | paid
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The withheld amount released after the remediation was verified (once; migration contract_0003).
    release_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    released_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    remediation: Mapped[str | None] = mapped_column(Text)
    remediation_verified_on: Mapped[date | None] = mapped_column(Date)
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Amendment(Base):
    """A change to the terms with type and rationale; signed in order by the other party; kept as history."""

    __tablename__ = "amendments"
    __table_args__ = (UniqueConstraint("contract_id", "seq", name="uq_amendments_contract_seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    rationale: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # proposed | signed | withdrawn
    proposed_by: Mapped[str] = mapped_column(String(200))
    proposed_role: Mapped[str] = mapped_column(String(16))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_by: Mapped[str | None] = mapped_column(String(200))
    signed_on: Mapped[date | None] = mapped_column(Date)


class LedgerEntry(Base):
    """The service ledger (服务台账): work plans, reports, payments, document metadata."""

    __tablename__ = "ledger_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # work_plan | report | document | payment | settlement | release
    period: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Transition(Base):
    """Every state change of a contract with its reason (the history shown on the contract)."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BlacklistedSupplier(Base):
    """Our own record of registry.supplier.blacklisted / delisted: no award to a supplier on it."""

    __tablename__ = "blacklisted_suppliers"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    policy: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
