"""Keys of the encryption at rest of the sensitive fields (`casework.field_encryption`).

    casework keys generate [--key-id k2026]   print a new FIELD_ENCRYPTION_KEYS entry
    casework keys status                      per encrypted column: plaintext, per key id
    casework keys rotate [--dry-run] [--batch-size 500]

Rotating to a new key: put the new entry first in FIELD_ENCRYPTION_KEYS, keep the old ones after
it, restart the application, run `casework keys rotate`, check `casework keys status` shows
nothing under the old key, then remove it. The output carries counts only, never a value.
"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from casework.field_encryption import KeyringError, current_keyring, new_key_entry
from casework.key_rotation import encrypted_columns, rotate_column, status


@click.group("keys")
def keys_group() -> None:
    """Encryption at rest of the sensitive fields: keys, status, rotation."""


@keys_group.command("generate")
@click.option("--key-id", help="The new key's id (default: k and today's date, k20260131).")
@with_appcontext
def generate_command(key_id: str | None) -> None:
    """Print a new `keyid:key` entry to put first in FIELD_ENCRYPTION_KEYS."""
    key_id = key_id or f"k{date.today():%Y%m%d}"
    try:
        entry = new_key_entry(key_id)
    except KeyringError as error:
        raise click.BadParameter(str(error), param_hint="--key-id") from error
    if key_id in current_keyring().keys:
        raise click.BadParameter(f"{key_id} is already in use.", param_hint="--key-id")
    # Only to the standard output: the operator stores it with the other secrets.
    click.echo(entry)


@keys_group.command("status")
@with_appcontext
def status_command() -> None:
    """Count, per encrypted column, the values in clear and under each key."""
    keyring = current_keyring()
    click.echo(
        f"Current key: {keyring.current_id}"
        if keyring.enabled
        else "Encryption is off (FIELD_ENCRYPTION_KEYS is empty): new values are stored in clear."
    )
    for column in status():
        parts = [f"{column.plaintext} in clear"]
        parts += [f"{count} under {key_id}" for key_id, count in column.by_key.items()]
        if column.unknown_key:
            parts.append(f"{column.unknown_key} under a key that is not configured")
        click.echo(f"{column.label}: {', '.join(parts)} ({column.empty} empty)")


@keys_group.command("rotate")
@click.option("--dry-run", is_flag=True, help="Count what would be re-encrypted; change nothing.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True)
@with_appcontext
def rotate_command(dry_run: bool, batch_size: int) -> None:
    """Re-encrypt under the current key every value in clear or under an older key."""
    keyring = current_keyring()
    if not keyring.enabled:
        raise click.ClickException("Set FIELD_ENCRYPTION_KEYS first: there is no key to rotate to.")
    verb = "would re-encrypt" if dry_run else "re-encrypted"
    total = 0
    for entry in encrypted_columns():
        count = rotate_column(entry, keyring, batch_size=batch_size, dry_run=dry_run)
        total += count
        click.echo(f"{entry.label}: {verb} {count} values under {keyring.current_id}.")
    click.echo(f"Done: {verb} {total} values." if total else "Nothing to re-encrypt.")
