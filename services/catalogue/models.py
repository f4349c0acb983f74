"""Tables of the catalogue service's own database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class Catalogue(Base):
    """A department's guidance catalogue for one fiscal year (部门指导性目录); its versions hold the items."""

    __tablename__ = "catalogues"
    __table_args__ = (UniqueConstraint("department", "fiscal_year", name="uq_catalogues_department_year"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    region: Mapped[str] = mapped_column(String(64))
    policy_pack: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))


class CatalogueVersion(Base):
    """One version: v1 is the annual catalogue, each in-year adjustment (目录调整) is the next version."""

    __tablename__ = "catalogue_versions"
    __table_args__ = (UniqueConstraint("catalogue_id", "number", name="uq_catalogue_versions_number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    catalogue_id: Mapped[str] = mapped_column(ForeignKey("catalogues.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # draft | issued | published
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # the adjustment's reason
    revision: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    issued_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    document_no: Mapped[str | None] = mapped_column(String(200), nullable=True)
    policy_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    publication_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    due_years_unknown: Mapped[list[int]] = mapped_column(JSON, default=list)
    published_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    publication_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    published_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class CatalogueItem(Base):
    """A level-3 item in one version (copied into the next version when the catalogue is adjusted)."""

    __tablename__ = "catalogue_items"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_catalogue_items_version_code"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("catalogue_versions.id"), index=True)
    catalogue_id: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    level1_class: Mapped[str] = mapped_column(String(64), index=True)
    service_type: Mapped[str] = mapped_column(String(64), index=True)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    override_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    policy_ref: Mapped[str] = mapped_column(String(100))  # the pack whose negative list was checked
    added_in_version: Mapped[int] = mapped_column(Integer)
    changed_in_version: Mapped[int] = mapped_column(Integer)


class ItemWithdrawal(Base):
    """An item taken out in a draft version, with its reason (emitted as catalogue.item.withdrawn on issue)."""

    __tablename__ = "catalogue_withdrawals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("catalogue_versions.id"), index=True)
    catalogue_id: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by: Mapped[str] = mapped_column(String(200))


class NegativeListOverride(Base):
    """A reviewer's justified override of negative-list rules for one item as reviewed (listed for audit)."""

    __tablename__ = "negative_list_overrides"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    catalogue_id: Mapped[str] = mapped_column(ForeignKey("catalogues.id"), index=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(64))
    item_name: Mapped[str] = mapped_column(String(300))
    item: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    rule_codes: Mapped[list[str]] = mapped_column(JSON)
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    justification: Mapped[str] = mapped_column(Text)
    policy_ref: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    reviewer_org: Mapped[str | None] = mapped_column(String(200), nullable=True)
