"""Helpers shared by the deterministic demo sources (resources/ads/demo.py, resources/tickets/demo.py).

Every number for an (entity, day) is a pure function of the seed, the entity's ids and the day:
it never depends on the demo's end date, the requested range or call order. Shifting the end
date therefore re-extracts identical numbers for overlapping days (idempotent refreshes), and two
instances with the same seed agree exactly.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

SOURCE = "demo"

CENTS = Decimal("0.01")


def rng(seed: int, *parts: object) -> random.Random:
    """A generator for one (entity, day). sha256, never the builtin hash(): that is salted per process."""
    key = "|".join(str(p) for p in (seed, *parts))
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def default_end_date() -> date:
    """Yesterday: the last complete day, as a daily extract would see it."""
    return date.today() - timedelta(days=1)


def window(end_date: date, days: int) -> tuple[date, date]:
    return end_date - timedelta(days=days - 1), end_date


def days_between(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENTS)


def slug(text: str) -> str:
    return "-".join(text.lower().split())


class DemoWindow:
    """The days a demo source covers: `days` ending at `end_date` (default yesterday), and the seed
    its numbers derive from. Shared by the demo ad and ticket sources."""

    def __init__(self, end_date: date | None = None, days: int = 90, seed: int = 7):
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        self.end_date = end_date or default_end_date()
        self.days = days
        self.seed = seed

    def date_range(self, account_id: str | None = None) -> tuple[date, date]:
        """The same days for every account (the AdSource interface asks per account: time zones)."""
        return window(self.end_date, self.days)
