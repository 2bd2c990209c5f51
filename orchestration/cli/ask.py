"""`burry ask "question" --account A`: the ask service's answer, on the command line."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from orchestration.cli.common import database_url, fail, iso_date, say

app = typer.Typer()


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='The question, e.g. "What was total spend last 7 days?"')],
    account: Annotated[str, typer.Option(help="The ad account's id, in any spelling (123-456-7890 or 1234567890).")],
    platform: Annotated[str, typer.Option(help="The account's ad platform.")] = "google_ads",
    as_of: Annotated[
        str | None, typer.Option(help="Answer as if today were this date.", metavar="YYYY-MM-DD", callback=iso_date)
    ] = None,
) -> None:
    """Ask a question about an account's numbers; the answer is recorded like the service's.

    Exit 1 when the account is not registered (or no database runs)."""
    from ask.answerer import AccountNotFound, answer_question, record_interaction
    from resources.database import connect
    from resources.ids import normalize_account_id

    account_id = normalize_account_id(platform, account)
    when = date.fromisoformat(as_of) if as_of else None
    with connect(database_url()) as conn, conn.cursor() as cur:
        try:
            answer = answer_question(cur, platform, account_id, question, when)
        except AccountNotFound as exc:
            fail(str(exc))
        record_interaction(cur, platform, account_id, question, answer)
    say(answer.text)
