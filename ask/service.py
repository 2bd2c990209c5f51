"""One question, asked by a caller: the scope it may read, the grounded answer, the record of it.

The HTTP service, `burry ask` and (later) Slack go through `ask_question`, so a question gets the
same answer and the same `app.interactions` row wherever it was asked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date

from ask import interactions
from ask.answerer import Answer, answer
from ask.auth import Caller
from ask.prompts import SERVED, subject_of
from ask.scope import Scope
from resources.ids import normalize_account_id


class Forbidden(Exception):
    """An account outside the caller's workspace: said the same way whether or not it exists."""


@dataclass(frozen=True)
class Asked:
    interaction_id: int
    answer: Answer
    platform: str | None
    account_id: str | None
    # The served prompt snapshot in force for the one account (or ticket source) asked about;
    # None when the question covers several, or none is served or it has expired.
    snapshot_id: int | None = None


def narrowed_scope(scope: Scope, platform: str | None, account_id: str | None) -> tuple[Scope, str | None, str | None]:
    """The scope a question may read, with the (platform, normalized account id) it names.

    Raises Forbidden for an account id the workspace does not own, existing or not."""
    if account_id is None:
        return (scope.narrowed(platform=platform) if platform else scope), platform, None
    for owned_platform, owned_id in scope.accounts:
        if platform not in (None, owned_platform):
            continue
        if normalize_account_id(owned_platform, account_id) == owned_id:
            return scope.narrowed(platform=owned_platform, account_id=owned_id), owned_platform, owned_id
    raise Forbidden("this account is not in your workspace")


def ticket_scope(scope: Scope, ticket_source: str | None) -> Scope:
    """Only `ticket_source`, which must be the workspace's (Forbidden otherwise, existing or not)."""
    if ticket_source is None:
        return scope
    if ticket_source not in scope.ticket_sources:
        raise Forbidden("this ticket source is not in your workspace")
    return replace(scope, ticket_sources=(ticket_source,))


def ask_question(
    cur,
    caller: Caller,
    question: str,
    *,
    account_id: str | None = None,
    platform: str | None = None,
    ticket_source: str | None = None,
    as_of: date | None = None,
    conversation_id: str | None = None,
    request: dict | None = None,
    started: float | None = None,
    rerun_of: int | None = None,
) -> Asked:
    """Answer within the caller's scope and record it (declines included); Forbidden is not recorded."""
    started = time.perf_counter() if started is None else started
    scope, platform, account_id = narrowed_scope(caller.scope, platform, account_id)
    scope = ticket_scope(scope, ticket_source)
    previous = interactions.previous_intent(cur, caller, conversation_id)
    result = answer(cur, scope, question, as_of, previous)
    snapshot_id = served_snapshot_id(cur, scope, result)
    latency_ms = (time.perf_counter() - started) * 1000
    interaction_id = interactions.record(
        cur,
        caller,
        question,
        result,
        platform=platform,
        account_id=account_id,
        latency_ms=latency_ms,
        conversation_id=conversation_id,
        request=request,
        rerun_of=rerun_of,
        snapshot_id=snapshot_id,
    )
    return Asked(interaction_id, result, platform, account_id, snapshot_id)


def served_snapshot_id(cur, scope: Scope, result: Answer) -> int | None:
    """The snapshot in force for the question's one subject (ask/prompts.py), if any."""
    subject = subject_of(scope, (result.intent or {}).get("domain"))
    served = SERVED.current(cur, subject) if subject is not None else None
    return served.snapshot_id if served is not None else None
