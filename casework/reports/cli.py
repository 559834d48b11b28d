"""`casework stats rebuild` and `casework stats check`: the processing-time summary table."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from casework.extensions import db
from casework.reports import summary


@click.group("stats")
def stats_group() -> None:
    """Statistics: the summary table behind the processing times."""


@stats_group.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Recount the processing-time summary from the case files (after a load that wrote
    files outside the application, or if `casework stats check` finds a difference)."""
    buckets = summary.rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"Processing summary rebuilt: {buckets} buckets.")


@stats_group.command("check")
@with_appcontext
def check_command() -> None:
    """Compare the processing-time summary with a recount from the case files; exits with
    status 1 when they differ."""
    found = summary.differences(db.session.connection())
    db.session.rollback()
    if not found:
        click.echo("Processing summary matches the case files.")
        return
    for side, row in found:
        click.echo(f"only in {side}: {row}", err=True)
    raise click.ClickException(
        "The processing summary differs from the case files: run `casework stats rebuild`."
    )
