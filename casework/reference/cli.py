"""`casework reference load`: load or refresh the shipped reference data."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from casework.extensions import db
from casework.reference.loader import load_all


@click.group("reference")
def reference_group() -> None:
    """Reference data: regions, prefectures, countries, operations, programmes."""


@reference_group.command("load")
@with_appcontext
def load_command() -> None:
    """Load the reference data shipped with Casework (safe to run again)."""
    counts = load_all()
    db.session.commit()
    click.echo(", ".join(f"{count} {name}" for name, count in counts.items()))
