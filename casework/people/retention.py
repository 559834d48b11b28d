"""Retention (law 09-08: data kept no longer than its purpose needs) and anonymisation.

The policy, per kind of record, in settings (`config/settings.py`, environment overrides):

* `RETENTION_CLOSED_CASE_YEARS` (10): a person with files is kept until every file they are in
  (as applicant or household member) has been closed or withdrawn for that many years;
* `RETENTION_WALK_IN_YEARS` (5): a person without any file (an NGO's walk-in beneficiary, or a
  person registered and never filed) is kept that many years after the record last changed;
* either way, a person with an open referral, or with any service activity (referral,
  consent, assistance, timeline event) within `RETENTION_WALK_IN_YEARS`, is kept.

Anonymising a person keeps what the statistics count and removes what identifies them:

* the person: names replaced by "ANONYMISED" and the record number, Arabic names cleared,
  date of birth reduced to its year (1 January, marked approximate), identity documents,
  phone, address, languages, register reference, vulnerability flags and notes removed,
  search text and duplicate keys cleared, `anonymised_at` set. Sex, nationality, prefecture and
  the holding organisation stay (statistics dimensions);
* the records merged into them (the same person) likewise, and the merges' copies of their
  former values; their open duplicate suggestions leave the review queue; their history of
  corrections (old values) is deleted;
* their files (as applicant): the statistics columns, dates, states and outcomes stay; the
  card number, decision text, register reference, timeline comments and scans go;
* referrals, consents and assistance: services, providers, states, dates and quantities stay
  (programme indicators count them); free text (purposes, outcomes, notes, places) goes.

Each anonymisation is audited as `person.anonymise` with the rule and counts only. This is a
batch job: `apply_retention` commits person by person (a failure leaves the others done) and
removes a scan's stored file only once no remaining document row refers to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select

from casework.audit.operations import record
from casework.extensions import db
from casework.models_base import utcnow
from casework.people.dp_models import PersonRevision
from casework.people.models import Person

log = logging.getLogger(__name__)

CLOSED_FILES = "closed_files"  # every file closed or withdrawn for RETENTION_CLOSED_CASE_YEARS
NO_FILE = "no_file"  # no file, unchanged for RETENTION_WALK_IN_YEARS
RETIRED_STATES = ("closed", "withdrawn")
ANONYMISED = "ANONYMISED"  # the family name, and the text left in place of free text
PERSONAL_EVENT_DATA = ("card_number",)  # timeline data keys that identify the person


@dataclass(frozen=True)
class RetentionPolicy:
    closed_case_years: int = 10
    walk_in_years: int = 5

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetentionPolicy:
        policy = cls(
            closed_case_years=int(config.get("RETENTION_CLOSED_CASE_YEARS", 10)),
            walk_in_years=int(config.get("RETENTION_WALK_IN_YEARS", 5)),
        )
        if policy.closed_case_years < 1 or policy.walk_in_years < 1:
            raise ValueError("Retention periods are whole years, at least 1.")
        return policy

    def years_for(self, rule: str) -> int:
        return self.closed_case_years if rule == CLOSED_FILES else self.walk_in_years


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _end_of(day: date) -> datetime:
    """The first moment after `day` (UTC): a moment before it is "on or before `day`"."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


# --- Who is due ---------------------------------------------------------------------------------


def candidates_query(policy: RetentionPolicy, today: date) -> Select:
    """(person id, whether they have files) of the people due for anonymisation, by id."""
    from casework.cases.models import Case, CaseMember
    from casework.services.models import (
        OPEN_REFERRAL_STATES,
        AssistanceRecord,
        Consent,
        PersonEvent,
        Referral,
    )

    case_cutoff = years_before(today, policy.closed_case_years)
    service_cutoff = years_before(today, policy.walk_in_years)
    retired = and_(
        Case.state.in_(RETIRED_STATES),
        or_(
            Case.closed_on <= case_cutoff,
            # Files imported closed may lack the closing date: their last change stands for it.
            and_(Case.closed_on.is_(None), Case.updated_at < _end_of(case_cutoff)),
        ),
    )
    has_files = or_(
        exists().where(Case.applicant_id == Person.id),
        exists().where(CaseMember.person_id == Person.id),
    )
    live_file = or_(
        exists().where(Case.applicant_id == Person.id, ~retired),
        exists(
            select(CaseMember.id)
            .join(Case, Case.id == CaseMember.case_id)
            .where(CaseMember.person_id == Person.id, ~retired)
        ),
    )
    open_referral = exists().where(
        Referral.person_id == Person.id,
        Referral.state.in_([state.value for state in OPEN_REFERRAL_STATES]),
    )
    since = _end_of(service_cutoff)
    recent_services = or_(
        exists().where(Referral.person_id == Person.id, Referral.updated_at >= since),
        exists().where(
            AssistanceRecord.person_id == Person.id, AssistanceRecord.given_on > service_cutoff
        ),
        exists().where(
            Consent.person_id == Person.id,
            or_(Consent.given_on > service_cutoff, Consent.withdrawn_on > service_cutoff),
        ),
        exists().where(PersonEvent.person_id == Person.id, PersonEvent.at >= since),
    )
    return (
        select(Person.id, has_files.label("has_files"))
        .where(
            Person.anonymised_at.is_(None),
            Person.merged_into_id.is_(None),  # a merged record follows the record it went to
            ~open_referral,
            ~recent_services,
            or_(and_(has_files, ~live_file), and_(~has_files, Person.updated_at < since)),
        )
        .order_by(Person.id)
    )


@dataclass
class Candidate:
    person_id: int
    rule: str
    organisation: str  # the holding organisation's code
    files: int
    last_closed_on: date | None  # of the files (CLOSED_FILES)
    last_activity: date | None  # the record's last change (NO_FILE)


def candidates(policy: RetentionPolicy, today: date) -> Iterator[Candidate]:
    """The people due, with what the dry run reports (no personal data: ids, codes, dates)."""
    from casework.admin.models import Organisation
    from casework.cases.models import Case, CaseMember

    rows = db.session.execute(candidates_query(policy, today)).all()
    for person_id, has_files in rows:
        person = db.session.get(Person, person_id)
        organisation = db.session.get(Organisation, person.organisation_id)
        case_ids = _case_ids(person_id)
        last_closed = None
        if case_ids:
            last_closed = db.session.scalar(
                select(func.max(Case.closed_on)).where(Case.id.in_(case_ids))
            )
        member_of = db.session.scalar(
            select(func.count(CaseMember.id)).where(CaseMember.person_id == person_id)
        )
        yield Candidate(
            person_id=person_id,
            rule=CLOSED_FILES if has_files else NO_FILE,
            organisation=organisation.code,
            files=len(case_ids) if case_ids else int(member_of or 0),
            last_closed_on=last_closed,
            last_activity=person.updated_at.date() if person.updated_at else None,
        )


def _case_ids(person_id: int) -> list[int]:
    from casework.cases.models import Case, CaseMember

    as_applicant = select(Case.id).where(Case.applicant_id == person_id)
    as_member = select(CaseMember.case_id).where(CaseMember.person_id == person_id)
    return sorted(set(db.session.scalars(as_applicant)) | set(db.session.scalars(as_member)))


# --- Anonymising one person -----------------------------------------------------------------------


@dataclass
class Anonymised:
    """What one anonymisation did: counts for the audit entry and the command's report, and
    the content hashes of scans whose stored file may go once the change is committed."""

    person_id: int
    rule: str
    records: int = 0
    files: int = 0
    documents: int = 0
    scans: int = 0
    referrals: int = 0
    consents: int = 0
    assistance: int = 0
    revisions: int = 0
    blobs: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {
            "records": self.records, "files": self.files, "documents": self.documents,
            "scans": self.scans, "referrals": self.referrals, "consents": self.consents,
            "assistance": self.assistance, "revisions": self.revisions,
        }  # fmt: skip


def merged_into(person: Person) -> list[Person]:
    """The records merged into `person`, and those merged into them, and so on."""
    found: list[Person] = []
    frontier = [person.id]
    while frontier:
        rows = list(db.session.scalars(select(Person).where(Person.merged_into_id.in_(frontier))))
        rows = [row for row in rows if row not in found and row.id != person.id]
        found.extend(rows)
        frontier = [row.id for row in rows]
    return found


def anonymise(
    person: Person, *, rule: str, by: Any = None, policy: RetentionPolicy | None = None
) -> Anonymised:
    """Anonymise `person` and the records merged into it (see the module's docstring). Flushes;
    the caller commits, then may remove the stored scans listed in `.blobs`."""
    if person.anonymised_at is not None:
        raise ValueError(f"person {person.id} is already anonymised")
    done = Anonymised(person_id=person.id, rule=rule)
    people = [person, *merged_into(person)]
    ids = [p.id for p in people]
    for row in people:
        done.documents += len(row.documents)
        _anonymise_record(row)
    done.records = len(people)
    _scrub_files(ids, done)
    _scrub_services(ids, done)
    _scrub_matching(ids)
    done.revisions = _delete_revisions(ids)
    db.session.flush()
    years = (policy or RetentionPolicy()).years_for(rule)
    record("person.anonymise", user=by, record=person, rule=rule, years=years, **done.counts())
    return done


def _anonymise_record(person: Person) -> None:
    person.family_name = ANONYMISED
    person.given_names = f"#{person.id}"
    person.family_name_ar = None
    person.given_names_ar = None
    if person.date_of_birth is not None:
        person.date_of_birth = date(person.date_of_birth.year, 1, 1)
        person.date_of_birth_approximate = True
    person.external_ref = None
    person.languages = []
    person.phone = None
    person.address = None
    for flag in ("unaccompanied_minor", "pregnant", "serious_illness", "disability",
                 "trafficking_victim"):  # fmt: skip
        setattr(person, flag, False)
    person.vulnerability_notes = None
    person.documents.clear()  # delete-orphan: the identity documents are deleted
    person.anonymised_at = utcnow()  # the model's hook then clears search text and keys


def _scrub_files(ids: list[int], done: Anonymised) -> None:
    """The person's files as applicant: keep statistics, dates, states and outcomes."""
    from casework.cases.models import Case, CaseDocument, CaseEvent

    cases = list(db.session.scalars(select(Case).where(Case.applicant_id.in_(ids))))
    for case in cases:
        case.card_number = None
        case.decision_text = None
        case.external_ref = None
        case.claim_narrative = None  # the person's own account: never kept past retention
        case.medical_details = None
        events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
        for event in events:
            event.comment = None
            if event.data and any(key in event.data for key in PERSONAL_EVENT_DATA):
                event.data = {k: v for k, v in event.data.items() if k not in PERSONAL_EVENT_DATA}
        documents = db.session.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id))
        for document in documents:
            done.blobs.add(document.sha256)
            done.scans += 1
            db.session.delete(document)
    done.files = len(cases)


def _scrub_services(ids: list[int], done: Anonymised) -> None:
    """Referrals, consents, assistance: keep what the programme indicators count."""
    from casework.services.models import AssistanceRecord, Consent, Referral

    for referral in db.session.scalars(select(Referral).where(Referral.person_id.in_(ids))):
        referral.purpose = ANONYMISED
        referral.outcome = None
        referral.decline_reason = None
        done.referrals += 1
    for consent in db.session.scalars(select(Consent).where(Consent.person_id.in_(ids))):
        consent.purpose = ANONYMISED
        consent.shared_vulnerabilities = []
        done.consents += 1
    assistance = db.session.scalars(
        select(AssistanceRecord).where(AssistanceRecord.person_id.in_(ids))
    )
    for row in assistance:
        row.place = None
        row.outcome = None
        row.notes = None
        done.assistance += 1


def _scrub_matching(ids: list[int]) -> None:
    """Merges keep who merged what and when, not the merged record's former values; open
    duplicate suggestions leave the review queue (set aside, as a reviewer would)."""
    from casework.people.merge_models import DuplicatePair, PairStatus, PersonMerge

    merges = db.session.scalars(
        select(PersonMerge).where(or_(PersonMerge.kept_id.in_(ids), PersonMerge.merged_id.in_(ids)))
    )
    for merge in merges:
        if merge.merged_id in ids:
            merge.former_values = {"anonymised": True}
            merge.reason = ANONYMISED
    pairs = db.session.scalars(
        select(DuplicatePair).where(
            DuplicatePair.status == PairStatus.OPEN.value,
            or_(DuplicatePair.person_id.in_(ids), DuplicatePair.other_id.in_(ids)),
        )
    )
    for pair in pairs:
        pair.status = PairStatus.DISMISSED.value
        pair.decided_at = utcnow()


def _delete_revisions(ids: list[int]) -> int:
    rows = list(db.session.scalars(select(PersonRevision).where(PersonRevision.person_id.in_(ids))))
    for row in rows:
        db.session.delete(row)
    return len(rows)


def remove_unreferenced_blobs(hashes: set[str]) -> int:
    """Delete the stored scans no document row refers to any more (after the commit)."""
    from casework.cases.documents import blob_path
    from casework.cases.models import CaseDocument

    removed = 0
    for sha in sorted(hashes):
        still_used = db.session.scalar(
            select(CaseDocument.id).where(CaseDocument.sha256 == sha).limit(1)
        )
        if still_used is not None:
            continue
        path = blob_path(sha)
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError:
            log.exception("Could not remove the stored scan %s", sha)
    return removed


# --- The job --------------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    dry_run: bool
    due: list[Candidate] = field(default_factory=list)
    done: list[Anonymised] = field(default_factory=list)
    blobs_removed: int = 0


def apply_retention(
    policy: RetentionPolicy,
    *,
    today: date | None = None,
    by: Any = None,
    dry_run: bool = False,
    on_person: Callable[[Candidate, Anonymised | None], None] | None = None,
) -> RetentionReport:
    """Anonymise every person due under `policy` on `today` (commits each). A dry run only
    lists them: nothing is changed, nothing is audited."""
    today = today or date.today()
    report = RetentionReport(dry_run=dry_run)
    due = list(candidates(policy, today))
    report.due = due
    for candidate in due:
        if dry_run:
            if on_person:
                on_person(candidate, None)
            continue
        person = db.session.get(Person, candidate.person_id)
        done = anonymise(person, rule=candidate.rule, by=by, policy=policy)
        db.session.commit()
        report.blobs_removed += remove_unreferenced_blobs(done.blobs)
        report.done.append(done)
        if on_person:
            on_person(candidate, done)
    if dry_run:
        db.session.rollback()
    return report
