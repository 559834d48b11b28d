"""organisations: an optional name in Arabic script, for the Arabic UI and letters

Revision ID: 0014_organisation_arabic_name
Revises: 0013_programme_reach
Create Date: 2026-11-29 04:21:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014_organisation_arabic_name"
down_revision = "0013_programme_reach"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_ar", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("name_ar")
