"""The notebooks run headless on a built pipeline, as `python notebooks/<name>.py` after `make demo`."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from tests.helpers import create_database, drop_database

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "spend_and_support.py"


def run_notebook(url) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url.libpq, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(NOTEBOOK)], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_the_notebook_tours_the_marts_and_reconciles_them_with_raw(built_db):
    done = run_notebook(built_db)

    assert done.returncode == 0, done.stderr
    assert "reconciled: 3 account(s), marts equal raw" in done.stdout
    for mart_figure in ["cost_change_pct", "spend_rank", "first_response_sla", "week_start"]:
        assert mart_figure in done.stdout


def test_the_notebook_fails_when_the_marts_drift_from_raw(built_db, pg_server):
    _, admin_url = pg_server
    copy = create_database(admin_url, template=built_db)
    try:
        # Raw corrected after the last build: the marts no longer match until dbt runs again.
        with psycopg2.connect(copy.libpq) as conn, conn.cursor() as cur:
            cur.execute(
                "UPDATE raw.campaign_daily_metrics SET cost_micros = cost_micros + 10000 "
                "WHERE ctid = (SELECT ctid FROM raw.campaign_daily_metrics WHERE cost_micros > 0 LIMIT 1)"
            )
        conn.close()
        done = run_notebook(copy)
    finally:
        drop_database(admin_url, copy)

    assert done.returncode == 1
    assert "MISMATCH in 1 account(s)" in done.stderr and "--full-refresh" in done.stderr
