"""`app.refresh_jobs` rows left open by a run that is gone, and failures before a job could start.

A refresh job goes pending -> processing -> completed / failed inside its Dagster run
(assets/ads/load.py). A run that dies (worker killed, machine lost) leaves its row open forever,
and the account looks as if it were still refreshing. `sweep_refresh_jobs` closes such rows as
failed, saying why; it runs at the start of every in-process refresh (orchestration/refresh.py)
and in the deployed pipeline on the `refresh_job_sweeper` sensor (sensors/runs.py).

Plain Python over a connection factory; what a run's status is comes in as a callable, so the
rule is tested without Dagster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

OPEN_STATUSES = ("pending", "processing")
# Dagster's final run statuses: a job still open under one of them will never be closed by its run.
ENDED_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


@dataclass(frozen=True)
class SweptJob:
    id: int
    platform: str
    account_id: str
    run_id: str
    error: str


def open_jobs(cur) -> list[tuple[int, str, str, str, str | None]]:
    cur.execute(
        "SELECT id, platform, account_id, status, dagster_run_id FROM app.refresh_jobs WHERE status IN %s ORDER BY id",
        (OPEN_STATUSES,),
    )
    return cur.fetchall()


def sweep_refresh_jobs(connect: Callable, run_status: Callable[[str], str | None]) -> list[SweptJob]:
    """Mark failed every pending/processing job whose Dagster run has ended.

    `run_status(run_id)` is the run's Dagster status name (STARTED, FAILURE, ...), or None when the
    run is unknown (another instance, e.g. a test's ephemeral one): such jobs, and jobs recorded
    without a run, are left alone, since nothing here can say that their process is gone. A job
    whose run is still in progress is left alone too."""
    with connect() as conn, conn.cursor() as cur:
        candidates = open_jobs(cur)
    swept = []
    for job_id, platform, account_id, status, run_id in candidates:
        if not run_id:
            continue
        ended = run_status(run_id)
        if ended not in ENDED_RUN_STATUSES:
            continue
        error = (
            f"run {run_id} ended ({ended}) while this job was {status}: its worker died or was stopped "
            "before the job could finish. The next refresh of this account re-reads its window."
        )
        with connect() as conn, conn.cursor() as cur:
            # Only if still open: the run has ended, so nothing else will touch this row now.
            cur.execute(
                "UPDATE app.refresh_jobs SET status = 'failed', error_message = %s, completed_at = now() "
                "WHERE id = %s AND status IN %s",
                (error, job_id, OPEN_STATUSES),
            )
            if cur.rowcount:
                swept.append(SweptJob(job_id, platform, account_id, run_id, error))
    return swept


def record_failed_job(
    connect: Callable, platform: str, account_id: str, lookback_days: int, run_id: str | None, error: str
) -> int | None:
    """A failed job for an account whose refresh could not even start (its source could not be
    built: credentials, the OAuth endpoint). Recorded only for a registered account; returns its id."""
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO app.refresh_jobs "
            "(platform, account_id, status, lookback_days, dagster_run_id, error_message, started_at, completed_at) "
            "SELECT platform, account_id, 'failed', %s, %s, %s, now(), now() FROM app.ad_accounts "
            "WHERE platform = %s AND account_id = %s RETURNING id",
            (lookback_days, run_id, error, platform, account_id),
        )
        row = cur.fetchone()
        return row[0] if row else None
