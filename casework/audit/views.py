"""The auditor's view of the audit trail."""

from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, HiddenField, IntegerField, StringField
from wtforms.validators import Optional

from casework.audit.models import AuditEntry
from casework.auth.models import User
from casework.extensions import db
from casework.models_base import UTC
from casework.pagination import BadCursor, page_by_id_desc
from casework.policy import requires

bp = Blueprint("audit", __name__, url_prefix="/audit")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a read-only filter in the query string: nothing to forge

    user = StringField(_l("User (email)"), validators=[Optional()])
    action = StringField(_l("Action"), validators=[Optional()])
    record_type = StringField(_l("Record type"), validators=[Optional()])
    record_id = IntegerField(_l("Record number"), validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    cursor = HiddenField()


def audit_query(form: AuditFilterForm):
    query = select(AuditEntry)
    if form.user.data:
        query = query.where(
            AuditEntry.user_id.in_(
                select(User.id).where(User.email.contains(form.user.data.strip().lower()))
            )
        )
    if form.action.data:
        query = query.where(AuditEntry.action.startswith(form.action.data.strip()))
    if form.record_type.data:
        query = query.where(AuditEntry.record_type == form.record_type.data.strip())
    if form.record_id.data is not None:
        query = query.where(AuditEntry.record_id == form.record_id.data)
    if form.since.data:
        query = query.where(AuditEntry.at >= datetime.combine(form.since.data, time.min, UTC))
    if form.until.data:
        query = query.where(AuditEntry.at <= datetime.combine(form.until.data, time.max, UTC))
    return query


@bp.route("")
@requires("audit.view")
def trail():
    form = AuditFilterForm(request.args)
    form.validate()
    try:
        page = page_by_id_desc(audit_query(form), AuditEntry.id, form.cursor.data or None, 50)
    except BadCursor:
        page = page_by_id_desc(audit_query(form), AuditEntry.id, None, 50)
    emails = dict(
        db.session.execute(
            select(User.id, User.email).where(User.id.in_({e.user_id for e in page.items}))
        ).all()
    )
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    return render_template("audit/trail.html", form=form, page=page, emails=emails, args=args)
