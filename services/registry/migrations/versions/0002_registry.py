"""Registry tables: suppliers, service types, qualification reviews, qualifications, credit records,
blacklist, performance history, eligibility snapshots.

Revision ID: registry_0002
Revises: registry_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0002"
down_revision = "registry_0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "suppliers",
        sa.Column("code", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("legal_representative", sa.String(100), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("region", sa.String(40), nullable=True),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("service_types", sa.JSON(), nullable=False),
        sa.Column("review_id", sa.String(36), nullable=True),
        sa.Column("review_qualified", sa.Boolean(), nullable=True),
        sa.Column("review_reasons", sa.JSON(), nullable=False),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_suppliers"),
    )
    op.create_table(
        "supplier_service_types",
        sa.Column("service_type", sa.String(64), nullable=False),
        sa.Column("supplier_code", sa.String(18), nullable=False),
        sa.PrimaryKeyConstraint("service_type", "supplier_code", name="pk_supplier_service_types"),
    )
    op.create_table(
        "qualification_reviews",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("supplier_code", sa.String(18), nullable=False),
        sa.Column("qualified", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("concluded_by", sa.String(200), nullable=False),
        sa.Column("concluded_at", TS, nullable=False),
        sa.Column("policy", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qualification_reviews"),
    )
    op.create_index("ix_qualification_reviews_supplier_code", "qualification_reviews", ["supplier_code"])
    op.create_table(
        "qualifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("supplier_code", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("number", sa.String(100), nullable=False),
        sa.Column("issuer", sa.String(200), nullable=False),
        sa.Column("service_types", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qualifications"),
    )
    op.create_index("ix_qualifications_supplier_code", "qualifications", ["supplier_code"])
    op.create_table(
        "credit_records",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("supplier_code", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("assessment_id", sa.String(36), nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credit_records"),
    )
    op.create_index("ix_credit_records_supplier_on", "credit_records", ["supplier_code", "occurred_on"])
    op.create_table(
        "blacklist_entries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("supplier_code", sa.String(18), nullable=False),
        sa.Column("supplier_name", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(60), nullable=True),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("appeal_state", sa.String(20), nullable=True),
        sa.Column("appeal_reason", sa.Text(), nullable=True),
        sa.Column("appeal_submitted_at", TS, nullable=True),
        sa.Column("appeal_decision_reason", sa.Text(), nullable=True),
        sa.Column("appeal_decided_at", TS, nullable=True),
        sa.Column("assessment_id", sa.String(36), nullable=True),
        sa.Column("policy", sa.String(80), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delisted_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_blacklist_entries"),
    )
    op.create_index("ix_blacklist_entries_supplier", "blacklist_entries", ["supplier_code"])
    op.create_index("ix_blacklist_entries_undelisted_end", "blacklist_entries", ["ends_on"],
                    postgresql_where=sa.text("delisted_at IS NULL"), sqlite_where=sa.text("delisted_at IS NULL"))
    op.create_table(
        "performance_records",
        sa.Column("assessment_id", sa.String(64), nullable=False),
        sa.Column("supplier_code", sa.String(18), nullable=False),
        sa.Column("service_type", sa.String(64), nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("score", sa.Numeric(6, 2), nullable=False),
        sa.Column("grade", sa.String(20), nullable=False),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("violations", sa.JSON(), nullable=False),
        sa.Column("serious_violation", sa.Boolean(), nullable=False),
        sa.Column("fraud", sa.Boolean(), nullable=False),
        sa.Column("policy", sa.String(80), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", name="pk_performance_records"),
    )
    op.create_index("ix_performance_records_supplier_type_end", "performance_records",
                    ["supplier_code", "service_type", "period_end"])
    op.create_index("ix_performance_records_contract", "performance_records", ["contract_id", "period_index"])
    op.create_table(
        "eligibility_snapshots",
        sa.Column("supplier_code", sa.String(18), nullable=False),
        sa.Column("service_type", sa.String(64), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("single_source_renewal", sa.Boolean(), nullable=False),
        sa.Column("reason_codes", sa.JSON(), nullable=False),
        sa.Column("policy", sa.String(80), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("supplier_code", "service_type", name="pk_eligibility_snapshots"),
    )


def downgrade() -> None:
    for table in ("eligibility_snapshots", "performance_records", "blacklist_entries", "credit_records",
                  "qualifications", "qualification_reviews", "supplier_service_types", "suppliers"):
        op.drop_table(table)
