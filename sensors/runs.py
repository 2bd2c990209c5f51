"""Runs whose worker died: mark them failed, and close the refresh jobs they left open.

Which process is a run's worker, and whether it lives: resources/run_workers.py.

- Dagster's run monitoring (dagster.yaml, orchestration/instance.py) asks the run launcher about
  every STARTED run while the daemon runs; the launcher answers with `worker_alive`.
- Nobody watches in-process runs when no daemon runs, so every in-process refresh starts with
  `heal_interrupted_runs` (orchestration/refresh.py).
- The `refresh_job_sweeper` sensor closes `app.refresh_jobs` rows of ended runs in the deployed
  pipeline (assets/ads/refresh_jobs.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from assets.ads.refresh_jobs import SweptJob, sweep_refresh_jobs
from resources.postgres import PostgresResource
from resources.run_workers import RunWorker, worker_alive

# Statuses of a run that has (or will have) a worker and has not ended.
UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def dead_worker_reason(worker: RunWorker) -> str:
    return (
        f"Run worker died: {worker.describe()} is gone while the run was in progress (killed, or its "
        "machine restarted). Marked failed by Burry; rerun it (or the next refresh will)."
    )


def fail_dead_runs(instance: DagsterInstance) -> list[tuple[str, str]]:
    """Mark failed every unfinished run whose worker is known to be gone: [(run id, reason)]."""
    failed = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=UNFINISHED)):
        alive, worker = worker_alive(instance, record)
        if alive is not False or worker is None:
            continue
        run = instance.get_run_by_id(record.dagster_run.run_id)
        if run is None or run.status not in UNFINISHED:
            continue  # it ended meanwhile
        reason = dead_worker_reason(worker)
        instance.report_run_failed(run, reason)
        failed.append((run.run_id, reason))
    return failed


def run_status(instance: DagsterInstance) -> Callable[[str], str | None]:
    """run id -> the run's Dagster status name, None for a run this instance does not know."""

    def status(run_id: str) -> str | None:
        run = instance.get_run_by_id(run_id)
        return run.status.value if run is not None else None

    return status


@dataclass
class Healed:
    runs: list[tuple[str, str]] = field(default_factory=list)
    jobs: list[SweptJob] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"marked run {run_id} failed: {reason}" for run_id, reason in self.runs] + [
            f"refresh job {job.id} ({job.platform}:{job.account_id}) marked failed: {job.error}" for job in self.jobs
        ]


def heal_interrupted_runs(instance: DagsterInstance, connect: Callable) -> Healed:
    """Runs whose worker is gone -> failed; then refresh jobs left open by ended runs -> failed."""
    runs = fail_dead_runs(instance)
    return Healed(runs, sweep_refresh_jobs(connect, run_status(instance)))


@sensor(minimum_interval_seconds=300, default_status=DefaultSensorStatus.RUNNING)
def refresh_job_sweeper(context: SensorEvaluationContext, database: PostgresResource):
    """Close the refresh jobs of runs that ended without closing them (run monitoring fails a run
    whose worker died; its job stays `processing` until this sensor sees the run ended)."""
    swept = sweep_refresh_jobs(database.connect, run_status(context.instance))
    if not swept:
        return SkipReason("no refresh job left open by an ended run")
    for job in swept:
        context.log.warning(f"refresh job {job.id} ({job.platform}:{job.account_id}) marked failed: {job.error}")
    return SkipReason(f"marked {len(swept)} refresh jobs of ended runs failed: {', '.join(str(j.id) for j in swept)}")
