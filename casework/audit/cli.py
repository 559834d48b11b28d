"""`casework audit verify`: check that nobody changed, removed or inserted audit entries."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from casework.audit.chain import verify


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@with_appcontext
def verify_command() -> None:
    """Walk the hash chain and name the first entry changed, removed or inserted."""
    checked, problem = verify()
    if problem is not None:
        click.echo(f"Audit trail BROKEN after {checked} good entries: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"Audit trail intact: {checked} entries verified.")
