"""cases: the asylum claim narrative and the medical details of serious-illness files

Revision ID: 0011_sensitive_fields
Revises: 0010_cases_filed_index
Create Date: 2026-11-29 03:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011_sensitive_fields"
down_revision = "0010_cases_filed_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_narrative", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("medical_details", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("medical_details")
        batch_op.drop_column("claim_narrative")
