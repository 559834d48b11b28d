"""`casework demo` and `casework setup` (what `make run` calls)."""

from __future__ import annotations

import os
import secrets

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select

from casework.auth.models import User
from casework.extensions import db
from casework.reference.loader import load_all


def _demo_password(given: str | None) -> tuple[str, bool]:
    password = given or os.environ.get("CASEWORK_DEMO_PASSWORD")
    if password:
        return password, False
    return secrets.token_urlsafe(12), True


def run_demo(password: str | None, people: int) -> None:
    from casework.demo.generator import load_demo

    if not current_app.config["DEMO_ALLOWED"]:
        raise click.ClickException("The demo data set is refused in production configuration.")
    if db.session.scalar(select(User).where(User.email == "admin@demo.test")) is not None:
        click.echo("The demo data set is already loaded; nothing to do.")
        return
    password, generated = _demo_password(password)
    result = load_demo(password, people=people)
    db.session.commit()
    click.echo(
        f"Demo loaded: {result.organisations} organisations, {result.accounts} accounts, "
        f"{result.people} applicants in {result.households} households, "
        f"{result.cases} case files, {result.referrals} referrals and walk-ins."
    )
    if generated:
        click.echo(f"Demo accounts' password (shown once): {password}")
    for email in result.created_accounts:
        click.echo(f"  {email}")


def run_snia2014(password: str | None) -> None:
    """The 2014 regularisation as published (issue #5), into a new database."""
    from casework.demo.snia2014 import FILED, ScenarioRefused, check_new_database, load_snia2014

    if not current_app.config["DEMO_ALLOWED"]:
        raise click.ClickException("The demo data set is refused in production configuration.")
    password, generated = _demo_password(password)
    try:
        check_new_database()  # before the progress bar: a refusal changes nothing
        with click.progressbar(length=FILED, label="2014 regularisation files") as bar:
            result = load_snia2014(password, progress=bar.update)
        db.session.commit()
    except ScenarioRefused as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from refusal
    click.echo(
        f"Loaded {result.offices} foreigners' offices ({result.organisations} organisations), "
        f"{result.accounts} demo accounts, {result.people:,} applicants, {result.cases:,} "
        f"files and {result.events:,} timeline events."
    )
    if generated:
        click.echo(f"Demo accounts' password (shown once): {password}")
    for email in result.created_accounts:
        click.echo(f"  {email}")
    click.echo(result.summary())


@click.command("demo")
@click.option("--password", default=None, help="Password of every demo account.")
@click.option(
    "--people",
    default=300,
    show_default=True,
    help="How many synthetic applicants (default scenario).",
)
@click.option(
    "--scenario",
    type=click.Choice(["default", "snia-2014"]),
    default="default",
    show_default=True,
    help="default: a small demo with files in every state; snia-2014: the 27,650 files of the "
    "2014 regularisation with the published figures, into a new database.",
)
@with_appcontext
def demo_command(password: str | None, people: int, scenario: str) -> None:
    """Load the demo organisations, one account per role and synthetic applicants."""
    if scenario == "snia-2014":
        run_snia2014(password)
    else:
        run_demo(password, people)


@click.command("setup")
@click.option("--demo/--no-demo", default=False, help="Load the demo data into a new database.")
@with_appcontext
def setup_command(demo: bool) -> None:
    """Apply migrations, load reference data and, on a new database, the demo data set."""
    upgrade()
    counts = load_all()
    db.session.commit()
    click.echo("Reference data: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    if demo and not db.session.scalar(select(func.count()).select_from(User)):
        run_demo(None, 300)
