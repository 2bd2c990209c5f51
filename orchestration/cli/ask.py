"""`burry ask "question" [--account A] [--platform P] [--key K | --workspace W]`: the ask service's
answer, on the command line, through the same code (scope, answerer, recorded interaction)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from orchestration.cli.common import database_url, fail, iso_date, say

app = typer.Typer()


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='The question, e.g. "What was total spend last 7 days?"')],
    account: Annotated[
        str | None,
        typer.Option(help="One ad account, in any spelling (123-456-7890 or 1234567890); default: every account."),
    ] = None,
    platform: Annotated[str | None, typer.Option(help="Only this platform's accounts (google_ads, meta).")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Answer as if today were this date.", metavar="YYYY-MM-DD", callback=iso_date)
    ] = None,
    key: Annotated[str | None, typer.Option(help="Ask as this API key's workspace.", show_default=False)] = None,
    workspace: Annotated[
        str | None,
        typer.Option(help="Ask over this workspace (local access: no key). Default: the only workspace."),
    ] = None,
    conversation: Annotated[
        str | None, typer.Option(help="A conversation id: a follow-up reuses what the last question meant.")
    ] = None,
) -> None:
    """Ask a question about a workspace's numbers; the answer is recorded like the service's (source cli).

    Exit 1 when the key is refused, the account is not the workspace's, there is no (single) workspace,
    or no database runs."""
    from ask.auth import NotFound, Unauthorized, authenticate, only_workspace, workspace_caller
    from ask.service import Forbidden, ask_question
    from resources.database import connect

    if key and workspace:
        raise typer.BadParameter("give --key or --workspace, not both", param_hint="--key / --workspace")
    for value in (question, account, platform, workspace, conversation):
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 arrive as lone surrogates
            raise typer.BadParameter("arguments must be valid UTF-8") from None
    when = date.fromisoformat(as_of) if as_of else None
    with connect(database_url()) as conn, conn.cursor() as cur:
        try:
            if key:
                caller = authenticate(cur, key, source="cli")
            else:
                name = workspace or only_workspace(cur)
                if name is None:
                    fail(
                        "error: which workspace? pass --workspace NAME or --key KEY "
                        "(`burry workspaces list`; `burry demo` creates one named demo)"
                    )
                caller = workspace_caller(cur, name, source="cli")
            asked = ask_question(
                cur,
                caller,
                question,
                account_id=account,
                platform=platform,
                as_of=when,
                conversation_id=conversation,
                request={k: v for k, v in {"account_id": account, "platform": platform, "as_of": as_of}.items() if v},
            )
        except (Unauthorized, NotFound, Forbidden) as exc:
            conn.rollback()
            fail(f"error: {exc}")
    say(asked.answer.text)
