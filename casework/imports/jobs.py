"""Running import jobs in the background.

With `REDIS_URL` set, a job is put on the RQ queue `casework-imports`; run a worker next to the
web processes, with the same environment (DATABASE_URL, UPLOAD_DIR on a shared disk, ...):

    rq worker casework-imports --url "$REDIS_URL"

The worker needs no app context of its own: `run_job` (what is queued, by its dotted name)
creates the app from the environment, as `wsgi.py` does, and runs the job inside it.

Without Redis, a job runs in a thread of the web process that created it, in an app context
of its own (the request that started it returns at once). Such a thread dies with its
process: a job left `running` by a restart is marked failed the next time someone reads it
(see `mark_stale`), and can simply be started again (imports are idempotent).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from casework.extensions import db
from casework.imports.models import ImportJob, ImportState

log = logging.getLogger(__name__)

QUEUE_NAME = "casework-imports"
JOB_TIMEOUT = 6 * 3600  # seconds: a million rows take minutes; leave room
# A job that has not moved for this long is taken for dead (its process restarted).
STALE_AFTER = timedelta(hours=2)


def run_job(job_id: int) -> str | None:
    """RQ's entry point: a worker process creates its own app, then runs the job."""
    from casework import create_app

    app = create_app()
    with app.app_context():
        from casework.imports.operations import run_import

        job = run_import(job_id)
        return job.state if job is not None else None


def _run_in_thread(app: Flask, job_id: int) -> None:
    from casework.imports.operations import run_import

    with app.app_context():
        try:
            run_import(job_id)
        finally:
            db.session.remove()


def start(job: ImportJob) -> threading.Thread | None:
    """Start a committed, queued job: on RQ when REDIS_URL is set, else in a thread.
    Returns the thread (tests join it), or None when the job was queued on RQ."""
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        from redis import Redis
        from rq import Queue

        queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
        queue.enqueue(
            "casework.imports.jobs.run_job",
            job.id,
            job_timeout=JOB_TIMEOUT,
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
            description=f"import job {job.id}",
        )
        return None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=_run_in_thread, args=(app, job.id), name=f"import-{job.id}", daemon=True
    )
    thread.start()
    return thread


def is_stale(job: ImportJob) -> bool:
    """Whether an unfinished job stopped moving so long ago that its process is gone."""
    if job.finished:
        return False
    moved = job.updated_at
    if moved is not None and moved.tzinfo is None:
        moved = moved.replace(tzinfo=UTC)
    return moved is not None and datetime.now(UTC) - moved > STALE_AFTER


def fail_stale(job: ImportJob) -> None:
    """Mark a stale job failed (flushed with the session; the caller commits)."""
    job.state = ImportState.FAILED.value
    job.error = str(_l("The import stopped (its process ended). Start it again."))


def mark_stale(job: ImportJob) -> None:
    """A job that stopped moving long ago lost its process: say so instead of waiting."""
    if is_stale(job):
        fail_stale(job)
        db.session.commit()
