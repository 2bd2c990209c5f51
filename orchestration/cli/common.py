"""What every command group shares: the consoles, plain output, errors, the database, progress.

Command modules import this (and typer) at the top and everything else inside their command
functions, so that `burry --help` stays fast and never imports Dagster or dbt.

Output conventions: lines that scripts, tests or the README rely on are printed plain (`say`),
never through rich, which would wrap or interpret them. Rich renders only what is for a person:
tables and spinners, on a terminal. Piped or redirected, the same information comes as plain lines.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from resources.database_url import DatabaseUrl

console = Console()
err_console = Console(stderr=True)


def say(line: str = "") -> None:
    """A plain line on stdout, flushed (child processes write to the same terminal)."""
    print(line, flush=True)


def warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """`message` on stderr, then exit with `code`."""
    warn(message)
    raise typer.Exit(code)


def finish(code: int) -> NoReturn:
    raise typer.Exit(code)


def interactive() -> bool:
    """Both streams on a terminal: only then are live displays (spinners, progress) drawn."""
    return console.is_terminal and err_console.is_terminal


# -- option values -------------------------------------------------------------------------------
def iso_date(value: str | None) -> str | None:
    """Callback for a YYYY-MM-DD option: a usage error (exit 2) for anything else."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD") from None


# -- the database ----------------------------------------------------------------------------------
def ensure_database() -> DatabaseUrl:
    """DATABASE_URL if set; otherwise start (or find) the embedded server. Then migrate."""
    from orchestration import migrate
    from resources import settings
    from resources.database_url import DatabaseUrl
    from resources.embedded_postgres import EmbeddedPostgres, server_log_tail

    external = settings.external_database_url()
    if external:
        url = DatabaseUrl.parse(external)
        say(f"==> using DATABASE_URL {url.redacted()}")
    else:
        server = EmbeddedPostgres(settings.pg_data_dir())
        say(f"==> embedded PostgreSQL in {server.pgdata}")
        try:
            url = server.start()
        except Exception as exc:
            fail(f"could not start PostgreSQL in {server.pgdata}: {exc}\n{server_log_tail(server.pgdata)}")
    migrate.upgrade(url)
    return url


def database_url() -> DatabaseUrl:
    """DATABASE_URL, or the running embedded server; exit 1 with the hint when there is neither."""
    from resources.database import DatabaseNotConfigured, resolve_database_url

    try:
        return resolve_database_url()
    except DatabaseNotConfigured as exc:
        fail(str(exc))


# -- what a refresh reports besides its runs -----------------------------------------------------
def report_healed(line: str) -> None:
    """A run or refresh job of an earlier, interrupted refresh, marked failed before this one."""
    warn(f"==> {line}")


def report_registry_error(error: str | None) -> None:
    if error:
        warn(
            f"==> account registry FAILED: {error}\n"
            "    The accounts registered before were still refreshed, each in its own run (their errors "
            "are in app.refresh_jobs and the Dagster UI); new accounts are added once the source answers."
        )


# -- progress and listings -----------------------------------------------------------------------
@contextlib.contextmanager
def step_progress(title: str) -> Iterator[Callable[[str], None]]:
    """An `on_step(label)` callback for long work made of steps (a refresh's runs).

    Each step is a plain `==> label` line; on a terminal a spinner below the output also shows the
    current step and the time spent. Log lines written meanwhile (Dagster's) print above it."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not interactive(),
    )
    with progress:
        task = progress.add_task(title, total=None)
        count = 0

        def on_step(label: str) -> None:
            nonlocal count
            count += 1
            say(f"==> {label}")
            progress.update(task, description=f"{title}: step {count}, {label}")

        yield on_step


@contextlib.contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner on stderr while the block runs, on a terminal; nothing otherwise."""
    if not interactive():
        yield
        return
    with err_console.status(message):
        yield


def print_rows(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[object]], plain: Callable[[Sequence[object]], str]
) -> None:
    """A listing: a rich table on a terminal; piped, one `plain(row)` line per row (stable, greppable)."""
    if not console.is_terminal:
        for row in rows:
            say(plain(row))
        return
    from rich.table import Table
    from rich.text import Text  # cells as text, never markup: a name may hold [brackets]

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text("-" if value is None else str(value)) for value in row))
    console.print(table)
