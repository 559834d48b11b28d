"""Personal data on the command line (law 09-08).

    casework subject-access 42 --format pdf --output acces-42.pdf --by supervisor@example.ma
    casework subject-access 42 > acces-42.json
    casework retention policy
    casework retention apply --dry-run
    casework retention apply --by admin@example.ma

`subject-access` writes everything held about one person (JSON to the standard output unless
`--output`; a PDF to `--output` or to its default name in the current directory), files created
readable by their owner only, and audits the export. `retention apply` anonymises the people
past their retention period (`casework.people.retention`); `--dry-run` lists them (ids, codes and
dates only, never names) and changes nothing. `--by` names the account recorded in the audit
trail; it must be allowed the action (a supervisor for subject access, an administrator for
retention).
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from casework.auth.models import User
from casework.extensions import db
from casework.people import subject_access
from casework.people.models import Person
from casework.people.retention import (
    CLOSED_FILES,
    Anonymised,
    Candidate,
    RetentionPolicy,
    apply_retention,
)
from casework.policy import can


def _actor(email: str | None, action: str, record=None) -> User | None:
    if not email:
        return None
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        raise click.ClickException(f"No active account {email}.")
    if not can(user, action, record):
        raise click.ClickException(f"{user.email} may not take the action {action}.")
    return user


def _write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path`, readable by its owner only (it holds personal data)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(content)


@click.command("subject-access")
@click.argument("person_id", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(subject_access.FORMATS),
    default="json",
    show_default=True,
    help="JSON (machine-readable) or PDF (French and Arabic, to hand to the person).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write (default: JSON to the standard output, PDF to its own name).",
)
@click.option("--by", "by_email", help="The supervisor answering the request (audited).")
@with_appcontext
def subject_access_command(person_id: int, fmt: str, output: Path | None, by_email: str | None):
    """Export everything held about one person (right of access, law 09-08)."""
    person = db.session.get(Person, person_id)
    if person is None:
        raise click.ClickException(f"No person {person_id}.")
    by = _actor(by_email, "person.subject_access", person)
    result = subject_access.export(person, fmt, by=by, channel="cli")
    db.session.commit()
    if output is None and fmt == "json":
        sys.stdout.buffer.write(result.content)
        sys.stdout.buffer.flush()
        return
    path = output or Path(result.filename)
    _write_private(path, result.content)
    click.echo(f"Wrote {path} ({len(result.content)} bytes).", err=output is None)


@click.group("retention")
def retention_group() -> None:
    """Retention of personal data (law 09-08): the policy, and anonymising who is past it."""


@retention_group.command("policy")
@with_appcontext
def policy_command() -> None:
    """Print the retention periods in force."""
    policy = RetentionPolicy.from_config(current_app.config)
    click.echo(
        f"People with files: anonymised {policy.closed_case_years} years after their last file "
        "was closed or withdrawn (RETENTION_CLOSED_CASE_YEARS)."
    )
    click.echo(
        f"People without a file: anonymised {policy.walk_in_years} years after their record last "
        "changed (RETENTION_WALK_IN_YEARS)."
    )
    click.echo(
        "Nobody with an open referral, or with service activity within "
        f"{policy.walk_in_years} years, is anonymised."
    )


def _describe(candidate: Candidate) -> str:
    if candidate.rule == CLOSED_FILES:
        last = candidate.last_closed_on.isoformat() if candidate.last_closed_on else "unknown"
        why = f"{candidate.files} file(s) closed, the last on {last}"
    else:
        last = candidate.last_activity.isoformat() if candidate.last_activity else "unknown"
        why = f"no file, record unchanged since {last}"
    return f"person {candidate.person_id} (held by {candidate.organisation}; {why})"


@retention_group.command("apply")
@click.option("--dry-run", is_flag=True, help="List who would be anonymised; change nothing.")
@click.option("--by", "by_email", help="The administrator running the job (audited).")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="With --dry-run: who would be due on this day (default: today).",
)
@with_appcontext
def apply_command(dry_run: bool, by_email: str | None, as_of) -> None:
    """Anonymise the people past their retention period; the statistics stay unchanged."""
    policy = RetentionPolicy.from_config(current_app.config)
    today = as_of.date() if as_of else date.today()
    if today > date.today() and not dry_run:
        raise click.ClickException("--as-of a future day is only for --dry-run.")
    by = _actor(by_email, "retention.run")

    def report(candidate: Candidate, done: Anonymised | None) -> None:
        if done is None:
            click.echo(f"Would anonymise {_describe(candidate)}.")
        else:
            merged = f", with {done.records - 1} merged record(s)" if done.records > 1 else ""
            click.echo(f"Anonymised {_describe(candidate)}{merged}.")

    result = apply_retention(policy, today=today, by=by, dry_run=dry_run, on_person=report)
    if dry_run:
        click.echo(f"Dry run: {len(result.due)} people would be anonymised. Nothing was changed.")
    else:
        click.echo(
            f"{len(result.done)} people anonymised; {result.blobs_removed} stored scan(s) removed."
        )
