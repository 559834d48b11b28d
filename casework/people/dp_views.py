"""Pages for personal data (law 09-08): the subject-access export of one person.

A supervisor answers a person's request of access: `/people/<id>/subject-access` offers the
export as PDF (to hand over, French and Arabic) or JSON (machine-readable); the export is made
and audited on POST (`person.subject_access`). The person must be in the supervisor's scope
(`people_scope`, through `get_person_or_404`); the export then holds everything the system
keeps about them (see `casework.people.subject_access`).
"""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, render_template, request, send_file
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import DataRequired

from casework.extensions import db
from casework.people import subject_access
from casework.people.data_protection import field_label
from casework.people.views import get_person_or_404
from casework.policy import requires

bp = Blueprint("data_protection", __name__)


@bp.app_context_processor
def data_protection_labels() -> dict:
    return {"personal_field_label": field_label}


class SubjectAccessForm(FlaskForm):
    file_format = RadioField(
        _l("Format"),
        choices=[
            ("pdf", _l("PDF, to hand to the person (French and Arabic)")),
            ("json", _l("JSON, machine-readable")),
        ],
        default="pdf",
        validators=[DataRequired()],
    )


@bp.route("/people/<int:person_id>/subject-access", methods=["GET", "POST"])
@requires("person.subject_access")
def subject_access_view(person_id: int):
    person = get_person_or_404(person_id)
    form = SubjectAccessForm()
    if form.validate_on_submit():
        result = subject_access.export(
            person, form.file_format.data, by=current_user, channel="web"
        )
        db.session.commit()
        response = send_file(
            BytesIO(result.content),
            mimetype=result.mimetype,
            as_attachment=True,
            download_name=result.filename,
            max_age=0,
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    status = 422 if request.method == "POST" else 200
    return render_template("data_protection/subject_access.html", person=person, form=form), status
