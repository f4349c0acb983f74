"""Tables of the budget service's own database. Money is integer fen."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class BudgetLine(Base):
    """A purchase-of-services budget line (政府购买服务预算) of a department for a fiscal year."""

    __tablename__ = "budget_lines"
    __table_args__ = (
        CheckConstraint("reserved_fen >= 0", name="reserved_not_negative"),
        CheckConstraint("paid_fen >= 0", name="paid_not_negative"),
        CheckConstraint("approved_fen - reserved_fen - paid_fen >= 0", name="available_not_negative"),
        Index("ix_budget_lines_department_year", "department", "fiscal_year"),
        Index("ix_budget_lines_region_year", "region", "fiscal_year"),
        Index("ix_budget_lines_item", "item_code", "department", "fiscal_year"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    department: Mapped[str] = mapped_column(String(100), nullable=False)
    region: Mapped[str] = mapped_column(String(100), nullable=False)
    fiscal_year: Mapped[int] = mapped_column(Integer, nullable=False)
    item_code: Mapped[str] = mapped_column(String(100), nullable=False)
    item_name: Mapped[str] = mapped_column(String(300), nullable=False)  # the level-3 item, as the catalogue names it
    catalogue_id: Mapped[str | None] = mapped_column(String(100))
    catalogue_version: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    recipients: Mapped[str] = mapped_column(Text, nullable=False)
    method: Mapped[str] = mapped_column(String(40), nullable=False)
    service_type: Mapped[str] = mapped_column(String(200), nullable=False)
    level1_class: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)  # 一上
    control_fen: Mapped[int | None] = mapped_column(BigInteger)  # 一下
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the amount now asked
    approved_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)  # 二下
    reserved_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    ex_ante_assessment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    one_off: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    one_off_reason: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    finance_approval_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    finance_approved: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    finance_approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finance_approved_by: Mapped[str | None] = mapped_column(String(200))
    filing_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    approved_on: Mapped[date | None] = mapped_column(Date)
    purchased_on: Mapped[date | None] = mapped_column(Date)
    item_withdrawn: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    policy_ref: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LineStep(Base):
    """One step of two-up-two-down on a line, with its amount and reason (who, when)."""

    __tablename__ = "budget_line_steps"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("budget_lines.id"), nullable=False, index=True)
    step: Mapped[str] = mapped_column(String(20), nullable=False)
    status_after: Mapped[str] = mapped_column(String(20), nullable=False)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(50), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Reservation(Base):
    """Funds on a line held for a contract; idempotent by its id (given by the caller)."""

    __tablename__ = "budget_reservations"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("paid_fen >= 0 AND released_fen >= 0", name="parts_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("budget_lines.id"), nullable=False, index=True)
    contract_id: Mapped[str | None] = mapped_column(String(100), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    released_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    available_after_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # active | released | spent
    release_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Payment(Base):
    """A payment recorded against a reservation (from a settlement, or entered by finance)."""

    __tablename__ = "budget_payments"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    reservation_id: Mapped[str] = mapped_column(ForeignKey("budget_reservations.id"), nullable=False, index=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("budget_lines.id"), nullable=False, index=True)
    contract_id: Mapped[str | None] = mapped_column(String(100))
    settlement_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    period: Mapped[str | None] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    from_reservation_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LedgerEntry(Base):
    """Append-only ledger of a line: reserve, release, payment (amounts in fen, positive)."""

    __tablename__ = "budget_ledger"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("budget_lines.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # reserve | release | payment
    reservation_id: Mapped[str] = mapped_column(String(100), nullable=False)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    available_after_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reference: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Filing(Base):
    """A filing duty (备案) of a line from the filing threshold: the contract copy after signing, the
    evaluation report with the ex-ante assessment after evaluation."""

    __tablename__ = "budget_filings"
    __table_args__ = (UniqueConstraint("line_id", "kind", "contract_id", name="uq_budget_filings_duty"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("budget_lines.id"), nullable=False, index=True)
    department: Mapped[str] = mapped_column(String(100), nullable=False)
    region: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    contract_id: Mapped[str] = mapped_column(String(100), nullable=False)
    started_on: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    filed_on: Mapped[date | None] = mapped_column(Date)
    late: Mapped[bool | None] = mapped_column(Boolean)
    document: Mapped[str | None] = mapped_column(Text)
    ex_ante_assessment: Mapped[str | None] = mapped_column(Text)
    cause_event_id: Mapped[str | None] = mapped_column(String(36))
    policy_ref: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LineResult(Base):
    """A finalised performance assessment attached to a line: an input for next year's budget."""

    __tablename__ = "budget_line_results"

    assessment_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("budget_lines.id"), nullable=False, index=True)
    contract_id: Mapped[str] = mapped_column(String(100), nullable=False)
    supplier_code: Mapped[str] = mapped_column(String(50), nullable=False)
    period: Mapped[str] = mapped_column(String(20), nullable=False)
    score: Mapped[str] = mapped_column(String(20), nullable=False)  # a decimal, kept exactly
    grade: Mapped[str] = mapped_column(String(20), nullable=False)
    failing: Mapped[bool] = mapped_column(Boolean, nullable=False)
    policy: Mapped[str] = mapped_column(String(100), nullable=False)
    attached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
