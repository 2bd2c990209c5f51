"""`burry users add EMAIL --workspace W`: a user of a workspace (API keys belong to users)."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestration.cli.common import database_url, fail, say

app = typer.Typer(help="Users: each belongs to one workspace and holds API keys.", no_args_is_help=True)


@app.command()
def add(
    email: Annotated[str, typer.Argument(help="The user's email (one workspace per email).", show_default=False)],
    workspace: Annotated[str, typer.Option(help="The user's workspace.", show_default=False)],
    name: Annotated[str | None, typer.Option(help="A display name.")] = None,
) -> None:
    """Add a user to a workspace (an existing user of that workspace is kept). Exit 1: no such workspace,
    or the email belongs to another workspace."""
    from ask.auth import NotFound
    from ask.workspaces import add_user
    from resources.database import connect

    with connect(database_url()) as conn, conn.cursor() as cur:
        try:
            user_id, created = add_user(cur, workspace, email, name)
        except (NotFound, ValueError) as exc:
            conn.rollback()
            fail(f"error: {exc}")
    say(f"user {email} (id {user_id}) in {workspace} " + ("added" if created else "exists already"))
    if created:
        say(f"  next: burry keys create --user {email}")
