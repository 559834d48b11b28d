"""The `casework` command: a Flask CLI group with each domain's commands attached.

`casework db upgrade` (and every Flask-Migrate command), `casework reference load`,
`casework create-user`, `casework demo`, `casework setup`, `casework subject-access`,
`casework retention apply`, `casework keys generate|status|rotate`,
`casework stats rebuild|check`.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    from casework import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Casework: case management for asylum and regularisation files."""


def register_commands(app: Flask) -> None:
    from casework.audit.cli import audit_group
    from casework.auth.cli import create_user_command
    from casework.demo.cli import demo_command, setup_command
    from casework.imports.cli import import_command
    from casework.keys_cli import keys_group
    from casework.people.dp_cli import retention_group, subject_access_command
    from casework.reference.cli import reference_group
    from casework.reports.cli import stats_group

    for command in (
        audit_group,
        create_user_command,
        demo_command,
        setup_command,
        reference_group,
        import_command,
        subject_access_command,
        retention_group,
        keys_group,
        stats_group,
    ):
        app.cli.add_command(command)
