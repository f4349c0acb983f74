"""The gateway's audit trail of writes; append-only (UPDATE and DELETE are refused by triggers).

Revision ID: gateway_0001
Revises:
"""

from alembic import op

from gateway.models import gateway_audit

revision = "gateway_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    gateway_audit.create(bind)  # with its indexes
    if bind.dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION gateway_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'gateway_audit is append-only'; END $$
        """)
        op.execute("""
            CREATE TRIGGER gateway_audit_no_change BEFORE UPDATE OR DELETE ON gateway_audit
            FOR EACH ROW EXECUTE FUNCTION gateway_audit_append_only()
        """)
        op.execute("""
            CREATE TRIGGER gateway_audit_no_truncate BEFORE TRUNCATE ON gateway_audit
            FOR EACH STATEMENT EXECUTE FUNCTION gateway_audit_append_only()
        """)
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER gateway_audit_no_{what.lower()} BEFORE {what} ON gateway_audit
                BEGIN SELECT RAISE(ABORT, 'gateway_audit is append-only'); END
            """)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS gateway_audit_no_truncate ON gateway_audit")
        op.execute("DROP TRIGGER IF EXISTS gateway_audit_no_change ON gateway_audit")
        op.execute("DROP FUNCTION IF EXISTS gateway_audit_append_only()")
    gateway_audit.drop(bind)
