"""`casework import FILE --kind people|cases`: import a register from the command line;
`casework imports purge [--dry-run]`: delete the files of old uploaded imports.

    casework import register.csv --kind people --organisation RAB --dry-run
    casework import register.csv --kind people --organisation RAB
    casework import files.xlsx --kind cases --organisation RAB --valid-only

The file is read in place (never copied). The problems report (row, column, value, message)
is written to `--report` or under UPLOAD_DIR/imports/<job>/report.csv. Exit status: 0 when
every row was valid (or, with --valid-only, the valid rows were imported), 1 when problems
were reported and nothing was written, 2 when the file could not be read at all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from casework.admin.models import Organisation
from casework.extensions import db
from casework.imports.layouts import MappingError, read_mapping
from casework.imports.models import ImportKind, ImportState
from casework.imports.operations import create_job, read_report, run_import
from casework.imports.purge import max_age, purge_files


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    required=True,
    type=click.Choice([k.value for k in ImportKind]),
    help="What the file holds.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON or CSV file: source column -> field, for another layout.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and write the report only.")
@click.option(
    "--valid-only",
    is_flag=True,
    help="Import the valid rows and report the others (default: all or nothing).",
)
@click.option(
    "--organisation",
    help="Code of the organisation holding the people (required for people; for cases, the "
    "default office and where applicants are looked up).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the report CSV.",
)
@click.option(
    "--language",
    type=click.Choice(["fr", "en", "ar"]),
    help="Language of the report's messages (default: the application's, French).",
)
@with_appcontext
def import_command(
    file, kind, mapping, dry_run, valid_only, organisation, report, language
) -> None:
    """Import people or case files from a CSV or XLSX file (see /imports for the layouts)."""
    org = None
    if organisation:
        org = db.session.scalar(
            select(Organisation).where(Organisation.code == organisation.upper())
        )
        if org is None:
            raise click.BadParameter(
                f"no organisation {organisation!r}", param_hint="--organisation"
            )
    elif kind == ImportKind.PEOPLE:
        raise click.BadParameter(
            "give the organisation that holds the people", param_hint="--organisation"
        )
    columns = None
    if mapping is not None:
        try:
            columns = read_mapping(kind, mapping.read_bytes(), mapping.name)
        except MappingError as error:
            raise click.BadParameter(str(error), param_hint="--mapping") from error
    job = create_job(
        kind=kind,
        filename=file.name,
        source_path=str(file.resolve()),
        by=None,
        organisation=org,
        dry_run=dry_run,
        valid_only=valid_only,
        mapping=columns,
        language=language or current_app.config["BABEL_DEFAULT_LOCALE"],
    )
    db.session.commit()
    job_id = job.id
    label = "Checking" if dry_run else "Importing"
    with click.progressbar(
        length=_estimate(file), label=f"{label} {file.name}", show_pos=True
    ) as bar:

        def advance(rows: int) -> None:
            if bar.length is not None and bar.pos + rows > bar.length:
                bar.length = bar.pos + rows
            bar.update(rows)

        job = run_import(job_id, progress=advance)
    if report is not None and job.report_path:
        shutil.copyfile(job.report_path, report)
    where = report or job.report_path
    _summary(job, where)
    if job.state == ImportState.FAILED:
        raise SystemExit(2)
    if job.rows_invalid and not job.written:
        raise SystemExit(1)


def _estimate(file: Path) -> int:
    """Rows, roughly (the bar grows if there are more): one per ~80 bytes of CSV."""
    size = file.stat().st_size
    return max(1, size // 80) if file.suffix.lower() != ".xlsx" else max(1, size // 40)


def _summary(job, report_path) -> None:
    if job.state == ImportState.FAILED:
        click.echo(f"Import {job.id} failed: {job.error}", err=True)
    elif job.dry_run:
        click.echo(
            f"Dry run {job.id}: {job.rows_done:,} rows checked, {job.rows_valid:,} valid, "
            f"{job.rows_invalid:,} with problems; would create {job.rows_created:,}, update "
            f"{job.rows_updated:,}, leave {job.rows_unchanged:,} unchanged. Nothing was written."
        )
    elif job.written:
        click.echo(
            f"Import {job.id}: {job.rows_done:,} rows, created {job.rows_created:,}, updated "
            f"{job.rows_updated:,}, unchanged {job.rows_unchanged:,}, "
            f"{job.rows_invalid:,} rows with problems not imported."
        )
    else:
        click.echo(
            f"Import {job.id}: {job.rows_invalid:,} of {job.rows_done:,} rows have problems; "
            "nothing was written (all or nothing: fix them, or use --valid-only).",
            err=True,
        )
    problems = [line for line in read_report(job.report_path, limit=10) if line.get("row") != "1"]
    for line in problems:
        click.echo(f"  row {line['row']}, {line['column']}: {line['message']} ({line['value']})")
    if report_path:
        click.echo(f"Report: {report_path}")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Delete uploaded import files (and their reports) older than IMPORT_FILES_MAX_HOURS,
    and the uploads finished imports left behind. Prints counts only."""
    counts = purge_files(dry_run=dry_run)
    hours = f"{max_age().total_seconds() / 3600:g}"
    if dry_run:
        db.session.rollback()
        click.echo(
            f"Dry run: would delete the files of {counts.expired:,} imports older than "
            f"{hours} hours and the leftover uploads of {counts.copies:,} finished imports "
            f"({counts.files:,} files). Nothing was deleted."
        )
        return
    db.session.commit()
    click.echo(
        f"Deleted the files of {counts.expired:,} imports older than {hours} hours and the "
        f"leftover uploads of {counts.copies:,} finished imports ({counts.files:,} files)."
    )
