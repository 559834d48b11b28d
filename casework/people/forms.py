"""Forms for registering, editing and finding people and households."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import get_locale
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
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from casework.extensions import db
from casework.models_base import current_language
from casework.people.models import (
    DOCUMENT_KIND_LABELS,
    RELATIONSHIP_LABELS,
    SEX_LABELS,
    Relationship,
)
from casework.reference.models import Country, Prefecture

# Languages people in the files commonly speak (ISO 639 codes), for interpreters and services.
SPOKEN_LANGUAGES = (
    "ar", "fr", "en", "es", "pt", "wo", "ff", "bm", "dyu", "ha", "yo", "ig", "ln", "sw",
    "kg", "tl", "zh", "ku", "ti", "am", "so", "tzm", "zgh",
)  # fmt: skip


def country_choices() -> list[tuple[str, str]]:
    column = getattr(Country, f"name_{current_language()}")
    rows = db.session.execute(select(Country.alpha2, column).order_by(column)).all()
    return [("", "—")] + [(code, name) for code, name in rows]


def prefecture_choices() -> list[tuple[str, str]]:
    column = getattr(Prefecture, f"name_{current_language()}")
    rows = db.session.execute(select(Prefecture.code, column).order_by(column)).all()
    return [("", "—")] + [(code, name) for code, name in rows]


def language_choices() -> list[tuple[str, str]]:
    names = get_locale().languages if get_locale() else {}
    return sorted(
        ((code, (names.get(code) or code).capitalize()) for code in SPOKEN_LANGUAGES),
        key=lambda pair: pair[1],
    )


def not_in_future(_form, field) -> None:
    if field.data and field.data > date.today():
        raise ValidationError(_l("This date is in the future."))


class PersonForm(FlaskForm):
    family_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=120)])
    given_names = StringField(_l("Given names"), validators=[DataRequired(), Length(max=120)])
    family_name_ar = StringField(_l("Family name (Arabic script)"), validators=[Length(max=120)])
    given_names_ar = StringField(_l("Given names (Arabic script)"), validators=[Length(max=120)])
    sex = SelectField(
        _l("Sex"),
        choices=[(k.value, v) for k, v in SEX_LABELS.items()],
        validators=[DataRequired()],
    )
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional(), not_in_future])
    date_of_birth_approximate = BooleanField(_l("Approximate date of birth"))
    nationality = SelectField(_l("Nationality"), validators=[Optional()])
    languages = SelectMultipleField(_l("Languages spoken"), validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    prefecture_code = SelectField(_l("Prefecture or province"), validators=[Optional()])
    unaccompanied_minor = BooleanField(_l("Unaccompanied minor"))
    pregnant = BooleanField(_l("Pregnant"))
    serious_illness = BooleanField(_l("Serious illness"))
    disability = BooleanField(_l("Disability"))
    trafficking_victim = BooleanField(_l("Victim of trafficking"))
    vulnerability_notes = TextAreaField(_l("Vulnerability notes"), validators=[Length(max=4000)])
    version = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.nationality.choices = country_choices()
        self.prefecture_code.choices = prefecture_choices()
        self.languages.choices = language_choices()

    def keep_writable(self, user: Any, person: Any) -> PersonForm:
        """Leave out the sensitive fields `user` may not write on `person` (a new person: the
        one being registered), so that they are neither shown nor sent back empty."""
        from casework.policy import can_write_field, sensitive_fields

        for name in sensitive_fields("person"):
            if name in self and not can_write_field(user, person, name):
                del self[name]
        return self

    def person_values(self) -> dict:
        from casework.people.operations import PERSON_FIELDS

        return {name: self[name].data for name in PERSON_FIELDS if name in self}


class DocumentForm(FlaskForm):
    kind = SelectField(
        _l("Document"), choices=[(k.value, v) for k, v in DOCUMENT_KIND_LABELS.items()]
    )
    number = StringField(_l("Number"), validators=[DataRequired(), Length(max=60)])
    issuing_country = SelectField(_l("Issued by"), validators=[Optional()])
    expires_on = DateField(_l("Expires on"), validators=[Optional()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.issuing_country.choices = country_choices()

    def document_values(self) -> dict:
        return {
            "kind": self.kind.data,
            "number": self.number.data.strip(),
            "issuing_country": self.issuing_country.data or None,
            "expires_on": self.expires_on.data,
        }


class RegistrationDocumentForm(DocumentForm):
    """The optional first document typed on the registration form."""

    number = StringField(_l("Number"), validators=[Optional(), Length(max=60)])


class DuplicateWarningForm(FlaskForm):
    """On the registration form, once probable duplicates were shown."""

    save_anyway = BooleanField(_l("This is a different person: register anyway"))


class MergeForm(FlaskForm):
    """Merge a suspected pair: which record to keep, and why."""

    keep = SelectField(_l("Record to keep"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Why these are the same person"), validators=[DataRequired(), Length(max=2000)]
    )


class SearchForm(FlaskForm):
    """Searches are posted, never put in the URL: names are personal data."""

    q = StringField(_l("Name or document number"), validators=[Length(max=200)])
    nationality = SelectField(_l("Nationality"), validators=[Optional()])
    sex = SelectField(
        _l("Sex"),
        choices=[("", "—")] + [(k.value, v) for k, v in SEX_LABELS.items()],
        validators=[Optional()],
    )
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    cursor = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.nationality.choices = country_choices()


class AddMemberForm(FlaskForm):
    person_id = IntegerField(_l("Person number"), validators=[DataRequired()])
    relationship = SelectField(
        _l("Relationship to the head"),
        choices=[(k.value, v) for k, v in RELATIONSHIP_LABELS.items() if k != Relationship.HEAD],
    )
    version = HiddenField()


class VersionForm(FlaskForm):
    """A button acting on a versioned record: carries the version the user saw."""

    version = HiddenField()
