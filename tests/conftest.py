"""Shared fixtures: one real embedded PostgreSQL per test session, a fresh migrated database per test.

Every test that touches data runs against that real server through DATABASE_URL, the same switch
users have, so the code under test resolves its database exactly as in production.
"""

from __future__ import annotations

import shutil

import psycopg2
import pytest

from orchestration import migrate
from resources.embedded_postgres import EmbeddedPostgres
from tests.helpers import DEMO_END_DATE, create_database, drop_database, materialize_pipeline, short_tmp_dir


@pytest.fixture(scope="session")
def pg_server():
    base = short_tmp_dir("burry-t-")
    server = EmbeddedPostgres(base / "pg")
    admin_url = server.start().with_database("postgres")
    yield server, admin_url
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def empty_db(pg_server, monkeypatch):
    """A brand-new, unmigrated database, selected through DATABASE_URL."""
    _, admin_url = pg_server
    url = create_database(admin_url)
    monkeypatch.setenv("DATABASE_URL", url.libpq)
    yield url
    drop_database(admin_url, url)


@pytest.fixture
def db(empty_db):
    """A fresh database migrated to head."""
    migrate.upgrade(empty_db)
    return empty_db


@pytest.fixture
def cursor(db):
    conn = psycopg2.connect(db.libpq)
    conn.autocommit = True
    with conn.cursor() as cur:
        yield cur
    conn.close()


@pytest.fixture(scope="session")
def built_db(pg_server):
    """One database with the whole demo pipeline materialized, shared read-only by many tests."""
    _, admin_url = pg_server
    with pytest.MonkeyPatch.context() as mp:
        url = create_database(admin_url)
        migrate.upgrade(url)
        mp.setenv("DATABASE_URL", url.libpq)
        mp.setenv("BURRY_DEMO_END_DATE", DEMO_END_DATE)
        materialize_pipeline()
        yield url


@pytest.fixture
def demo_env(monkeypatch):
    monkeypatch.setenv("BURRY_DEMO_END_DATE", DEMO_END_DATE)
    return DEMO_END_DATE


@pytest.fixture(scope="session")
def ask_key(built_db):
    """An API key of workspace "test", which owns every demo account and ticket source of built_db."""
    from tests.helpers import create_workspace_key

    return create_workspace_key(built_db, "test")
