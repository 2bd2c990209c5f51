"""The `burry` command tree without a database: help everywhere, usage errors, exit codes that need
no server. Commands that do work are tested end to end in tests/integration/test_cli.py."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from orchestration.cli import app, main

runner = CliRunner()

# The commands users, scripts and the README rely on: a new group may add to these, never rename.
EXPECTED_COMMANDS = {
    ("db", "start"),
    ("db", "stop"),
    ("db", "status"),
    ("db", "url"),
    ("db", "migrate"),
    ("demo",),
    ("serve",),
    ("ask",),
    ("import", "ads"),
    ("import", "tickets"),
    ("import", "list"),
    ("import", "undo"),
    ("refresh", "marts"),
    ("refresh", "all"),
    ("dbt-prepare",),
    ("workspaces", "add"),
    ("workspaces", "list"),
    ("workspaces", "grant"),
    ("users", "add"),
    ("keys", "create"),
    ("keys", "list"),
    ("keys", "revoke"),
    ("prompts", "list"),
    ("prompts", "show"),
    ("prompts", "diff"),
    ("prompts", "preview"),
    ("prompts", "render"),
    ("prompts", "activate"),
    ("search", "tickets"),
    ("search", "ads"),
    ("search", "embed"),
}
EXPECTED_OPTIONS = {
    ("demo",): {"--no-serve", "--end-date", "--host", "--ui-port", "--api-port", "--embeddings"},
    ("serve",): {"--host", "--ui-port", "--api-port"},
    ("ask",): {"--account", "--platform", "--as-of", "--key", "--workspace", "--conversation"},
    ("import", "ads"): {"--mapping", "--encoding", "--merge", "--workspace"},
    ("import", "tickets"): {"--mapping", "--encoding", "--workspace"},
    ("workspaces", "grant"): {"--account", "--platform", "--ticket-source", "--all-unowned"},
    ("users", "add"): {"--workspace", "--name"},
    ("keys", "create"): {"--user", "--name"},
    ("keys", "list"): {"--workspace", "--active"},
    ("refresh", "marts"): {"--full-refresh", "--lookback-days"},
    ("refresh", "all"): {"--lookback-days"},
    ("prompts", "render"): {"--account", "--version"},
    ("prompts", "refresh"): {"--account"},
    ("search", "tickets"): {"--k", "--source", "--like", "--min-similarity", "--json"},
    ("search", "ads"): {"--k", "--json"},
}


def command_tree(command, path=()):
    """Every group and command under `command`, as argument paths (the root is `()`)."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_tree(sub, (*path, name))


TREE = dict(command_tree(typer.main.get_command(app)))


@pytest.fixture
def no_database(tmp_path):
    """No DATABASE_URL and an embedded data dir that does not exist: anything that touched a
    database would fail (exit 1) or create the directory."""
    return {"DATABASE_URL": None, "BURRY_PG_DATA": str(tmp_path / "no-server" / "pg")}


def test_the_command_tree_keeps_every_command_and_flag():
    assert set(TREE) >= EXPECTED_COMMANDS
    for path, options in EXPECTED_OPTIONS.items():
        declared = {opt for param in TREE[path].params for opt in param.opts}
        assert options <= declared, path


@pytest.mark.parametrize("path", sorted(TREE), ids=lambda path: " ".join(path) or "burry")
def test_every_command_and_group_has_help(path):
    result = runner.invoke(app, [*path, "--help"])

    assert result.exit_code == 0, result.output
    assert f"Usage: burry {' '.join(path)}".rstrip() in result.output
    assert TREE[path].help or TREE[path].short_help or not path, f"{path} has no help text"


@pytest.mark.parametrize(
    "args",
    [
        ["nope"],
        ["db", "nope"],
        ["import", "csv", "f.csv"],
        ["refresh", "nope"],
        ["demo", "--bogus"],
        ["ask"],
        ["keys", "create"],
        ["users", "add", "a@b.c"],
        ["import", "ads", "f.csv"],
        [],
    ],
)
def test_unknown_commands_and_bad_usage_exit_2(args):
    result = runner.invoke(app, args)

    assert result.exit_code == 2, result.output
    assert "Usage: burry" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--end-date", "30/09/2026"],
        ["ask", "q", "--account", "1", "--as-of", "x"],
        ["ask", "q", "--key", "k", "--workspace", "w"],
        ["refresh", "marts", "--lookback-days", "0"],
        ["serve", "--ui-port", "http"],
    ],
)
def test_bad_option_values_exit_2_before_anything_runs(args, no_database, tmp_path):
    result = runner.invoke(app, args, env=no_database)

    assert result.exit_code == 2, result.output
    assert not (tmp_path / "no-server").exists()


def test_an_unknown_mapping_exits_2_naming_the_shipped_ones_without_a_database(no_database, tmp_path):
    result = runner.invoke(app, ["import", "ads", "missing.csv", "--mapping", "nope"], env=no_database)

    assert result.exit_code == 2, result.output
    assert "no mapping file 'nope'; shipped mappings:" in result.stderr
    assert "online_ads" in result.stderr and "jira" in result.stderr
    assert not (tmp_path / "no-server").exists()


def test_a_mapping_of_the_other_kind_or_a_missing_file_exits_2_without_a_database(no_database):
    kind = runner.invoke(app, ["import", "tickets", "missing.csv", "--mapping", "online_ads"], env=no_database)
    assert kind.exit_code == 2 and "is for ads, not tickets" in kind.stderr

    missing = runner.invoke(app, ["import", "ads", "missing.csv", "--mapping", "online_ads"], env=no_database)
    assert missing.exit_code == 2 and "no file 'missing.csv'" in missing.stderr


def test_db_status_exits_3_when_the_embedded_server_is_stopped(no_database, tmp_path):
    status = runner.invoke(app, ["db", "status"], env=no_database)
    assert status.exit_code == 3, status.output
    assert status.stdout.startswith("stopped\n") and "url: -" in status.stdout

    url = runner.invoke(app, ["db", "url"], env=no_database)
    assert url.exit_code == 1 and "not running" in url.stderr
    stop = runner.invoke(app, ["db", "stop"], env=no_database)
    assert stop.exit_code == 0 and stop.stdout == "not running\n"
    assert not (tmp_path / "no-server").exists()


def test_with_database_url_db_refuses_start_and_stop_and_status_hides_the_password():
    env = {"DATABASE_URL": "postgresql://burry:s3cret@db.invalid:5432/burry"}

    status = runner.invoke(app, ["db", "status"], env=env)
    assert status.exit_code == 0 and "external (DATABASE_URL)" in status.stdout
    assert "s3cret" not in status.output and "***" in status.stdout
    for action in ("start", "stop"):
        refused = runner.invoke(app, ["db", action], env=env)
        assert refused.exit_code == 1 and "DATABASE_URL is set" in refused.stderr


def test_ask_without_a_running_database_exits_1_with_the_hint(no_database):
    result = runner.invoke(app, ["ask", "What was total spend?", "--account", "123-456-7890"], env=no_database)

    assert result.exit_code == 1
    assert "burry db start" in result.stderr


def test_main_returns_the_exit_code(capsys):
    assert main(["--help"]) == 0
    assert main(["nope"]) == 2
    assert "Usage: burry" in capsys.readouterr().out


def test_tracebacks_never_show_local_variables():
    assert app.pretty_exceptions_enable is False and app.pretty_exceptions_show_locals is False


def test_help_imports_neither_dagster_nor_dbt_nor_a_database_driver():
    """`burry --help` stays fast: command modules import their dependencies inside the commands."""
    code = (
        "import sys, orchestration.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dagster', 'dagster_dbt', 'dbt', 'psycopg2', 'sqlalchemy', 'alembic', 'assets', 'ask')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
