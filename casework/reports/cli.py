"""`casework stats rebuild` and `casework stats check`: the processing-time summary table and
the programme reach table."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from casework.extensions import db
from casework.reports import reach, summary


@click.group("stats")
def stats_group() -> None:
    """Statistics: the summary tables behind the processing times and programme indicators."""


@stats_group.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Recount the processing-time summary from the case files (after a load that wrote
    files outside the application, or if `casework stats check` finds a difference)."""
    buckets = summary.rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"Processing summary rebuilt: {buckets} buckets.")
    rows = reach.rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"Programme reach rebuilt: {rows} rows.")


@stats_group.command("check")
@with_appcontext
def check_command() -> None:
    """Compare the processing-time summary with a recount from the case files; exits with
    status 1 when they differ."""
    found = summary.differences(db.session.connection())
    reach_found = reach.differences(db.session.connection())
    db.session.rollback()
    if not found:
        click.echo("Processing summary matches the case files.")
    for side, row in found:
        click.echo(f"only in {side}: {row}", err=True)
    if not reach_found:
        click.echo("Programme reach matches the referrals and assistance records.")
    for side, row in reach_found:
        click.echo(f"programme reach, as in the {side}: {row}", err=True)
    if found or reach_found:
        table = "processing summary" if found else "programme reach"
        raise click.ClickException(
            f"The {table} differs from a recount: run `casework stats rebuild`."
        )
