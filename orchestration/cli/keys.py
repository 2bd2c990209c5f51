"""`burry keys create|list|revoke`: API keys for the ask service, stored hashed, shown once."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

import typer

from orchestration.cli.common import database_url, fail, print_rows, say, warn

app = typer.Typer(help="API keys: `Authorization: Bearer <key>` for the ask service.", no_args_is_help=True)


@app.command()
def create(
    user: Annotated[str, typer.Option("--user", help="The key's user (email).", show_default=False)],
    name: Annotated[str | None, typer.Option(help="What the key is for (shown by `keys list`).")] = None,
) -> None:
    """Create a key and print it: it is shown this once (only its hash is stored). Exit 1: no such user."""
    from ask.auth import NotFound, create_key
    from resources.database import connect

    with connect(database_url()) as conn, conn.cursor() as cur:
        try:
            key = create_key(cur, user, name)
        except NotFound as exc:
            conn.rollback()
            fail(f"error: {exc}")
    say(key.token)
    warn(
        f"key #{key.id} (prefix {key.prefix}) for {key.user_email} in workspace {key.workspace_name}: "
        f"shown once, keep it now; revoke with `burry keys revoke {key.prefix}`"
    )


@app.command("list")
def list_keys(
    workspace: Annotated[str | None, typer.Option(help="Only this workspace's keys.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Leave revoked keys out.")] = False,
) -> None:
    """Keys (never their secrets): id, prefix, user, workspace, created, last used, revoked."""
    from ask.auth import list_keys as keys
    from resources.database import connect

    with connect(database_url()) as conn, conn.cursor() as cur:
        records = keys(cur, workspace, include_revoked=not active)
    if not records:
        say("no API keys: burry keys create --user EMAIL")
        return

    def when(value):
        return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}" if value else None

    rows = [
        (
            k.id,
            k.prefix,
            k.name,
            k.user_email,
            k.workspace_name,
            when(k.created_at),
            when(k.last_used_at),
            when(k.revoked_at),
        )
        for k in records
    ]
    print_rows(
        "API keys",
        ("id", "prefix", "name", "user", "workspace", "created (UTC)", "last used", "revoked"),
        rows,
        lambda r: (
            f"#{r[0]}  {r[1]}  {r[3]}  {r[4]}  created {r[5]}  last used {r[6] or 'never'}"
            + (f"  revoked {r[7]}" if r[7] else "")
        ),
    )


@app.command()
def revoke(
    key: Annotated[str, typer.Argument(help="The key's prefix, id, or the whole key.", show_default=False)],
) -> None:
    """Revoke a key: it is refused from now on (kept in the list, marked revoked). Exit 1: no such key."""
    from ask.auth import NotFound, revoke_key
    from resources.database import connect

    with connect(database_url()) as conn, conn.cursor() as cur:
        try:
            record = revoke_key(cur, key)
        except NotFound as exc:
            conn.rollback()
            fail(f"error: {exc}")
    say(f"revoked key #{record.id} (prefix {record.prefix}) of {record.user_email} in {record.workspace_name}")
