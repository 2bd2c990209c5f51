"""The `burry` command as a user runs it: a real subprocess, a real Dagster instance in PostgreSQL."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg2
import pytest

from orchestration import migrate
from resources.database_url import DatabaseUrl
from tests.helpers import DEMO_END_DATE, FIXTURES, create_database, create_workspace_key, drop_database

pytestmark = pytest.mark.slow

BURRY = str(Path(sys.executable).parent / "burry")


def run_burry(*args, env, timeout=600):
    return subprocess.run([BURRY, *args], env=env, capture_output=True, text=True, timeout=timeout)


def make_cli_env(libpq: str, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": libpq, "DAGSTER_HOME": str(tmp_path / "dagster")}
    # If anything fell back to the embedded default instead of DATABASE_URL, it would show here.
    env["BURRY_PG_DATA"] = str(tmp_path / "must-not-exist" / "pg")
    env["BURRY_DROP_DIR"] = str(tmp_path / "drop")
    return env


@pytest.fixture
def cli_env(db, tmp_path):
    return make_cli_env(db.libpq, tmp_path)


@dataclass
class DemoSite:
    """One `burry demo --no-serve` run, shared by the tests below (each demo costs ~40 s)."""

    env: dict[str, str]
    db: DatabaseUrl
    tmp_path: Path
    output: str


@pytest.fixture(scope="module")
def demo_site(pg_server, tmp_path_factory):
    """The demo materialized once into its own database. The tests that use it run in file order:
    the first reads the demo's own output and state (then reruns it), the import test adds a ticket
    source and refreshes (its counts are deltas), the serve test reads what all that left."""
    _, admin_url = pg_server
    url = create_database(admin_url)
    migrate.upgrade(url)
    tmp_path = tmp_path_factory.mktemp("demo")
    env = make_cli_env(url.libpq, tmp_path)
    result = run_burry("demo", "--no-serve", "--end-date", DEMO_END_DATE, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield DemoSite(env=env, db=url, tmp_path=tmp_path, output=result.stdout)
    drop_database(admin_url, url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_db_commands_follow_database_url(cli_env, db, tmp_path):
    status = run_burry("db", "status", env=cli_env)
    assert status.returncode == 0 and "external (DATABASE_URL)" in status.stdout
    assert run_burry("db", "url", env=cli_env).stdout.strip() == db.libpq
    refused = run_burry("db", "start", env=cli_env)
    assert refused.returncode == 1 and "DATABASE_URL is set" in refused.stderr
    migrated = run_burry("db", "migrate", env=cli_env)
    assert migrated.returncode == 0, migrated.stderr
    assert not (tmp_path / "must-not-exist").exists()


def test_demo_without_serving_materializes_into_database_url(demo_site):
    cli_env, db, tmp_path, output = demo_site.env, demo_site.db, demo_site.tmp_path, demo_site.output

    assert "pipeline done" in output
    assert not (tmp_path / "must-not-exist").exists(), "DATABASE_URL must switch everything"
    assert (tmp_path / "dagster" / "dagster.yaml").exists()
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        # Dagster's run storage lives in the same database (schema `dagster`), and the run succeeded.
        cur.execute("SELECT status, count(*) FROM dagster.runs GROUP BY 1")
        # one run per ad account, file imports, tickets and marts; one prompt run per subject (3 accounts,
        # the demo ticket source); the embeddings
        assert cur.fetchall() == [("SUCCESS", 5 + 4 + 1)]
        cur.execute("SELECT count(*) FROM dagster.dynamic_partitions WHERE partitions_def_name = 'ad_accounts'")
        assert cur.fetchone()[0] == 3
        cur.execute("SELECT count(DISTINCT account_id) FROM analytics.account_daily")
        assert cur.fetchone()[0] == 3

    # The demo embedded its tickets: `burry search` works right after it.
    found = run_burry("search", "tickets", "refund not received", "--k", "3", env=cli_env)
    assert found.returncode == 0 and "refund" in found.stdout.lower(), found.stdout + found.stderr

    # Piped, the accounts come as plain lines (a rich table only on a terminal).
    assert f"    account {_first_account(db)}  " in output
    assert sum(line.startswith("    account ") for line in output.splitlines()) == 3

    account = _first_account(db)
    answer = run_burry(
        "ask", "What was total spend last 7 days?", "--account", account, "--as-of", "2026-10-01", env=cli_env
    )
    assert answer.returncode == 0 and "spend" in answer.stdout and "$" in answer.stdout, answer.stdout + answer.stderr
    dashed = run_burry(
        "ask",
        "What was total spend last 7 days?",
        "--account",
        f"{account[:3]}-{account[3:6]}-{account[6:]}",
        "--as-of",
        "2026-10-01",
        env=cli_env,
    )
    assert dashed.returncode == 0 and dashed.stdout == answer.stdout, dashed.stdout + dashed.stderr

    # The demo made a workspace owning its accounts, and printed a key that works for `burry ask --key`.
    key = demo_key(output)
    with_key = run_burry(
        "ask",
        "What was total spend last 7 days?",
        "--account",
        account,
        "--as-of",
        "2026-10-01",
        "--key",
        key,
        env=cli_env,
    )
    assert with_key.returncode == 0 and with_key.stdout == answer.stdout, with_key.stdout + with_key.stderr
    revoked = run_burry("keys", "revoke", key.split("_")[1], env=cli_env)
    assert revoked.returncode == 0, revoked.stderr
    refused = run_burry("ask", "spend last 7 days?", "--key", key, env=cli_env)
    assert refused.returncode == 1 and "revoked" in refused.stderr
    again = run_burry("demo", "--no-serve", "--no-embeddings", "--end-date", DEMO_END_DATE, env=cli_env)
    assert again.returncode == 0 and demo_key(again.stdout) != key, "a rerun reuses the workspace with a new key"
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT w.name, count(*) FROM app.ad_accounts a JOIN app.workspaces w ON w.id = a.workspace_id GROUP BY 1"
        )
        assert cur.fetchall() == [("demo", 3)]
        cur.execute("SELECT source FROM app.ticket_sources")
        assert cur.fetchall() == [("demo",)]
        cur.execute("SELECT count(*) FROM app.interactions WHERE source = 'cli'")
        assert cur.fetchone()[0] == 3


def test_import_is_recorded_in_dagster_and_refresh_rebuilds_the_marts(demo_site):
    cli_env, db = demo_site.env, demo_site.db
    runs_before = succeeded_runs(db)

    imported = run_burry("import", "tickets", str(FIXTURES / "jira_export.csv"), "--mapping", "jira", env=cli_env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "3 loaded, 2 quarantined" in imported.stdout
    assert "rebuild the marts with: burry refresh marts" in imported.stdout
    assert "granted to workspace demo (the only workspace): tickets:jira" in imported.stdout
    again = run_burry("import", "tickets", str(FIXTURES / "jira_export.csv"), "--mapping", "jira", env=cli_env)
    assert again.returncode == 0 and "already imported" in again.stdout and "burry refresh" not in again.stdout

    marts = run_burry("refresh", "marts", "--lookback-days", "7", env=cli_env)
    assert marts.returncode == 0, marts.stdout[-3000:] + marts.stderr[-3000:]
    assert "==> marts rebuilt in" in marts.stdout
    everything = run_burry("refresh", "all", env=cli_env)
    assert everything.returncode == 0, everything.stdout[-3000:] + everything.stderr[-3000:]
    assert "==> refresh done in" in everything.stdout and "==> tickets, checks and dbt marts" in everything.stdout

    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        # The CLI import is an event on the tickets import asset, with no run, like the drop folder's.
        cur.execute(
            "SELECT count(*) FROM dagster.event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
            "AND run_id = '' AND asset_key LIKE '%ticket_files%'"
        )
        assert cur.fetchone()[0] == 1
        cur.execute("SELECT count(*) FROM analytics.tickets_daily WHERE source = 'jira'")
        assert cur.fetchone()[0] > 0, "the marts were rebuilt with the imported tickets"
    # rebuild_marts (1), then a whole refresh: 5 + a prompt run per subject, now with jira (5)
    assert succeeded_runs(db) == runs_before + 1 + 10, "rebuild_marts, then a whole refresh"


def succeeded_runs(db) -> int:
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, count(*) FROM dagster.runs GROUP BY 1")
        statuses = dict(cur.fetchall())
    conn.close()
    assert set(statuses) == {"SUCCESS"}, statuses
    return statuses["SUCCESS"]


def test_imported_accounts_go_to_a_workspace_that_keys_can_ask_about(cli_env, db):
    report = str(FIXTURES / "google_ads_ui_report.csv")
    nobody = run_burry("import", "ads", report, "--mapping", "google_ads_ui", env=cli_env)
    assert nobody.returncode == 0, nobody.stdout + nobody.stderr
    assert "no workspace owns google_ads:1234567890 yet: grant with `burry workspaces grant NAME --all-unowned`" in (
        nobody.stdout
    )
    missing = run_burry(
        "import", "tickets", str(FIXTURES / "jira_export.csv"), "--mapping", "jira", "--workspace", "nope", env=cli_env
    )
    assert missing.returncode == 2 and "no workspace 'nope'" in missing.stderr

    assert run_burry("workspaces", "add", "acme", env=cli_env).returncode == 0
    listed = run_burry("workspaces", "list", env=cli_env)
    assert "owned by no workspace: google_ads:1234567890" in listed.stdout
    granted = run_burry("workspaces", "grant", "acme", "--all-unowned", env=cli_env)
    assert granted.returncode == 0 and "granted google_ads:1234567890 to acme" in granted.stdout
    tickets = run_burry(
        "import", "tickets", str(FIXTURES / "jira_export.csv"), "--mapping", "jira", "--workspace", "acme", env=cli_env
    )
    assert tickets.returncode == 0 and "granted to workspace acme: tickets:jira" in tickets.stdout

    assert run_burry("users", "add", "ana@acme.example", "--workspace", "acme", env=cli_env).returncode == 0
    created = run_burry("keys", "create", "--user", "ana@acme.example", env=cli_env)
    assert created.returncode == 0 and created.stdout.startswith("burry_")
    key = created.stdout.strip()
    keys = run_burry("keys", "list", env=cli_env)
    assert key.split("_")[1] in keys.stdout and key not in keys.stdout, "listed by prefix, never the secret"
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT prefix, encode(secret_sha256, 'hex') FROM app.api_keys")
        ((prefix, digest),) = cur.fetchall()
    conn.close()
    assert key.split("_")[2] not in digest and prefix == key.split("_")[1]
    other = run_burry("ask", "spend last 7 days?", "--key", key, "--account", "999-999-9999", env=cli_env)
    assert other.returncode == 1 and "not in your workspace" in other.stderr


def _first_account(db) -> str:
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT min(account_id) FROM app.ad_accounts")
        return cur.fetchone()[0]


def wait_for(url: str, deadline: float) -> httpx.Response:
    while True:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer")
        time.sleep(1)


def demo_key(demo_output: str) -> str:
    """The key `burry demo` prints (a new one each run)."""
    return next(line.split("=", 1)[1] for line in demo_output.splitlines() if line.startswith("    BURRY_KEY="))


def test_serve_runs_the_dagster_ui_and_the_ask_service_until_interrupted(demo_site):
    cli_env, db = demo_site.env, demo_site.db
    key = create_workspace_key(db, "demo", accounts=[], ticket_sources=[])
    ui_port, api_port = free_port(), free_port()
    server = subprocess.Popen(
        [BURRY, "serve", "--ui-port", str(ui_port), "--api-port", str(api_port)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        assert wait_for(f"http://127.0.0.1:{api_port}/v1/health", deadline).json()["marts_ready"] is True
        wait_for(f"http://127.0.0.1:{ui_port}/server_info", deadline)
        # The UI's GraphQL API sees the materialized marts, and every check with its latest result.
        query = (
            "{ assetNodes { assetKey { path } dependencyKeys { path } assetMaterializations(limit: 1) { runId } "
            "assetChecksOrError { ... on AssetChecks { checks { name blocking jobNames "
            "executionForLatestMaterialization { status } } } } } }"
        )
        nodes = httpx.post(f"http://127.0.0.1:{ui_port}/graphql", json={"query": query}, timeout=30).json()
        materialized = {
            "/".join(n["assetKey"]["path"]) for n in nodes["data"]["assetNodes"] if n["assetMaterializations"]
        }
        every_asset = {"/".join(n["assetKey"]["path"]) for n in nodes["data"]["assetNodes"]}
        assert materialized == every_asset, f"not materialized: {every_asset - materialized}"
        checks = {
            ("/".join(n["assetKey"]["path"]), c["name"]): c
            for n in nodes["data"]["assetNodes"]
            for c in n["assetChecksOrError"].get("checks", [])
        }
        raw_checks = {key: c for key, c in checks.items() if key[0].startswith("raw/")}
        assert {key[0] for key in raw_checks} >= {"raw/ad_daily_metrics", "raw/campaign_daily_metrics", "raw/tickets"}
        assert raw_checks["raw/ad_daily_metrics", "expectations"]["blocking"] is True
        assert set(raw_checks["raw/ad_daily_metrics", "expectations"]["jobNames"]) >= {
            "extract_ads",
            "refresh_tickets_and_marts",
        }
        assert raw_checks["raw/campaign_daily_metrics", "freshness"]["blocking"] is False
        assert all(c["executionForLatestMaterialization"] for c in raw_checks.values()), raw_checks
        assert any(key[0].startswith("analytics/") for key in checks), "dbt tests show as checks too"
        # Prompts in the graph after the marts: templates -> snapshots (checked) -> served prompts.
        parents = {
            "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
            for n in nodes["data"]["assetNodes"]
        }
        assert parents["prompts/snapshots"] >= {"prompts/templates", "analytics/account_overview", "analytics/top_ads"}
        assert parents["prompts/served"] == {"prompts/snapshots"}
        assert checks["prompts/snapshots", "numbers_in_context"]["executionForLatestMaterialization"]["status"] == (
            "SUCCEEDED"
        )
        answer = httpx.post(
            f"http://127.0.0.1:{api_port}/v1/ask",
            json={
                "account_id": _first_account(db),
                "question": "What was total spend last 7 days?",
                "as_of": "2026-10-01",
            },
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ).json()
        assert answer["route"] == "metric_sql"
        refused = httpx.post(f"http://127.0.0.1:{api_port}/v1/ask", json={"question": "spend?"}, timeout=30)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        docs = httpx.get(f"http://127.0.0.1:{api_port}/docs", timeout=30)
        assert docs.status_code == 200 and "/static-docs/swagger-ui-bundle.js" in docs.text
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output[-3000:]
    assert f"http://127.0.0.1:{ui_port}" in output and "curl -s" in output
