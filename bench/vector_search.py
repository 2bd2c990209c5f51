"""Benchmark: HNSW search over many 384-d vectors in pgvector: build time, p50/p95 latency and
recall@10 against exact search, per ef_search.

    .venv/bin/python bench/vector_search.py [--vectors 1000000] [--queries 200] [--ef 40,64,100,200]

How the vectors are made: `--seeds` real ticket texts (shared/data/kaggle_support_tickets) are
embedded with the ONNX backend (all-MiniLM-L6-v2); each stored vector is one of those real vectors
plus Gaussian noise (σ = `--noise` per unit length), renormalised: clusters shaped like real
tickets, at any size. Queries are fresh noisy copies of the same real vectors (not stored ones).
Exact neighbours come from numpy (brute force, float32 dot products).

Storage: a scratch database (DATABASE_URL's server, or a temporary embedded one); the vectors go
in by binary COPY, then the index is built (m 16, ef_construction 64, cosine) with
maintenance_work_mem 1GB (`--maintenance-work-mem`) and one parallel worker per spare core.
Latency: one query at a time over one kept connection, client-measured, the server's plan as the
assets' searches run it (ORDER BY embedding <=> q LIMIT 10).
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.embeddings import scratch_database, ticket_texts  # noqa: E402
from resources.embeddings.text import ticket_text  # noqa: E402

DIMENSION = 384


def noisy(seeds: np.ndarray, count: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    picks = rng.integers(0, len(seeds), count)
    vectors = seeds[picks] + rng.standard_normal((count, seeds.shape[1]), dtype=np.float32) * (
        noise / np.sqrt(seeds.shape[1])
    )
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def binary_copy(ids: np.ndarray, vectors: np.ndarray) -> io.BytesIO:
    """PostgreSQL's binary COPY format for (id bigint, embedding vector(d)) rows."""
    count, dim = vectors.shape
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("values", ">f4", (dim,)),
        ]
    )
    rows = np.zeros(count, dtype=row)
    rows["fields"], rows["id_len"], rows["id"] = 2, 8, ids
    rows["vec_len"], rows["dim"], rows["values"] = 4 + 4 * dim, dim, vectors
    buffer = io.BytesIO()
    buffer.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
    buffer.write(rows.tobytes())
    buffer.write(struct.pack(">h", -1))
    buffer.seek(0)
    return buffer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--noise", type=float, default=0.6)
    parser.add_argument("--ef", default="40,64,100,200")
    parser.add_argument("--maintenance-work-mem", default="1GB")
    args = parser.parse_args()

    from resources.embeddings.onnx import OnnxEmbedder

    rng = np.random.default_rng(7)
    started = time.perf_counter()
    seeds = OnnxEmbedder().embed([ticket_text(s, d) for _, s, d in ticket_texts(args.seeds)]).vectors
    print(f"{len(seeds)} real ticket vectors embedded in {time.perf_counter() - started:.0f}s")
    queries = noisy(seeds, args.queries, args.noise, rng)

    with scratch_database() as url:
        conn = psycopg2.connect(url.libpq)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("CREATE TABLE bench_vectors (id bigint PRIMARY KEY, embedding vector(384) NOT NULL)")
        exact_scores = np.full((args.queries, 10), -np.inf, np.float32)
        exact_ids = np.zeros((args.queries, 10), np.int64)
        started = time.perf_counter()
        for start in range(0, args.vectors, 100_000):
            count = min(100_000, args.vectors - start)
            vectors = noisy(seeds, count, args.noise, rng)
            ids = np.arange(start, start + count, dtype=np.int64)
            cur.copy_expert("COPY bench_vectors FROM STDIN WITH (FORMAT binary)", binary_copy(ids, vectors))
            scores = queries @ vectors.T  # exact top 10 so far, merged chunk by chunk
            merged_scores = np.concatenate([exact_scores, scores], axis=1)
            merged_ids = np.concatenate([exact_ids, np.broadcast_to(ids, scores.shape)], axis=1)
            top = np.argsort(-merged_scores, axis=1)[:, :10]
            exact_scores = np.take_along_axis(merged_scores, top, axis=1)
            exact_ids = np.take_along_axis(merged_ids, top, axis=1)
        load_seconds = time.perf_counter() - started
        print(f"{args.vectors} vectors loaded (binary COPY) in {load_seconds:.0f}s")
        cur.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
        cur.execute(f"SET max_parallel_maintenance_workers = {max(0, len(os.sched_getaffinity(0)) - 1)}")
        started = time.perf_counter()
        cur.execute(
            "CREATE INDEX ON bench_vectors USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
        build_seconds = time.perf_counter() - started
        print(f"HNSW build: {build_seconds:.0f}s (maintenance_work_mem {args.maintenance_work_mem})")
        cur.execute("VACUUM ANALYZE bench_vectors")
        literals = ["[" + ",".join(map(repr, q.tolist())) + "]" for q in queries]
        print("| ef_search | recall@10 | p50 ms | p95 ms |")
        print("|---|---|---|---|")
        for ef in (int(e) for e in args.ef.split(",")):
            cur.execute(f"SET hnsw.ef_search = {ef}")
            for literal in literals[:10]:  # warm the index's pages
                cur.execute("SELECT id FROM bench_vectors ORDER BY embedding <=> %s::vector LIMIT 10", (literal,))
                cur.fetchall()
            latencies, recalls = [], []
            for i, literal in enumerate(literals):
                t0 = time.perf_counter()
                cur.execute("SELECT id FROM bench_vectors ORDER BY embedding <=> %s::vector LIMIT 10", (literal,))
                found = [row[0] for row in cur.fetchall()]
                latencies.append((time.perf_counter() - t0) * 1000)
                recalls.append(len(set(found) & set(exact_ids[i].tolist())) / 10)
            p50, p95 = np.percentile(latencies, [50, 95])
            print(f"| {ef} | {np.mean(recalls):.3f} | {p50:.1f} | {p95:.1f} |")
        cur.execute("SELECT pg_size_pretty(pg_total_relation_size('bench_vectors'))")
        print(f"table + index size: {cur.fetchone()[0]}")
        conn.close()


if __name__ == "__main__":
    main()
