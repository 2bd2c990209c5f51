"""A code location with one job whose op sleeps: a run that stays STARTED until its worker is killed.

The op first does what the dbt step does before it starts dbt (resources/dbt.py): in a step
subprocess of a launched run, it arranges to end with the run worker.

Run as a module, it executes the job in-process as `burry refresh` does (tagged with this process
as the run's worker) against the instance of DAGSTER_HOME and the given database URL:

    python -m tests.fakes.sleepy_job postgresql://...
"""

from __future__ import annotations

import sys
import time

from dagster import Definitions, job, op

from resources.run_workers import die_with_run_worker

NAP_S = 120


@op
def nap(context) -> None:
    context.log.info(f"dies with the run worker: {die_with_run_worker(context.instance, context.run_id)}")
    time.sleep(NAP_S)


@job
def sleepy() -> None:
    nap()


defs = Definitions(jobs=[sleepy])


if __name__ == "__main__":
    from orchestration.instance import open_instance
    from resources.database_url import DatabaseUrl
    from resources.run_workers import run_worker_tags

    with open_instance(DatabaseUrl.parse(sys.argv[1])) as instance:
        sleepy.execute_in_process(instance=instance, tags=run_worker_tags())
