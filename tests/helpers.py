"""Helpers shared by the tests: databases on the session's server, pipeline runs, data paths.

Fixtures live in conftest.py; plain functions and constants here, imported by test modules (no
test module imports another).
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

import pandas as pd
import psycopg2

from resources.database_url import DatabaseUrl
from resources.settings import REPO_ROOT

# Fixed demo window so every figure in the tests is reproducible.
DEMO_END_DATE = "2026-09-30"

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
ONLINE_ADS = SHARED_DATA / "online_ads" / "online_advertising_performance_data.csv"
KAGGLE_TICKETS = SHARED_DATA / "kaggle_support_tickets" / "customer_support_tickets.csv"
FIXTURES = Path(__file__).parent / "data"
BURRY = str(Path(sys.executable).parent / "burry")


def short_tmp_dir(prefix: str) -> Path:
    # Short on purpose (Unix socket path limit); /var/tmp because as root the server's OS user
    # must be able to traverse every parent directory.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))


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


def materialize_pipeline(lookback_days: int | None = None):
    """Materialize every asset of the code location, as the scheduled runs would."""
    from dagster import DagsterInstance

    from orchestration.refresh import refresh_everything
    from resources.dbt import prepare_dbt_manifest

    prepare_dbt_manifest()
    outcome = refresh_everything(DagsterInstance.ephemeral(), lookback_days=lookback_days)
    assert outcome.success, outcome.failed_accounts
    return outcome


def build_marts(expect_success: bool = True, **config):
    """Materialize every dbt asset (models, seeds, tests) with `config` as the dbt asset's run config."""
    from dagster import DagsterInstance, materialize

    from assets.dbt.assets import dbt_models
    from orchestration.definitions import defs
    from resources.dbt import prepare_dbt_manifest

    prepare_dbt_manifest()
    resources = {"dbt": defs.resources["dbt"], "database": defs.resources["database"]}
    run_config = {"ops": {"dbt_models": {"config": config}}}
    result = materialize(
        [dbt_models],
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        run_config=run_config,
        raise_on_error=False,
    )
    assert result.success == expect_success
    return result


def query(db, sql) -> pd.DataFrame:
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def create_workspace_key(
    url: DatabaseUrl,
    name: str = "test",
    accounts: list[tuple[str, str]] | None = None,
    ticket_sources: list[str] | None = None,
    email: str | None = None,
) -> str:
    """A workspace `name` (reused if it exists) owning `accounts` and `ticket_sources` (default:
    every registered account and every ticket source with tickets), a user, and a fresh API key,
    returned whole. Works on any migrated database, materialized or not."""
    from ask.auth import create_key
    from ask.workspaces import add_user, add_workspace, grant

    with psycopg2.connect(url.libpq) as conn, conn.cursor() as cur:
        add_workspace(cur, name)
        if accounts is None:
            cur.execute("SELECT platform, account_id FROM app.ad_accounts ORDER BY 1, 2")
            accounts = [(platform, account_id) for platform, account_id in cur.fetchall()]
        if ticket_sources is None:
            cur.execute("SELECT DISTINCT source FROM raw.tickets ORDER BY 1")
            ticket_sources = [source for (source,) in cur.fetchall()]
        grant(cur, name, accounts, ticket_sources)
        user = email or f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        add_user(cur, name, user)
        token = create_key(cur, user, name="tests").token
    conn.close()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
