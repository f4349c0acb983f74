"""Catalogue tables: catalogues, versions, items, withdrawals, negative-list overrides.

Revision ID: catalogue_0002
Revises: catalogue_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "catalogue_0002"
down_revision = "catalogue_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogues",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("policy_pack", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalogues"),
        sa.UniqueConstraint("department", "fiscal_year", name="uq_catalogues_department_year"),
    )
    op.create_index("ix_catalogues_department", "catalogues", ["department"])
    op.create_index("ix_catalogues_fiscal_year", "catalogues", ["fiscal_year"])

    op.create_table(
        "catalogue_versions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("catalogue_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issued_by", sa.String(200), nullable=True),
        sa.Column("document_no", sa.String(200), nullable=True),
        sa.Column("policy_ref", sa.String(100), nullable=True),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("publication_due", sa.Date(), nullable=True),
        sa.Column("due_provisional", sa.Boolean(), nullable=False),
        sa.Column("due_years_unknown", sa.JSON(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("published_by", sa.String(200), nullable=True),
        sa.Column("publication_url", sa.String(500), nullable=True),
        sa.Column("published_late", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_catalogue_versions"),
        sa.ForeignKeyConstraint(["catalogue_id"], ["catalogues.id"],
                                name="fk_catalogue_versions_catalogue_id_catalogues"),
        sa.UniqueConstraint("catalogue_id", "number", name="uq_catalogue_versions_number"),
    )
    op.create_index("ix_catalogue_versions_catalogue_id", "catalogue_versions", ["catalogue_id"])

    op.create_table(
        "catalogue_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("catalogue_id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("level1_class", sa.String(64), nullable=False),
        sa.Column("service_type", sa.String(64), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("override_ids", sa.JSON(), nullable=False),
        sa.Column("policy_ref", sa.String(100), nullable=False),
        sa.Column("added_in_version", sa.Integer(), nullable=False),
        sa.Column("changed_in_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalogue_items"),
        sa.ForeignKeyConstraint(["version_id"], ["catalogue_versions.id"],
                                name="fk_catalogue_items_version_id_catalogue_versions"),
        sa.UniqueConstraint("version_id", "code", name="uq_catalogue_items_version_code"),
    )
    op.create_index("ix_catalogue_items_version_id", "catalogue_items", ["version_id"])
    op.create_index("ix_catalogue_items_catalogue_id", "catalogue_items", ["catalogue_id"])
    op.create_index("ix_catalogue_items_code", "catalogue_items", ["code"])
    op.create_index("ix_catalogue_items_level1_class", "catalogue_items", ["level1_class"])
    op.create_index("ix_catalogue_items_service_type", "catalogue_items", ["service_type"])

    op.create_table(
        "catalogue_withdrawals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version_id", sa.String(36), nullable=False),
        sa.Column("catalogue_id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalogue_withdrawals"),
        sa.ForeignKeyConstraint(["version_id"], ["catalogue_versions.id"],
                                name="fk_catalogue_withdrawals_version_id_catalogue_versions"),
    )
    op.create_index("ix_catalogue_withdrawals_version_id", "catalogue_withdrawals", ["version_id"])
    op.create_index("ix_catalogue_withdrawals_catalogue_id", "catalogue_withdrawals", ["catalogue_id"])

    op.create_table(
        "negative_list_overrides",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("catalogue_id", sa.String(36), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("item_name", sa.String(300), nullable=False),
        sa.Column("item", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("rule_codes", sa.JSON(), nullable=False),
        sa.Column("violations", sa.JSON(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("policy_ref", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("reviewer_org", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_negative_list_overrides"),
        sa.ForeignKeyConstraint(["catalogue_id"], ["catalogues.id"],
                                name="fk_negative_list_overrides_catalogue_id_catalogues"),
    )
    op.create_index("ix_negative_list_overrides_catalogue_id", "negative_list_overrides", ["catalogue_id"])
    op.create_index("ix_negative_list_overrides_department", "negative_list_overrides", ["department"])


def downgrade() -> None:
    op.drop_table("negative_list_overrides")
    op.drop_table("catalogue_withdrawals")
    op.drop_table("catalogue_items")
    op.drop_table("catalogue_versions")
    op.drop_table("catalogues")
