"""Events the registry service publishes (topic goumai.registry, key = supplier credit code)."""

from __future__ import annotations

from datetime import date

from services.events.base import EventPayload, event


@event("registry.supplier.registered", key="supplier_code")
class SupplierRegistered(EventPayload):
    """A supplier (承接主体) was registered by its unified social credit code."""

    supplier_code: str
    name: str
    kind: str
    service_types: list[str] = []


@event("registry.supplier.qualified", key="supplier_code")
class SupplierQualified(EventPayload):
    """A qualification review concluded (qualified or not, with reasons)."""

    supplier_code: str
    review_id: str
    qualified: bool
    reasons: list[str] = []
    service_types: list[str] = []


@event("registry.supplier.blacklisted", key="supplier_code")
class SupplierBlacklisted(EventPayload):
    """A supplier was put on the blacklist (黑名单); contracts flag its live contracts."""

    supplier_code: str
    entry_id: str
    reason: str
    source: str
    starts_on: date
    ends_on: date | None
    policy: str


@event("registry.supplier.delisted", key="supplier_code")
class SupplierDelisted(EventPayload):
    """A blacklist entry ended: expiry, overturned appeal or early removal."""

    supplier_code: str
    entry_id: str
    reason: str
    ended_on: date


@event("registry.supplier.eligibility.changed", key="supplier_code")
class SupplierEligibilityChanged(EventPayload):
    """Next-cycle eligibility of a supplier for a service type changed, with every reason."""

    supplier_code: str
    service_type: str
    eligible: bool
    single_source_renewal: bool
    reasons: list[str]
    policy: str
