"""`burry demo` killed with SIGKILL mid-extract or mid-dbt, then run again: nothing is left half-dead.

The CLI runs as a user runs it (a subprocess in its own session, DATABASE_URL and DAGSTER_HOME of
the test); the test watches the database and the process table for the phase, kills, reruns, and
compares the marts with the shared build of one uninterrupted run (`built_db`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import psycopg2
import pytest
from dagster import DagsterRunStatus, RunsFilter

from orchestration.instance import open_instance
from tests.helpers import BURRY, DEMO_END_DATE

pytestmark = pytest.mark.slow

MARTS = [
    "ad_daily",
    "campaign_daily",
    "account_daily",
    "account_overview",
    "top_campaigns",
    "top_ads",
    "tickets_daily",
]
UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
PHASE_TIMEOUT_S = 120
DEMO_TIMEOUT_S = 300


@pytest.fixture
def cli_env(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))  # open_instance here, as the CLI there
    return {
        **os.environ,
        "DATABASE_URL": db.libpq,
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "BURRY_DROP_DIR": str(tmp_path / "drop"),
        "BURRY_DEMO_END_DATE": DEMO_END_DATE,
    }


@pytest.fixture(scope="module")
def clean_marts(built_db) -> dict[str, str]:
    return marts_digest(built_db.libpq)


def marts_digest(libpq: str) -> dict[str, str]:
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        digests = {}
        for mart in MARTS:
            # Every column but the extraction time, which differs from run to run by design.
            row = "(to_jsonb(t) - 'extracted_at')::text"
            cur.execute(f"SELECT count(*), md5(string_agg({row}, '|' ORDER BY {row})) FROM analytics.{mart} t")
            digests[mart] = cur.fetchone()
        return digests


def start_demo(env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [BURRY, "demo", "--no-serve", "--no-embeddings"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def poll(predicate, process: subprocess.Popen, log: Path, what: str, interval: float = 0.01):
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if process.poll() is not None:
            raise AssertionError(
                f"burry demo ended (exit {process.returncode}) before {what}:\n{log.read_text()[-3000:]}"
            )
        time.sleep(interval)
    raise TimeoutError(f"no {what} within {PHASE_TIMEOUT_S}s")


def session_processes(session: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == session:
                found.append(process)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


def kill_session(session: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(session, signal.SIGKILL)


def dbt_processes(libpq: str, command: str = "") -> list[psutil.Process]:
    """dbt processes working on this test's database (they inherit its DATABASE_URL)."""
    found = []
    for process in psutil.process_iter():
        try:
            cmdline = process.cmdline()
            if (
                any("dbt" in part for part in cmdline)
                and (not command or command in cmdline[1:])
                and process.environ().get("DATABASE_URL") == libpq
            ):
                found.append(process)
        except psutil.Error:
            continue
    return found


def rerun_and_check_healed(env: dict, db, tmp_path: Path, clean_marts: dict, killed_run: str) -> str:
    rerun = subprocess.run(
        [BURRY, "demo", "--no-serve", "--no-embeddings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert f"==> marked run {killed_run} failed: Run worker died" in rerun.stderr

    with open_instance(db) as instance:
        assert not instance.get_run_records(filters=RunsFilter(statuses=UNFINISHED)), "a run left unfinished"
        assert instance.get_run_by_id(killed_run).status == DagsterRunStatus.FAILURE
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM app.refresh_jobs WHERE status IN ('pending', 'processing')")
        assert cur.fetchone()[0] == 0, "a refresh job left open"
    assert not dbt_processes(db.libpq), "an orphan dbt process"
    assert marts_digest(db.libpq) == clean_marts, "the marts differ from one uninterrupted run's"
    return rerun.stderr


def test_sigkill_during_an_account_extract_then_rerun_leaves_nothing_half_dead(db, cli_env, tmp_path, clean_marts):
    log = tmp_path / "killed.log"
    demo = start_demo(cli_env, log)
    conn = None
    try:

        def extracting():
            nonlocal conn
            try:
                conn = conn or psycopg2.connect(db.libpq)
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("SELECT id, dagster_run_id FROM app.refresh_jobs WHERE status = 'processing'")
                    return cur.fetchone()
            except psycopg2.Error:  # not migrated yet
                conn = None
                return None

        job_id, run_id = poll(extracting, demo, log, "account extract in progress")
        kill_session(demo.pid)  # the whole process group, as a terminal's kill would
        demo.wait(timeout=30)
    finally:
        kill_session(demo.pid)
        if conn is not None:
            conn.close()

    with open_instance(db) as instance:  # half-dead, as the issue found it
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED
    stderr = rerun_and_check_healed(cli_env, db, tmp_path, clean_marts, run_id)

    assert (
        f"==> refresh job {job_id} " in stderr
        and f"run {run_id} ended (FAILURE) while this job was processing" in stderr
    )
    with psycopg2.connect(db.libpq) as conn2, conn2.cursor() as cur:
        cur.execute("SELECT status, error_message FROM app.refresh_jobs WHERE id = %s", (job_id,))
        status, error = cur.fetchone()
        assert status == "failed" and f"run {run_id} ended (FAILURE)" in error
        cur.execute("SELECT status, count(*) FROM app.refresh_jobs GROUP BY 1 ORDER BY 1")
        counts = dict(cur.fetchall())
        assert counts["failed"] == 1 and counts["completed"] >= 3


def test_sigkill_of_burry_during_dbt_ends_dbt_and_a_rerun_leaves_nothing_half_dead(db, cli_env, tmp_path, clean_marts):
    """Only the burry process is killed (`kill -9 PID`): dbt, its child, must end with it at once.

    The test holds a lock dbt needs, so dbt cannot simply finish its build (or die writing to its
    closed stdout) in the meantime: only dying with its parent ends it."""
    log = tmp_path / "killed.log"
    demo = start_demo(cli_env, log)
    locker = psycopg2.connect(db.libpq)
    try:
        dbt = poll(lambda: dbt_processes(db.libpq, "build"), demo, log, "dbt build", interval=0.05)[0]
        with locker.cursor() as cur:
            cur.execute("SET lock_timeout = '60s'")
            cur.execute("LOCK TABLE raw.campaign_daily_metrics IN ACCESS EXCLUSIVE MODE")

        def dbt_waiting_on_the_lock():
            with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name LIKE 'dbt%%' AND wait_event_type = 'Lock'"
                )
                return cur.fetchone()[0] > 0

        poll(dbt_waiting_on_the_lock, demo, log, "dbt at work, waiting on the raw table", interval=0.1)
        with open_instance(db) as instance:
            (marts_run,) = [
                r.dagster_run.run_id
                for r in instance.get_run_records(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED]))
            ]
        demo.send_signal(signal.SIGKILL)
        demo.wait(timeout=30)
        alive = psutil.wait_procs([dbt], timeout=5)[1]
        assert not alive, "dbt outlived the killed burry"
        survivors = psutil.wait_procs(session_processes(demo.pid), timeout=15)[1]
        assert not survivors, f"left running: {[p.cmdline() for p in survivors]}"
    finally:
        locker.close()  # releases the lock
        kill_session(demo.pid)

    rerun_and_check_healed(cli_env, db, tmp_path, clean_marts, marts_run)
