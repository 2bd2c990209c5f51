"""GET /v1/search/tickets: semantic search over the caller's workspace's tickets only.

Scope as for /v1/ask: a key reads its workspace's ticket sources; `source` narrows to one of them
(403 for any other, existing or not). The query is embedded before the database work (the model
loads once per process, on the first search), by the configured embedder
(resources/embeddings/providers.py), and compared with that model's vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from ask.auth import Caller
from ask.service import Forbidden
from resources.embeddings.search import Query, TicketMatch, similar_tickets


@dataclass(frozen=True)
class TicketSearch:
    query: str
    model: str
    sources: tuple[str, ...]
    matches: list[TicketMatch]


def searchable_sources(caller: Caller, source: str | None) -> tuple[str, ...]:
    """The ticket sources the caller may search: all of the workspace's, or the one named."""
    sources = tuple(caller.scope.ticket_sources)
    if source is None:
        return sources
    if source not in sources:
        raise Forbidden("this ticket source is not in your workspace")
    return (source,)


def search_tickets(
    cur, caller: Caller, query: Query, k: int, source: str | None, min_similarity: float | None
) -> TicketSearch:
    from resources.embeddings.providers import EmbedderConfig, get_embedder

    sources = searchable_sources(caller, source)
    if not sources:
        return TicketSearch(query.text, query.model, sources, [])
    embedder = get_embedder(EmbedderConfig.from_settings())
    matches = similar_tickets(cur, embedder, query, k=k, sources=sources, min_similarity=min_similarity)
    return TicketSearch(query.text, query.model, sources, matches)
