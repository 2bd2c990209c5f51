"""Benchmark: embedding throughput (model only and end to end through PostgreSQL), agreement, and
the steady state, in one run on the same texts.

    .venv/bin/python bench/embeddings.py [--texts 2000] [--ads 1200] [--steady-rows 100000]

Texts: the first `--texts` real support tickets of shared/data/kaggle_support_tickets (subject +
description through resources/embeddings/text.py, as the assets build them) and `--ads` short ad
texts built from the demo ad copy (headlines, descriptions, campaign and ad group names).

1. Model only, after a warm-up: plain sentence-transformers fp32 (batch 32, the reference) and each
   faster backend of the same model this CPU runs: `bf16` (PyTorch, bf16 matrix products; only on
   CPUs with bf16 instructions) and `onnx` (fp32, fused; exported once from the shipped weights and
   checked). Both: 16 per batch, longest first, dynamic padding. The texts are cut into
   `--rounds` parts and every backend embeds each part in turn, so a change of the machine's load
   (shared CPUs) hits all of them alike. texts/s and tokens/s (tokens after truncation at 256).
2. Agreement: mean overlap of the 10 nearest neighbours (cosine, self excluded) of up to 500
   query texts among all texts, each backend against sentence-transformers.
3. End to end: a scratch database (DATABASE_URL's server, or a temporary embedded one) gets the
   tickets in raw.tickets; `run_embeddings` with the backend the assets use by default (provider
   `local`: bf16 where the CPU has bf16 instructions, else onnx) reads them, embeds them and
   writes the vectors (writer thread: COPY + upsert per chunk, overlapped with the model). Plain
   sentence-transformers embeds the first half of the same texts (model only) right before and
   the second half right after: the end-to-end figure is compared with that (same texts, alike
   load) and with part 1's figures.
4. Steady state: the table grown to `--steady-rows` tickets, each with a vector of its current
   text; a rerun with no changed text (no model may load), then one changed ticket.

The load average is printed at the start and the end: on a shared machine, read the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
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
from resources.embeddings.providers import (  # noqa: E402
    EmbedderConfig,
    SentenceTransformerEmbedder,
    build_embedder,
    local_backend,
    normalise,
)
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


def timed(embedders: dict, texts: list[str], rounds: int, warmup: int = 32) -> dict[str, dict]:
    """Each embedder over `texts`, in `rounds` parts taken in turn (alike load for all)."""
    for embedder in embedders.values():
        embedder.embed(texts[:warmup])
    size = -(-len(texts) // rounds)
    parts = [texts[start : start + size] for start in range(0, len(texts), size)]
    seconds = dict.fromkeys(embedders, 0.0)
    tokens = dict.fromkeys(embedders, 0)
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    for part in parts:
        for name, embedder in embedders.items():
            started = time.perf_counter()
            embedded = embedder.embed(part)
            seconds[name] += time.perf_counter() - started
            tokens[name] += embedded.tokens
            vectors[name].append(embedded.vectors)
    return {
        name: {
            "vectors": np.concatenate(vectors[name]),
            "texts_per_s": len(texts) / seconds[name],
            "tokens_per_s": tokens[name] / seconds[name],
            "mean_tokens": tokens[name] / len(texts),
            "seconds": seconds[name],
        }
        for name in embedders
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
        if server is not None and base is not None:
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


def load() -> dict:
    one, five, fifteen = os.getloadavg()
    return {"1min": one, "5min": five, "15min": fifteen, "cpus": len(os.sched_getaffinity(0))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--ads", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=4, help="parts the backends take in turn (part 1)")
    parser.add_argument("--steady-rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--steady-only", action="store_true", help="only part 4 (the steady state)")
    args = parser.parse_args()

    from resources.database import connect

    tickets = ticket_texts(args.texts)
    texts = [ticket_text(s, d) for _, s, d in tickets]
    ads = ad_texts(args.ads)
    default = local_backend()
    figures: dict = {"texts": len(texts), "ads": len(ads), "default_backend": default, "load_at_start": load()}
    print(
        f"{len(texts)} ticket texts, {len(ads)} ad texts; {platform.processor() or platform.machine()}; "
        f"default backend here: {default}; load average {os.getloadavg()[0]:.2f} on {load()['cpus']} CPUs"
    )

    started = time.perf_counter()
    embedders: dict = {"sentence-transformers": SentenceTransformerEmbedder()}
    for backend in ("bf16", "onnx") if default == "bf16" else ("onnx",):
        embedders[backend] = build_embedder(EmbedderConfig(provider=backend))
        check = getattr(embedders[backend], "check", None)
        if check is None:  # onnx keeps its check beside the exported model
            check = json.loads((embedders[backend].model_file.parent / "check.json").read_text())
        print(
            f"{backend}: checked against sentence-transformers on {check['texts']} texts: "
            f"cosine min {check['min_cosine']:.5f}"
            + (f", similarity shift max {check['max_similarity_shift']:.4f}" if "max_similarity_shift" in check else "")
        )
    print(f"backends ready in {time.perf_counter() - started:.1f}s")
    plain = embedders["sentence-transformers"]
    embedder = embedders[default]
    for label, corpus in () if args.steady_only else (("tickets", texts), ("ads", ads)):
        measured = timed(embedders, corpus, args.rounds)
        reference = measured["sentence-transformers"]
        figures[label] = {}
        line = f"{label}: mean {reference['mean_tokens']:.0f} tokens"
        for name, got in measured.items():
            agreement = knn_agreement(reference["vectors"], got["vectors"])
            cosines = (reference["vectors"] * got["vectors"]).sum(axis=1)
            figures[label][name] = {k: v for k, v in got.items() if k != "vectors"}
            figures[label][name].update(
                knn10_agreement=agreement,
                min_cosine=float(cosines.min()),
                vs_sentence_transformers=got["texts_per_s"] / reference["texts_per_s"],
            )
            line += (
                f"\n  {name:22s} {got['texts_per_s']:6.1f} texts/s {got['tokens_per_s']:6.0f} tokens/s  "
                f"{got['texts_per_s'] / reference['texts_per_s']:.2f}x  kNN@10 agreement {agreement:.3f}  "
                f"cosine min {cosines.min():.5f}"
            )
        print(line)

    with scratch_database() as url:
        identity = (embedder.model, embedder.dimension)
        plain.embed(texts[:32])
        # Plain sentence-transformers embeds the first half of the same tickets (model only) right
        # before the end-to-end run and the second half right after: alike load for both.
        half = len(texts) // 2
        started = time.perf_counter()
        plain.embed(texts[:half])
        plain_seconds = time.perf_counter() - started
        insert_tickets(url, tickets)
        outcome = run_embeddings(lambda: connect(url), identity, lambda: embedder, "ticket")
        started = time.perf_counter()
        plain.embed(texts[half:])
        plain_seconds += time.perf_counter() - started
        embedded, tokens, seconds, model_seconds = (
            outcome.embedded,
            outcome.tokens,
            outcome.seconds,
            outcome.model_seconds,
        )
        if embedded != len(tickets):
            raise RuntimeError(f"end to end embedded {embedded} of {len(tickets)} tickets")
        e2e = embedded / seconds
        beside = embedded / plain_seconds
        if args.steady_only:
            figures["tickets"] = {default: {"texts_per_s": e2e}, "sentence-transformers": {"texts_per_s": beside}}
        model_only = figures["tickets"][default]["texts_per_s"]
        reference_rate = figures["tickets"]["sentence-transformers"]["texts_per_s"]
        figures["end_to_end"] = {
            "backend": default,
            "texts_per_s": e2e,
            "tokens_per_s": tokens / seconds,
            "seconds": seconds,
            "model_seconds": model_seconds,
            "vs_model_only": e2e / model_only,
            "sentence_transformers_beside_texts_per_s": beside,
            "vs_sentence_transformers_beside": e2e / beside,
            "vs_sentence_transformers_part_1": e2e / reference_rate,
        }
        print(
            f"end to end (PostgreSQL -> {default} -> pgvector): {embedded} tickets in "
            f"{seconds:.1f}s = {e2e:.1f} texts/s, {tokens / seconds:.0f} tokens/s (model {model_seconds:.1f}s of it); "
            f"sentence-transformers on the same tickets, model only, half before and half after: {beside:.1f} texts/s; "
            f"end to end = {e2e / beside:.2f}x that, {e2e / reference_rate:.2f}x part 1's, "
            f"{e2e / model_only:.2f}x {default} model-only (part 1)"
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
                    vectors = normalise(rng.standard_normal((len(chunk), embedder.dimension)).astype(np.float32))
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
        one = run_embeddings(lambda: connect(url), identity, lambda: embedder, "ticket")
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
    figures["load_at_end"] = load()
    print(f"load average at the end {os.getloadavg()[0]:.2f} (5 min {os.getloadavg()[1]:.2f})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
