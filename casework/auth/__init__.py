"""Accounts, sign-in and API tokens."""

from casework.auth import loading  # noqa: F401 - registers the Flask-Login loaders
