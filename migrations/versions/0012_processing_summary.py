"""reports: counts of decided files per dimension and processing days, for the percentiles

Revision ID: 0012_processing_summary
Revises: 0011_sensitive_fields
Create Date: 2026-11-29 03:24:43

"""

import sqlalchemy as sa
from alembic import op

revision = "0012_processing_summary"
down_revision = "0011_sensitive_fields"
branch_labels = None
depends_on = None

# The first day of the filing month, in each dialect's SQL.
MONTH = {
    "sqlite": "date(filed_on, 'start of month')",
    "postgresql": "CAST(date_trunc('month', filed_on) AS date)",
}


def upgrade():
    op.create_table(
        "case_processing_counts",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("operation_code", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=4), nullable=False),
        sa.Column("office_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("filed_month", sa.Date(), nullable=False),
        sa.Column("processing_days", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "kind", "operation_code", "region_code", "office_id", "filed_month",
            "processing_days", name=op.f("pk_case_processing_counts"),
        ),
    )  # fmt: skip
    # The files already decided, counted once; from here on the application keeps the table
    # in step with every write (casework.reports.summary).
    month = MONTH[op.get_bind().dialect.name]
    dimensions = (
        f"kind, operation_code, coalesce(region_code, ''), office_id, {month}, processing_days"
    )
    backfill = (
        # Only the constants above go into the text.
        "INSERT INTO case_processing_counts (kind, operation_code, region_code, office_id, "  # noqa: S608
        f"filed_month, processing_days, case_count) SELECT {dimensions}, count(*) FROM cases "
        f"WHERE processing_days IS NOT NULL GROUP BY {dimensions}"
    )
    op.execute(backfill)


def downgrade():
    op.drop_table("case_processing_counts")
