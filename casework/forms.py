"""Forms shared by every page."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from casework.i18n import LANGUAGE_NAMES


class LanguageForm(FlaskForm):
    language = SelectField(choices=list(LANGUAGE_NAMES.items()))
    next = HiddenField()
