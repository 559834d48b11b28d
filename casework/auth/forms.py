"""Sign-in and account forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from casework.auth.passwords import password_problems
from casework.i18n import LANGUAGE_NAMES


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class NewPasswordMixin:
    """A new password: 12 characters or more, not a common one, typed twice."""

    def validate_new_password(self, field) -> None:
        email = getattr(self, "_account_email", "")
        problems = password_problems(field.data or "", email=email)
        if problems:
            raise ValidationError(" ".join(problems))


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"),
        validators=[DataRequired(), Length(max=20)],
    )


class EnrolSecondFactorForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[Optional()])
    code = StringField(_l("Code shown by the app"), validators=[Optional(), Length(max=10)])


class ReauthenticateForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired()])


class PreferencesForm(FlaskForm):
    preferred_language = SelectField(_l("Language"), choices=list(LANGUAGE_NAMES.items()))


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: for buttons that change state (sign out...)."""


def email_validator():
    return Email(message=_l("Enter a valid email address."), check_deliverability=False)
