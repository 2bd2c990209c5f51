"""The OpenAI provider through the real `openai` SDK against a local fake of its wire protocol:
vectors land in a space of their own (text-embedding-3-small, 1536d), usage and cost in app.ai_usage."""

from __future__ import annotations

import psycopg2
import pytest

from assets.embeddings.pipeline import run_embeddings
from resources.embeddings.providers import EmbedderConfig, OpenAIEmbedder, get_embedder
from resources.embeddings.search import similar_tickets
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture
def fake_openai(monkeypatch):
    server = FakeOpenAIServer().start()
    monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    yield server
    server.stop()


def test_openai_embeddings_through_the_sdk(fake_openai):
    embedder = get_embedder(EmbedderConfig(provider="openai"))
    assert isinstance(embedder, OpenAIEmbedder)
    embedded = embedder.embed(["refund not received", "app crashes on login", "refund not received"])
    assert embedded.vectors.shape == (3, 1536) and embedded.tokens == 3 + 4 + 3
    assert abs(float((embedded.vectors[0] ** 2).sum()) - 1) < 1e-5
    assert (embedded.vectors[0] == embedded.vectors[2]).all()
    assert fake_openai.requests[-1]["model"] == "text-embedding-3-small"
    # shortened vectors: text-embedding-3 models take `dimensions`
    short = OpenAIEmbedder(dimension=256).embed(["x"])
    assert short.vectors.shape == (1, 256) and fake_openai.requests[-1]["dimensions"] == 256
    # a 500 is retried by the SDK
    fake_openai.fail_next = [500]
    assert embedder.embed(["again"]).vectors.shape == (1, 1536)


def test_openai_run_records_usage_and_errors(fake_openai, db, monkeypatch):
    from resources.database import connect

    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO raw.tickets (source, ticket_id, subject, description, created_at) "
            "VALUES ('s', %s, %s, %s, now())",
            [(str(i), f"Subject {i}", f"words number {i} about refunds") for i in range(5)],
        )
    conn.close()
    config = EmbedderConfig(provider="openai")
    outcome = run_embeddings(lambda: connect(db), config.space_identity(), lambda: get_embedder(config), "ticket")
    assert outcome.embedded == 5 and outcome.space.endswith("text_embedding_3_small_1536")
    conn = psycopg2.connect(db.libpq)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT provider, model, operation, items, input_tokens, cost_usd, status FROM app.ai_usage")
    provider, model, operation, items, tokens, cost, status = cur.fetchone()
    assert (provider, model, operation, items, status) == ("openai", "text-embedding-3-small", "embed_tickets", 5, "ok")
    assert tokens == outcome.tokens > 0 and float(cost) == pytest.approx(tokens * 0.02 / 1_000_000, abs=1e-6)
    # a search query is paid for too
    assert similar_tickets(cur, get_embedder(config), text="refunds", k=2)
    cur.execute("SELECT operation FROM app.ai_usage ORDER BY id")
    assert [op for (op,) in cur.fetchall()] == ["embed_tickets", "search_tickets"]
    # a refused key: the run fails and says so in app.ai_usage
    cur.execute("UPDATE raw.tickets SET subject = 'changed' WHERE ticket_id = '1'")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    from openai import AuthenticationError

    with pytest.raises(AuthenticationError):
        run_embeddings(lambda: connect(db), config.space_identity(), lambda: get_embedder(config), "ticket")
    cur.execute("SELECT status, items, error LIKE 'AuthenticationError%%' FROM app.ai_usage ORDER BY id DESC LIMIT 1")
    assert cur.fetchone() == ("error", 0, True)
    conn.close()
