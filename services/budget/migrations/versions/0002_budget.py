"""Budget lines, two-up-two-down steps, reservations, payments, ledger, filings, attached results.

Revision ID: budget_0002
Revises: budget_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "budget_0002"
down_revision = "budget_0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "budget_lines",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(100), nullable=False),
        sa.Column("item_name", sa.String(300), nullable=False),
        sa.Column("catalogue_id", sa.String(100), nullable=True),
        sa.Column("catalogue_version", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("service_type", sa.String(200), nullable=False),
        sa.Column("level1_class", sa.String(200), nullable=False),
        sa.Column("requested_fen", sa.BigInteger(), nullable=False),
        sa.Column("control_fen", sa.BigInteger(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("approved_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("ex_ante_assessment", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("one_off", sa.Boolean(), nullable=False),
        sa.Column("one_off_reason", sa.Text(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("finance_approval_required", sa.Boolean(), nullable=False),
        sa.Column("finance_approved", sa.Boolean(), nullable=False),
        sa.Column("finance_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finance_approved_by", sa.String(200), nullable=True),
        sa.Column("filing_required", sa.Boolean(), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("purchased_on", sa.Date(), nullable=True),
        sa.Column("item_withdrawn", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("policy_ref", sa.String(100), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_budget_lines"),
        sa.CheckConstraint("reserved_fen >= 0", name="ck_budget_lines_reserved_not_negative"),
        sa.CheckConstraint("paid_fen >= 0", name="ck_budget_lines_paid_not_negative"),
        sa.CheckConstraint("approved_fen - reserved_fen - paid_fen >= 0",
                           name="ck_budget_lines_available_not_negative"),
    )
    op.create_index("ix_budget_lines_department_year", "budget_lines", ["department", "fiscal_year"])
    op.create_index("ix_budget_lines_region_year", "budget_lines", ["region", "fiscal_year"])
    op.create_index("ix_budget_lines_item", "budget_lines", ["item_code", "department", "fiscal_year"])

    op.create_table(
        "budget_line_steps",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("line_id", sa.String(36), nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("status_after", sa.String(20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_budget_line_steps"),
        sa.ForeignKeyConstraint(["line_id"], ["budget_lines.id"],
                                name="fk_budget_line_steps_line_id_budget_lines"),
    )
    op.create_index("ix_budget_line_steps_line_id", "budget_line_steps", ["line_id"])

    op.create_table(
        "budget_reservations",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("line_id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(100), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("released_fen", sa.BigInteger(), nullable=False),
        sa.Column("available_after_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_budget_reservations"),
        sa.ForeignKeyConstraint(["line_id"], ["budget_lines.id"],
                                name="fk_budget_reservations_line_id_budget_lines"),
        sa.CheckConstraint("amount_fen > 0", name="ck_budget_reservations_amount_positive"),
        sa.CheckConstraint("paid_fen >= 0 AND released_fen >= 0", name="ck_budget_reservations_parts_not_negative"),
    )
    op.create_index("ix_budget_reservations_line_id", "budget_reservations", ["line_id"])
    op.create_index("ix_budget_reservations_contract_id", "budget_reservations", ["contract_id"])

    op.create_table(
        "budget_payments",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("reservation_id", sa.String(100), nullable=False),
        sa.Column("line_id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(100), nullable=True),
        sa.Column("settlement_id", sa.String(100), nullable=True),
        sa.Column("period", sa.String(20), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("from_reservation_fen", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_budget_payments"),
        sa.ForeignKeyConstraint(["reservation_id"], ["budget_reservations.id"],
                                name="fk_budget_payments_reservation_id_budget_reservations"),
        sa.ForeignKeyConstraint(["line_id"], ["budget_lines.id"], name="fk_budget_payments_line_id_budget_lines"),
        sa.UniqueConstraint("settlement_id", name="uq_budget_payments_settlement_id"),
    )
    op.create_index("ix_budget_payments_reservation_id", "budget_payments", ["reservation_id"])
    op.create_index("ix_budget_payments_line_id", "budget_payments", ["line_id"])

    op.create_table(
        "budget_ledger",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("line_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reservation_id", sa.String(100), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("available_after_fen", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_budget_ledger"),
        sa.ForeignKeyConstraint(["line_id"], ["budget_lines.id"], name="fk_budget_ledger_line_id_budget_lines"),
    )
    op.create_index("ix_budget_ledger_line_id", "budget_ledger", ["line_id"])

    op.create_table(
        "budget_filings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("line_id", sa.String(36), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("contract_id", sa.String(100), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=True),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column("ex_ante_assessment", sa.Text(), nullable=True),
        sa.Column("cause_event_id", sa.String(36), nullable=True),
        sa.Column("policy_ref", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_budget_filings"),
        sa.ForeignKeyConstraint(["line_id"], ["budget_lines.id"], name="fk_budget_filings_line_id_budget_lines"),
        sa.UniqueConstraint("line_id", "kind", "contract_id", name="uq_budget_filings_duty"),
    )
    op.create_index("ix_budget_filings_line_id", "budget_filings", ["line_id"])

    op.create_table(
        "budget_line_results",
        sa.Column("assessment_id", sa.String(100), nullable=False),
        sa.Column("line_id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(100), nullable=False),
        sa.Column("supplier_code", sa.String(50), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("score", sa.String(20), nullable=False),
        sa.Column("grade", sa.String(20), nullable=False),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("policy", sa.String(100), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", name="pk_budget_line_results"),
        sa.ForeignKeyConstraint(["line_id"], ["budget_lines.id"],
                                name="fk_budget_line_results_line_id_budget_lines"),
    )
    op.create_index("ix_budget_line_results_line_id", "budget_line_results", ["line_id"])


def downgrade() -> None:
    op.drop_table("budget_line_results")
    op.drop_table("budget_filings")
    op.drop_table("budget_ledger")
    op.drop_table("budget_payments")
    op.drop_table("budget_reservations")
    op.drop_table("budget_line_steps")
    op.drop_table("budget_lines")
