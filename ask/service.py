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
from resources.ids import PLATFORMS, normalize_account_id


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


def platforms(scope: Scope) -> tuple[str, ...]:
    """The platforms a request may name: every supported one and every one of the workspace's accounts
    (a file import registers its own, e.g. `online_ads`)."""
    return tuple(sorted({*PLATFORMS, *(platform for platform, _ in scope.accounts)}))


def known_platform(scope: Scope, platform: str) -> str | None:
    """`platform` as Burry spells it (any case, surrounding spaces ignored); None: not one of `platforms`."""
    wanted = platform.strip().casefold()
    return next((known for known in platforms(scope) if known.casefold() == wanted), None)


def narrowed_scope(scope: Scope, platform: str | None, account_id: str | None) -> tuple[Scope, str | None, str | None]:
    """The scope a question may read, with the (platform, normalized account id) it names.

    The account id matches in any spelling and any case (an exact match first). Raises Forbidden for
    an account id the workspace does not own, existing or not."""
    if platform is not None:
        platform = known_platform(scope, platform) or platform
    if account_id is None:
        return (scope.narrowed(platform=platform) if platform else scope), platform, None
    named = [(p, a, normalize_account_id(p, account_id)) for p, a in scope.accounts if platform in (None, p)]
    exact = [(p, a) for p, a, given in named if given == a]
    matches = exact or [(p, a) for p, a, given in named if given.casefold() == a.casefold()]
    if not matches:
        raise Forbidden("this account is not in your workspace")
    owned_platform, owned_id = matches[0]
    return scope.narrowed(platform=owned_platform, account_id=owned_id), owned_platform, owned_id


def ticket_scope(scope: Scope, ticket_source: str | None) -> Scope:
    """Only `ticket_source` (in any case), which must be the workspace's (Forbidden otherwise, existing or not)."""
    if ticket_source is None:
        return scope
    wanted = ticket_source.strip()
    exact = [source for source in scope.ticket_sources if source == wanted]
    matches = exact or [source for source in scope.ticket_sources if source.casefold() == wanted.casefold()]
    if not matches:
        raise Forbidden("this ticket source is not in your workspace")
    return replace(scope, ticket_sources=(matches[0],))


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
    rerun: interactions.Interaction | None = None,
) -> Asked:
    """Answer within the caller's scope and record it (declines included); Forbidden is not recorded.

    A follow-up continues its conversation (interactions.previous_intent); a `rerun` of an earlier
    interaction gets the context that one had, and is recorded as its rerun."""
    started = time.perf_counter() if started is None else started
    scope, platform, account_id = narrowed_scope(caller.scope, platform, account_id)
    scope = ticket_scope(scope, ticket_source)
    previous = interactions.previous_intent(cur, caller, conversation_id, before=rerun)
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
        rerun_of=None if rerun is None else rerun.id,
        snapshot_id=snapshot_id,
    )
    return Asked(interaction_id, result, platform, account_id, snapshot_id)


def served_snapshot_id(cur, scope: Scope, result: Answer) -> int | None:
    """The snapshot in force for the question's one subject (ask/prompts.py), if any."""
    subject = subject_of(scope, (result.intent or {}).get("domain"))
    served = SERVED.current(cur, subject) if subject is not None else None
    return served.snapshot_id if served is not None else None
