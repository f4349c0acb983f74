"""Contracts, settlement schedule, settlements, amendments, service ledger, transitions, blacklist record.

Revision ID: contract_0002
Revises: contract_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "contract_0002"
down_revision = "contract_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blacklisted_suppliers",
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("supplier_code", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_blacklisted_suppliers")),
    )
    op.create_index(op.f("ix_blacklisted_suppliers_supplier_code"), "blacklisted_suppliers", ["supplier_code"])
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("service_type", sa.String(120), nullable=False),
        sa.Column("supplier_code", sa.String(64), nullable=False),
        sa.Column("supplier_name", sa.String(300), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("renewal_of", sa.String(36), nullable=True),
        sa.Column("method_decision", sa.JSON(), nullable=False),
        sa.Column("method_outside_policy", sa.Boolean(), nullable=False),
        sa.Column("method_justification", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("continuous_service", sa.Boolean(), nullable=False),
        sa.Column("continuous_basis", sa.Text(), nullable=True),
        sa.Column("long_term", sa.Boolean(), nullable=False),
        sa.Column("quantity_standard", sa.Text(), nullable=False),
        sa.Column("quality_standard", sa.Text(), nullable=False),
        sa.Column("pricing_method", sa.Text(), nullable=False),
        sa.Column("schedule", sa.String(16), nullable=False),
        sa.Column("payment_rule", sa.JSON(), nullable=False),
        sa.Column("rights_obligations", sa.Text(), nullable=False),
        sa.Column("liability", sa.Text(), nullable=False),
        sa.Column("assessment_plan", sa.JSON(), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("review_status", sa.String(16), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reservation_id", sa.String(36), nullable=True),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("eligibility", sa.JSON(), nullable=True),
        sa.Column("line_snapshot", sa.JSON(), nullable=True),
        sa.Column("purchaser_signed_on", sa.Date(), nullable=True),
        sa.Column("supplier_signed_on", sa.Date(), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("filing_required", sa.Boolean(), nullable=False),
        sa.Column("filing_due_on", sa.Date(), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("filing_late", sa.Boolean(), nullable=True),
        sa.Column("filing_document", sa.JSON(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("terminated_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("reservation_id", name=op.f("uq_contracts_reservation_id")),
    )
    op.create_index(op.f("ix_contracts_status"), "contracts", ["status"])
    op.create_index(op.f("ix_contracts_department"), "contracts", ["department"])
    op.create_index(op.f("ix_contracts_region"), "contracts", ["region"])
    op.create_index(op.f("ix_contracts_line_id"), "contracts", ["line_id"])
    op.create_index(op.f("ix_contracts_supplier_code"), "contracts", ["supplier_code"])
    op.create_index(op.f("ix_contracts_review_status"), "contracts", ["review_status"])
    op.create_index(op.f("ix_contracts_filing_due_on"), "contracts", ["filing_due_on"])
    op.create_index(op.f("ix_contracts_flagged"), "contracts", ["flagged"])
    op.create_table(
        "amendments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(36), sa.ForeignKey("contracts.id", name=op.f("fk_amendments_contract_id_contracts")), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("proposed_role", sa.String(16), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_by", sa.String(200), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amendments")),
        sa.UniqueConstraint("contract_id", "seq", name=op.f("uq_amendments_contract_seq")),
    )
    op.create_index(op.f("ix_amendments_contract_id"), "amendments", ["contract_id"])
    op.create_table(
        "instalments",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("contract_id", sa.String(36), sa.ForeignKey("contracts.id", name=op.f("fk_instalments_contract_id_contracts")), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instalments")),
        sa.UniqueConstraint("contract_id", "period", name=op.f("uq_instalments_contract_period")),
    )
    op.create_index(op.f("ix_instalments_contract_id"), "instalments", ["contract_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(36), sa.ForeignKey("contracts.id", name=op.f("fk_ledger_entries_contract_id_contracts")), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(16), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(op.f("ix_ledger_entries_contract_id"), "ledger_entries", ["contract_id"])
    op.create_table(
        "settlements",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(36), sa.ForeignKey("contracts.id", name=op.f("fk_settlements_contract_id_contracts")), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("score", sa.String(32), nullable=False),
        sa.Column("grade", sa.String(32), nullable=False),
        sa.Column("instalment_fen", sa.BigInteger(), nullable=False),
        sa.Column("factor_percent", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("withheld_fen", sa.BigInteger(), nullable=False),
        sa.Column("withheld_reason", sa.Text(), nullable=True),
        sa.Column("reward_fen", sa.BigInteger(), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("payment_reference", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint("contract_id", "period", name=op.f("uq_settlements_contract_period")),
    )
    op.create_index(op.f("ix_settlements_contract_id"), "settlements", ["contract_id"])
    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("contract_id", sa.String(36), sa.ForeignKey("contracts.id", name=op.f("fk_transitions_contract_id_contracts")), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transitions")),
    )
    op.create_index(op.f("ix_transitions_contract_id"), "transitions", ["contract_id"])


def downgrade() -> None:
    for table in ("transitions", "settlements", "ledger_entries", "instalments", "amendments", "contracts",
                  "blacklisted_suppliers"):
        op.drop_table(table)
