"""Languages: French by default, English and Arabic (right-to-left)."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_login import current_user

LANGUAGE_NAMES = {"fr": "Français", "en": "English", "ar": "العربية"}
RIGHT_TO_LEFT = {"ar"}


def select_locale() -> str:
    """The signed-in user's choice, else the one picked on the sign-in page, else the browser's.

    Outside a request (the command line), the default language."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if getattr(current_user, "is_authenticated", False) and current_user.preferred_language:
        return current_user.preferred_language
    if session.get("language") in languages:
        return session["language"]
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def text_direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def register_i18n(app: Flask) -> None:
    from flask_babel import get_locale

    from casework.extensions import babel

    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def language_context() -> dict:
        language = str(get_locale() or "fr")
        return {
            "current_language": language,
            "text_direction": text_direction(language),
            "language_names": LANGUAGE_NAMES,
        }
