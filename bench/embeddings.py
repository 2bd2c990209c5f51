"""Benchmark: embedding throughput (model only and end to end through PostgreSQL), agreement, and
the steady state, in one run on the same texts.

    .venv/bin/python bench/embeddings.py [--texts 2000] [--ads 1200] [--steady-rows 100000]

Texts: the first `--texts` real support tickets of shared/data/kaggle_support_tickets (subject +
description through resources/embeddings/text.py, as the assets build them) and `--ads` short ad
texts built from the demo ad copy (headlines, descriptions, campaign and ad group names).

1. Model only, after a warm-up: plain sentence-transformers fp32 (batch 32, the reference) and the
   ONNX backend (exported once from the shipped weights, fused, checked; 16 per batch, longest
   first, dynamic padding). texts/s and tokens/s (tokens after truncation at 256).
2. Agreement: mean overlap of the 10 nearest neighbours (cosine, self excluded) of up to 500
   query texts among all texts, ONNX against sentence-transformers.
3. End to end: a scratch database (DATABASE_URL's server, or a temporary embedded one) gets the
   tickets in raw.tickets; `run_embeddings` with the ONNX backend reads them, embeds them and
   writes the vectors (writer thread: COPY + upsert per chunk, overlapped with the model).
   Ratios against both model-only figures of this run.
4. Steady state: the table grown to `--steady-rows` tickets, each with a vector of its current
   text; a rerun with no changed text (no model may load), then one changed ticket.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assets.embeddings.pipeline import run_embeddings  # noqa: E402
from resources import settings  # noqa: E402
from resources.database_url import DatabaseUrl  # noqa: E402
from resources.embeddings.providers import SentenceTransformerEmbedder, normalise  # noqa: E402
from resources.embeddings.store import (  # noqa: E402
    create_hnsw_index,
    drop_hnsw_index,
    ensure_space,
    write_vectors,
)
from resources.embeddings.text import ad_text, text_hash, ticket_text  # noqa: E402

KAGGLE = settings.REPO_ROOT.parent / "shared" / "data" / "kaggle_support_tickets" / "customer_support_tickets.csv"


def ticket_texts(count: int) -> list[tuple[str, str, str]]:
    import pandas as pd

    frame = pd.read_csv(KAGGLE, nrows=count)
    return [(str(r["Ticket ID"]), str(r["Ticket Subject"]), str(r["Ticket Description"])) for _, r in frame.iterrows()]


def ad_texts(count: int) -> list[str]:
    from resources.ads.demo import ACCOUNTS, ad_copy

    texts: list[str] = []
    ad_index = 1
    while len(texts) < count:
        for account in ACCOUNTS:
            for campaign in account.campaigns:
                for g, group in enumerate(campaign.ad_groups, start=1):
                    copy = ad_copy(account, campaign, group, g, ad_index)
                    texts.append(ad_text(copy["headlines"], copy["descriptions"], campaign.name, group.name))
        ad_index += 1
    return texts[:count]


def timed(embedder, texts: list[str], warmup: int = 32) -> dict:
    embedder.embed(texts[:warmup])
    started = time.perf_counter()
    embedded = embedder.embed(texts)
    seconds = time.perf_counter() - started
    return {
        "vectors": embedded.vectors,
        "texts_per_s": len(texts) / seconds,
        "tokens_per_s": embedded.tokens / seconds,
        "mean_tokens": embedded.tokens / len(texts),
        "seconds": seconds,
    }


def knn_agreement(reference: np.ndarray, candidate: np.ndarray, queries: int = 500, k: int = 10) -> float:
    picked = np.arange(min(queries, len(reference)))

    def neighbours(vectors: np.ndarray) -> np.ndarray:
        sims = vectors[picked] @ vectors.T
        sims[np.arange(len(picked)), picked] = -np.inf
        return np.argsort(-sims, axis=1)[:, :k]

    ref, cand = neighbours(reference), neighbours(candidate)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ref, cand, strict=True)]))


@contextlib.contextmanager
def scratch_database():
    """A fresh, migrated database on DATABASE_URL's server or on a temporary embedded one."""
    from orchestration import migrate
    from resources.embedded_postgres import EmbeddedPostgres

    external = settings.external_database_url()
    server, base = None, None
    if external:
        admin = DatabaseUrl.parse(external)
    else:
        base = Path(tempfile.mkdtemp(prefix="burry-bench-", dir="/var/tmp"))
        server = EmbeddedPostgres(base / "pg")
        admin = server.start()
    admin = admin.with_database("postgres")
    name = f"bench_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(admin.libpq)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    url = admin.with_database(name)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
        if server is not None:
            server.stop()
            shutil.rmtree(base, ignore_errors=True)


def insert_tickets(url, rows: list[tuple[str, str, str]]) -> None:
    import io

    buffer = io.StringIO()
    for ticket_id, subject, description in rows:
        fields = ["bench", ticket_id, subject, description, "2026-01-01T00:00:00Z"]
        escaped = [f.replace("\\", "\\\\").replace("\t", " ").replace("\n", "\\n").replace("\r", "") for f in fields]
        buffer.write("\t".join(escaped) + "\n")
    buffer.seek(0)
    with psycopg2.connect(url.libpq) as conn, conn.cursor() as cur:
        cur.copy_expert("COPY raw.tickets (source, ticket_id, subject, description, created_at) FROM STDIN", buffer)
    conn.close()


class NoModel:
    def __call__(self):
        raise AssertionError("steady state: no model may load when no text changed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--ads", type=int, default=1200)
    parser.add_argument("--steady-rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--steady-only", action="store_true", help="only part 4 (the steady state)")
    args = parser.parse_args()

    from resources.database import connect
    from resources.embeddings.onnx import OnnxEmbedder, export

    tickets = ticket_texts(args.texts)
    texts = [ticket_text(s, d) for _, s, d in tickets]
    ads = ad_texts(args.ads)
    print(f"{len(texts)} ticket texts, {len(ads)} ad texts; {platform.processor() or platform.machine()}")

    reference = SentenceTransformerEmbedder()
    started = time.perf_counter()
    onnx_file = export()
    check = json.loads((onnx_file.parent / "check.json").read_text())
    print(
        f"ONNX model {onnx_file} (ready in {time.perf_counter() - started:.1f}s); check against "
        f"sentence-transformers: cosine min {check['min_cosine']:.5f} on {check['texts']} texts"
    )
    onnx = OnnxEmbedder()
    figures: dict = {"texts": len(texts), "ads": len(ads)}
    for label, corpus in () if args.steady_only else (("tickets", texts), ("ads", ads)):
        st = timed(reference, corpus)
        ox = timed(onnx, corpus)
        agreement = knn_agreement(st["vectors"], ox["vectors"])
        figures[label] = {
            "sentence_transformers": {k: v for k, v in st.items() if k != "vectors"},
            "onnx": {k: v for k, v in ox.items() if k != "vectors"},
            "knn10_agreement": agreement,
        }
        print(
            f"{label}: mean {st['mean_tokens']:.0f} tokens; sentence-transformers {st['texts_per_s']:.1f} texts/s "
            f"({st['tokens_per_s']:.0f} tokens/s); onnx {ox['texts_per_s']:.1f} texts/s "
            f"({ox['tokens_per_s']:.0f} tokens/s); kNN@10 agreement {agreement:.3f}"
        )

    with scratch_database() as url:
        insert_tickets(url, tickets)
        identity = (onnx.model, onnx.dimension)
        outcome = run_embeddings(lambda: connect(url), identity, lambda: onnx, "ticket")
        e2e = outcome.embedded / outcome.seconds
        if args.steady_only:
            figures["tickets"] = {"onnx": {"texts_per_s": e2e}, "sentence_transformers": {"texts_per_s": e2e}}
        model_only = figures["tickets"]["onnx"]["texts_per_s"]
        plain = figures["tickets"]["sentence_transformers"]["texts_per_s"]
        figures["end_to_end"] = {
            "texts_per_s": e2e,
            "tokens_per_s": outcome.tokens / outcome.seconds,
            "seconds": outcome.seconds,
            "model_seconds": outcome.model_seconds,
            "vs_onnx_model_only": e2e / model_only,
            "vs_sentence_transformers": e2e / plain,
        }
        print(
            f"end to end (PostgreSQL -> onnx -> pgvector): {outcome.embedded} tickets in {outcome.seconds:.1f}s = "
            f"{e2e:.1f} texts/s (model {outcome.model_seconds:.1f}s of it), {e2e / model_only:.2f}x onnx model-only, "
            f"{e2e / plain:.2f}x sentence-transformers"
        )

        # steady state at --steady-rows: more tickets, each already with a vector of its current text
        extra = args.steady_rows - len(tickets)
        if extra > 0:
            rows = [(f"s{i}", f"Subject {i}", f"{tickets[i % len(tickets)][2]} (copy {i})") for i in range(extra)]
            insert_tickets(url, rows)
            rng = np.random.default_rng(0)
            with connect(url) as conn, conn.cursor() as cur:
                space = ensure_space(cur, "ticket", *identity)
                drop_hnsw_index(cur, space.table_name)  # built once below, as a bulk run does
                for start in range(0, extra, 20_000):
                    chunk = rows[start : start + 20_000]
                    vectors = normalise(rng.standard_normal((len(chunk), onnx.dimension)).astype(np.float32))
                    hashes = [text_hash(ticket_text(s, d)) for _, s, d in chunk]
                    keys = [("bench", ticket_id) for ticket_id, _, _ in chunk]
                    write_vectors(cur, space, keys, vectors, hashes, [0] * len(chunk), "bench")
                started = time.perf_counter()
                create_hnsw_index(cur, space.table_name)
                print(
                    f"steady state set-up: HNSW index over {args.steady_rows} rows "
                    f"in {time.perf_counter() - started:.0f}s"
                )
        steady = run_embeddings(lambda: connect(url), identity, NoModel(), "ticket")
        with connect(url) as conn, conn.cursor() as cur:
            cur.execute("UPDATE raw.tickets SET subject = 'Refund not received' WHERE ticket_id = %s", (tickets[0][0],))
        one = run_embeddings(lambda: connect(url), identity, lambda: onnx, "ticket")
        figures["steady_state"] = {
            "rows": steady.rows,
            "unchanged_seconds": steady.seconds,
            "unchanged_embedded": steady.embedded,
            "one_changed_seconds": one.seconds,
            "one_changed_embedded": one.embedded,
        }
        print(
            f"steady state at {steady.rows} rows: no change {steady.seconds:.1f}s ({steady.embedded} embedded, "
            f"no model loaded); one changed text {one.seconds:.1f}s ({one.embedded} embedded)"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
