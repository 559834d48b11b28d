"""Column helpers shared by the domain models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from flask_babel import get_locale
from sqlalchemy import DateTime, Text, inspect
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class TrilingualNameMixin:
    """Reference rows carry their name in the three UI languages."""

    # Text, not a bounded string: official names (SDG targets) run past 250 characters.
    name_fr: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    name_ar: Mapped[str] = mapped_column(Text)

    @property
    def name(self) -> str:
        return self.name_in(current_language())

    def name_in(self, language: str) -> str:
        return getattr(self, f"name_{language}", None) or self.name_fr


def current_language() -> str:
    try:
        locale = get_locale()
    except RuntimeError:  # outside a request: French, the default
        return "fr"
    return locale.language if locale is not None else "fr"


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored moment is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def attributes_changed(record: object, names: Iterable[str]) -> bool:
    """Whether a flush is about to write a new value to any of these attributes of `record`
    (the summary tables' listeners use it to find the rows a write moves)."""
    attributes = inspect(record).attrs
    return any(attributes[name].history.has_changes() for name in names)
