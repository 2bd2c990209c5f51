"""The HTTP ask service (OpenAPI at /docs): grounded answers from the marts, one interaction each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from ask.answerer import AccountNotFound, answer_question, record_interaction
from resources.database import connect, resolve_database_url
from resources.database_url import DatabaseUrl


class AskRequest(BaseModel):
    account_id: str = Field(description="The ad account's id, e.g. a Google Ads customer id.")
    question: str = Field(min_length=1, max_length=2000, examples=["What was total spend last 7 days?"])
    platform: str = Field(default="google_ads")
    as_of: date | None = Field(default=None, description="Answer as if today were this date (account time zone).")
    conversation_id: str | None = None


class AskResponse(BaseModel):
    answer: str
    interaction_id: int
    route: str = Field(description="How it was answered: metric_sql, no_data, unsupported_metric.")
    facts_used: list[dict]
    snapshot_id: int | None = Field(default=None, description="Prompt snapshot used (none for direct SQL answers).")
    data_freshness: dict
    provider: str
    cost_usd: Decimal


def create_app(database_url: Callable[[], DatabaseUrl] = resolve_database_url) -> FastAPI:
    app = FastAPI(title="Burry ask service", version="0.1.0")

    @app.get("/v1/health")
    def health() -> dict:
        try:
            with connect(database_url()) as conn, conn.cursor() as cur:
                cur.execute("SELECT to_regclass('analytics.account_daily') IS NOT NULL")
                marts_ready = cur.fetchone()[0]
        except Exception as exc:  # health reports, it does not raise
            raise HTTPException(503, detail=f"database unavailable: {type(exc).__name__}") from exc
        return {"status": "ok" if marts_ready else "degraded", "database": "ok", "marts_ready": marts_ready}

    @app.post("/v1/ask", response_model=AskResponse)
    def ask(request: AskRequest) -> AskResponse:
        with connect(database_url()) as conn, conn.cursor() as cur:
            try:
                answer = answer_question(cur, request.platform, request.account_id, request.question, request.as_of)
            except AccountNotFound as exc:
                raise HTTPException(404, detail=str(exc)) from exc
            interaction_id = record_interaction(cur, request.platform, request.account_id, request.question, answer)
        return AskResponse(
            answer=answer.text,
            interaction_id=interaction_id,
            route=answer.route,
            facts_used=answer.facts,
            data_freshness=answer.freshness,
            provider=answer.provider,
            cost_usd=answer.cost_usd,
        )

    return app


app = create_app()
