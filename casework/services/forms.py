"""Forms of the service pages: catalogue, offers, referrals, assistance, distributions, consent.

The operations check the rules (consent, offers, dates, quantities) and answer by field; these
forms only read what was typed, so that what the user typed is always shown back.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from casework.extensions import db
from casework.models_base import current_language
from casework.people.models import VULNERABILITIES
from casework.reference.models import Programme, Region
from casework.services.models import URGENCY_LABELS
from casework.services.operations import URGENCIES


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def grouped_service_choices(codes: set[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Active services grouped by programme (an <optgroup> each), optionally only `codes`."""
    groups: dict[str, list[tuple[str, str]]] = {}
    query = select(Programme).order_by(Programme.number)
    for programme in db.session.scalars(query):
        services = [
            (s.code, s.name)
            for s in programme.services
            if s.active and (codes is None or s.code in codes)
        ]
        if services:
            groups[f"{programme.number}. {programme.name}"] = services
    return groups


def programme_choices() -> list[tuple[str, str]]:
    rows = db.session.scalars(select(Programme).order_by(Programme.number))
    return [(p.code, f"{p.number}. {p.name}") for p in rows]


def region_choices() -> list[tuple[str, str]]:
    column = getattr(Region, f"name_{current_language()}")
    rows = db.session.execute(select(Region.code, column).order_by(Region.code)).all()
    return [(code, f"{code} · {name}") for code, name in rows]


# --- Catalogue (administrators) -------------------------------------------------------------


class ServiceForm(FlaskForm):
    name_fr = StringField(_l("Name in French"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_ar = StringField(_l("Name in Arabic"), validators=[DataRequired(), Length(max=200)])
    active = BooleanField(_l("Active: people can be referred to it"), default=True)

    def names(self) -> dict[str, str]:
        return {
            "name_fr": self.name_fr.data.strip(),
            "name_en": self.name_en.data.strip(),
            "name_ar": self.name_ar.data.strip(),
        }


class NewServiceForm(ServiceForm):
    programme_code = SelectField(_l("Programme"))
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(),
            Regexp(
                r"^[a-z][a-z0-9_]{2,39}$",
                message=_l("3 to 40 lower-case letters, digits or underscores."),
            ),
        ],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.programme_code.choices = programme_choices()


class OfferForm(FlaskForm):
    """An organisation's offer of one service: where, how many places, whether active."""

    region_codes = MultiCheckboxField(_l("Regions covered"), validators=[Optional()])
    capacity = IntegerField(
        _l("Open places"),
        validators=[Optional(), NumberRange(min=0, max=100000)],
    )
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.region_codes.choices = region_choices()


class NewOfferForm(OfferForm):
    service_code = SelectField(_l("Service"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.service_code.choices = grouped_service_choices()


# --- Referrals ------------------------------------------------------------------------------


class ChooseServiceForm(FlaskForm):
    """The first step of a referral: which service (read with GET; changes nothing)."""

    class Meta:
        csrf = False

    service = SelectField(_l("Service"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.service.choices = grouped_service_choices()


class ReferralForm(FlaskForm):
    provider_id = SelectField(_l("Provider"), coerce=int, validate_choice=False)
    purpose = TextAreaField(_l("Purpose of the referral"), validators=[Length(max=4000)])
    urgency = SelectField(
        _l("Urgency"), choices=[(code, URGENCY_LABELS[code]) for code in URGENCIES],
        default="normal",
    )  # fmt: skip
    due_date = DateField(_l("Due date"), validators=[Optional()])
    include_household = BooleanField(_l("Refer the whole household"))
    consent_given = BooleanField(_l("The person consents to this referral"))
    consent_date = DateField(_l("Date the consent was given"), validators=[Optional()],
                             default=date.today)  # fmt: skip
    consent_scope = StringField(_l("What the person agreed to"), validators=[Length(max=500)])
    shared_vulnerabilities = MultiCheckboxField(
        _l("Vulnerabilities the person agrees to share with the provider"),
        validators=[Optional()],
    )

    # ServiceError keys of operations.send_referral -> the field that shows the message.
    ERROR_FIELDS = {
        "provider_id": "provider_id",
        "purpose": "purpose",
        "urgency": "urgency",
        "due_date": "due_date",
        "consent": "consent_given",
        "consent.date": "consent_date",
        "consent.purpose": "consent_scope",
        "consent.shared_vulnerabilities": "shared_vulnerabilities",
    }

    def set_vulnerabilities(self, codes: list[str]) -> None:
        self.shared_vulnerabilities.choices = [(c, VULNERABILITIES[c]) for c in codes]

    def consent_values(self) -> dict:
        return {
            "given": bool(self.consent_given.data),
            "date": self.consent_date.data,
            "scope": (self.consent_scope.data or "").strip(),
            "shared_vulnerabilities": list(self.shared_vulnerabilities.data or []),
        }


class ReferralActionForm(FlaskForm):
    """A button on a referral: carries the version seen, and the reason or outcome asked."""

    version = HiddenField()
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])
    outcome = TextAreaField(_l("Outcome"), validators=[Length(max=2000)])


# --- Assistance -----------------------------------------------------------------------------


class AssistanceForm(FlaskForm):
    given_on = DateField(_l("Date"), validators=[Optional()], default=date.today)
    service_code = SelectField(_l("Service"))
    quantity = StringField(_l("Quantity"), validators=[Length(max=20)])
    unit = StringField(_l("Unit"), validators=[Length(max=40)])
    place = StringField(_l("Place"), validators=[Length(max=200)])
    outcome = StringField(_l("Outcome"), validators=[Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=4000)])

    # ServiceError keys of operations.record_assistance -> the field that shows the message.
    ERROR_FIELDS = {
        "date": "given_on",
        "quantity": "quantity",
        "unit": "unit",
        "service_code": "service_code",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.service_code.choices = grouped_service_choices()

    def values(self) -> dict:
        return {
            "date": self.given_on.data,
            "service_code": self.service_code.data,
            "quantity": (self.quantity.data or "").strip().replace(",", "."),
            "unit": self.unit.data,
            "place": self.place.data,
            "outcome": self.outcome.data,
            "notes": self.notes.data,
        }


class DistributionForm(AssistanceForm):
    """One service to many people on one date."""

    targets = MultiCheckboxField(_l("People"), validate_choice=False)


# --- Walk-ins -------------------------------------------------------------------------------


class ShareConsentForm(FlaskForm):
    """A walk-in's consent to share their record with an agency office."""

    office_id = SelectField(_l("Agency office"), coerce=int)
    given_on = DateField(_l("Date the consent was given"), validators=[Optional()],
                         default=date.today)  # fmt: skip
    purpose = StringField(_l("What the person agreed to"), validators=[Length(max=500)])

    ERROR_FIELDS = {"date": "given_on", "purpose": "purpose"}
