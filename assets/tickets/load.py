"""Landing support tickets in `raw`: idempotent upserts of a source's tickets and comments.

Plain Python, tested directly; `assets/tickets/extract.py` is the thin asset around it.
"""

from __future__ import annotations

from datetime import datetime

from assets.refresh import Window
from resources.raw_schema import upsert
from resources.tickets.source import TicketSource


def load_tickets(cur, source: TicketSource, window: Window) -> dict[str, int]:
    constants = {"source": source.source}
    return {
        "tickets": upsert(cur, "tickets", source.tickets(window.start, window.end), constants),
        "ticket_comments": upsert(cur, "ticket_comments", source.comments(window.start, window.end), constants),
    }


def latest_ticket_load(cur, source_name: str) -> datetime | None:
    cur.execute("SELECT max(_loaded_at) FROM raw.tickets WHERE source = %s", (source_name,))
    return cur.fetchone()[0]
