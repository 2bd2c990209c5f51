"""Served prompts, as the ask service reads them: `app.served_prompts` through a small cache.

The `prompts/served` asset points each subject (an ad account `google_ads:<id>`, a ticket source
`tickets:<source>`) at a snapshot and draws a new `version` from one sequence. The cache keeps the
prompts it has read and, at most every `check_seconds`, asks for `max(version)`: any change
empties it, so a new snapshot is served within seconds, without a restart. An expired snapshot
(past `expires_at`, 6 hours after it was made) is never current: the LLM route then answers with
seed 000's stale-data fallback (the grounded route still answers from the marts).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ask.scope import Scope
from resources.ids import account_partition_key

TICKET_PREFIX = "tickets:"
STALE_FALLBACK = "This data wasn't in our latest refresh ({timestamp}). Refresh now?"


@dataclass(frozen=True)
class ServedPrompt:
    snapshot_id: int
    subject_kind: str
    subject_key: str
    served_version: int
    template_slug: str
    template_version: int
    generated_at: datetime
    expires_at: datetime
    data_refreshed_at: datetime | None
    text: str

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at

    def stale_fallback(self) -> str:
        """Seed 000's fallback 2, for an LLM route that finds this prompt expired."""
        when = self.data_refreshed_at or self.generated_at
        return STALE_FALLBACK.format(timestamp=when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def account_subject(platform: str, account_id: str) -> tuple[str, str]:
    return "ad_account", account_partition_key(platform, account_id)


def ticket_subject(source: str) -> tuple[str, str]:
    return "ticket_source", f"{TICKET_PREFIX}{source}"


def subject_of(scope: Scope, domain: str | None) -> tuple[str, str] | None:
    """The one subject a question is about: its only ticket source for a ticket question, else its
    only account; None when it covers several (or none)."""
    if domain == "tickets":
        return ticket_subject(scope.ticket_sources[0]) if len(scope.ticket_sources) == 1 else None
    if domain == "both":
        return None
    return account_subject(*scope.accounts[0]) if len(scope.accounts) == 1 else None


SELECT = (
    "SELECT s.id, p.subject_kind, p.subject_key, p.version, s.template_slug, s.template_version, s.generated_at, "
    "s.expires_at, s.data_refreshed_at, s.rendered_text FROM app.served_prompts AS p "
    "JOIN app.prompt_snapshots AS s ON s.id = p.snapshot_id WHERE p.subject_kind = %s AND p.subject_key = %s"
)


class ServedPrompts:
    """A per-process cache of served prompts that notices a new served version within `check_seconds`."""

    def __init__(self, check_seconds: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.check_seconds = check_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._version: int | None = None
        self._checked_at: float | None = None
        self._prompts: dict[tuple[str, str], ServedPrompt | None] = {}

    def _fresh(self, cur) -> None:
        now = self.clock()
        with self._lock:
            if self._checked_at is not None and now - self._checked_at < self.check_seconds:
                return
        cur.execute("SELECT max(version) FROM app.served_prompts")
        version = cur.fetchone()[0]
        with self._lock:
            if version != self._version:
                self._prompts.clear()
                self._version = version
            self._checked_at = now

    def get(self, cur, subject: tuple[str, str]) -> ServedPrompt | None:
        """The prompt served for `subject` (expired or not), or None."""
        self._fresh(cur)
        with self._lock:
            if subject in self._prompts:
                return self._prompts[subject]
        cur.execute(SELECT, subject)
        row = cur.fetchone()
        prompt = ServedPrompt(*row) if row else None
        with self._lock:
            self._prompts[subject] = prompt
        return prompt

    def current(self, cur, subject: tuple[str, str], now: datetime | None = None) -> ServedPrompt | None:
        """The served prompt if it has not expired: what is in force."""
        prompt = self.get(cur, subject)
        return prompt if prompt is not None and not prompt.expired(now) else None

    def clear(self) -> None:
        with self._lock:
            self._prompts.clear()
            self._version = None
            self._checked_at = None


SERVED = ServedPrompts()
