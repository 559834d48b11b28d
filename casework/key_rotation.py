"""Which values of the encrypted columns are under which key, and re-encryption under the current
key (`casework keys status` and `casework keys rotate`).

The encrypted columns are found in the mapped tables by their type (`EncryptedText`), so a new
encrypted column is covered by rotation and status without being listed anywhere else.

Rotation reads the stored text as it is (the column coerced to plain Text) and writes the new
ciphertext with Core UPDATEs by primary key: no ORM flush, so the optimistic-lock `version`
stays as it is, and `updated_at` is set to itself, so the rows do not look edited. Each UPDATE
also requires the stored text to be unchanged since it was read: a row that someone edited in
the meantime was written under the current key already, and is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Column, Table, Text, and_, bindparam, case, func, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from casework.extensions import db
from casework.field_encryption import PREFIX, EncryptedText, Keyring, current_keyring


@dataclass(frozen=True)
class EncryptedColumn:
    table: Table
    column: Column

    @property
    def label(self) -> str:
        return f"{self.table.name}.{self.column.name}"

    @property
    def key(self) -> Column:
        (primary,) = self.table.primary_key.columns
        return primary

    def stored(self) -> ColumnElement[str]:
        """The column as stored (ciphertext or plaintext), not decrypted."""
        return type_coerce(self.column, Text())


def encrypted_columns() -> list[EncryptedColumn]:
    """Every column of type EncryptedText in the mapped tables, in a stable order."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                entry = EncryptedColumn(table, column)
                # The label is the associated data of every stored value: a copy-paste mistake
                # here would make one column's values readable only as another's.
                if column.type.label != entry.label:
                    raise RuntimeError(f"{entry.label} is declared with label {column.type.label}.")
                found.append(entry)
    return found


@dataclass
class ColumnStatus:
    label: str
    empty: int = 0
    plaintext: int = 0
    by_key: dict[str, int] = field(default_factory=dict)
    unknown_key: int = 0


def _starts(stored: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    # substr and =, not LIKE: LIKE folds ASCII case on SQLite and treats _ as a wildcard.
    return func.substr(stored, 1, len(prefix)) == prefix


def _under(stored: ColumnElement[str], key_id: str) -> ColumnElement[bool]:
    return _starts(stored, f"{PREFIX}{key_id}:")


def column_status(entry: EncryptedColumn, keyring: Keyring) -> ColumnStatus:
    """Counts per state of one column, computed by the database (no value leaves it)."""
    stored = entry.stored()
    encrypted = _starts(stored, PREFIX)

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    key_ids = list(keyring.keys)
    row = db.session.execute(
        select(
            count(stored.is_(None)),
            count(and_(stored.is_not(None), ~encrypted)),
            count(encrypted),
            *(count(_under(stored, key_id)) for key_id in key_ids),
        ).select_from(entry.table)
    ).one()
    empty, plaintext, total_encrypted, *per_key = row
    by_key = dict(zip(key_ids, per_key, strict=True))
    return ColumnStatus(
        entry.label, empty, plaintext, by_key, total_encrypted - sum(by_key.values())
    )


def status() -> list[ColumnStatus]:
    keyring = current_keyring()
    return [column_status(entry, keyring) for entry in encrypted_columns()]


def _stale(entry: EncryptedColumn, keyring: Keyring) -> ColumnElement[bool]:
    stored = entry.stored()
    return and_(stored.is_not(None), ~_under(stored, keyring.current_id or ""))


def rotate_column(
    entry: EncryptedColumn,
    keyring: Keyring,
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt under the current key every value of `entry` that is plaintext or under an
    older key; commit per batch. Returns how many values were (or, dry, would be) rewritten."""
    if not keyring.enabled:
        raise RuntimeError("No current key: set FIELD_ENCRYPTION_KEYS before rotating.")
    stored, key = entry.stored(), entry.key
    if dry_run:
        return db.session.scalar(
            select(func.count()).select_from(entry.table).where(_stale(entry, keyring))
        )
    keep = {c.name: c for c in entry.table.columns if c.onupdate is not None}
    statement = (
        entry.table.update()
        .where(key == bindparam("b_key"), stored == bindparam("b_old", type_=Text()))
        .values({entry.column.name: bindparam("b_new", type_=Text()), **keep})
    )
    done, last = 0, None
    while True:
        query = select(key, stored).where(_stale(entry, keyring)).order_by(key).limit(batch_size)
        if last is not None:
            query = query.where(key > last)
        rows = db.session.execute(query).all()
        if not rows:
            return done
        params = [
            {
                "b_key": row_key,
                "b_old": old,
                "b_new": keyring.encrypt(keyring.from_storage(old, entry.label), entry.label),
            }
            for row_key, old in rows
        ]
        result = db.session.execute(statement, params)
        db.session.commit()
        # A row edited since it was read is skipped (its new value is under the current key).
        sane = db.session.get_bind().dialect.supports_sane_multi_rowcount
        done += result.rowcount if sane else len(rows)
        last = rows[-1][0]
        if progress is not None:
            progress(done)
