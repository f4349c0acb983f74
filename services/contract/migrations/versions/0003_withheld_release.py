"""A settlement records the release of its withheld amount after a verified remediation.

Revision ID: contract_0003
Revises: contract_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "contract_0003"
down_revision = "contract_0002"
branch_labels = None
depends_on = None

COLUMNS = ("release_id", "released_fen", "remediation", "remediation_verified_on", "released_by", "released_at")


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:  # batch: SQLite cannot add a unique constraint in place
        batch.add_column(sa.Column("release_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("released_fen", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("remediation", sa.Text(), nullable=True))
        batch.add_column(sa.Column("remediation_verified_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("released_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(op.f("uq_settlements_release_id"), ["release_id"])


def downgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.drop_constraint(op.f("uq_settlements_release_id"), type_="unique")
        for column in reversed(COLUMNS):
            batch.drop_column(column)
