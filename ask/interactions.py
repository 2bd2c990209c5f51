"""Every question and its answer (`app.interactions`), and the feedback people give on them
(`app.feedback`). Plain functions over a cursor: the caller owns the transaction.

Every read is limited to the caller's workspace: an interaction of another workspace is "not
found", exactly like one that does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ask.answerer import Answer
from ask.auth import Caller

COLUMNS = (
    "id, created_at, source, user_id, api_key_id, platform, account_id, question, answer, route, facts, "
    "data_freshness, provider, cost_usd, latency_ms, intent, conversation_id, request, rerun_of"
)


@dataclass(frozen=True)
class Interaction:
    id: int
    created_at: datetime
    source: str
    user_id: int | None
    api_key_id: int | None
    platform: str | None
    account_id: str | None
    question: str
    answer: str
    route: str
    facts: list
    data_freshness: dict | None
    provider: str | None
    cost_usd: Decimal
    latency_ms: float | None
    intent: dict | None
    conversation_id: str | None
    request: dict | None
    rerun_of: int | None


def record(
    cur,
    caller: Caller,
    question: str,
    answer: Answer,
    *,
    platform: str | None = None,
    account_id: str | None = None,
    latency_ms: float | None = None,
    conversation_id: str | None = None,
    request: dict | None = None,
    rerun_of: int | None = None,
    snapshot_id: int | None = None,
) -> int:
    """Record an answer. Its transaction commits without waiting for the WAL flush (synchronous_commit
    off, for this transaction only): an answer then costs no disk flush, and a crash of the server
    can lose at most the last fraction of a second of answer records, never corrupt anything.
    Feedback and every other write stay synchronous."""
    cur.execute(
        "SET LOCAL synchronous_commit TO off; "
        "INSERT INTO app.interactions (workspace_id, user_id, api_key_id, source, platform, account_id, question, "
        "answer, route, facts, data_freshness, provider, cost_usd, latency_ms, intent, conversation_id, request, "
        "rerun_of, snapshot_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "RETURNING id",
        (
            caller.workspace_id,
            caller.user_id,
            caller.api_key_id,
            caller.source,
            platform,
            account_id,
            question,
            answer.text,
            answer.route,
            json.dumps(answer.facts, default=str),
            json.dumps(answer.freshness, default=str),
            answer.provider,
            answer.cost_usd,
            latency_ms,
            None if answer.intent is None else json.dumps(answer.intent, default=str),
            conversation_id,
            None if request is None else json.dumps(request, default=str),
            rerun_of,
            snapshot_id,
        ),
    )
    return cur.fetchone()[0]


def previous_intent(
    cur, caller: Caller, conversation_id: str | None, *, before: Interaction | None = None
) -> dict | None:
    """What a follow-up continues (None: a new conversation): the intent of the newest turn of the
    conversation that has one, asked by the same user in this workspace.

    A conversation id is the client's and belongs to its user: another user of the workspace
    sending the same id starts their own. A declined turn (no intent) and a rerun (a repeat of an
    older turn, not a new one) leave the context as it was. `before`: the context that turn had
    when it was asked (its conversation, its user, only the turns before it) — what a rerun of it
    must be answered with, whatever the conversation said since."""
    user_id = caller.user_id
    before_id = None
    if before is not None:
        while before.rerun_of is not None and (repeated := get(cur, caller, before.rerun_of)) is not None:
            before = repeated  # a rerun of a rerun: the turn first asked
        conversation_id, user_id, before_id = before.conversation_id, before.user_id, before.id
    if not conversation_id:
        return None
    cur.execute(
        "SELECT intent FROM app.interactions WHERE workspace_id = %s AND conversation_id = %s "
        "AND user_id IS NOT DISTINCT FROM %s AND intent IS NOT NULL AND rerun_of IS NULL "
        "AND (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT 1",
        (caller.workspace_id, conversation_id, user_id, before_id, before_id),
    )
    row = cur.fetchone()
    return row[0] if row else None


def get(cur, caller: Caller, interaction_id: int) -> Interaction | None:
    cur.execute(
        f"SELECT {COLUMNS} FROM app.interactions WHERE id = %s AND workspace_id = %s",
        (interaction_id, caller.workspace_id),
    )
    row = cur.fetchone()
    return Interaction(*row) if row else None


def list_interactions(
    cur,
    caller: Caller,
    *,
    limit: int = 50,
    before_id: int | None = None,
    route: str | None = None,
    source: str | None = None,
    conversation_id: str | None = None,
    account_id: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    with_feedback: bool | None = None,
) -> list[Interaction]:
    """Newest first; page with `before_id` (the last id of the previous page)."""
    where = ["workspace_id = %(workspace)s"]
    params: dict[str, Any] = {"workspace": caller.workspace_id, "limit": limit}
    filters = {
        "id < %(before_id)s": before_id,
        "route = %(route)s": route,
        "source = %(source)s": source,
        "conversation_id = %(conversation_id)s": conversation_id,
        "account_id = %(account_id)s": account_id,
        "user_id = %(user_id)s": user_id,
        "created_at >= %(since)s": since,
        "created_at < %(until)s": until,
    }
    for clause, value in filters.items():
        if value is not None:
            where.append(clause)
            params[clause.split("%(")[1].split(")")[0]] = value
    if with_feedback is not None:
        exists = "EXISTS (SELECT 1 FROM app.feedback AS f WHERE f.interaction_id = app.interactions.id)"
        where.append(exists if with_feedback else f"NOT {exists}")
    cur.execute(
        f"SELECT {COLUMNS} FROM app.interactions WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT %(limit)s",
        params,
    )
    return [Interaction(*row) for row in cur.fetchall()]


def add_feedback(
    cur,
    caller: Caller,
    interaction_id: int,
    *,
    hallucination: bool | None = None,
    rating: int | None = None,
    thumbs: str | None = None,
    correction: str | None = None,
    comment: str | None = None,
) -> int | None:
    """The feedback's id; None when the interaction is not this workspace's (or does not exist)."""
    cur.execute(
        "INSERT INTO app.feedback (interaction_id, workspace_id, user_id, api_key_id, source, hallucination, "
        "rating, thumbs, correction, comment) "
        "SELECT i.id, i.workspace_id, %s, %s, %s, %s, %s, %s, %s, %s FROM app.interactions AS i "
        "WHERE i.id = %s AND i.workspace_id = %s RETURNING id",
        (
            caller.user_id,
            caller.api_key_id,
            caller.source,
            hallucination,
            rating,
            thumbs,
            correction,
            comment,
            interaction_id,
            caller.workspace_id,
        ),
    )
    row = cur.fetchone()
    return row[0] if row else None


def feedback_for(cur, caller: Caller, interaction_id: int) -> list[dict]:
    cur.execute(
        "SELECT id, created_at, source, user_id, hallucination, rating, thumbs, correction, comment "
        "FROM app.feedback WHERE interaction_id = %s AND workspace_id = %s ORDER BY id",
        (interaction_id, caller.workspace_id),
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
