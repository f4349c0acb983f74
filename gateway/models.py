"""The gateway's own database: the append-only audit trail of every write that passes the gateway."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text

from services.chassis.db import NAMING
from services.chassis.schema import BigId

metadata = MetaData(naming_convention=NAMING)

gateway_audit = Table(
    "gateway_audit",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("subject", String(200), nullable=False),  # who: the token's subject, "anonymous" or "invalid-token"
    Column("role", String(50), nullable=False),
    Column("org", String(200), nullable=True),
    Column("region", String(100), nullable=True),
    Column("method", String(10), nullable=False),  # what: method, service and path
    Column("service", String(50), nullable=True),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=True),
    Column("status", Integer, nullable=False),
    Column("request_id", String(100), nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Column("client", String(100), nullable=True),
    Column("duration_ms", Float, nullable=True),
)
Index("ix_gateway_audit_at", gateway_audit.c.at)
Index("ix_gateway_audit_subject", gateway_audit.c.subject)
Index("ix_gateway_audit_org", gateway_audit.c.org)
Index("ix_gateway_audit_request_id", gateway_audit.c.request_id)
