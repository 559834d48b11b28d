"""THE permission policy. Every page, API endpoint, template and query asks it.

Two parts, both meant to be read aloud:

* `PERMISSIONS`: which roles may take an action at all ("a caseworker may register a person");
* scope rules: which records a user may take it on ("a caseworker works on the people their office
  holds"), written as query filters so that lists, searches and exports can never leak a record
  that a single-record check would refuse.

* `FIELD_RULES`: who reads and who writes the sensitive fields of a record they reach
  ("the claim narrative of an asylum file is read by the file's office and its supervisors").

Anything not listed is refused: deny by default. Every view must declare its action with
`@requires(...)` or `@public`; a view with neither answers 403 (see `enforce_declared_policy`).

The sensitive fields (issue #7, item 5), as decided:

* the claim narrative (asylum files) and the medical details (serious-illness files) are read
  by the caseworkers of the file's office and by the supervisors of its region (or national),
  exactly the records `cases_scope` gives them; they are written only by the caseworkers of
  the file's office, and only while the file is under examination (filed, until a decision is
  proposed: a proposal is judged on what it was proposed with, and sending it back makes the
  fields writable again). Nobody else ever receives them: not NGOs, admins nor auditors;
* a person's vulnerability notes are read by the caseworkers of the office holding the person
  or having them in a file, by the supervisors of those offices, and by the NGO that
  registered the person as a walk-in (its staff wrote them); they are written by those
  caseworkers and that NGO. An NGO never reads them for a person merely referred to it, and a
  caseworker who reaches an NGO's walk-in only through the person's consent to share with the
  office does not read the NGO's notes: the consent shares the person, not the NGO's
  assessment (`sensitive_people_scope`);
* full exports (CSV, XLSX) never carry any of them: a bulk copy is not necessary for any
  purpose, and one leaked spreadsheet would expose every file at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from flask import abort, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ColumnElement, exists, false, literal, or_, select, true

if TYPE_CHECKING:
    from casework.auth.models import User


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CASEWORKER = "caseworker"
    NGO = "ngo"
    AUDITOR = "auditor"


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.CASEWORKER: _l("Caseworker"),
    Role.NGO: _l("Partner NGO"),
    Role.AUDITOR: _l("Auditor"),
}

ADMIN, SUPERVISOR, CASEWORKER, NGO, AUDITOR = Role
EVERYONE = frozenset(Role)

# action -> the roles that may take it. Scope rules below narrow it to records.
PERMISSIONS: dict[str, frozenset[Role]] = {
    # Own account
    "account.use": EVERYONE,
    # People and households
    "person.search": frozenset({CASEWORKER, SUPERVISOR, NGO}),
    "person.view": frozenset({CASEWORKER, SUPERVISOR, NGO}),
    "person.register": frozenset({CASEWORKER, NGO}),  # NGOs register walk-in beneficiaries
    "person.edit": frozenset({CASEWORKER, NGO}),
    "person.duplicates": frozenset({CASEWORKER, SUPERVISOR}),  # review suspected duplicates
    "person.merge": frozenset({SUPERVISOR}),  # merge two records of one person, undo a merge
    # Law 09-08: export everything held about one person (right of access); anonymise the
    # people past their retention period (`casework retention apply --by`)
    "person.subject_access": frozenset({SUPERVISOR}),
    # A person's vulnerability notes (FIELD_RULES below; NGOs: their own walk-ins only)
    "person.sensitive.view": frozenset({CASEWORKER, SUPERVISOR, NGO}),
    "person.sensitive.edit": frozenset({CASEWORKER, NGO}),
    "retention.run": frozenset({ADMIN}),
    "household.view": frozenset({CASEWORKER, SUPERVISOR}),
    "household.manage": frozenset({CASEWORKER}),
    # Case files
    "case.view": frozenset({CASEWORKER, SUPERVISOR}),
    "case.file": frozenset({CASEWORKER}),
    "case.act": frozenset({CASEWORKER, SUPERVISOR}),  # the workflow table then decides
    "case.assign": frozenset({CASEWORKER, SUPERVISOR}),
    "case.note": frozenset({CASEWORKER, SUPERVISOR}),
    "case.document.upload": frozenset({CASEWORKER}),
    "case.document.verify": frozenset({CASEWORKER}),
    "case.document.download": frozenset({CASEWORKER, SUPERVISOR}),
    # Sensitive fields (FIELD_RULES below): the claim narrative and the medical details
    "case.sensitive.view": frozenset({CASEWORKER, SUPERVISOR}),
    "case.sensitive.edit": frozenset({CASEWORKER}),
    "workflow.view": frozenset({CASEWORKER, SUPERVISOR, ADMIN, AUDITOR}),
    # Integration services: consent, referrals, assistance
    "consent.record": frozenset({CASEWORKER, NGO}),
    "referral.send": frozenset({CASEWORKER, NGO}),
    "referral.view": frozenset({CASEWORKER, SUPERVISOR, NGO}),
    "referral.act": frozenset({CASEWORKER, NGO}),  # the referral's table then decides the side
    "assistance.record": frozenset({NGO}),
    "assistance.view": frozenset({CASEWORKER, SUPERVISOR, NGO}),
    "catalogue.view": EVERYONE,
    "catalogue.manage": frozenset({ADMIN}),
    # Statistics (a regional supervisor's figures are limited to their region)
    "stats.view": frozenset({SUPERVISOR}),
    "stats.export": frozenset({SUPERVISOR}),
    # Imports of registers (CSV, XLSX) and full exports of the people and files in scope
    "import.run": frozenset({ADMIN, SUPERVISOR}),
    "export.people": frozenset({SUPERVISOR, CASEWORKER}),
    # Administration
    "user.manage": frozenset({ADMIN}),
    "organisation.manage": frozenset({ADMIN}),
    "reference.view": EVERYONE,
    "reference.manage": frozenset({ADMIN}),
    # Oversight
    "audit.view": frozenset({AUDITOR}),
}


def role_may(role: Role | str, action: str) -> bool:
    """Whether `role` may take `action` on some record (scope not considered)."""
    if action not in PERMISSIONS:
        raise KeyError(f"Unknown action {action!r}: add it to casework.policy.PERMISSIONS")
    return Role(role) in PERMISSIONS[action]


# --- Scope rules: which records a user reaches, as SQL filters -----------------------------


def agency_offices(user: User):
    """The agency organisations a supervisor oversees: of their region, or all when national.
    Partner NGOs are not agency offices: their walk-ins are shared only with consent."""
    from casework.admin.models import Organisation, OrganisationKind

    query = select(Organisation.id).where(Organisation.kind != OrganisationKind.NGO.value)
    if user.region_code is not None:
        query = query.where(Organisation.region_code == user.region_code)
    return query


def people_scope(user: User) -> ColumnElement[bool]:
    """The people `user` may see.

    * NGO staff: their walk-ins, and people referred to them by an open referral whose consent
      stands (a closed referral leaves the NGO its assistance records, not the person);
    * caseworker: people their office holds or has in a file, and NGO walk-ins who consented
      to be shared with the office;
    * supervisor: the same for every agency office of their region (national: of the country);
    * everyone else (admin, auditor): nobody — they manage the system, not the files.
    """
    from casework.people.models import Person
    from casework.services.models import OPEN_REFERRAL_STATES, Consent, ConsentScope, Referral

    role = Role(user.role)
    if role == NGO:
        referred = (
            select(Referral.person_id)
            .join(Consent, Consent.id == Referral.consent_id)
            .where(
                Referral.provider_id == user.organisation_id,
                Referral.state.in_([state.value for state in OPEN_REFERRAL_STATES]),
                Consent.withdrawn_on.is_(None),
            )
        )
        return or_(Person.organisation_id == user.organisation_id, Person.id.in_(referred))
    reach = _agency_reach(user)
    if reach is None:
        return false()
    offices, held_or_in_files = reach
    shared = exists().where(
        Consent.person_id == Person.id,
        Consent.scope == ConsentScope.SHARE_WITH_AGENCY.value,
        Consent.given_to_id.in_(offices),
        Consent.withdrawn_on.is_(None),
    )
    return or_(*held_or_in_files, shared)


def _agency_reach(user: User) -> tuple[Any, list[ColumnElement[bool]]] | None:
    """For agency staff: their offices (a caseworker's own; a supervisor's region, or all),
    and the conditions "a person those offices hold, or have in a file as applicant or
    member". None for other roles."""
    from casework.cases.models import Case, CaseMember
    from casework.people.models import Person

    role = Role(user.role)
    if role == CASEWORKER:
        offices = select(literal(user.organisation_id))
    elif role == SUPERVISOR:
        offices = agency_offices(user)
    else:
        return None
    # Correlated EXISTS rather than IN (subquery): a lookup of a few people then checks their
    # own files through the indexes, instead of listing every file of the office (slow at a
    # million files, measured in bench/duplicates.py).
    in_files = exists().where(Case.applicant_id == Person.id, Case.office_id.in_(offices))
    as_members = exists().where(
        CaseMember.person_id == Person.id,
        CaseMember.case_id == Case.id,
        Case.office_id.in_(offices),
    )
    return offices, [Person.organisation_id.in_(offices), in_files, as_members]


def sensitive_people_scope(user: User) -> ColumnElement[bool]:
    """The people whose vulnerability notes `user` reaches: NGO staff their own walk-ins;
    caseworkers the people their office holds or has in a file; supervisors the same for the
    agency offices they oversee. Unlike `people_scope`, neither a referral to an NGO nor a
    consent to share a walk-in with an office gives the notes."""
    from casework.people.models import Person

    if Role(user.role) == NGO:
        return Person.organisation_id == user.organisation_id
    reach = _agency_reach(user)
    return false() if reach is None else or_(*reach[1])


def households_scope(user: User) -> ColumnElement[bool]:
    from casework.admin.models import Organisation
    from casework.people.models import Household

    role = Role(user.role)
    if role == CASEWORKER:
        return Household.organisation_id == user.organisation_id
    if role == SUPERVISOR:
        if user.region_code is None:
            return true()
        in_region = select(Organisation.id).where(Organisation.region_code == user.region_code)
        return Household.organisation_id.in_(in_region)
    return false()


def cases_scope(user: User) -> ColumnElement[bool]:
    """The files `user` may see: caseworkers their office's, supervisors their region's (or
    all when national). NGOs never see case files, whatever they are referred."""
    from casework.admin.models import Organisation
    from casework.cases.models import Case

    role = Role(user.role)
    if role == CASEWORKER:
        return Case.office_id == user.organisation_id
    if role == SUPERVISOR:
        if user.region_code is None:
            return true()
        in_region = select(Organisation.id).where(Organisation.region_code == user.region_code)
        return Case.office_id.in_(in_region)
    return false()


def referrals_scope(user: User) -> ColumnElement[bool]:
    """NGOs: referrals to or from them. Agency staff: referrals they sent or of the people in
    their files. Supervisors: referrals sent by the agency offices they oversee."""
    from casework.people.models import Person
    from casework.services.models import Referral

    role = Role(user.role)
    if role == NGO:
        return or_(
            Referral.provider_id == user.organisation_id,
            Referral.sender_organisation_id == user.organisation_id,
        )
    if role in (CASEWORKER, SUPERVISOR):
        people = select(Person.id).where(people_scope(user))
        if role == CASEWORKER:
            own = Referral.sender_organisation_id == user.organisation_id
        else:
            own = Referral.sender_organisation_id.in_(agency_offices(user))
        return or_(own, Referral.person_id.in_(people))
    return false()


def assistance_scope(user: User) -> ColumnElement[bool]:
    """NGOs: the assistance they recorded (even once the referral is closed). Agency staff:
    the assistance given to the people in their files."""
    from casework.people.models import Person
    from casework.services.models import AssistanceRecord

    role = Role(user.role)
    if role == NGO:
        return AssistanceRecord.provider_id == user.organisation_id
    if role in (CASEWORKER, SUPERVISOR):
        return AssistanceRecord.person_id.in_(select(Person.id).where(people_scope(user)))
    return false()


def _scope_for(record: Any) -> Callable[[User], ColumnElement[bool]] | None:
    from casework.cases.models import Case
    from casework.people.models import Household, Person
    from casework.services.models import AssistanceRecord, Referral

    scopes = {
        Person: people_scope,
        Household: households_scope,
        Case: cases_scope,
        Referral: referrals_scope,
        AssistanceRecord: assistance_scope,
    }
    return scopes.get(type(record))


def in_scope(
    user: User, record: Any, scope: Callable[[User], ColumnElement[bool]] | None = None
) -> bool:
    """Whether `record` falls inside `user`'s scope (or the given `scope` rule), decided by the
    same SQL filter lists use."""
    from casework.extensions import db

    scope = scope or _scope_for(record)
    if scope is None:
        raise TypeError(f"No scope rule for {type(record).__name__}")
    model = type(record)
    query = select(exists().where(model.id == record.id, scope(user)))
    return bool(db.session.scalar(query))


def can(user: Any, action: str, record: Any = None) -> bool:
    """The single question every caller asks: may `user` take `action` (on `record`)?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if not role_may(user.role, action):
        return False
    return record is None or in_scope(user, record)


# --- Sensitive fields: who reads and who writes them ----------------------------------------

# The states in which a file is under examination: filed, until a decision is proposed.
EXAMINATION_STATES = frozenset(
    {"filed", "under_review", "information_requested",  # regularisation and renewal
     "registered", "pre_screening", "certificate_issued", "interview_scheduled",
     "interviewed"}  # asylum
)  # fmt: skip

# Named conditions of FIELD_RULES, on the record (a case or a person).
FIELD_CONDITIONS: dict[str, Callable[[Any], bool]] = {
    "asylum_file": lambda case: case.kind == "asylum",
    "serious_illness_file": lambda case: case.category_code == "serious_illness",
    # A file being filed (not saved yet) is under examination from its first moment.
    "under_examination": lambda case: case.id is None or case.state in EXAMINATION_STATES,
}


@dataclass(frozen=True)
class FieldRule:
    """One sensitive field: the action reading it takes, the action writing it takes, the
    records it exists on (`on`), when it may be written (`writable_while`), and the
    scope rule that names the records a reader or writer reaches."""

    read: str
    write: str
    scope: Callable[[User], ColumnElement[bool]]
    on: str | None = None
    writable_while: str | None = None


# (resource, field) -> its rule. Read aloud: "the claim narrative is read by whoever may take
# case.sensitive.view on the file (its office's caseworkers, its supervisors), exists on
# asylum files, is written by whoever may take case.sensitive.edit on it (its office's
# caseworkers), while the file is under examination".
FIELD_RULES: dict[tuple[str, str], FieldRule] = {
    ("case", "claim_narrative"): FieldRule(
        read="case.sensitive.view", write="case.sensitive.edit", scope=cases_scope,
        on="asylum_file", writable_while="under_examination",
    ),
    ("case", "medical_details"): FieldRule(
        read="case.sensitive.view", write="case.sensitive.edit", scope=cases_scope,
        on="serious_illness_file", writable_while="under_examination",
    ),
    ("person", "vulnerability_notes"): FieldRule(
        read="person.sensitive.view", write="person.sensitive.edit",
        scope=sensitive_people_scope,
    ),
}  # fmt: skip


class FieldRefusal(StrEnum):
    """Why a field may not be read or written (the API names it for each field)."""

    ROLE = "role"  # the caller's role never reads (writes) this field
    SCOPE = "scope"  # not on this record: another office, a referred person...
    NOT_APPLICABLE = "not_applicable"  # the record has no such field (a narrative on REG)
    STATE = "state"  # not in the record's current state
    READ_ONLY = "read_only"  # nobody writes it directly (ids, states, decisions)


def resource_of(record: Any) -> str:
    """The resource name FIELD_RULES uses for `record`: its table's singular ("case")."""
    return {"cases": "case", "people": "person"}.get(record.__tablename__, record.__tablename__)


def sensitive_fields(resource: str) -> tuple[str, ...]:
    """The sensitive fields of a resource, in the table's order."""
    return tuple(name for kind, name in FIELD_RULES if kind == resource)


def field_refusal(user: Any, record: Any, field: str, *, writing: bool = False) -> str | None:
    """Why `user` may not read (or write) `field` of `record`, or None when they may.

    Fields not in FIELD_RULES go with the record: whoever reaches it reads them. A record not
    saved yet (`id` None) is being created by `user`, whose organisation will hold it: the role
    decides, not the scope."""
    rule = FIELD_RULES.get((resource_of(record), field))
    if rule is None:
        return None
    if rule.on is not None and not FIELD_CONDITIONS[rule.on](record):
        return FieldRefusal.NOT_APPLICABLE
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return FieldRefusal.ROLE
    if not role_may(user.role, rule.write if writing else rule.read):
        return FieldRefusal.ROLE
    if getattr(record, "id", None) is not None and not in_scope(user, record, rule.scope):
        return FieldRefusal.SCOPE
    if writing and rule.writable_while and not FIELD_CONDITIONS[rule.writable_while](record):
        return FieldRefusal.STATE
    return None


def can_read_field(user: Any, record: Any, field: str) -> bool:
    return field_refusal(user, record, field) is None


def can_write_field(user: Any, record: Any, field: str) -> bool:
    return field_refusal(user, record, field, writing=True) is None


def readable_fields(user: Any, record: Any) -> frozenset[str]:
    """The sensitive fields of `record` that `user` may read (pages, schemas, audit)."""
    return frozenset(
        name for name in sensitive_fields(resource_of(record)) if can_read_field(user, record, name)
    )


def hidden_fields(user: Any, record: Any) -> frozenset[str]:
    """The sensitive fields of `record` to leave out of what `user` is shown or sent."""
    return frozenset(sensitive_fields(resource_of(record))) - readable_fields(user, record)


def writable_fields(user: Any, record: Any) -> frozenset[str]:
    """The sensitive fields of `record` that `user` may write now."""
    return frozenset(
        name
        for name in sensitive_fields(resource_of(record))
        if can_write_field(user, record, name)
    )


# --- Declaring views -------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"


def requires(action: str) -> Callable[[F], F]:
    """Declare the action a view needs; anonymous callers must sign in, others need the role."""
    if action not in PERMISSIONS:
        raise KeyError(f"Unknown action {action!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    abort(401)
                return current_app.login_manager.unauthorized()
            if not can(current_user, action):
                _record_refusal(action)
                abort(403)
            return view(*args, **kwargs)

        wrapper.casework_action = action  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def _record_refusal(action: str) -> None:
    """Failed authorisations are audited (ASVS 16.3.2). Nothing else has happened in this
    request yet (the check runs before the view), so the entry is committed on its own."""
    from casework.audit.operations import record
    from casework.extensions import db

    record("authz.denied", user=current_user, endpoint=request.endpoint, needed=action)
    db.session.commit()


def public(view: F) -> F:
    """Declare a view open to everyone (sign-in page, public receipt check, health)."""
    view.casework_action = PUBLIC  # type: ignore[attr-defined]
    return view


def declared_action(endpoint: str | None) -> str | None:
    if endpoint is None:
        return None
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "casework_action", None)


def enforce_declared_policy() -> None:
    """`before_request` hook: a view that declares nothing is refused (deny by default)."""
    if (
        request.endpoint is None
        or request.endpoint == "static"
        or request.endpoint.endswith(".static")
    ):
        return
    if declared_action(request.endpoint) is None:
        abort(403)


def template_helpers() -> dict[str, Any]:
    """`{% if can('person.edit', person) %}` and `{% if can_read_field(case, 'claim_narrative')
    %}` in templates ask the same policy."""
    return {
        "can": lambda action, record=None: can(current_user, action, record),
        "can_read_field": lambda record, field: can_read_field(current_user, record, field),
        "can_write_field": lambda record, field: can_write_field(current_user, record, field),
    }
