"""Assessment tables: known contracts, indicator systems, plans, inspections and findings, score sheets,
surveys and responses, assessments, supplier responses, finalisations, publications, ex-ante assessments.

Revision ID: assessment_0002
Revises: assessment_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "assessment_0002"
down_revision = "assessment_0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "known_contracts",
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("supplier_code", sa.String(32), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=True),
        sa.Column("service_type", sa.String(100), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("schedule", sa.String(20), nullable=False),
        sa.Column("periods", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        _ts("recorded_at"),
        sa.PrimaryKeyConstraint("contract_id", name="pk_known_contracts"),
    )
    op.create_table(
        "indicator_systems",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("service_type", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("template", sa.String(50), nullable=True),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_indicator_systems"),
        sa.UniqueConstraint("code", "version", name="uq_indicator_systems_code_version"),
    )
    op.create_index("ix_indicator_systems_code", "indicator_systems", ["code"])
    op.create_index("ix_indicator_systems_service_type", "indicator_systems", ["service_type"])
    op.create_table(
        "plans",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("supplier_code", sa.String(32), nullable=False),
        sa.Column("service_type", sa.String(100), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=True),
        sa.Column("period_kind", sa.String(20), nullable=False),
        sa.Column("periods", sa.JSON(), nullable=False),
        sa.Column("assessor_org", sa.String(100), nullable=True),
        sa.Column("party_weights", sa.JSON(), nullable=False),
        sa.Column("indicator_system_id", sa.String(36), nullable=False),
        sa.Column("policy_ref", sa.String(100), nullable=False),
        sa.Column("contract_known", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
        sa.UniqueConstraint("contract_id", name="uq_plans_contract_id"),
        sa.ForeignKeyConstraint(["indicator_system_id"], ["indicator_systems.id"],
                                name="fk_plans_indicator_system_id_indicator_systems"),
    )
    op.create_index("ix_plans_supplier_code", "plans", ["supplier_code"])
    op.create_index("ix_plans_department", "plans", ["department"])
    op.create_index("ix_plans_assessor_org", "plans", ["assessor_org"])
    op.create_table(
        "inspections",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("party", sa.String(20), nullable=False),
        sa.Column("inspector", sa.String(200), nullable=False),
        _ts("inspected_at"),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_inspections"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_inspections_plan_id_plans"),
    )
    op.create_index("ix_inspections_plan_id", "inspections", ["plan_id"])
    op.create_table(
        "findings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("inspection_id", sa.String(36), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("party", sa.String(20), nullable=False),
        sa.Column("indicator_code", sa.String(100), nullable=False),
        sa.Column("rule_code", sa.String(100), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("deduction", sa.Numeric(7, 2), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("serious_violation", sa.Boolean(), nullable=False),
        sa.Column("fraud", sa.Boolean(), nullable=False),
        sa.Column("inspector", sa.String(200), nullable=False),
        _ts("found_at"),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspections.id"], name="fk_findings_inspection_id_inspections"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_findings_plan_id_plans"),
    )
    op.create_index("ix_findings_inspection_id", "findings", ["inspection_id"])
    op.create_index("ix_findings_plan_id", "findings", ["plan_id"])
    op.create_table(
        "score_sheets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("party", sa.String(20), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_score_sheets"),
        sa.UniqueConstraint("plan_id", "period", "party", name="uq_score_sheets_plan_period_party"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_score_sheets_plan_id_plans"),
    )
    op.create_index("ix_score_sheets_plan_id", "score_sheets", ["plan_id"])
    op.create_table(
        "surveys",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_surveys"),
        sa.UniqueConstraint("plan_id", "period", name="uq_surveys_plan_period"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_surveys_plan_id_plans"),
    )
    op.create_index("ix_surveys_plan_id", "surveys", ["plan_id"])
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("survey_id", sa.String(36), nullable=False),
        sa.Column("respondent_hash", sa.String(64), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_survey_responses"),
        sa.UniqueConstraint("survey_id", "respondent_hash", name="uq_survey_responses_survey_respondent"),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name="fk_survey_responses_survey_id_surveys"),
    )
    op.create_index("ix_survey_responses_survey_id", "survey_responses", ["survey_id"])
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("supplier_code", sa.String(32), nullable=False),
        sa.Column("service_type", sa.String(100), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=True),
        sa.Column("assessor_org", sa.String(100), nullable=True),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("score", sa.Numeric(7, 2), nullable=False),
        sa.Column("grade", sa.String(20), nullable=False),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("veto", sa.Boolean(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("draft_result", sa.JSON(), nullable=False),
        sa.Column("serious_violation", sa.Boolean(), nullable=False),
        sa.Column("fraud", sa.Boolean(), nullable=False),
        sa.Column("policy_ref", sa.String(100), nullable=False),
        sa.Column("indicator_system_ref", sa.String(120), nullable=False),
        _ts("drafted_at"),
        sa.Column("drafted_on", sa.Date(), nullable=False),
        sa.Column("response_due", sa.Date(), nullable=False),
        sa.Column("response_due_provisional", sa.Boolean(), nullable=False),
        sa.Column("response_window_kind", sa.String(20), nullable=False),
        sa.Column("response_window_days", sa.Integer(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        _ts("finalized_at", nullable=True),
        sa.Column("finalized_by", sa.String(200), nullable=True),
        _ts("published_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_assessments"),
        sa.UniqueConstraint("plan_id", "period", name="uq_assessments_plan_period"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_assessments_plan_id_plans"),
    )
    op.create_index("ix_assessments_plan_id", "assessments", ["plan_id"])
    op.create_index("ix_assessments_contract_id", "assessments", ["contract_id"])
    op.create_index("ix_assessments_supplier_code", "assessments", ["supplier_code"])
    op.create_table(
        "supplier_responses",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("assessment_id", sa.String(36), nullable=False),
        sa.Column("supplier_code", sa.String(32), nullable=False),
        sa.Column("accepts", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("disputed_findings", sa.JSON(), nullable=False),
        _ts("submitted_at"),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supplier_responses"),
        sa.UniqueConstraint("assessment_id", name="uq_supplier_responses_assessment_id"),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"],
                                name="fk_supplier_responses_assessment_id_assessments"),
    )
    op.create_table(
        "finalizations",
        sa.Column("assessment_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        _ts("finalized_at"),
        sa.PrimaryKeyConstraint("assessment_id", name="pk_finalizations"),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"],
                                name="fk_finalizations_assessment_id_assessments"),
    )
    op.create_table(
        "publications",
        sa.Column("assessment_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        _ts("published_at"),
        sa.PrimaryKeyConstraint("assessment_id", name="pk_publications"),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"],
                                name="fk_publications_assessment_id_assessments"),
    )
    op.create_table(
        "ex_ante_assessments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("conclusion", sa.String(30), nullable=False),
        sa.Column("score", sa.Numeric(7, 2), nullable=True),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("assessor_org", sa.String(100), nullable=True),
        sa.Column("report_ref", sa.String(300), nullable=True),
        sa.Column("policy_ref", sa.String(100), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_ex_ante_assessments"),
        sa.UniqueConstraint("line_id", "version", name="uq_ex_ante_assessments_line_version"),
    )
    op.create_index("ix_ex_ante_assessments_line_id", "ex_ante_assessments", ["line_id"])


def downgrade() -> None:
    for table in ("ex_ante_assessments", "publications", "finalizations", "supplier_responses", "assessments",
                  "survey_responses", "surveys", "score_sheets", "findings", "inspections", "plans",
                  "indicator_systems", "known_contracts"):
        op.drop_table(table)
