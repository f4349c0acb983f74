"""Plans and known contracts carry the region (finance of a region reads only its region's plans).

Revision ID: assessment_0003
Revises: assessment_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "assessment_0003"
down_revision = "assessment_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("region", sa.String(64), nullable=True))
    op.create_index("ix_plans_region", "plans", ["region"])
    op.add_column("known_contracts", sa.Column("region", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("known_contracts", "region")
    op.drop_index("ix_plans_region", table_name="plans")
    op.drop_column("plans", "region")
