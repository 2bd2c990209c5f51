"""Runs whose worker died are marked failed, and the refresh jobs they left open are closed.

Real runs in a real instance (the generated dagster.yaml, run storage in PostgreSQL), a real
worker process killed with SIGKILL, and Dagster's own run-monitoring step (`monitor_started_run`,
what the daemon calls for every STARTED run) or the in-process refresh's heal step deciding.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from orchestration.instance import open_instance
from orchestration.launcher import BurryRunLauncher
from resources.database import connect
from resources.processes import machine_id
from resources.run_workers import WORKER_MACHINE_TAG, run_worker
from resources.settings import REPO_ROOT
from sensors.runs import heal_interrupted_runs, refresh_job_sweeper

LOG = logging.getLogger(__name__)


@pytest.fixture
def instance(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    with open_instance(db) as instance:
        yield instance


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def started_run(instance: DagsterInstance, job_name: str):
    records = instance.get_run_records()
    return next(
        (r for r in records if r.dagster_run.job_name == job_name and r.dagster_run.status == DagsterRunStatus.STARTED),
        None,
    )


def failure_message(instance: DagsterInstance, run_id: str) -> str:
    events = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
    assert events, f"run {run_id} has no failure event"
    return "\n".join(e.dagster_event.message or "" for e in events)


@pytest.fixture
def sleepy_process(db, tmp_path):
    """`python -m tests.fakes.sleepy_job`: an in-process run that naps, in its own process group."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.sleepy_job", db.libpq], cwd=REPO_ROOT, env=env, start_new_session=True
    )
    yield process
    # The whole session: a killed worker's helpers (Dagster's compute-log `tail -F`) outlive it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_the_generated_instance_monitors_runs_with_a_launcher_that_checks_workers(instance):
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_max_resume_run_attempts == 0
    assert instance.run_monitoring_start_timeout_seconds == 180
    assert isinstance(instance.run_launcher, BurryRunLauncher)
    assert instance.run_launcher.supports_check_run_worker_health


def test_run_monitoring_fails_an_in_process_run_once_its_worker_is_killed(instance, sleepy_process):
    record = wait_for(lambda: started_run(instance, "sleepy"), 60, "the sleepy run to start")
    run_id = record.dagster_run.run_id

    monitor_started_run(instance, None, record, LOG)  # what the daemon does every poll
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED, "a live worker's run is left alone"

    sleepy_process.send_signal(signal.SIGKILL)
    sleepy_process.wait()
    monitor_started_run(instance, None, instance.get_run_record_by_id(run_id), LOG)

    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    message = failure_message(instance, run_id)
    assert f"process {sleepy_process.pid}" in message and "Run worker died" in message


def test_the_next_refresh_fails_the_dead_run_and_closes_its_refresh_job(instance, sleepy_process, db, cursor):
    record = wait_for(lambda: started_run(instance, "sleepy"), 60, "the sleepy run to start")
    run_id = record.dagster_run.run_id
    cursor.execute("INSERT INTO app.ad_accounts (platform, account_id) VALUES ('google_ads', '111')")
    cursor.execute(
        "INSERT INTO app.refresh_jobs (platform, account_id, status, lookback_days, dagster_run_id) "
        "VALUES ('google_ads', '111', 'processing', 30, %s) RETURNING id",
        (run_id,),
    )
    job_id = cursor.fetchone()[0]

    alive = heal_interrupted_runs(instance, lambda: connect(db))
    assert alive.runs == [] and alive.jobs == [], "nothing is healed while the worker lives"

    sleepy_process.send_signal(signal.SIGKILL)
    sleepy_process.wait()
    healed = heal_interrupted_runs(instance, lambda: connect(db))

    assert [run for run, _ in healed.runs] == [run_id]
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    assert [job.id for job in healed.jobs] == [job_id]
    cursor.execute(
        "SELECT status, error_message, completed_at IS NOT NULL FROM app.refresh_jobs WHERE id = %s", (job_id,)
    )
    status, error, completed = cursor.fetchone()
    assert status == "failed" and completed
    assert f"run {run_id} ended (FAILURE) while this job was processing" in error
    again = heal_interrupted_runs(instance, lambda: connect(db))
    assert again.runs == [] and again.jobs == [], "healing twice changes nothing"


def test_run_monitoring_fails_a_launched_run_whose_worker_and_code_server_died(instance, monkeypatch):
    """The daemon's path: a run launched through a code server (a gRPC subprocess), whose worker's
    pid Dagster records in an event and whose machine the launcher tags. Dagster's code server
    fails a run whose worker dies while the server lives; when both die (`dagster dev` killed),
    only run monitoring asking the launcher can."""
    from dagster._core.launcher import DefaultRunLauncher
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget

    from tests.fakes.sleepy_job import sleepy

    target = ModuleTarget(
        module_name="tests.fakes.sleepy_job",
        attribute="defs",
        working_directory=str(REPO_ROOT),
        location_name="sleepy_location",
    )
    # The machine tag must be stored before the code server starts the worker: the worker's status
    # writes rewrite the run's body from its own copy, and a tag added after the launch could be lost.
    tags_at_launch = []
    start_run = DefaultRunLauncher.launch_run_from_grpc_client

    def observed_start_run(instance, run, grpc_client):
        tags_at_launch.append(dict(instance.get_run_by_id(run.run_id).tags))
        start_run(instance, run, grpc_client)

    monkeypatch.setattr(DefaultRunLauncher, "launch_run_from_grpc_client", staticmethod(observed_start_run))
    with WorkspaceProcessContext(instance, target) as process_context:
        workspace = process_context.create_request_context()
        location = workspace.get_code_location("sleepy_location")
        remote_job = next(iter(location.get_repositories().values())).get_full_job("sleepy")
        run = instance.create_run_for_job(
            job_def=sleepy,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
        )
        instance.launch_run(run.run_id, workspace)
        assert [tags.get(WORKER_MACHINE_TAG) for tags in tags_at_launch] == [machine_id()]
        try:
            _kill_launched_run_and_monitor(instance, workspace, run.run_id)
        finally:  # whatever failed, leave no code server, worker or step behind
            for server in psutil.Process().children():
                if "tests.fakes.sleepy_job" in " ".join(_cmdline(server)):
                    for process in [*server.children(recursive=True), server]:
                        with contextlib.suppress(psutil.NoSuchProcess):
                            process.kill()

    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    assert "Run worker died: process " in failure_message(instance, run.run_id)


def _kill_launched_run_and_monitor(instance: DagsterInstance, workspace, run_id: str) -> None:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    # Generous: under a parallel test run a code server and a run worker start slowly.
    record = wait_for(lambda: started_run(instance, "sleepy"), 180, "the launched run to start")
    worker = wait_for(lambda: run_worker(instance, instance.get_run_record_by_id(run.run_id)), 180, "the worker's pid")
    assert instance.get_run_by_id(run.run_id).tags[WORKER_MACHINE_TAG] == worker.machine
    assert worker.pid != os.getpid()
    code_server = psutil.Process(worker.pid).parent()
    # The multiprocess executor runs the op in a subprocess of the worker.
    step = wait_for(lambda: psutil.Process(worker.pid).children(), 30, "the step subprocess")[0]
    wait_for(lambda: _logged(instance, run.run_id, "dies with the run worker: True"), 30, "the op to start")

    monitor_started_run(instance, workspace, record, LOG)  # what the daemon does every poll
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED, "a live worker is left alone"

    code_server.kill()
    os.kill(worker.pid, signal.SIGKILL)
    wait_for(lambda: not _exists(worker.pid), 10, "the worker to exit")
    # Linux ends the step with its worker (as it ends the dbt step, and so dbt).
    wait_for(lambda: not _exists(step.pid), 30, "the orphaned step to exit")
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED, "nobody else noticed"
    monitor_started_run(instance, workspace, instance.get_run_record_by_id(run.run_id), LOG)
    assert f"Run worker died: process {worker.pid}" in failure_message(instance, run.run_id)


def _logged(instance: DagsterInstance, run_id: str, text: str) -> bool:
    return any(text in (entry.user_message or "") for entry in instance.all_logs(run_id))


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _exists(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_sensor_closes_jobs_of_runs_that_ended_and_leaves_running_ones(instance, db, cursor):
    from dagster import build_sensor_context

    from orchestration.definitions import defs
    from tests.fakes.sleepy_job import sleepy

    ended = instance.create_run_for_job(job_def=sleepy, status=DagsterRunStatus.FAILURE)
    running = instance.create_run_for_job(job_def=sleepy, status=DagsterRunStatus.STARTED)
    cursor.execute("INSERT INTO app.ad_accounts (platform, account_id) VALUES ('google_ads', '111')")
    for run_id in (ended.run_id, running.run_id):
        cursor.execute(
            "INSERT INTO app.refresh_jobs (platform, account_id, status, lookback_days, dagster_run_id) "
            "VALUES ('google_ads', '111', 'processing', 30, %s)",
            (run_id,),
        )

    context = build_sensor_context(instance=instance, resources={"database": defs.resources["database"]})
    result = refresh_job_sweeper(context)

    assert "marked 1 refresh jobs of ended runs failed" in result.skip_message
    cursor.execute("SELECT dagster_run_id, status FROM app.refresh_jobs ORDER BY id")
    assert cursor.fetchall() == [(ended.run_id, "failed"), (running.run_id, "processing")]
    assert "refresh_job_sweeper" in {s.name for s in defs.sensors}


def test_refresh_jobs_left_open_by_an_ended_run_are_closed_and_no_others(db, cursor):
    from assets.ads.refresh_jobs import sweep_refresh_jobs

    cursor.execute("INSERT INTO app.ad_accounts (platform, account_id) VALUES ('google_ads', '111')")
    rows = [
        ("pending", "run-failed"),
        ("processing", "run-canceled"),
        ("processing", "run-succeeded"),
        ("processing", "run-started"),
        ("processing", "run-unknown"),
        ("processing", None),
        ("completed", "run-failed"),
    ]
    for status, run_id in rows:
        cursor.execute(
            "INSERT INTO app.refresh_jobs (platform, account_id, status, lookback_days, dagster_run_id) "
            "VALUES ('google_ads', '111', %s, 30, %s)",
            (status, run_id),
        )
    statuses = {
        "run-failed": "FAILURE",
        "run-canceled": "CANCELED",
        "run-succeeded": "SUCCESS",
        "run-started": "STARTED",
    }

    swept = sweep_refresh_jobs(lambda: connect(db), statuses.get)

    assert [(job.run_id, job.account_id) for job in swept] == [
        ("run-failed", "111"),
        ("run-canceled", "111"),
        ("run-succeeded", "111"),
    ]
    cursor.execute("SELECT status, dagster_run_id, error_message FROM app.refresh_jobs ORDER BY id")
    found = cursor.fetchall()
    assert [(s, r) for s, r, _ in found] == [
        ("failed", "run-failed"),
        ("failed", "run-canceled"),
        ("failed", "run-succeeded"),
        ("processing", "run-started"),
        ("processing", "run-unknown"),
        ("processing", None),
        ("completed", "run-failed"),
    ]
    assert found[0][2].startswith("run run-failed ended (FAILURE) while this job was pending")
    assert found[1][2].startswith("run run-canceled ended (CANCELED) while this job was processing")
    assert sweep_refresh_jobs(lambda: connect(db), statuses.get) == []
