"""What a refresh re-reads: the run config shared by the extract and dbt assets, and the window
of days an extract asks a source for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dagster import Config
from pydantic import Field

from resources.settings import LOOKBACK_DAYS  # its one default

__all__ = ["LOOKBACK_DAYS", "RefreshConfig", "Window", "refresh_window"]


class RefreshConfig(Config):
    lookback_days: int = Field(
        default=LOOKBACK_DAYS,
        ge=1,
        description="Days re-read on each refresh (late conversions, status changes); "
        "a source's first extract backfills all the history it has.",
    )


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def refresh_window(available: tuple[date, date], last_refreshed_at: datetime | None, lookback_days: int) -> Window:
    """A first extract backfills everything the source has; later ones re-read the lookback, and
    reach back to the last refresh when that was longer ago, so a paused schedule leaves no gap.
    (The day before the last refresh's UTC date: whatever the account's zone, it was covered.)"""
    first, last = available
    if last_refreshed_at is None:
        return Window(first, last)
    since_last_refresh = last_refreshed_at.date() - timedelta(days=1)
    return Window(max(first, min(last - timedelta(days=lookback_days - 1), since_last_refresh)), last)
