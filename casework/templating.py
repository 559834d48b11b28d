"""Template filters: dates and numbers per locale, labels of codes."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal

from casework.models_base import as_utc


def register_template_helpers(app: Flask) -> None:
    @app.template_filter("day")
    def day(value: date | datetime | None, style: str = "medium") -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.date()
        return format_date(value, style)

    @app.template_filter("moment")
    def moment(value: datetime | None) -> str:
        return "—" if value is None else format_datetime(as_utc(value), "short")

    @app.template_filter("number")
    def number(value: float | int | None) -> str:
        return "—" if value is None else format_decimal(value)

    @app.context_processor
    def labels() -> dict:
        from flask_babel import get_locale

        from casework.people.models import SEX_LABELS, VULNERABILITIES, Sex
        from casework.policy import ROLE_LABELS, Role

        def role_label(role: str) -> str:
            return str(ROLE_LABELS.get(Role(role), role))

        def sex_label(sex: str | None) -> str:
            return str(SEX_LABELS[Sex(sex)]) if sex else "—"

        def vulnerability_label(code: str) -> str:
            return str(VULNERABILITIES.get(code, code))

        def language_list(codes: list[str] | None) -> str:
            names = get_locale().languages if get_locale() else {}
            return ", ".join((names.get(code) or code) for code in codes or [])

        return {
            "role_label": role_label,
            "sex_label": sex_label,
            "vulnerability_label": vulnerability_label,
            "language_list": language_list,
            "today": date.today,
        }

    @app.context_processor
    def case_labels() -> dict:
        from flask import current_app
        from flask_babel import lazy_gettext as _l

        from casework.cases.workflows import state_label

        outcomes = {
            "favourable": _l("Favourable"),
            "unfavourable": _l("Unfavourable"),
            "granted": _l("Granted"),
            "dismissed": _l("Dismissed"),
        }

        def outcome_name(code: str | None) -> str:
            return str(outcomes.get(code, code or "—"))

        def url_exists(endpoint: str) -> bool:
            return endpoint in current_app.view_functions

        return {"state_name": state_label, "outcome_name": outcome_name, "url_exists": url_exists}

    @app.template_filter("reason_name")
    def reason_name(code: str) -> str:
        from casework.cases.workflows import DECISION_REASONS

        return str(DECISION_REASONS.get(code, code))
