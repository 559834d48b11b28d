"""reports: per (programme or SDG target, scope, person) referral, acceptance and record counts

Revision ID: 0013_programme_reach
Revises: 0012_processing_summary
Create Date: 2026-11-29 04:25:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013_programme_reach"
down_revision = "0012_processing_summary"
branch_labels = None
depends_on = None

ACCEPTED = "('accepted', 'in_progress', 'completed', 'closed_without_service')"
NOT_SUPERSEDED = "NOT EXISTS (SELECT 1 FROM assistance_records c WHERE c.corrects_id = a.id)"
# The rows as casework.reports.reach counts them (frozen here): national ('') and per region
# of the sender (referrals) or of the provider (assistance), over the groups CTE g.
RECOUNT = f"""
SELECT u.group_kind, u.group_key, u.scope, u.person_id, sum(u.referrals), sum(u.accepted),
       sum(u.records)
FROM (
  SELECT g.group_kind, g.group_key, '' AS scope, r.person_id, 1 AS referrals,
         CASE WHEN r.state IN {ACCEPTED} THEN 1 ELSE 0 END AS accepted, 0 AS records
  FROM referrals r JOIN services s ON s.code = r.service_code
  JOIN g ON g.programme_code = s.programme_code
  UNION ALL
  SELECT g.group_kind, g.group_key, o.region_code, r.person_id, 1,
         CASE WHEN r.state IN {ACCEPTED} THEN 1 ELSE 0 END, 0
  FROM referrals r JOIN services s ON s.code = r.service_code
  JOIN g ON g.programme_code = s.programme_code
  JOIN organisations o ON o.id = r.sender_organisation_id WHERE o.region_code IS NOT NULL
  UNION ALL
  SELECT g.group_kind, g.group_key, '', a.person_id, 0, 0, 1
  FROM assistance_records a JOIN services s ON s.code = a.service_code
  JOIN g ON g.programme_code = s.programme_code WHERE {NOT_SUPERSEDED}
  UNION ALL
  SELECT g.group_kind, g.group_key, o.region_code, a.person_id, 0, 0, 1
  FROM assistance_records a JOIN services s ON s.code = a.service_code
  JOIN g ON g.programme_code = s.programme_code
  JOIN organisations o ON o.id = a.provider_id
  WHERE o.region_code IS NOT NULL AND {NOT_SUPERSEDED}
) u
GROUP BY u.group_kind, u.group_key, u.scope, u.person_id
"""  # noqa: S608 - only the constants above go into the text


def upgrade():
    op.create_table(
        "programme_reach",
        sa.Column("scope", sa.String(length=4), nullable=False),
        sa.Column("group_kind", sa.String(length=12), nullable=False),
        sa.Column("group_key", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.Column("accepted_referrals", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope", "group_kind", "group_key", "person_id", name=op.f("pk_programme_reach")
        ),
    )
    op.create_index("ix_programme_reach_person_id", "programme_reach", ["person_id"])
    # Is a record superseded? Asked per record by each recount (casework.reports.reach).
    op.create_index("ix_assistance_records_corrects_id", "assistance_records", ["corrects_id"])
    # The referrals and records already there, counted once; from here on the application
    # keeps the table in step with every write (casework.reports.reach).
    programmes = sa.table("programmes", sa.column("code"), sa.column("sdg_targets", sa.JSON))
    bind = op.get_bind()
    pairs = []
    for code, targets in bind.execute(sa.select(programmes.c.code, programmes.c.sdg_targets)):
        pairs.append(("programme", code, code))
        pairs += [("sdg_target", target, code) for target in targets or []]
    if not pairs:
        return
    params, values = {}, []
    for number, (kind, key, code) in enumerate(pairs):
        values.append(f"(:k{number}, :g{number}, :p{number})")
        params.update({f"k{number}": kind, f"g{number}": key, f"p{number}": code})
    backfill = (
        f"WITH g (group_kind, group_key, programme_code) AS (VALUES {', '.join(values)}) "
        "INSERT INTO programme_reach (group_kind, group_key, scope, person_id, referrals, "
        f"accepted_referrals, records) {RECOUNT}"
    )
    bind.execute(sa.text(backfill), params)


def downgrade():
    op.drop_index("ix_assistance_records_corrects_id", table_name="assistance_records")
    op.drop_index("ix_programme_reach_person_id", table_name="programme_reach")
    op.drop_table("programme_reach")
