"""Process identity and liveness (resources/processes.py), and `burry-dbt`, the dbt that dies with
its parent (resources/dbt_guard.py). That dbt really dies with a killed refresh: test_kill.py."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from resources.dbt import DBT_EXECUTABLE, dbt_executable
from resources.processes import machine_id, process_alive
from resources.settings import DBT_PARENT_PID

DBT = str(Path(sys.executable).parent / "dbt")


def test_a_live_process_is_alive_only_for_work_it_began_before():
    me = os.getpid()
    assert process_alive(machine_id(), me, time.time()) is True
    # A process born after the work began holds a reused pid: the worker is gone.
    assert process_alive(machine_id(), me, time.time() - 86_400) is False


def test_a_finished_process_or_another_boot_is_dead_and_another_host_unknown():
    child = subprocess.Popen(["true"])
    child.wait()
    assert process_alive(machine_id(), child.pid, time.time()) is False
    host = socket.gethostname()
    assert process_alive(f"{host}/a-boot-before-this-one", os.getpid(), time.time()) is False
    assert process_alive("another-host/its-boot", os.getpid(), time.time()) is None


def test_burry_dbt_is_dbt_same_output_and_exit_status():
    assert dbt_executable() == DBT_EXECUTABLE and DBT_EXECUTABLE.endswith("burry-dbt")
    for args in (["--help"], ["no-such-command"]):
        guarded = subprocess.run([DBT_EXECUTABLE, *args], capture_output=True, text=True, timeout=60)
        plain = subprocess.run([DBT, *args], capture_output=True, text=True, timeout=60)
        assert (guarded.returncode, guarded.stdout, guarded.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert guarded.returncode == 2


def test_the_dbt_version_the_resource_reports_without_asking_is_the_one_burry_dbt_runs():
    """BurryDbtResource answers dagster-dbt's version question from this environment's dbt-core
    instead of starting `dbt --version` before every build: the two must agree."""
    from dagster_dbt import DbtCliResource

    from resources.dbt import BurryDbtResource, dbt_project
    from resources.postgres import PostgresResource

    resource = BurryDbtResource(
        project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE, database=PostgresResource(url="postgresql:///x")
    )
    asked = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)._cli_version
    assert resource._cli_version == asked and asked.major == 1
    # No in-process adapter: dagster-dbt then skips column metadata and row counts, never the build.
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_burry_dbt_exits_when_its_parent_died_before_it_could_ask_to_die_with_it():
    # The parent it was told about is not its parent (it was re-parented): SIGTERM, no dbt run.
    env = {**os.environ, DBT_PARENT_PID: "1" if os.getpid() != 1 else "2"}
    # Even when started with SIGTERM ignored (inherited from a parent that ignores it).
    result = subprocess.run(
        [DBT_EXECUTABLE, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),
    )
    assert result.returncode == -signal.SIGTERM and result.stdout == ""
    told_right = subprocess.run(
        [DBT_EXECUTABLE, "--help"], env={**os.environ, DBT_PARENT_PID: str(os.getpid())}, capture_output=True
    )
    assert told_right.returncode == 0
