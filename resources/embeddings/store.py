"""Where vectors live: one table per (entity, model, dimension), registered in app.embedding_spaces.

A space's table has the entity's key, the `vector(<dimension>)` column, the text's sha256, the
tokens read, the model, backend and dimension, and when it was embedded; an HNSW index (cosine)
serves searches. The raw row's deletion cascades to its vector. Switching model or dimension
creates another space: vectors of two models never share a column or an index.

Writes: the rows go to a temporary table by COPY (text format, one buffer per batch), then one
`INSERT ... ON CONFLICT DO UPDATE` moves them in.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

ENTITIES = {
    "ticket": {
        "key": ("source", "ticket_id"),
        "references": "raw.tickets (source, ticket_id)",
    },
    "ad": {
        "key": ("platform", "account_id", "ad_group_id", "ad_id"),
        "references": "raw.ads (platform, account_id, ad_group_id, ad_id)",
    },
}
# HNSW builds need memory: with less than the graph needs, the build spills and slows many-fold.
INDEX_MAINTENANCE_WORK_MEM = "1GB"
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64


@dataclass(frozen=True)
class Space:
    id: int
    entity: str
    model: str
    dimension: int
    table_name: str  # schema-qualified

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(ENTITIES[self.entity]["key"])


def _slug(model: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[:30]


def find_space(cur, entity: str, model: str, dimension: int) -> Space | None:
    cur.execute(
        "SELECT id, table_name FROM app.embedding_spaces WHERE entity = %s AND model = %s AND dimension = %s",
        (entity, model, dimension),
    )
    row = cur.fetchone()
    return Space(row[0], entity, model, dimension, row[1]) if row else None


def ensure_space(cur, entity: str, model: str, dimension: int) -> Space:
    """The space's registry row and table (with its HNSW index), created on first use."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}")
    found = find_space(cur, entity, model, dimension)
    if found:
        return found
    # Two runs creating the same space at once: the second waits here, then finds the first's.
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('burry.embedding_spaces'))")
    found = find_space(cur, entity, model, dimension)
    if found:
        return found
    cur.execute("SELECT nextval(pg_get_serial_sequence('app.embedding_spaces', 'id'))")
    space_id = cur.fetchone()[0]
    table = f"embeddings.{entity}_vectors_{space_id}_{_slug(model)}_{dimension}"
    cur.execute(
        "INSERT INTO app.embedding_spaces (id, entity, model, dimension, table_name) VALUES (%s, %s, %s, %s, %s)",
        (space_id, entity, model, dimension, table),
    )
    spec = ENTITIES[entity]
    key_columns = ",\n".join(f"    {column} text NOT NULL" for column in spec["key"])
    key = ", ".join(spec["key"])
    cur.execute(
        f"""
        CREATE TABLE {table} (
        {key_columns},
            embedding    vector({int(dimension)}) NOT NULL,
            text_sha256  text        NOT NULL,
            tokens       integer     NOT NULL,
            model        text        NOT NULL,
            backend      text        NOT NULL,
            dimension    integer     NOT NULL,
            embedded_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY ({key}),
            FOREIGN KEY ({key}) REFERENCES {spec["references"]} ON DELETE CASCADE
        )
        """
    )
    create_hnsw_index(cur, table)
    return Space(space_id, entity, model, dimension, table)


def hnsw_index_name(table: str) -> str:
    return table.split(".")[-1][:50] + "_hnsw"


def create_hnsw_index(cur, table: str, parallel_workers: int = 1) -> None:
    """The space's HNSW index (cosine); a no-op when it exists. One parallel worker by default
    (the leader plus one: both cores of the development machine)."""
    cur.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MAINTENANCE_WORK_MEM}'")
    cur.execute(f"SET LOCAL max_parallel_maintenance_workers = {int(parallel_workers)}")
    cur.execute(
        f"CREATE INDEX IF NOT EXISTS {hnsw_index_name(table)} ON {table} USING hnsw (embedding vector_cosine_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
    )


def drop_hnsw_index(cur, table: str) -> None:
    """Before a bulk load: one build afterwards costs far less than an insert into the graph per
    row (searches meanwhile scan exactly)."""
    cur.execute(f"DROP INDEX IF EXISTS {table.split('.')[0]}.{hnsw_index_name(table)}")


def stored_hashes(cur, space: Space) -> dict[tuple[str, ...], str]:
    cur.execute(f"SELECT {', '.join(space.key)}, text_sha256 FROM {space.table_name}")
    return {tuple(row[:-1]): row[-1] for row in cur.fetchall()}


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(map(repr, vector.tolist())) + "]"


def write_vectors(
    cur,
    space: Space,
    keys: Sequence[tuple[str, ...]],
    vectors: np.ndarray,
    hashes: Sequence[str],
    tokens: Sequence[int],
    backend: str,
) -> int:
    """Upsert one batch: COPY into a temporary table, then one INSERT ... ON CONFLICT."""
    if not keys:
        return 0
    if vectors.shape != (len(keys), space.dimension):
        raise ValueError(f"{vectors.shape[1]}-dimensional vectors for a {space.dimension}-dimensional space")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors hold NaN or infinity")
    batch = f"embedding_batch_{space.id}"
    columns = [*space.key, "embedding", "text_sha256", "tokens", "model", "backend", "dimension"]
    cur.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {batch} (LIKE {space.table_name} INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    )
    cur.execute(f"TRUNCATE {batch}")
    buffer = io.StringIO()
    for key, vector, digest, count in zip(keys, vectors, hashes, tokens, strict=True):
        fields = [*(_copy_text(part) for part in key), vector_literal(vector), digest, str(int(count))]
        buffer.write("\t".join([*fields, _copy_text(space.model), backend, str(space.dimension)]) + "\n")
    buffer.seek(0)
    cur.copy_expert(f"COPY {batch} ({', '.join(columns)}) FROM STDIN", buffer)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[len(space.key) :])
    cur.execute(
        f"INSERT INTO {space.table_name} ({', '.join(columns)}, embedded_at) "
        f"SELECT {', '.join(columns)}, now() FROM {batch} "
        f"ON CONFLICT ({', '.join(space.key)}) DO UPDATE SET {updates}, embedded_at = now()"
    )
    return len(keys)


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def record_usage(
    cur,
    *,
    provider: str,
    model: str,
    operation: str,
    items: int,
    input_tokens: int,
    cost_usd: Decimal,
    started: float,
    requests: int = 1,
    status: str = "ok",
    error: str | None = None,
    run_id: str | None = None,
) -> None:
    """One row of app.ai_usage (seed 004): what a provider was asked, what it cost, how long it took."""
    cur.execute(
        """
        INSERT INTO app.ai_usage (provider, model, operation, requests, items, input_tokens, cost_usd,
                                  duration_ms, status, error, dagster_run_id)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            provider,
            model,
            operation,
            requests,
            items,
            input_tokens,
            cost_usd,
            (time.perf_counter() - started) * 1000,
            status,
            (error or "")[:1000] or None,
            run_id,
        ),
    )
