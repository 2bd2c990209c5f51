"""`burry search tickets "refund not received" [--k 10] [--source S]`, `burry search ads "..."`:
semantic search over the embedded tickets and ads (resources/embeddings/search.py), locally (no
key: the database's whole content). `burry search embed` fills the vectors (as the nightly
schedule and `burry demo` do)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from orchestration.cli.common import database_url, fail, print_rows, say

app = typer.Typer(help="Semantic search over ticket and ad texts (nearest in meaning first).", no_args_is_help=True)

K = Annotated[int, typer.Option("--k", help="How many results.", min=1, max=100)]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per result.")]


def _embedder():
    from resources.embeddings.providers import EmbedderConfig, get_embedder

    return get_embedder(EmbedderConfig.from_settings())


@app.command()
def tickets(
    text: Annotated[str | None, typer.Argument(help='What to look for, e.g. "refund not received".')] = None,
    k: K = 10,
    source: Annotated[list[str] | None, typer.Option(help="Only this ticket source (repeatable).")] = None,
    like: Annotated[str | None, typer.Option(help="Tickets like this one instead of a text: SOURCE/TICKET_ID.")] = None,
    min_similarity: Annotated[float | None, typer.Option(help="Drop matches below this cosine similarity.")] = None,
    as_json: AsJson = False,
) -> None:
    """Tickets nearest in meaning to TEXT (or to the ticket --like), nearest first. Exit 1 when the
    tickets have no vectors yet or the ticket named is unknown."""
    from resources.database import connect
    from resources.embeddings.search import NotEmbedded, similar_tickets

    if (text is None) == (like is None):
        raise typer.BadParameter("give a TEXT or --like SOURCE/TICKET_ID", param_hint="TEXT / --like")
    ticket = None
    if like is not None:
        if "/" not in like:
            raise typer.BadParameter("SOURCE/TICKET_ID", param_hint="--like")
        found_source, ticket_id = like.split("/", 1)
        ticket = (found_source, ticket_id)
    embedder = _embedder()
    with connect(database_url()) as conn, conn.cursor() as cur:
        try:
            matches = similar_tickets(
                cur, embedder, text, ticket, k=k, sources=source or None, min_similarity=min_similarity
            )
        except (NotEmbedded, LookupError) as exc:
            fail(f"error: {exc}")
    if _as_json_lines(matches, as_json):
        return
    print_rows(
        f"tickets like {text or like!r} ({embedder.model})",
        ["similarity", "source", "ticket", "created", "status", "subject"],
        [
            (
                f"{m.similarity:.3f}",
                m.source,
                m.ticket_id,
                m.created_at.date() if m.created_at else None,
                m.status,
                (m.subject or "")[:80],
            )
            for m in matches
        ],
        lambda row: "\t".join("" if v is None else str(v) for v in row),
    )


@app.command()
def ads(
    text: Annotated[str, typer.Argument(help='What to look for, e.g. "waterproof hiking boots".')],
    k: K = 10,
    as_json: AsJson = False,
) -> None:
    """Ads nearest in meaning to TEXT (headlines, descriptions, campaign and ad group names)."""
    from resources.database import connect
    from resources.embeddings.search import NotEmbedded, similar_ads

    embedder = _embedder()
    with connect(database_url()) as conn, conn.cursor() as cur:
        try:
            matches = similar_ads(cur, embedder, text, k=k)
        except NotEmbedded as exc:
            fail(f"error: {exc}")
    if _as_json_lines(matches, as_json):
        return
    print_rows(
        f"ads like {text!r} ({embedder.model})",
        ["similarity", "platform", "account", "ad group", "ad", "headlines"],
        [
            (f"{m.similarity:.3f}", m.platform, m.account_id, m.ad_group_id, m.ad_id, " | ".join(m.headlines)[:80])
            for m in matches
        ],
        lambda row: "\t".join("" if v is None else str(v) for v in row),
    )


@app.command()
def embed() -> None:
    """Embed new and changed tickets and ads now and check the vectors (the 04:00 schedule's job),
    recorded in Dagster like a scheduled run. Exit 1 when the run or a check failed."""
    from orchestration.cli.common import ensure_database, finish, report_healed, warn
    from orchestration.instance import open_instance
    from orchestration.refresh import CONSOLE_INFO, refresh_embeddings
    from resources.dbt import prepare_dbt_manifest

    url = ensure_database()
    prepare_dbt_manifest()  # before the definitions: @dbt_assets reads the manifest at import
    from orchestration.definitions import build_definitions

    with open_instance(url) as instance:
        result = refresh_embeddings(instance, run_config=CONSOLE_INFO, defs=build_definitions(), on_heal=report_healed)
    failed_checks = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    if not result.success or failed_checks:
        warn(f"==> embeddings FAILED (run {result.run_id}; checks failed: {', '.join(failed_checks) or 'none'})")
        finish(1)
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        key = event.asset_key.to_user_string() if event.asset_key else "?"
        say(f"==> {key}: " + ", ".join(f"{k} {v.value}" for k, v in metadata.items()))


def _as_json_lines(matches, as_json: bool) -> bool:
    """With --json: one JSON object per match (and True: nothing else to print)."""
    if as_json:
        for match in matches:
            say(json.dumps(match.as_dict()))
    return as_json
