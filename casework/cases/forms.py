"""Forms for filing a case and for each workflow action.

An action's form is built from its row in the workflow table: the fields it requires, plus an
optional comment and the version the user saw.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

from casework.cases.confidential import CONFIDENTIAL_FIELDS
from casework.cases.confidential import MAX_LENGTH as CONFIDENTIAL_MAX_LENGTH
from casework.cases.models import CASE_KIND_LABELS, CaseKind
from casework.cases.workflows import DECISION_REASONS, workflow_for
from casework.people.forms import language_choices
from casework.policy import can_write_field


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class FileCaseForm(FlaskForm):
    kind = SelectField(
        _l("Kind of file"),
        choices=[
            (k.value, label) for k, label in CASE_KIND_LABELS.items() if k != CaseKind.RENEWAL
        ],
    )
    operation = SelectField(_l("Operation"), validators=[DataRequired()])
    category = SelectField(_l("Eligibility category"), validators=[Optional()])
    members = MultiCheckboxField(_l("Household members included in the file"), coerce=int)
    claim_narrative = TextAreaField(
        _l("Claim narrative (asylum files, confidential)"),
        validators=[Optional(), Length(max=CONFIDENTIAL_MAX_LENGTH)],
    )


class ConfidentialForm(FlaskForm):
    """The case's confidential fields; `for_case` keeps those the user may write on it."""

    claim_narrative = TextAreaField(
        _l("Claim narrative"), validators=[Optional(), Length(max=CONFIDENTIAL_MAX_LENGTH)]
    )
    medical_details = TextAreaField(
        _l("Medical details"), validators=[Optional(), Length(max=CONFIDENTIAL_MAX_LENGTH)]
    )
    version = HiddenField()

    def keep_writable(self, user: Any, case: Any) -> ConfidentialForm:
        for name in CONFIDENTIAL_FIELDS:
            if not can_write_field(user, case, name):
                del self[name]
        return self

    def values(self) -> dict[str, str | None]:
        return {name: self[name].data for name in CONFIDENTIAL_FIELDS if name in self}


OUTCOME_CHOICES = {
    "propose_decision": [("favourable", _l("Favourable")), ("unfavourable", _l("Unfavourable"))],
    "decide_appeal": [("granted", _l("Appeal granted")), ("dismissed", _l("Appeal dismissed"))],
}


def action_form_class(kind: str, state: str, action: str) -> type[FlaskForm]:
    """The form for `action` in `state` of a `kind` file, from the workflow table."""
    rows = [t for t in workflow_for(kind).from_state(state) if t.action == action]
    required = set().union(*(set(t.requires) for t in rows)) if rows else set()

    def needed(name: str):
        return [DataRequired()] if name in required else [Optional()]

    attributes: dict = {"version": HiddenField()}
    if "due_date" in required:
        attributes["due_date"] = DateField(_l("Information due by"), validators=needed("due_date"))
    if "outcome" in required:
        attributes["outcome"] = SelectField(
            _l("Outcome"), choices=OUTCOME_CHOICES.get(action, []), validators=needed("outcome")
        )
    if "reasons" in required:
        attributes["reasons"] = MultiCheckboxField(
            _l("Reasons"),
            choices=[(code, label) for code, label in DECISION_REASONS.items()],
            validators=needed("reasons"),
        )
        attributes["decision_text"] = TextAreaField(
            _l("Reasoning (free text)"), validators=[Optional(), Length(max=4000)]
        )
    if action == "approve_decision":
        attributes["notified_on"] = DateField(
            _l("Notified on (if not today)"), validators=[Optional()]
        )
    if "card_number" in required:
        attributes["card_number"] = StringField(
            _l("Card number"), validators=[DataRequired(), Length(max=40)]
        )
    if "interview_on" in required:
        attributes["interview_on"] = DateTimeLocalField(
            _l("Interview date and time"), validators=needed("interview_on")
        )
        attributes["interpreter_language"] = SelectField(
            _l("Interpreter language"), validators=needed("interpreter_language")
        )
    attributes["comment"] = TextAreaField(
        _l("Comment"), validators=[*needed("comment"), Length(max=4000)]
    )
    form_class = type(f"{action.title().replace('_', '')}Form", (FlaskForm,), attributes)
    return form_class


def build_action_form(kind: str, state: str, action: str, **kwargs) -> FlaskForm:
    form = action_form_class(kind, state, action)(prefix=action, **kwargs)
    if hasattr(form, "interpreter_language"):
        form.interpreter_language.choices = language_choices()
    return form


ACTION_INPUTS = (
    "due_date", "outcome", "reasons", "decision_text", "notified_on", "card_number",
    "interview_on", "interpreter_language", "comment",
)  # fmt: skip


def action_fields(form: FlaskForm) -> dict:
    """The action's input as the operation takes it."""
    return {name: getattr(form, name).data for name in ACTION_INPUTS if hasattr(form, name)}


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assign to"), coerce=int)
    version = HiddenField()


class BulkAssignForm(FlaskForm):
    assignee = SelectField(_l("Assign the selected files to"), coerce=int)
    case_ids = SelectMultipleField(coerce=int, choices=[], validate_choice=False)


class NoteForm(FlaskForm):
    comment = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=4000)])
