"""Embeddings on real PostgreSQL + pgvector with the real local model (loaded once per session).

One database for the module: 60 Kaggle support tickets (plus one planted near-duplicate) and a
handful of ads, embedded once by the default (`local`) provider, i.e. the backend this CPU runs
fastest (bf16 or onnx); tests that change vectors work on their own copies of it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import psycopg2
import pytest

from assets.embeddings.pipeline import run_embeddings
from assets.embeddings.quality import vector_checks
from orchestration import migrate
from resources.embeddings.providers import Embedded, EmbedderConfig, get_embedder, local_backend
from resources.embeddings.search import count_ticket_mentions, similar_ads, similar_tickets
from resources.embeddings.store import find_space
from tests.helpers import KAGGLE_TICKETS, create_database, drop_database

SOURCE = "kaggle"
TICKETS = 60
PLANTED = ("kaggle", "planted-1")
ORIGINAL_ID = "12"


def connector(url):
    from resources.database import connect

    return lambda: connect(url)


def local():
    return get_embedder(EmbedderConfig())


def load_fixture_rows(url) -> None:
    frame = pd.read_csv(KAGGLE_TICKETS, nrows=TICKETS)
    rows = [
        (SOURCE, str(r["Ticket ID"]), r["Ticket Subject"], r["Ticket Description"], r["Date of Purchase"])
        for _, r in frame.iterrows()
    ]
    original = next(r for r in rows if r[1] == ORIGINAL_ID)
    # A near-duplicate: the same complaint, reworded a little and with a signature.
    planted_text = original[3].replace("Please assist.", "Can you please help?").replace("I'm", "I am")
    rows.append((*PLANTED, original[2], planted_text + "\n\nThanks,\nDana", original[4]))
    with psycopg2.connect(url.libpq) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO raw.tickets (source, ticket_id, subject, description, created_at) VALUES (%s,%s,%s,%s,%s)",
            rows,
        )
        cur.execute(
            "INSERT INTO raw.campaigns (platform, account_id, campaign_id, name, source) VALUES "
            "('google_ads', '111', 'c1', 'Hiking boots - Search', 'test'), "
            "('google_ads', '111', 'c2', 'Kitchen knives - Search', 'test')"
        )
        cur.execute(
            "INSERT INTO raw.ad_groups (platform, account_id, campaign_id, ad_group_id, name, source) VALUES "
            "('google_ads', '111', 'c1', 'g1', 'Waterproof boots', 'test'), "
            "('google_ads', '111', 'c2', 'g2', 'Chef knives', 'test')"
        )
        ads = [
            ("g1", "a1", ["Waterproof Hiking Boots", "Free Shipping"], ["Stay dry on every trail."]),
            ("g1", "a2", ["Trail Boots On Sale", "Gore-Tex Lined"], ["Boots built for wet mountain trails."]),
            ("g2", "a3", ["Japanese Chef Knives", "Razor Sharp"], ["Forged steel for your kitchen."]),
        ]
        cur.executemany(
            "INSERT INTO raw.ads (platform, account_id, ad_group_id, ad_id, headlines, descriptions, source) "
            "VALUES ('google_ads', '111', %s, %s, %s, %s, 'test')",
            [(g, a, json.dumps(h), json.dumps(d)) for g, a, h, d in ads],
        )
    conn.close()


@pytest.fixture(scope="module")
def embedded(pg_server):
    """A migrated database with the fixture rows, tickets and ads embedded by the local model."""
    _, admin_url = pg_server
    url = create_database(admin_url)
    migrate.upgrade(url)
    load_fixture_rows(url)
    identity = EmbedderConfig().space_identity()
    tickets = run_embeddings(connector(url), identity, local, "ticket")
    ads = run_embeddings(connector(url), identity, local, "ad")
    assert (tickets.embedded, ads.embedded) == (TICKETS + 1, 3)
    yield url
    drop_database(admin_url, url)


@pytest.fixture
def copy(pg_server, embedded):
    _, admin_url = pg_server
    url = create_database(admin_url, template=embedded)
    yield url
    drop_database(admin_url, url)


def cursor_on(url):
    conn = psycopg2.connect(url.libpq)
    conn.autocommit = True
    return conn, conn.cursor()


def test_vectors_are_written_typed_and_searchable(embedded):
    conn, cur = cursor_on(embedded)
    space = find_space(cur, "ticket", "all-MiniLM-L6-v2", 384)
    assert space is not None
    cur.execute(
        f"SELECT count(*), min(model), min(dimension), bool_and(length(text_sha256) = 64) FROM {space.table_name}"
    )
    assert cur.fetchone() == (TICKETS + 1, "all-MiniLM-L6-v2", 384, True)
    cur.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'embedding'",
        (space.table_name,),
    )
    assert cur.fetchone()[0] == "vector(384)"
    cur.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'embeddings' AND indexdef LIKE '%%hnsw%%'")
    assert all("vector_cosine_ops" in d for (d,) in cur.fetchall())
    # usage is recorded for the local provider too (cost 0), under the backend that ran
    cur.execute("SELECT provider, operation, items, input_tokens > 0, cost_usd FROM app.ai_usage ORDER BY id")
    backend = local_backend()
    assert cur.fetchall() == [(backend, "embed_tickets", TICKETS + 1, True, 0), (backend, "embed_ads", 3, True, 0)]
    cur.execute(f"SELECT DISTINCT backend FROM {space.table_name}")
    assert cur.fetchall() == [(backend,)]
    conn.close()


def test_a_planted_near_duplicate_comes_first(embedded):
    conn, cur = cursor_on(embedded)
    by_id = similar_tickets(cur, local(), ticket=(SOURCE, ORIGINAL_ID), k=5)
    assert (by_id[0].source, by_id[0].ticket_id) == PLANTED
    assert by_id[0].similarity > by_id[1].similarity
    cur.execute("SELECT description FROM raw.tickets WHERE ticket_id = %s", (ORIGINAL_ID,))
    by_text = similar_tickets(cur, local(), text=cur.fetchone()[0], k=3, sources=[SOURCE])
    assert {(m.source, m.ticket_id) for m in by_text[:2]} == {PLANTED, (SOURCE, ORIGINAL_ID)}
    assert similar_tickets(cur, local(), text="refund", k=3, sources=["another-source"]) == []
    conn.close()


def test_ads_are_searchable(embedded):
    conn, cur = cursor_on(embedded)
    found = similar_ads(cur, local(), text="boots for rainy hikes", k=3)
    assert [m.ad_id for m in found[:2]] in (["a1", "a2"], ["a2", "a1"])
    assert similar_ads(cur, local(), ad=("google_ads", "111", "g1", "a1"), k=1)[0].ad_id == "a2"
    conn.close()


def test_counting_mentions_states_its_threshold(embedded):
    conn, cur = cursor_on(embedded)
    counted = count_ticket_mentions(cur, local(), "refund request", sources=[SOURCE])
    assert 0 < counted.count < TICKETS and counted.threshold == pytest.approx(0.4)
    assert all("refund" in (m.subject or "").lower() or m.similarity >= 0.4 for m in counted.examples)
    conn.close()


class Refuse:
    """An embedder factory that fails the test if a model is asked for."""

    def __call__(self):
        raise AssertionError("the model must not be loaded when no text changed")


def test_incremental_skips_unchanged_and_reembeds_one_changed_row(copy):
    identity = EmbedderConfig().space_identity()
    again = run_embeddings(connector(copy), identity, Refuse(), "ticket")
    assert (again.embedded, again.skipped) == (0, TICKETS + 1)
    conn, cur = cursor_on(copy)
    cur.execute("UPDATE raw.tickets SET subject = 'Refund not received' WHERE ticket_id = '3'")
    cur.execute("UPDATE raw.tickets SET subject = '', description = NULL WHERE ticket_id = '4'")
    changed = run_embeddings(connector(copy), identity, local, "ticket")
    assert (changed.embedded, changed.skipped, changed.removed) == (1, TICKETS - 1, 1)
    assert similar_tickets(cur, local(), text="refund not received", k=1)[0].ticket_id == "3"
    conn.close()


class HashEmbedder:
    """Another 'model' (8 dimensions): its vectors must land in a space of their own."""

    provider, model, dimension, max_tokens = "test", "hash-8", 8, 512

    def embed(self, texts: Sequence[str]) -> Embedded:
        vectors = np.array([[(hash(t) >> s) % 7 + 1 for s in range(8)] for t in texts], dtype=np.float32)
        return Embedded(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), len(texts), 0.0)

    def cost_usd(self, tokens):
        return 0


def test_a_model_switch_embeds_into_a_new_space(copy, monkeypatch):
    import assets.embeddings.pipeline as pipeline

    monkeypatch.setattr(pipeline, "BULK_ROWS", 10)  # a bulk backfill: index dropped, then built once
    other = run_embeddings(connector(copy), ("hash-8", 8), HashEmbedder, "ticket")
    assert other.embedded == TICKETS + 1
    conn, cur = cursor_on(copy)
    cur.execute(
        "SELECT count(*) FROM pg_indexes WHERE tablename = %s AND indexdef LIKE '%%hnsw%%'",
        (other.space.split(".")[1],),
    )
    assert cur.fetchone()[0] == 1
    cur.execute("SELECT entity, model, dimension, table_name FROM app.embedding_spaces ORDER BY id")
    spaces = cur.fetchall()
    assert [(e, m, d) for e, m, d, _ in spaces] == [
        ("ticket", "all-MiniLM-L6-v2", 384),
        ("ad", "all-MiniLM-L6-v2", 384),
        ("ticket", "hash-8", 8),
    ]
    for _, model, dimension, table in spaces:
        cur.execute(f"SELECT DISTINCT model, dimension FROM {table}")
        assert cur.fetchall() == [(model, dimension)]
    # the first model's vectors are untouched, and its search still works
    assert similar_tickets(cur, local(), ticket=(SOURCE, ORIGINAL_ID), k=1)[0].ticket_id == PLANTED[1]
    conn.close()


def verdicts(cur):
    space = find_space(cur, "ticket", "all-MiniLM-L6-v2", 384)
    cur.execute("SELECT count(*) FROM raw.tickets")
    rows = cur.fetchone()[0]
    cur.execute(f"SELECT count(*) FROM {space.table_name}")
    return space, {v.name: v for v in vector_checks(cur, space, rows, cur.fetchone()[0])}


def test_quality_checks_pass_then_fail_on_planted_vectors(copy):
    conn, cur = cursor_on(copy)
    space, found = verdicts(cur)
    assert all(v.passed for v in found.values()), {n: v.description for n, v in found.items()}
    table = space.table_name
    zero = "[" + ",".join(["0"] * 384) + "]"
    cur.execute(f"UPDATE {table} SET embedding = %s WHERE ticket_id = '5'", (zero,))
    cur.execute(
        f"UPDATE {table} SET embedding = (SELECT embedding FROM {table} WHERE ticket_id = '7') WHERE ticket_id = '8'"
    )
    _, found = verdicts(cur)
    assert not found["zero_vectors"].passed and found["zero_vectors"].metadata["zero_vectors"] == 1
    assert not found["duplicates"].passed and found["duplicates"].metadata["duplicate_rows"] == 2
    assert found["dimensions"].passed and found["norms"].passed
    # A wrong-dimension vector needs the column untyped first (the typed column refuses it).
    cur.execute(f"DROP INDEX {table.split('.')[0]}.{table.split('.')[-1][:50]}_hnsw")
    cur.execute(f"ALTER TABLE {table} ALTER COLUMN embedding TYPE vector")
    cur.execute(f"UPDATE {table} SET embedding = '[0.6,0.8,0]' WHERE ticket_id = '9'")
    long = "[3" + ",0" * 383 + "]"
    cur.execute(f"UPDATE {table} SET embedding = %s WHERE ticket_id = '10'", (long,))
    cur.execute(f"DELETE FROM {table} WHERE ticket_id IN ('11', '13')")
    _, found = verdicts(cur)
    assert not found["dimensions"].passed and found["dimensions"].metadata["wrong_dimension_rows"] == 1
    assert not found["norms"].passed and found["norms"].metadata["off_norm_rows"] == 1
    assert not found["coverage"].passed
    conn.close()


def test_dagster_assets_and_checks_run_incrementally(copy, monkeypatch):
    from dagster import DagsterInstance, materialize

    from assets.embeddings.assets import ad_vectors, ticket_vectors, vector_quality
    from resources.embeddings.resource import EmbeddingsResource
    from resources.postgres import PostgresResource

    result = materialize(
        [ticket_vectors, ad_vectors, vector_quality],
        resources={"database": PostgresResource(url=copy.libpq), "embeddings": EmbeddingsResource()},
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    metadata = result.asset_materializations_for_node("embeddings__ticket_vectors")[0].metadata
    assert metadata["embedded"].value == 0 and metadata["skipped_unchanged"].value == TICKETS + 1
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 10 and all(c.passed for c in checks)


def test_search_endpoint_reads_only_the_keys_workspace(embedded, monkeypatch):
    from fastapi.testclient import TestClient

    from ask.app import create_app
    from tests.helpers import bearer, create_workspace_key

    monkeypatch.setenv("DATABASE_URL", embedded.libpq)
    mine = create_workspace_key(embedded, "kaggle-team", accounts=[], ticket_sources=[SOURCE])
    other = create_workspace_key(embedded, "others", accounts=[], ticket_sources=[])
    with TestClient(create_app(lambda: embedded), raise_server_exceptions=False) as client:
        found = client.get("/v1/search/tickets", params={"q": "refund not received", "k": 3}, headers=bearer(mine))
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["model"] == "all-MiniLM-L6-v2" and body["sources"] == [SOURCE] and len(body["results"]) == 3
        assert body["results"][0]["similarity"] >= body["results"][-1]["similarity"]
        assert client.get("/v1/search/tickets", params={"q": "refund"}, headers=bearer(other)).json()["results"] == []
        foreign = client.get("/v1/search/tickets", params={"q": "refund", "source": SOURCE}, headers=bearer(other))
        assert foreign.status_code == 403
        unknown = client.get("/v1/search/tickets", params={"q": "refund", "source": "nope"}, headers=bearer(other))
        assert unknown.status_code == 403 and unknown.json() == foreign.json()
        assert client.get("/v1/search/tickets", params={"q": "refund"}).status_code == 401
        assert client.get("/v1/search/tickets", params={"q": ""}, headers=bearer(mine)).status_code == 422


def test_burry_search_tickets(embedded, monkeypatch, capsys):
    from orchestration.cli import main

    monkeypatch.setenv("DATABASE_URL", embedded.libpq)
    assert main(["search", "tickets", "refund not received", "--k", "2", "--source", SOURCE, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and all(line["source"] == SOURCE for line in lines)
    assert main(["search", "tickets", "--like", f"{SOURCE}/{ORIGINAL_ID}", "--k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ticket_id"] == PLANTED[1]
    assert main(["search", "tickets", "--like", f"{SOURCE}/no-such-ticket"]) == 1


def test_the_onnx_backend_is_exported_once_checked_and_writes_the_same_space(copy):
    """The export is made from the shipped weights (cached under BURRY_MODEL_CACHE; a fresh clone
    pays ~15 s once) and checked against sentence-transformers before use."""
    from resources.embeddings.onnx import MIN_COSINE, export

    path = export()
    check = json.loads((path.parent / "check.json").read_text())
    assert check["min_cosine"] >= MIN_COSINE
    onnx = get_embedder(EmbedderConfig(provider="onnx"))
    texts = ["Refund not received", "The app crashes on login after the update. Please assist."]
    cosines = (onnx.embed(texts).vectors * plain().embed(texts).vectors).sum(axis=1)
    assert cosines.min() > 0.9999
    conn, cur = cursor_on(copy)
    cur.execute("UPDATE raw.tickets SET subject = 'Refund not received' WHERE ticket_id = '3'")
    outcome = run_embeddings(connector(copy), ("all-MiniLM-L6-v2", 384), lambda: onnx, "ticket")
    assert outcome.embedded == 1 and outcome.space.endswith("_all_minilm_l6_v2_384")
    cur.execute(f"SELECT DISTINCT backend FROM {outcome.space} ORDER BY 1")
    assert [b for (b,) in cur.fetchall()] == sorted({local_backend(), "onnx"})
    conn.close()


def plain():
    return get_embedder(EmbedderConfig(provider="sentence-transformers"))


def test_the_default_backend_is_the_cpus_fastest_and_checked_against_the_plain_model(tmp_path, monkeypatch):
    """`local` runs bf16 where the CPU has bf16 instructions (checked against plain
    sentence-transformers once per machine, refused if it disagrees), onnx elsewhere."""
    import resources.embeddings.bf16 as bf16
    from resources.embeddings.check import has_bf16

    default = local()
    assert default.provider == local_backend() == ("bf16" if has_bf16() else "onnx")
    if not has_bf16():
        with pytest.raises(RuntimeError, match="needs a CPU with bf16 instructions"):
            bf16.Bf16Embedder()
        return
    assert isinstance(default, bf16.Bf16Embedder) and default.check is not None
    check = default.check
    assert check["min_cosine"] >= bf16.MIN_COSINE and check["max_similarity_shift"] <= bf16.MAX_SHIFT
    assert json.loads(bf16.check_file(default.model_dir, default.max_tokens).read_text()) == check
    texts = ["Refund not received", "The app crashes on login after the update. Please assist.", "ok"]
    assert (default.embed(texts).vectors * plain().embed(texts).vectors).sum(axis=1).min() > 0.999
    # a backend that disagrees with the plain model refuses to start and leaves no check behind
    monkeypatch.setattr(bf16, "MAX_SHIFT", 1e-6)
    with pytest.raises(RuntimeError, match="disagrees with the plain model"):
        bf16.Bf16Embedder(cache_dir=tmp_path, workers=1)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="disagrees with the plain model.*measured before"):
        bf16.Bf16Embedder(workers=1)  # the cached check is judged again by today's thresholds


def test_the_answerer_counts_and_shows_matching_tickets(embedded):
    from ask.answerer import answer
    from ask.scope import Scope

    conn, cur = cursor_on(embedded)
    scope = Scope(1, "test", (), (SOURCE,))
    counted = answer(cur, scope, "how many tickets mention a refund request?")
    expected = count_ticket_mentions(cur, local(), "a refund request", sources=[SOURCE])
    assert counted.route == "ticket_search", counted.text
    assert counted.facts[0]["value"] == expected.count and f"{expected.count:,} tickets" in counted.text
    assert "similarity ≥ 0.4" in counted.text  # the threshold is stated
    cur.execute("SELECT description FROM raw.tickets WHERE ticket_id = %s", (ORIGINAL_ID,))
    shown = answer(cur, scope, f'show tickets like "{cur.fetchone()[0][:200]}"')
    assert shown.route == "ticket_search", shown.text
    assert {(m["source"], m["ticket_id"]) for m in shown.facts[0]["matches"][:2]} == {PLANTED, (SOURCE, ORIGINAL_ID)}
    conn.close()
