"""`burry`: the command line. One module per command group; this one assembles them.

    burry db start|stop|status|url|migrate
    burry demo [--no-serve] [--end-date YYYY-MM-DD] [--host H] [--ui-port P] [--api-port P]
    burry serve [--host 127.0.0.1] [--ui-port 3000] [--api-port 8000]
    burry ask "What was total spend last 7 days?" [--account 1234567890] [--key K | --workspace W]
    burry workspaces add|list|grant, burry users add, burry keys create|list|revoke
    burry import ads|tickets FILE --mapping MAPPING
    burry refresh marts [--full-refresh] [--lookback-days N] | all [--lookback-days N]
    burry prompts list|show|diff|preview|render|activate|snapshot|refresh
    burry search tickets "refund not received" [--k 10] [--source S] | ads "..." | embed
    burry dbt-prepare

Adding a command group: a module here with its own `app = typer.Typer(...)` (typer and
`orchestration.cli.common` imported at the top, everything else inside the command functions, so
`burry --help` stays fast), and one `app.add_typer(...)` line below: with `name=` for a group
(`burry NAME COMMAND`), without for top-level commands. Commands end with `finish(code)` or
`fail(message, code)` (orchestration/cli/common.py) for an exit code other than 0.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import typer

from orchestration.cli import ask, db, dbt, demo, imports, keys, prompts, refresh, search, users, workspaces

app = typer.Typer(
    name="burry",
    help="Burry: ad spend and support load in PostgreSQL, orchestrated by Dagster, modelled by dbt, "
    "and a question-answering service over the numbers.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback must not print local variables: they may hold a password or an API key.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)

app.add_typer(db.app, name="db")
app.add_typer(demo.app)  # demo, serve
app.add_typer(ask.app)  # ask
app.add_typer(imports.app, name="import")
app.add_typer(refresh.app, name="refresh")
app.add_typer(dbt.app)  # dbt-prepare
app.add_typer(workspaces.app, name="workspaces")
app.add_typer(users.app, name="users")
app.add_typer(keys.app, name="keys")
app.add_typer(search.app, name="search")
app.add_typer(prompts.app, name="prompts")


def main(argv: Sequence[str] | None = None) -> int:
    """Run `burry` with `argv` (default: the process's arguments); returns the exit code."""
    from resources import settings

    level = settings.log_level()
    if level:
        # Off by default: Dagster logs runs through its own handler, a root handler would repeat them.
        logging.basicConfig(level=level)
    try:
        app(args=list(argv) if argv is not None else None, prog_name="burry")
    except SystemExit as exit:
        return exit_code(exit.code)
    return 0


def exit_code(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1
