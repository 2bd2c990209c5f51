"""`burry db start|stop|status|url|migrate`: the PostgreSQL server Burry uses."""

from __future__ import annotations

import typer

from orchestration.cli.common import fail, finish, say

app = typer.Typer(
    help="The PostgreSQL server: the embedded one by default, DATABASE_URL for an external one.",
    no_args_is_help=True,
)

EXTERNAL_REFUSAL = "DATABASE_URL is set: Burry uses that server and does not start or stop it."


def _embedded():
    from resources import settings
    from resources.embedded_postgres import EmbeddedPostgres

    return EmbeddedPostgres(settings.pg_data_dir())


def _external():
    """The DATABASE_URL server, or None when the embedded one is in use."""
    from resources import settings
    from resources.database_url import DatabaseUrl

    external = settings.external_database_url()
    return DatabaseUrl.parse(external) if external else None


@app.command()
def start() -> None:
    """Start the embedded PostgreSQL (initialised on first use); it keeps running after the command exits."""
    from resources.embedded_postgres import server_log_tail

    if _external():
        fail(EXTERNAL_REFUSAL)
    server = _embedded()
    try:
        url = server.start()
    except Exception as exc:
        fail(f"could not start PostgreSQL in {server.pgdata}: {exc}\n{server_log_tail(server.pgdata)}")
    say(f"running: {url.redacted()}")


@app.command()
def stop() -> None:
    """Stop the embedded PostgreSQL."""
    if _external():
        fail(EXTERNAL_REFUSAL)
    say("stopped" if _embedded().stop() else "not running")


@app.command()
def status() -> None:
    """Whether the server runs: exit 0 when it does (or DATABASE_URL is set), 3 when stopped."""
    external = _external()
    if external:
        say(f"external (DATABASE_URL): {external.redacted()}")
        return
    state = _embedded().status()
    running = f"running (pid {state.pid})" if state.running else "stopped"
    say(f"{running}\ndata dir: {state.pgdata}\nurl: {state.url or '-'}")
    if not state.running:
        finish(3)


@app.command()
def url() -> None:
    """Print the connection URL, for psql or a notebook (with the password, if any: it is your own)."""
    url = _external() or _embedded().url()
    if url is None:
        fail("not running: `burry db start`")
    say(url.libpq)


@app.command()
def migrate() -> None:
    """Apply the versioned migrations (Alembic, migrations/) for the raw and app schemas."""
    from orchestration import migrate as migrations

    url = _external() or _embedded().url()
    if url is None:
        fail("The embedded PostgreSQL is not running: `burry db start` first.")
    migrations.upgrade(url)
    say(f"migrated {url.redacted()} to {migrations.current_revision(url)}")
