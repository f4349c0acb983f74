"""Tables every service database has beside its own: outbox, inbox, idempotency keys, audit trail.

They are created by each service's first migration (`create_chassis_tables(op)`), so each service's
Alembic history owns them in its own database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

chassis_metadata = MetaData()

# Autoincrement that is BIGSERIAL on Postgres and INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    chassis_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
)
Index(
    "ix_outbox_unsent",
    outbox.c.id,
    postgresql_where=outbox.c.sent_at.is_(None),
    sqlite_where=outbox.c.sent_at.is_(None),
)

inbox = Table(
    "inbox",
    chassis_metadata,
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("status", String(20), nullable=False),  # handled | dead
    Column("handled_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
)

idempotency_keys = Table(
    "idempotency_keys",
    chassis_metadata,
    Column("scope", String(200), nullable=False),  # who asked: the principal's subject
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(20), nullable=False),  # pending | done
    Column("status_code", Integer, nullable=True),
    Column("response_headers", JSON, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
)

audit_log = Table(
    "audit_log",
    chassis_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(50), nullable=False),
    Column("org", String(200), nullable=True),
    Column("action", String(200), nullable=False),
    Column("entity", String(100), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("request_id", String(100), nullable=True),
    Column("detail", JSON, nullable=False),
)
Index("ix_audit_entity", audit_log.c.entity, audit_log.c.entity_id)


def create_chassis_tables(op: Any) -> None:
    """Call from a service's first migration."""
    chassis_metadata.create_all(op.get_bind())


def drop_chassis_tables(op: Any) -> None:
    chassis_metadata.drop_all(op.get_bind())
