"""Semantic search over ticket and ad texts: the library behind `burry search`, the ask service's
GET /v1/search/tickets, and the answerer's "tickets like X" / "how many tickets mention X".

The query is a text (embedded by the configured embedder, in the same space as the stored
vectors) or a stored row (its own vector: no model needed; the row itself is left out). Nearest
first by cosine similarity through the space's HNSW index (`hnsw.ef_search` from
BURRY_HNSW_EF_SEARCH, iterative scans so filters still return k rows). Counting ("how many tickets
mention refunds") is an exact scan with a stated similarity threshold.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np

from resources import settings
from resources.embeddings.providers import Embedder
from resources.embeddings.store import Space, find_space, record_usage, vector_literal
from resources.embeddings.text import clean

# Cosine similarity at which a ticket "mentions" a short query, for all-MiniLM-L6-v2: chosen on the
# demo and Kaggle tickets (a one-word topic such as "refund" scores 0.35-0.6 against tickets about
# it and under 0.3 against the rest). Other models need their own.
MENTION_THRESHOLD = 0.4
MAX_K = 100


class NotEmbedded(LookupError):
    """No vectors of this model for this entity yet: run the embedding assets first."""


@dataclass(frozen=True)
class TicketMatch:
    source: str
    ticket_id: str
    similarity: float
    subject: str | None
    status: str | None
    priority: str | None
    created_at: datetime | None

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "ticket_id": self.ticket_id,
            "similarity": round(self.similarity, 4),
            "subject": self.subject,
            "status": self.status,
            "priority": self.priority,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


@dataclass(frozen=True)
class AdMatch:
    platform: str
    account_id: str
    ad_group_id: str
    ad_id: str
    similarity: float
    headlines: list[str]

    def as_dict(self) -> dict:
        return {
            "platform": self.platform,
            "account_id": self.account_id,
            "ad_group_id": self.ad_group_id,
            "ad_id": self.ad_id,
            "similarity": round(self.similarity, 4),
            "headlines": self.headlines,
        }


@dataclass(frozen=True)
class MentionCount:
    count: int
    threshold: float
    query: str
    examples: list[TicketMatch]


def require_space(cur, entity: str, model: str, dimension: int) -> Space:
    space = find_space(cur, entity, model, dimension)
    if space is None:
        raise NotEmbedded(
            f"no {entity} vectors of {model} ({dimension}d) yet: "
            "materialize the embeddings assets (`burry search embed`, or `burry demo`)"
        )
    return space


def space_for(cur, embedder: Embedder, entity: str) -> Space:
    return require_space(cur, entity, embedder.model, embedder.dimension)


@dataclass(frozen=True)
class Query:
    """A query text's vector, embedded before any database work (a model call can take a while)."""

    text: str
    vector: str  # pgvector literal
    model: str
    dimension: int
    provider: str
    tokens: int
    cost_usd: Decimal
    seconds: float


def embed_query(embedder: Embedder, text: str) -> Query:
    embedded = embedder.embed([clean(text) or text])
    return Query(
        text,
        vector_literal(np.asarray(embedded.vectors[0])),
        embedder.model,
        embedder.dimension,
        embedder.provider,
        embedded.tokens,
        embedder.cost_usd(embedded.tokens),
        embedded.seconds,
    )


def record_query(cur, query: Query, operation: str) -> None:
    """A paid query (a remote provider) goes to app.ai_usage; local ones cost nothing and are not logged."""
    if query.provider == "openai":
        record_usage(
            cur,
            provider=query.provider,
            model=query.model,
            operation=operation,
            items=1,
            input_tokens=query.tokens,
            cost_usd=query.cost_usd,
            started=time.perf_counter() - query.seconds,
        )


def query_vector(cur, embedder: Embedder, text: str, operation: str) -> str:
    query = embed_query(embedder, text)
    record_query(cur, query, operation)
    return query.vector


def _stored_vector(cur, space: Space, key: Sequence[str]) -> str:
    where = " AND ".join(f"{column} = %s" for column in space.key)
    cur.execute(f"SELECT embedding::text FROM {space.table_name} WHERE {where}", tuple(key))
    row = cur.fetchone()
    if row is None:
        raise LookupError(f"{'/'.join(key)} has no vector (unknown, without text, or not embedded yet)")
    return row[0]


def _tune(cur, ef_search: int | None, k: int) -> None:
    ef = max(ef_search or settings.hnsw_ef_search(), k)
    cur.execute(f"SET LOCAL hnsw.ef_search = {int(ef)}")
    cur.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")


def similar_tickets(
    cur,
    embedder: Embedder,
    text: str | Query | None = None,
    ticket: tuple[str, str] | None = None,
    k: int = 10,
    sources: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_similarity: float | None = None,
    ef_search: int | None = None,
) -> list[TicketMatch]:
    """The k tickets nearest to `text` (or its `embed_query`) or to the ticket (source, ticket_id).

    `sources`: only these ticket sources (a workspace's: pass its scope); `since`/`until`: created
    in [since, until); `min_similarity`: drop weaker matches."""
    if (text is None) == (ticket is None):
        raise ValueError("give a text or a ticket, not both")
    k = max(1, min(int(k), MAX_K))
    space = space_for(cur, embedder, "ticket")
    if isinstance(text, Query):
        record_query(cur, text, "search_tickets")
        vector = text.vector
    elif text is not None:
        vector = query_vector(cur, embedder, text, "search_tickets")
    if ticket is not None:
        vector = _stored_vector(cur, space, ticket)
    _tune(cur, ef_search, k)
    cur.execute(
        f"""
        WITH nearest AS MATERIALIZED (
            SELECT v.source, v.ticket_id, v.embedding <=> %(q)s::vector AS distance
            FROM {space.table_name} AS v
            JOIN raw.tickets AS t USING (source, ticket_id)
            WHERE (%(sources)s::text[] IS NULL OR v.source = ANY(%(sources)s::text[]))
              AND (%(since)s::timestamptz IS NULL OR t.created_at >= %(since)s)
              AND (%(until)s::timestamptz IS NULL OR t.created_at < %(until)s)
              AND NOT (v.source = %(self_source)s AND v.ticket_id = %(self_id)s)
            ORDER BY v.embedding <=> %(q)s::vector
            LIMIT %(k)s
        )
        SELECT n.source, n.ticket_id, 1 - n.distance, t.subject, t.status, t.priority, t.created_at
        FROM nearest AS n JOIN raw.tickets AS t USING (source, ticket_id)
        WHERE %(min)s::float8 IS NULL OR 1 - n.distance >= %(min)s
        ORDER BY n.distance, n.source, n.ticket_id
        """,
        {
            "q": vector,
            "sources": list(sources) if sources is not None else None,
            "since": since,
            "until": until,
            "self_source": ticket[0] if ticket else "",
            "self_id": ticket[1] if ticket else "",
            "k": k,
            "min": min_similarity,
        },
    )
    return [TicketMatch(*row) for row in cur.fetchall()]


def count_ticket_mentions(
    cur,
    embedder: Embedder,
    text: str,
    sources: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    threshold: float = MENTION_THRESHOLD,
    examples: int = 5,
) -> MentionCount:
    """How many tickets (of `sources`, created in [since, until)) are about `text`: cosine
    similarity ≥ `threshold` (state it in the answer). Exact: every vector in scope is compared."""
    space = space_for(cur, embedder, "ticket")
    vector = query_vector(cur, embedder, text, "count_tickets")
    cur.execute(
        f"""
        SELECT v.source, v.ticket_id, 1 - (v.embedding <=> %(q)s::vector) AS similarity,
               t.subject, t.status, t.priority, t.created_at
        FROM {space.table_name} AS v JOIN raw.tickets AS t USING (source, ticket_id)
        WHERE (%(sources)s::text[] IS NULL OR v.source = ANY(%(sources)s::text[]))
          AND (%(since)s::timestamptz IS NULL OR t.created_at >= %(since)s)
          AND (%(until)s::timestamptz IS NULL OR t.created_at < %(until)s)
          AND 1 - (v.embedding <=> %(q)s::vector) >= %(threshold)s
        ORDER BY similarity DESC, v.source, v.ticket_id
        """,
        {
            "q": vector,
            "sources": list(sources) if sources is not None else None,
            "since": since,
            "until": until,
            "threshold": threshold,
        },
    )
    rows = cur.fetchall()
    return MentionCount(len(rows), threshold, text, [TicketMatch(*row) for row in rows[:examples]])


def similar_ads(
    cur,
    embedder: Embedder,
    text: str | None = None,
    ad: tuple[str, str, str, str] | None = None,
    k: int = 10,
    accounts: Sequence[tuple[str, str]] | None = None,
    min_similarity: float | None = None,
    ef_search: int | None = None,
) -> list[AdMatch]:
    """The k ads nearest to `text` or to the ad (platform, account_id, ad_group_id, ad_id);
    `accounts`: only these (platform, account_id)."""
    if (text is None) == (ad is None):
        raise ValueError("give a text or an ad, not both")
    k = max(1, min(int(k), MAX_K))
    space = space_for(cur, embedder, "ad")
    vector = query_vector(cur, embedder, text, "search_ads") if text is not None else None
    if ad is not None:
        vector = _stored_vector(cur, space, ad)
    _tune(cur, ef_search, k)
    account_keys = [f"{p}:{a}" for p, a in accounts] if accounts is not None else None
    cur.execute(
        f"""
        WITH nearest AS MATERIALIZED (
            SELECT v.platform, v.account_id, v.ad_group_id, v.ad_id, v.embedding <=> %(q)s::vector AS distance
            FROM {space.table_name} AS v
            WHERE (%(accounts)s::text[] IS NULL OR v.platform || ':' || v.account_id = ANY(%(accounts)s::text[]))
              AND NOT (v.platform = %(p)s AND v.account_id = %(a)s AND v.ad_group_id = %(g)s AND v.ad_id = %(i)s)
            ORDER BY v.embedding <=> %(q)s::vector
            LIMIT %(k)s
        )
        SELECT n.platform, n.account_id, n.ad_group_id, n.ad_id, 1 - n.distance, a.headlines
        FROM nearest AS n JOIN raw.ads AS a USING (platform, account_id, ad_group_id, ad_id)
        WHERE %(min)s::float8 IS NULL OR 1 - n.distance >= %(min)s
        ORDER BY n.distance
        """,
        {
            "q": vector,
            "accounts": account_keys,
            "p": ad[0] if ad else "",
            "a": ad[1] if ad else "",
            "g": ad[2] if ad else "",
            "i": ad[3] if ad else "",
            "k": k,
            "min": min_similarity,
        },
    )
    return [AdMatch(row[0], row[1], row[2], row[3], row[4], [str(h) for h in (row[5] or [])]) for row in cur.fetchall()]
