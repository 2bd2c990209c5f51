"""Shared fixtures: one real embedded PostgreSQL per test session, a fresh migrated database per test.

Every test that touches data runs against that real server through DATABASE_URL, the same switch
users have, so the code under test resolves its database exactly as in production.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg2
import pytest

from orchestration import migrate
from resources.database import DatabaseUrl
from resources.embedded_postgres import EmbeddedPostgres

# Fixed demo window so every figure in the tests is reproducible.
DEMO_END_DATE = "2026-09-30"


def short_tmp_dir(prefix: str) -> Path:
    # Short on purpose (Unix socket path limit); /var/tmp because as root the server's OS user
    # must be able to traverse every parent directory.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))


@pytest.fixture(scope="session")
def pg_server():
    base = short_tmp_dir("burry-t-")
    server = EmbeddedPostgres(base / "pg")
    admin_url = server.start().with_database("postgres")
    yield server, admin_url
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def create_database(admin_url: DatabaseUrl, template: DatabaseUrl | None = None) -> DatabaseUrl:
    """A new empty database, or a copy of `template` (which must have no open connections)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(admin_url.libpq)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template.url.database}"' if template else ""))
    conn.close()
    return admin_url.with_database(name)


def drop_database(admin_url: DatabaseUrl, url: DatabaseUrl) -> None:
    conn = psycopg2.connect(admin_url.libpq)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{url.url.database}" WITH (FORCE)')
    conn.close()


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


def materialize_pipeline(days_lookback: int | None = None):
    """Materialize every asset of the code location, as the scheduled runs would."""
    from dagster import DagsterInstance

    from orchestration.dbt_project import prepare_dbt_manifest
    from orchestration.refresh import refresh_everything

    prepare_dbt_manifest()
    outcome = refresh_everything(DagsterInstance.ephemeral(), days_lookback=days_lookback)
    assert outcome.success, outcome.failed_accounts
    return outcome


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
