"""Account and organisation forms for administrators."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from casework.admin.models import ORGANISATION_KIND_LABELS, Organisation
from casework.auth.passwords import password_problems
from casework.extensions import db
from casework.i18n import LANGUAGE_NAMES
from casework.models_base import current_language
from casework.people.forms import prefecture_choices
from casework.policy import ROLE_LABELS
from casework.reference.models import Region


def organisation_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name)
    ).all()
    return [(str(i), name) for i, name in rows]


def region_choices() -> list[tuple[str, str]]:
    column = getattr(Region, f"name_{current_language()}")
    rows = db.session.execute(select(Region.code, column).order_by(Region.code)).all()
    return [("", _l("National (all regions)"))] + [(code, name) for code, name in rows]


class UserForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[(r.value, label) for r, label in ROLE_LABELS.items()])
    organisation_id = SelectField(_l("Organisation"), coerce=int)
    region_code = SelectField(_l("Supervised region"), validators=[Optional()])
    preferred_language = SelectField(_l("Language"), choices=list(LANGUAGE_NAMES.items()))
    active = BooleanField(_l("Active"), default=True)
    # No `Optional()` here: it would stop validation on an empty field, so `validate_password`
    # could not refuse a new account without a password.
    password = PasswordField(_l("Password"))

    def __init__(self, *args, creating: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.organisation_id.choices = [(int(k), v) for k, v in organisation_choices()]
        self.region_code.choices = region_choices()

    def validate_password(self, field) -> None:
        if self.creating and not field.data:
            raise ValidationError(_l("A new account needs a password."))
        if field.data:
            problems = password_problems(field.data, email=self.email.data or "")
            if problems:
                raise ValidationError(" ".join(problems))


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    name_ar = StringField(
        _l("Name in Arabic"),
        validators=[Optional(), Length(max=200)],
        render_kw={"dir": "rtl", "lang": "ar"},
    )
    code = StringField(_l("Code"), validators=[DataRequired(), Length(min=2, max=12)])
    kind = SelectField(
        _l("Kind"), choices=[(k.value, label) for k, label in ORGANISATION_KIND_LABELS.items()]
    )
    prefecture_code = SelectField(_l("Prefecture or province"), validators=[Optional()])
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.prefecture_code.choices = prefecture_choices()

    def validate_code(self, field) -> None:
        if not field.data.replace("-", "").isalnum():
            raise ValidationError(_l("Letters, digits and dashes only."))
        field.data = field.data.upper()
