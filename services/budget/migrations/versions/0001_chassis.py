"""Chassis tables: outbox, inbox, idempotency keys, audit trail.

Revision ID: budget_0001
Revises:
"""

from alembic import op

from services.chassis.schema import create_chassis_tables, drop_chassis_tables

revision = "budget_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_chassis_tables(op)


def downgrade() -> None:
    drop_chassis_tables(op)
