"""Which process executes a Dagster run (its worker), whether it lives, and dying with it.

- A run executed in-process (`burry demo`, `burry refresh`, tests) is tagged with the process that
  executes it (`run_worker_tags`, added by orchestration/refresh.py).
- A run launched by the daemon or the UI runs in a process Dagster's code server starts; Dagster
  records its pid in the run's "Started process for run" engine event, and Burry's run launcher
  tags the run with the machine when the code server is on it (orchestration/launcher.py).
A run with neither is not judged: nothing can tell its process.

Steps of a launched run run in subprocesses of the worker (Dagster's multiprocess executor), which
Linux does not end when the worker is killed; `die_with_run_worker` makes such a step (the dbt
step) end with it, and so the dbt it started (resources/dbt_guard.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dagster import DagsterEventType, DagsterInstance, RunRecord

from resources.processes import die_with_parent, machine_id, process_alive, this_process

WORKER_MACHINE_TAG = "burry/worker_machine"
WORKER_PID_TAG = "burry/worker_pid"
# When the in-process worker was created (epoch seconds): tells it from a later process with its pid.
# (Not the run's creation time: Dagster stores that as the database server's local time.)
WORKER_SINCE_TAG = "burry/worker_since"
# Dagster's code server reports the run worker's pid in this engine event (EngineEventData.in_process).
PID_EVENT_PREFIX = "Started process for run"


def run_worker_tags() -> dict[str, str]:
    """Tags for a run executed in this process: this process is its worker."""
    machine, pid, created = this_process()
    return {WORKER_MACHINE_TAG: machine, WORKER_PID_TAG: str(pid), WORKER_SINCE_TAG: f"{created:.2f}"}


def launched_run_tags() -> dict[str, str]:
    """Tags for a run launched to a code server on this machine (its pid comes later, in an event)."""
    return {WORKER_MACHINE_TAG: machine_id()}


@dataclass(frozen=True)
class RunWorker:
    machine: str
    pid: int
    since: float  # the worker existed by then (epoch seconds): a younger process with its pid is another

    def describe(self) -> str:
        return f"process {self.pid} on {self.machine.split('/', 1)[0]}"


def launched_worker_pid(instance: DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """(pid, when reported) of a launched run's worker, from Dagster's engine event."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=50).records
    for record in records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or not (event.message or "").startswith(PID_EVENT_PREFIX):
            continue
        pid = event.engine_event_data.metadata.get("pid") if event.engine_event_data else None
        if pid is not None and str(pid.value).isdigit():
            return int(str(pid.value)), entry.timestamp
    return None


def run_worker(instance: DagsterInstance, record: RunRecord) -> RunWorker | None:
    """The process executing the run, when Burry can name it."""
    tags = record.dagster_run.tags
    machine = tags.get(WORKER_MACHINE_TAG)
    if not machine:
        return None
    pid, since = tags.get(WORKER_PID_TAG), tags.get(WORKER_SINCE_TAG)
    if pid or since:  # in-process
        try:
            return RunWorker(machine, int(pid or ""), float(since or ""))
        except ValueError:
            return None
    launched = launched_worker_pid(instance, record.dagster_run.run_id)
    if launched is None:
        return None
    return RunWorker(machine, launched[0], launched[1])


def worker_alive(instance: DagsterInstance, record: RunRecord) -> tuple[bool | None, RunWorker | None]:
    """(alive, worker): alive is None when the worker is unknown or on another machine."""
    worker = run_worker(instance, record)
    if worker is None:
        return None, None
    return process_alive(worker.machine, worker.pid, worker.since), worker


def die_with_run_worker(instance: DagsterInstance, run_id: str) -> bool:
    """In a step subprocess of a launched run: end this process when the run worker (its parent)
    dies. Nothing to do in the worker itself (in-process steps): the worker's own death ends it.
    True when this process now dies with the worker."""
    launched = launched_worker_pid(instance, run_id)
    if launched is None:
        return False
    worker_pid = launched[0]
    if os.getpid() == worker_pid or os.getppid() != worker_pid:
        return False
    return die_with_parent(expected_parent=worker_pid)
