"""Incremental embedding: read each row's text, embed only rows with no vector or a changed text,
and write the vectors while the model computes the next batch.

1. `plan`: one pass over the entity's rows (a server-side cursor) builds each text and its hash
   and compares it with the hash stored beside the vector. Unchanged rows cost a hash, no model.
   A row whose text became empty loses its vector.
2. `embed_pending`: pending rows, longest first, in chunks; each chunk is embedded (the embedder
   pads batches of alike lengths: little padding) and handed to a writer thread with its own
   connection, which COPYs and upserts it and commits: database I/O overlaps the model, and a
   crash keeps every chunk written before it.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import psycopg2.extensions

from resources.embeddings.providers import Embedded, Embedder
from resources.embeddings.store import (
    Space,
    create_hnsw_index,
    drop_hnsw_index,
    ensure_space,
    record_usage,
    stored_hashes,
    write_vectors,
)
from resources.embeddings.text import ad_text, text_hash, ticket_text

CHUNK = 256  # texts per embed call and per write
# A backfill this large (and over half the space) drops the HNSW index and builds it once at the
# end: inserting into the graph row by row costs milliseconds a row, as much as the model.
BULK_ROWS = 5000
Connect = Callable[[], AbstractContextManager[psycopg2.extensions.connection]]

TICKET_ROWS = """
SELECT t.source, t.ticket_id, t.subject, t.description,
       ARRAY(SELECT c.body FROM (SELECT body, created_at, comment_id FROM raw.ticket_comments AS c
                                 WHERE c.source = t.source AND c.ticket_id = t.ticket_id
                                 ORDER BY created_at DESC, comment_id DESC LIMIT %(comments)s) AS c
             ORDER BY c.created_at, c.comment_id)
FROM raw.tickets AS t
WHERE %(sources)s::text[] IS NULL OR t.source = ANY(%(sources)s::text[])
ORDER BY t.source, t.ticket_id
"""

AD_ROWS = """
SELECT a.platform, a.account_id, a.ad_group_id, a.ad_id, a.headlines, a.descriptions, c.name, g.name
FROM raw.ads AS a
LEFT JOIN raw.ad_groups AS g USING (platform, account_id, ad_group_id)
LEFT JOIN raw.campaigns AS c ON c.platform = g.platform AND c.account_id = g.account_id
                            AND c.campaign_id = g.campaign_id
WHERE %(sources)s::text[] IS NULL OR a.account_id = ANY(%(sources)s::text[])
ORDER BY 1, 2, 3, 4
"""


@dataclass
class Pending:
    keys: list[tuple[str, ...]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    space: Space
    rows: int  # rows with a text
    current: int  # of those, with a vector of their current text
    pending: Pending
    emptied: list[tuple[str, ...]]  # rows whose text became empty: their vectors go

    @property
    def coverage(self) -> float:
        return self.current / self.rows if self.rows else 1.0


@dataclass
class Outcome:
    entity: str
    space: str
    rows: int
    embedded: int
    skipped: int
    removed: int
    tokens: int
    model_seconds: float
    seconds: float

    @property
    def texts_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0

    def metadata(self) -> dict:
        return {
            "space": self.space,
            "rows": self.rows,
            "embedded": self.embedded,
            "skipped_unchanged": self.skipped,
            "removed_empty": self.removed,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 2),
            "texts_per_second": round(self.texts_per_second, 1),
        }


def _strings(value) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value)
    out = []
    for item in value or []:
        text = item.get("text") if isinstance(item, dict) else item
        if text:
            out.append(str(text))
    return out


def entity_texts(conn, entity: str, sources: Sequence[str] | None = None) -> Iterator[tuple[tuple[str, ...], str]]:
    """(key, text) for every row of the entity (tickets by source, ads by account id)."""
    params = {"sources": list(sources) if sources else None, "comments": 3}
    with conn.cursor(name=f"embedding_texts_{entity}") as cur:
        cur.itersize = 5000
        cur.execute(TICKET_ROWS if entity == "ticket" else AD_ROWS, params)
        for row in cur:
            if entity == "ticket":
                yield tuple(row[:2]), ticket_text(row[2], row[3], row[4])
            else:
                yield tuple(row[:4]), ad_text(_strings(row[4]), _strings(row[5]), row[6], row[7])


def plan(conn, identity: tuple[str, int], entity: str, sources: Sequence[str] | None = None) -> Plan:
    """What is to do for the space of `identity` (model, dimension): no model is loaded."""
    with conn.cursor() as cur:
        space = ensure_space(cur, entity, *identity)
        stored = stored_hashes(cur, space)
    conn.commit()  # the space exists for the writer's connection too
    pending, emptied, rows, current = Pending(), [], 0, 0
    for key, text in entity_texts(conn, entity, sources):
        if not text:
            if key in stored:
                emptied.append(key)
            continue
        rows += 1
        digest = text_hash(text)
        if stored.get(key) == digest:
            current += 1
            continue
        pending.keys.append(key)
        pending.texts.append(text)
        pending.hashes.append(digest)
    return Plan(space, rows, current, pending, emptied)


def _remove(cur, space: Space, keys: list[tuple[str, ...]]) -> None:
    if keys:
        columns = ", ".join(space.key)
        cur.execute(f"DELETE FROM {space.table_name} WHERE ({columns}) IN %s", (tuple(keys),))


class Writer(threading.Thread):
    """Writes embedded chunks on its own connection while the model computes the next one."""

    def __init__(self, connect: Connect, space: Space, backend: str):
        super().__init__(daemon=True, name="embedding-writer")
        self.connect, self.space, self.backend = connect, space, backend
        self.chunks: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.written = 0

    def run(self) -> None:
        try:
            with self.connect() as conn:
                while (item := self.chunks.get()) is not None:
                    keys, vectors, hashes, tokens = item
                    with conn.cursor() as cur:
                        self.written += write_vectors(cur, self.space, keys, vectors, hashes, tokens, self.backend)
                    conn.commit()
        except BaseException as exc:  # reported by close(): the caller's thread raises it
            self.error = exc
            while self.chunks.get() is not None:  # drain so put() never blocks forever
                pass

    def put(self, item) -> None:
        if self.error is not None:
            raise self.error
        self.chunks.put(item)

    def close(self) -> None:
        self.chunks.put(None)
        self.join()
        if self.error is not None:
            raise self.error


def token_lengths(embedder: Embedder, texts: Sequence[str]) -> list[int]:
    lengths = getattr(embedder, "token_lengths", None)
    return lengths(texts) if lengths else [len(t) // 4 + 1 for t in texts]


def embed_pending(
    connect: Connect,
    embedder: Embedder,
    planned: Plan,
    limit: int | None = None,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int, float]:
    """(texts embedded, tokens, model seconds). `limit`: at most that many (tests, benchmarks)."""
    pending = planned.pending
    count = len(pending.keys) if limit is None else min(limit, len(pending.keys))
    if count == 0:
        return 0, 0, 0.0
    lengths = token_lengths(embedder, pending.texts[:count])
    order = sorted(range(count), key=lambda i: -lengths[i])
    writer = Writer(connect, planned.space, embedder.provider)
    writer.start()
    tokens, model_seconds, done = 0, 0.0, 0
    try:
        for start in range(0, count, chunk):
            picked = order[start : start + chunk]
            embedded: Embedded = embedder.embed([pending.texts[i] for i in picked])
            tokens += embedded.tokens
            model_seconds += embedded.seconds
            writer.put(
                (
                    [pending.keys[i] for i in picked],
                    embedded.vectors,
                    [pending.hashes[i] for i in picked],
                    [lengths[i] for i in picked],
                )
            )
            done += len(picked)
            if progress:
                progress(done, count)
    finally:
        writer.close()
    return writer.written, tokens, model_seconds


def run_embeddings(
    connect: Connect,
    identity: tuple[str, int],
    load_embedder: Callable[[], Embedder],
    entity: str,
    sources: Sequence[str] | None = None,
    limit: int | None = None,
    run_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Bring the entity's space (`identity`: model, dimension) up to date with its texts. The model
    is loaded (`load_embedder`) only when some text changed; usage recorded in app.ai_usage."""
    started = time.perf_counter()
    with connect() as conn:
        planned = plan(conn, identity, entity, sources)
        with conn.cursor() as cur:
            _remove(cur, planned.space, planned.emptied)
    embedded, tokens, model_seconds = 0, 0, 0.0
    if planned.pending.keys and limit != 0:
        embedder = load_embedder()
        if (embedder.model, embedder.dimension) != tuple(identity):
            raise ValueError(f"the embedder makes {embedder.model} ({embedder.dimension}d), not {identity}")
        count = len(planned.pending.keys) if limit is None else min(limit, len(planned.pending.keys))
        bulk = count >= BULK_ROWS and count * 2 > planned.rows
        if bulk:
            with connect() as conn, conn.cursor() as cur:
                drop_hnsw_index(cur, planned.space.table_name)
        error: Exception | None = None
        try:
            embedded, tokens, model_seconds = embed_pending(connect, embedder, planned, limit, progress=progress)
        except Exception as exc:
            error = exc
            raise
        finally:
            if bulk:  # also after a failure: the rows written so far are searchable through it
                with connect() as conn, conn.cursor() as cur:
                    create_hnsw_index(cur, planned.space.table_name)
            with connect() as conn, conn.cursor() as cur:
                record_usage(
                    cur,
                    provider=embedder.provider,
                    model=embedder.model,
                    operation=f"embed_{entity}s",
                    items=embedded,
                    input_tokens=tokens,
                    cost_usd=embedder.cost_usd(tokens),
                    started=started,
                    status="error" if error else "ok",
                    error=f"{type(error).__name__}: {error}" if error else None,
                    run_id=run_id,
                )
    return Outcome(
        entity=entity,
        space=planned.space.table_name,
        rows=planned.rows,
        embedded=embedded,
        skipped=planned.current,
        removed=len(planned.emptied),
        tokens=tokens,
        model_seconds=model_seconds,
        seconds=time.perf_counter() - started,
    )
