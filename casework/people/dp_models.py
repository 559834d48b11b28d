"""Law 09-08 records: the history of corrections made to a person's record.

`person.update` audit entries name the fields that changed, never their values (the audit
trail carries no personal data). The right of rectification also needs what a field said
before: each correction keeps `{field: [old, new]}` here, shown on the person's page and in
the subject-access export, and deleted when the person is anonymised.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.auth.models import User
from casework.extensions import db
from casework.models_base import utcnow


class PersonRevision(db.Model):
    """One correction of a person's record: the changed fields with their old and new values."""

    __tablename__ = "person_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # {field: [old, new]}, dates as ISO text.
    fields: Mapped[dict] = mapped_column(JSON)

    changed_by: Mapped[User | None] = relationship()
