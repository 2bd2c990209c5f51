"""The ask service when PostgreSQL is stopped or stalled: JSON 503/504, then healed by itself.

A dedicated server (not the session's): these tests stop and freeze it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time

import psutil
import pytest
from fastapi.testclient import TestClient

from ask.app import create_app
from orchestration import migrate
from resources.embedded_postgres import EmbeddedPostgres
from tests.helpers import bearer, create_workspace_key, short_tmp_dir


@pytest.fixture(scope="module")
def server():
    base = short_tmp_dir("burry-f-")
    server = EmbeddedPostgres(base / "pg")
    url = server.start()
    migrate.upgrade(url)
    yield server
    _resume(server)
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def _url(server):
    url = server.url()
    if url is None:
        raise RuntimeError("the test server is not running")
    return url


def _processes(server) -> list[psutil.Process]:
    pid = int((server.pgdata / "postmaster.pid").read_text().split()[0])
    postmaster = psutil.Process(pid)
    return [postmaster, *postmaster.children(recursive=True)]


def _freeze(server) -> list[psutil.Process]:
    processes = _processes(server)
    for p in processes:
        os.kill(p.pid, signal.SIGSTOP)
    return processes


def _resume(server) -> None:
    try:
        processes = _processes(server)
    except (OSError, ValueError, psutil.Error):
        return
    for p in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGCONT)


@pytest.fixture(scope="module")
def key(server):
    return create_workspace_key(_url(server), "faults", accounts=[], ticket_sources=[])


@pytest.fixture
def client(server):
    app = create_app(lambda: _url(server), request_timeout=2.0, connect_timeout=1.0, statement_timeout=1.5)
    yield TestClient(app, raise_server_exceptions=False)
    app.state.database.close()


def _error(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()["error"]
    assert body["code"] and body["message"] and "Traceback" not in response.text
    return body


def test_a_stopped_database_is_a_json_503_that_heals_when_it_is_back(server, key, client):
    assert client.get("/v1/health").status_code == 200
    assert client.get("/v1/interactions", headers=bearer(key)).status_code == 200  # the pool keeps connections

    server.stop()
    try:
        for _ in range(2):  # the kept connections are dead, then no new one can be opened
            health = client.get("/v1/health")
            assert _error(health, 503)["code"] == "database_unavailable"
            assert health.headers["retry-after"] == "1"
            _error(client.get("/v1/interactions", headers=bearer(key)), 503)
            _error(client.post("/v1/ask", json={"question": "spend?"}, headers=bearer(key)), 503)
    finally:
        server.start()

    assert client.get("/v1/health").status_code == 200
    assert client.get("/v1/interactions", headers=bearer(key)).status_code == 200


def test_a_stalled_database_answers_504_in_bounded_time_then_heals(server, key, client):
    assert client.get("/v1/interactions", headers=bearer(key)).status_code == 200
    _freeze(server)
    try:
        started = time.monotonic()
        response = client.get("/v1/interactions", headers=bearer(key))
        assert response.status_code in (503, 504), response.text
        _error(response, response.status_code)
        again = client.get("/v1/health")  # no kept connection left: a new one cannot even be opened
        assert again.status_code in (503, 504), again.text
        assert time.monotonic() - started < 10, "every wait on the database is bounded"
    finally:
        _resume(server)
    deadline = time.monotonic() + 10
    while client.get("/v1/interactions", headers=bearer(key)).status_code != 200:
        assert time.monotonic() < deadline, "healed once the server answers again"
        time.sleep(0.2)


def test_a_slow_statement_is_ended_by_the_server_and_answers_504(server, key, client):
    import psycopg2

    # Hold a lock the key lookup needs: the statement waits, and lock_timeout / statement_timeout end it.
    blocker = psycopg2.connect(_url(server).libpq)
    try:
        with blocker.cursor() as cur:
            cur.execute("LOCK TABLE app.api_keys IN ACCESS EXCLUSIVE MODE")
            response = client.get("/v1/interactions", headers=bearer(key))
        assert _error(response, 504)["code"] == "database_timeout"
    finally:
        blocker.rollback()
        blocker.close()
    assert client.get("/v1/interactions", headers=bearer(key)).status_code == 200
