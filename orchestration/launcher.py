"""The run launcher named in dagster.yaml: Dagster's default one, plus a health check on run workers.

Dagster's run monitoring (enabled in orchestration/instance.py) fails a STARTED run only when the
run launcher can say its worker is gone, and the DefaultRunLauncher cannot say anything: a run
whose worker was killed stays STARTED forever. This launcher tags each run it launches to a code
server on this machine with the machine's id, and answers the monitoring daemon from the worker's
pid (sensors/runs.py: the pid Dagster records for launched runs, the tags of in-process ones).
When it cannot tell (another machine, a run without a known worker) it says RUNNING: a live run
must never be failed for lack of information.
"""

from __future__ import annotations

import json
import socket

from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, LaunchRunContext, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import GRPC_INFO_TAG

from resources.run_workers import launched_run_tags, worker_alive
from sensors.runs import dead_worker_reason

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def code_server_is_local(grpc_info: str | None) -> bool:
    if not grpc_info:
        return False
    info = json.loads(grpc_info)
    return bool(info.get("socket")) or info.get("host") in LOCAL_HOSTS | {socket.gethostname()}


class BurryRunLauncher(DefaultRunLauncher):
    def launch_run(self, context: LaunchRunContext) -> None:
        super().launch_run(context)
        run = self._instance.get_run_by_id(context.dagster_run.run_id)
        if run is not None and code_server_is_local(run.tags.get(GRPC_INFO_TAG)):
            self._instance.add_run_tags(run.run_id, launched_run_tags())

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        record = self._instance.get_run_record_by_id(run.run_id)
        if record is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run record not found; not judged")
        alive, worker = worker_alive(self._instance, record)
        if alive is False and worker is not None:
            return CheckRunHealthResult(WorkerStatus.FAILED, dead_worker_reason(worker))
        if alive is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run worker unknown to Burry; not judged")
        return CheckRunHealthResult(WorkerStatus.RUNNING)
