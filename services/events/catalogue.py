"""Events the catalogue service publishes (topic goumai.catalogue, key = catalogue id or item code)."""

from __future__ import annotations

from datetime import date

from services.events.base import EventPayload, event


@event("catalogue.published", key="catalogue_id")
class CataloguePublished(EventPayload):
    """A department's guidance catalogue for a fiscal year was published (指导性目录公开)."""

    catalogue_id: str
    department: str
    fiscal_year: int
    version: int
    issued_on: date
    published_on: date
    item_count: int
    overdue: bool = False
    # additive (schema 1): where and by which rule the deadline was counted
    region: str | None = None
    publication_due: date | None = None
    due_provisional: bool = False
    policy: str | None = None


@event("catalogue.item.added", key="item_code")
class CatalogueItemAdded(EventPayload):
    """A level-3 item entered a department catalogue."""

    catalogue_id: str
    department: str
    fiscal_year: int
    version: int
    item_code: str
    name: str
    level1_class: str
    service_type: str
    # additive (schema 1)
    region: str | None = None
    service_type_code: str | None = None
    effective_from: date | None = None


@event("catalogue.item.withdrawn", key="item_code")
class CatalogueItemWithdrawn(EventPayload):
    """An item left a department catalogue (in-year adjustment); budget lines using it are flagged."""

    catalogue_id: str
    department: str
    fiscal_year: int
    version: int
    item_code: str
    reason: str
    # additive (schema 1)
    region: str | None = None
    name: str | None = None
    effective_from: date | None = None
