"""`casework create-user`: create an account from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from casework.admin.models import Organisation
from casework.auth.operations import create_user, find_user_by_email
from casework.auth.passwords import password_problems
from casework.extensions import db
from casework.policy import Role


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", default=None, help="Display name (defaults to the email).")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--organisation", required=True, help="Organisation code (e.g. RAB) or name.")
@click.option("--region", default=None, help="Region code, for a regional supervisor.")
@click.password_option(help="Prompted for when not given.")
@with_appcontext
def create_user_command(email, name, role, organisation, region, password) -> None:
    """Create an account. The password is prompted for and never echoed."""
    org = db.session.scalar(
        select(Organisation).where(
            (Organisation.code == organisation) | (Organisation.name == organisation)
        )
    )
    if org is None:
        raise click.BadParameter(f"no organisation {organisation!r}", param_hint="--organisation")
    if find_user_by_email(email):
        raise click.BadParameter(f"{email} already has an account", param_hint="--email")
    problems = password_problems(password, email=email)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="password")
    user = create_user(
        email=email,
        name=name or email,
        role=role,
        organisation_id=org.id,
        region_code=region,
        password=password,
    )
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role}, {org.code}).")
