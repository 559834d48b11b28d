"""Consent, referrals and assistance. Operations flush; callers commit.

Each step writes the person's timeline (PersonEvent) and the audit trail itself.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.admin.models import Organisation
from casework.audit.operations import record
from casework.auth.models import User
from casework.conflicts import check_version
from casework.extensions import db
from casework.models_base import utcnow
from casework.people.models import VULNERABILITIES, Person
from casework.policy import role_may
from casework.reference.models import Service
from casework.services.models import (
    AssistanceRecord,
    Consent,
    ConsentScope,
    PersonEvent,
    ProviderService,
    Referral,
    ReferralState,
)
from casework.services.referral_flow import (
    ASSISTANCE_STATES,
    PROVIDER,
    SENDER,
    Step,
    steps_from,
)

URGENCIES = ("low", "normal", "high", "emergency")


class ServiceError(ValueError):
    """Refused input, by field (HTTP 422); nothing changed."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


class ReferralActionNotAvailable(Exception):
    def __init__(self, action: str, state: str, allowed: list[str]) -> None:
        super().__init__(f"{action} not possible in {state}")
        self.action, self.state, self.allowed = action, state, allowed


class ReferralActionForbidden(Exception):
    """The caller is not on the side of the referral that takes this action."""


def _message(text) -> list[str]:
    return [str(text)]


def person_event(person_id: int, kind: str, by: Any, record_obj: Any = None, **data: Any) -> None:
    db.session.add(
        PersonEvent(
            person_id=person_id,
            user_id=getattr(by, "id", None),
            organisation_id=getattr(by, "organisation_id", None),
            kind=kind,
            record_type=record_obj.__tablename__ if record_obj is not None else None,
            record_id=record_obj.id if record_obj is not None else None,
            data=data,
        )
    )


# --- Consent ------------------------------------------------------------------------------------


def record_consent(
    person: Person,
    *,
    scope: ConsentScope | str,
    purpose: str,
    given_on: date,
    given_to: Organisation,
    by: User,
    shared_vulnerabilities: list[str] | None = None,
) -> Consent:
    errors: dict[str, list[str]] = {}
    if not (purpose or "").strip():
        errors["purpose"] = _message(_l("Say what the person agreed to."))
    if given_on is None:
        errors["date"] = _message(_l("This field is required."))
    elif given_on > date.today():
        errors["date"] = _message(_l("This date is in the future."))
    shared = list(dict.fromkeys(shared_vulnerabilities or []))
    unknown = [code for code in shared if code not in VULNERABILITIES]
    if unknown:
        errors["shared_vulnerabilities"] = _message(_l("Unknown vulnerability."))
    if errors:
        raise ServiceError(errors)
    consent = Consent(
        person_id=person.id,
        scope=ConsentScope(scope).value,
        purpose=purpose.strip(),
        given_on=given_on,
        given_to_id=given_to.id,
        shared_vulnerabilities=shared,
        recorded_by_id=by.id,
    )
    db.session.add(consent)
    db.session.flush()
    person_event(person.id, "consent", by, consent, scope=consent.scope, to=given_to.id)
    record("consent.record", user=by, record=consent, person_id=person.id, scope=consent.scope)
    return consent


def withdraw_consent(consent: Consent, *, by: User, on: date | None = None) -> None:
    consent.withdrawn_on = on or date.today()
    person_event(consent.person_id, "consent_withdrawn", by, consent)
    record("consent.withdraw", user=by, record=consent)


# --- Referrals ----------------------------------------------------------------------------------


def provider_offers(provider: Organisation, service_code: str) -> bool:
    return (
        db.session.scalar(
            select(ProviderService.id).where(
                ProviderService.organisation_id == provider.id,
                ProviderService.service_code == service_code,
                ProviderService.active.is_(True),
            )
        )
        is not None
    )


def send_referral(
    person: Person,
    *,
    service_code: str,
    provider: Organisation | None,
    purpose: str,
    urgency: str,
    due_date: date | None,
    consent: dict[str, Any] | None,
    by: User,
    include_household: bool = False,
) -> Referral:
    """Refer `person` to `provider` for a service. Without recorded consent nothing is sent."""
    errors: dict[str, list[str]] = {}
    service = db.session.get(Service, service_code) if service_code else None
    if service is None or not service.active:
        errors["service_code"] = _message(_l("Unknown service."))
    if provider is None:
        errors["provider_id"] = _message(_l("Unknown provider."))
    elif service is not None and not provider_offers(provider, service.code):
        errors["provider_id"] = _message(_l("This provider does not offer this service."))
    elif provider.id == by.organisation_id:
        errors["provider_id"] = _message(_l("Refer to another organisation."))
    if not (purpose or "").strip():
        errors["purpose"] = _message(_l("This field is required."))
    if urgency not in URGENCIES:
        errors["urgency"] = _message(_l("Choose an urgency."))
    if due_date is not None and due_date < date.today():
        errors["due_date"] = _message(_l("The due date is in the past."))
    if not consent or consent.get("given") is not True:
        errors["consent"] = _message(
            _l("The person's consent is required before a referral is sent.")
        )
    elif not consent.get("date"):
        errors["consent"] = _message(_l("Give the date the consent was given."))
    if errors:
        raise ServiceError(errors)
    try:
        consent_row = record_consent(
            person,
            scope=ConsentScope.REFERRAL,
            purpose=consent.get("scope") or purpose,
            given_on=consent["date"],
            given_to=provider,
            by=by,
            shared_vulnerabilities=consent.get("shared_vulnerabilities"),
        )
    except ServiceError as error:
        raise ServiceError({f"consent.{k}": v for k, v in error.errors.items()}) from error
    referral = Referral(
        person_id=person.id,
        include_household=include_household,
        service_code=service.code,
        provider_id=provider.id,
        sender_organisation_id=by.organisation_id,
        sent_by_id=by.id,
        consent_id=consent_row.id,
        purpose=purpose.strip(),
        urgency=urgency,
        due_date=due_date,
        state=ReferralState.SENT.value,
    )
    db.session.add(referral)
    db.session.flush()
    person_event(person.id, "referral_sent", by, referral, service=service.code, to=provider.id)
    record("referral.send", user=by, record=referral, person_id=person.id, service=service.code)
    return referral


def side_of(user: User, referral: Referral) -> set[str]:
    sides = set()
    if user.organisation_id == referral.provider_id:
        sides.add(PROVIDER)
    if user.organisation_id == referral.sender_organisation_id:
        sides.add(SENDER)
    return sides


def referral_allowed_actions(referral: Referral, user: User) -> list[str]:
    if not role_may(user.role, "referral.act"):  # e.g. a supervisor of the sending office
        return []
    sides = side_of(user, referral)
    return [step.action for step in steps_from(referral.state) if step.side in sides]


def act_on_referral(
    referral: Referral,
    action: str,
    *,
    by: User,
    expected_version: int | None,
    reason: str | None = None,
    outcome: str | None = None,
) -> Referral:
    check_version(referral, expected_version)
    steps = [s for s in steps_from(referral.state) if s.action == action]
    if not steps:
        allowed = referral_allowed_actions(referral, by)
        raise ReferralActionNotAvailable(action, referral.state, allowed)
    step: Step = steps[0]
    if step.side not in side_of(by, referral):
        raise ReferralActionForbidden(step.side)
    values = {"reason": (reason or "").strip(), "outcome": (outcome or "").strip()}
    missing = {name: _message(_l("This field is required.")) for name in step.requires
               if not values[name]}  # fmt: skip
    if missing:
        raise ServiceError(missing)
    previous = referral.state
    referral.state = step.to.value
    if action == "decline":
        referral.decline_reason = values["reason"]
    if step.to in (ReferralState.COMPLETED, ReferralState.CLOSED_WITHOUT_SERVICE):
        referral.outcome = values["outcome"]
        referral.closed_at = utcnow()
    if action in {"accept", "decline"}:
        referral.responded_at = utcnow()
    if step.to in (ReferralState.CANCELLED, ReferralState.DECLINED):
        referral.closed_at = utcnow()
    db.session.flush()
    person_event(referral.person_id, f"referral_{action}", by, referral,
                 from_state=previous, to_state=referral.state)  # fmt: skip
    record(f"referral.{action}", user=by, record=referral, from_state=previous,
           to_state=referral.state)  # fmt: skip
    return referral


# --- Assistance ---------------------------------------------------------------------------------


# assistance_records.quantity is NUMERIC(12, 2).
MAX_QUANTITY = Decimal("9999999999.99")


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        return None
    # More than two decimals would be rounded by the column (0.001 stored as 0.00).
    return quantity if quantity == quantity.quantize(Decimal("0.01")) else None


def _assistance_errors(values: dict[str, Any]) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    given_on = values.get("date")
    if not isinstance(given_on, date):
        errors["date"] = _message(_l("This field is required."))
    elif given_on > date.today():
        errors["date"] = _message(_l("This date is in the future."))
    quantity = _quantity(values.get("quantity"))
    if quantity is None:
        errors["quantity"] = _message(_l("Give a positive number."))
    unit = (values.get("unit") or "").strip()
    if not unit:
        errors["unit"] = _message(_l("This field is required."))
    clean.update(
        given_on=given_on,
        quantity=quantity,
        unit=unit[:40],
        place=(values.get("place") or "").strip()[:200] or None,
        outcome=(values.get("outcome") or "").strip()[:200] or None,
        notes=(values.get("notes") or "").strip() or None,
    )
    return errors, clean


def record_assistance(
    referral: Referral,
    values: dict[str, Any],
    *,
    by: User,
    batch: str | None = None,
    corrects: AssistanceRecord | None = None,
) -> AssistanceRecord:
    """Record what the provider gave on an accepted or ongoing referral."""
    if PROVIDER not in side_of(by, referral):
        raise ReferralActionForbidden(PROVIDER)
    errors, clean = _assistance_errors(values)
    if referral.state not in {s.value for s in ASSISTANCE_STATES} and corrects is None:
        errors["referral"] = _message(
            _l("Assistance is recorded on an accepted or ongoing referral only.")
        )
    service_code = values.get("service_code") or referral.service_code
    if db.session.get(Service, service_code) is None:
        errors["service_code"] = _message(_l("Unknown service."))
    if errors:
        raise ServiceError(errors)
    row = AssistanceRecord(
        person_id=referral.person_id,
        referral_id=referral.id,
        provider_id=referral.provider_id,
        service_code=service_code,
        recorded_by_id=by.id,
        batch=batch,
        corrects_id=corrects.id if corrects else None,
        **clean,
    )
    db.session.add(row)
    db.session.flush()
    kind = "assistance_corrected" if corrects else "assistance_recorded"
    person_event(row.person_id, kind, by, row, service=service_code)
    record(f"assistance.{'correct' if corrects else 'record'}", user=by, record=row,
           person_id=row.person_id)  # fmt: skip
    return row


def record_walk_in_assistance(
    person: Person, values: dict[str, Any], *, by: User, batch: str | None = None
) -> AssistanceRecord:
    """Assistance to the NGO's own walk-in beneficiary (no referral)."""
    errors, clean = _assistance_errors(values)
    service_code = values.get("service_code")
    if not service_code or db.session.get(Service, service_code) is None:
        errors["service_code"] = _message(_l("Unknown service."))
    if person.organisation_id != by.organisation_id:
        errors["person_id"] = _message(_l("Not one of your beneficiaries."))
    if errors:
        raise ServiceError(errors)
    row = AssistanceRecord(
        person_id=person.id, provider_id=by.organisation_id, service_code=service_code,
        recorded_by_id=by.id, batch=batch, **clean,
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    person_event(person.id, "assistance_recorded", by, row, service=service_code)
    record("assistance.record", user=by, record=row, person_id=person.id)
    return row


def correct_assistance(
    original: AssistanceRecord, values: dict[str, Any], *, by: User
) -> AssistanceRecord:
    """A correction is a new record that references the old one; nothing is deleted."""
    if original.provider_id != by.organisation_id:
        raise ReferralActionForbidden(PROVIDER)
    corrected = select(AssistanceRecord.id).where(AssistanceRecord.corrects_id == original.id)
    if db.session.scalar(corrected.limit(1)) is not None:
        # A second correction of the same record would leave two live records, counted twice.
        raise ServiceError(
            {"corrects_id": _message(_l("This record was already corrected: correct the latest."))}
        )
    merged = {
        "date": original.given_on, "quantity": original.quantity, "unit": original.unit,
        "place": original.place, "outcome": original.outcome, "notes": original.notes,
        "service_code": original.service_code, **values,
    }  # fmt: skip
    if original.referral is not None:
        return record_assistance(original.referral, merged, by=by, corrects=original)
    person = db.session.get(Person, original.person_id)
    row = record_walk_in_assistance(person, merged, by=by)
    row.corrects_id = original.id
    return row


def distribute(
    targets: list[Referral | Person], values: dict[str, Any], *, by: User
) -> list[AssistanceRecord]:
    """Bulk entry: one service to many people on one date, all or nothing."""
    batch = str(uuid.uuid4())
    rows = []
    problems: dict[str, list[str]] = {}
    for target in targets:
        try:
            if isinstance(target, Referral):
                rows.append(record_assistance(target, values, by=by, batch=batch))
            else:
                rows.append(record_walk_in_assistance(target, values, by=by, batch=batch))
        except ServiceError as error:
            key = f"person {target.person_id if isinstance(target, Referral) else target.id}"
            problems[key] = [m for messages in error.errors.values() for m in messages]
    if problems:
        raise ServiceError(problems)
    return rows


def superseded_ids(records: list[AssistanceRecord]) -> set[int]:
    """Records that a later record corrects: shown struck through, never counted twice."""
    return {r.corrects_id for r in records if r.corrects_id is not None}
