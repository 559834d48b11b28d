"""The definitions behind every figure, written once.

Each is a SQL condition on a case file, so that pages, exports, the API and the benchmarks
count the same thing, and the database does the counting (GROUP BY), never Python.

* **filed** — every file of the period (filed_on in the period).
* **decided at first instance** — a first-instance decision was approved (favourable or not).
* **accepted** — favourable at first instance, or unfavourable and then appeal granted.
* **rejected (final)** — unfavourable at first instance, and not granted on appeal, and no appeal
  pending.
* **decided** — accepted or rejected (final).
* **pending** — filed, not decided and not withdrawn (includes files whose appeal is pending).
* **acceptance_rate** = accepted / decided; **acceptance_rate_filed** = accepted / filed (the
  2014 operation's published 83.5%); **first_instance_rate** = favourable at first instance /
  decided at first instance.
* **processing time** — days from filing to the first-instance decision.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, not_, or_

from casework.cases.models import Case

# Outcomes are NULL until decided; coalesce them so that NOT(...) never meets SQL's NULL logic.
_FIRST = func.coalesce(Case.first_instance_outcome, "")
_APPEAL = func.coalesce(Case.appeal_outcome, "")

FAVOURABLE_FIRST = _FIRST == "favourable"
UNFAVOURABLE_FIRST = _FIRST == "unfavourable"
DECIDED_FIRST = _FIRST != ""
APPEAL_LODGED = Case.appeal_lodged_on.is_not(None)
APPEAL_GRANTED = _APPEAL == "granted"
APPEAL_DISMISSED = _APPEAL == "dismissed"
APPEAL_PENDING = and_(APPEAL_LODGED, _APPEAL == "")
ACCEPTED = or_(FAVOURABLE_FIRST, and_(UNFAVOURABLE_FIRST, APPEAL_GRANTED))
REJECTED = and_(UNFAVOURABLE_FIRST, not_(APPEAL_GRANTED), not_(APPEAL_PENDING))
DECIDED = or_(ACCEPTED, REJECTED)
WITHDRAWN = Case.state == "withdrawn"
PENDING = and_(not_(DECIDED), not_(WITHDRAWN))
CARD_ISSUED = Case.card_issued_on.is_not(None)


def count_if(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# The counted columns of every acceptance table, in order, with their definitions.
COUNTS = {
    "filed": func.count(Case.id),
    "decided": count_if(DECIDED),
    "accepted": count_if(ACCEPTED),
    "rejected": count_if(REJECTED),
    "pending": count_if(PENDING),
    "withdrawn": count_if(WITHDRAWN),
    "first_instance_decided": count_if(DECIDED_FIRST),
    "first_instance_favourable": count_if(FAVOURABLE_FIRST),
    "appeals_lodged": count_if(APPEAL_LODGED),
    "appeals_granted": count_if(APPEAL_GRANTED),
    "appeals_dismissed": count_if(APPEAL_DISMISSED),
    "cards_issued": count_if(CARD_ISSUED),
}

# (rate, numerator, denominator)
RATES = (
    ("acceptance_rate", "accepted", "decided"),
    ("acceptance_rate_filed", "accepted", "filed"),
    ("first_instance_rate", "first_instance_favourable", "first_instance_decided"),
)

DEFINITIONS = {
    "filed": _l("Every file lodged in the period."),
    "decided": _l("Accepted or rejected (final)."),
    "accepted": _l("Favourable at first instance, or appeal granted."),
    "rejected": _l("Unfavourable at first instance, not granted on appeal, no appeal pending."),
    "pending": _l("Neither decided nor withdrawn (includes appeals under way)."),
    "withdrawn": _l("Withdrawn by the applicant."),
    "first_instance_decided": _l("A first-instance decision was approved (favourable or not)."),
    "first_instance_favourable": _l("The approved first-instance decision was favourable."),
    "appeals_lodged": _l("An appeal was lodged against the first-instance decision."),
    "appeals_granted": _l("The appeal was granted."),
    "appeals_dismissed": _l("The appeal was dismissed."),
    "cards_issued": _l("A residence card was issued."),
    "renewals_due": _l("A residence card expires within the next 60 days."),
    "acceptance_rate": _l("Accepted ÷ decided."),
    "acceptance_rate_filed": _l("Accepted ÷ filed (the 2014 operation's 83.5%)."),
    "first_instance_rate": _l("Favourable at first instance ÷ decided at first instance."),
    "processing_time": _l(
        "Days from filing to the first-instance decision (median, 90th percentile)."
    ),
    "backlog": _l("Pending files by how long ago they were filed."),
    "people_referred": _l("Distinct people referred to a service of the programme."),
    "people_accepted": _l("Distinct people whose referral a provider accepted."),
    "people_served": _l("Distinct people with at least one assistance record."),
    "assistance_records": _l("Assistance records, corrections counted once."),
}


def with_rates(row: dict) -> dict:
    """Add the rates as fractions at full precision (rounded only for display)."""
    for name, numerator, denominator in RATES:
        row[name] = row[numerator] / row[denominator] if row[denominator] else None
    return row
