"""`burry workspaces add|list|grant`: who owns which ad accounts and ticket sources.

A key reads only its workspace's accounts and ticket sources (the ask service, `burry ask --key`)."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestration.cli.common import database_url, fail, print_rows, say

app = typer.Typer(
    help="Workspaces own ad accounts and ticket sources; users belong to one; API keys to users.",
    no_args_is_help=True,
)


@app.command()
def add(name: Annotated[str, typer.Argument(help="The workspace's name.", show_default=False)]) -> None:
    """Create a workspace (an existing one of that name is kept as it is)."""
    from ask.workspaces import add_workspace
    from resources.database import connect

    with connect(database_url()) as conn, conn.cursor() as cur:
        try:
            workspace_id, created = add_workspace(cur, name)
        except ValueError as exc:
            fail(f"error: {exc}", 2)
    say(f"workspace {name!r} (id {workspace_id}) " + ("created" if created else "exists already"))
    if created:
        say(f"  next: burry workspaces grant {name} --account ID --ticket-source SOURCE")
        say(f"        burry users add EMAIL --workspace {name}")


@app.command("list")
def list_workspaces() -> None:
    """Workspaces with their users, accounts, ticket sources and active keys; then what nobody owns."""
    from ask.workspaces import list_workspaces as workspaces
    from ask.workspaces import unowned
    from resources.database import connect

    with connect(database_url()) as conn, conn.cursor() as cur:
        rows = [(w.id, w.name, w.users, w.accounts, w.ticket_sources, w.active_keys) for w in workspaces(cur)]
        accounts, sources = unowned(cur)
    if not rows:
        say("no workspaces yet: burry workspaces add NAME")
    else:
        print_rows(
            "Workspaces",
            ("id", "name", "users", "accounts", "ticket sources", "active keys"),
            rows,
            lambda r: f"#{r[0]}  {r[1]}  {r[2]} users  {r[3]} accounts  {r[4]} ticket sources  {r[5]} active keys",
        )
    if accounts or sources:
        owned_by_nobody = [f"{p}:{a}" for p, a in accounts] + [f"tickets:{s}" for s in sources]
        say(f"owned by no workspace: {', '.join(owned_by_nobody)}")


@app.command()
def grant(
    name: Annotated[str, typer.Argument(help="The workspace.", show_default=False)],
    account: Annotated[
        list[str] | None, typer.Option("--account", help="A registered ad account id (repeatable).", show_default=False)
    ] = None,
    platform: Annotated[str, typer.Option(help="The accounts' platform.")] = "google_ads",
    ticket_source: Annotated[
        list[str] | None,
        typer.Option("--ticket-source", help="A ticket source, e.g. demo or jira (repeatable).", show_default=False),
    ] = None,
    all_unowned: Annotated[
        bool, typer.Option("--all-unowned", help="Every account and ticket source no workspace owns yet.")
    ] = False,
) -> None:
    """Give a workspace ad accounts and ticket sources (taking them from the workspace that had them).

    Exit 1 when an account is not registered (nothing is granted then)."""
    from ask.auth import NotFound
    from ask.workspaces import grant as grant_to
    from ask.workspaces import unowned
    from resources.database import connect

    if not (account or ticket_source or all_unowned):
        fail("nothing to grant: --account, --ticket-source or --all-unowned", 2)
    with connect(database_url()) as conn, conn.cursor() as cur:
        accounts = [(platform, a) for a in account or []]
        sources = list(ticket_source or [])
        if all_unowned:
            free_accounts, free_sources = unowned(cur)
            accounts += free_accounts
            sources += free_sources
        try:
            granted = grant_to(cur, name, accounts, sources)
        except NotFound as exc:
            conn.rollback()
            fail(f"error: {exc}")
    for (p, a), before in granted.accounts.items():
        say(f"granted {p}:{a} to {name}" + (f" (was {before}'s)" if before and before != name else ""))
    for source, before in granted.ticket_sources.items():
        say(f"granted tickets:{source} to {name}" + (f" (was {before}'s)" if before and before != name else ""))
    if not granted.accounts and not granted.ticket_sources:
        say("nothing to grant: every account and ticket source has a workspace")
