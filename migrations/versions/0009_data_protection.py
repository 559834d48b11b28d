"""data protection (law 09-08): history of corrections, anonymised people

The previous values of every correction of a person's record (`person_revisions`), and the
moment the retention policy anonymised a person (`people.anonymised_at`).

Revision ID: 0009_data_protection
Revises: 0008_second_factor
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009_data_protection"
down_revision = "0008_second_factor"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('person_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_person_revisions_changed_by_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_revisions_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_revisions'))
    )
    with op.batch_alter_table('person_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_revisions_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')

    with op.batch_alter_table('person_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_revisions_person_id'))

    op.drop_table('person_revisions')
