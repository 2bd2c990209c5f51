"""Ad-platform sources behind one interface, swapped by configuration (demo today; Google Ads API,
CSV exports and Meta next). Every source returns rows shaped like the `raw` tables, so the same
loader lands them all.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Protocol

from dagster import ConfigurableResource
from pydantic import Field


class AdSource(Protocol):
    platform: str
    source: str

    def accounts(self) -> list[dict]: ...
    def date_range(self, account_id: str) -> tuple[date, date]: ...
    def customer(self, account_id: str) -> dict: ...
    def campaigns(self, account_id: str) -> list[dict]: ...
    def ad_groups(self, account_id: str) -> list[dict]: ...
    def ads(self, account_id: str) -> list[dict]: ...
    def ad_daily_metrics(self, account_id: str, start: date, end: date) -> list[dict]: ...
    def campaign_daily_metrics(self, account_id: str, start: date, end: date) -> list[dict]: ...


class TicketSource(Protocol):
    source: str

    def date_range(self) -> tuple[date, date]: ...
    def tickets(self, start: date, end: date) -> list[dict]: ...
    def comments(self, start: date, end: date) -> list[dict]: ...


def _parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


class _DemoCapableSource(ConfigurableResource):
    kind: str = Field(default="demo", description="Which source: demo (deterministic synthetic data).")
    demo_end_date: str | None = Field(
        default=None, description="Last demo day (ISO). Default: $BURRY_DEMO_END_DATE, else yesterday."
    )
    demo_days: int = Field(default=90, description="Days of demo history.")

    def _demo_args(self) -> dict:
        end_date = self.demo_end_date or os.environ.get("BURRY_DEMO_END_DATE")
        return {"end_date": _parse_day(end_date), "days": self.demo_days}

    def _unknown_kind(self) -> ValueError:
        return ValueError(f"Unknown {type(self).__name__} kind {self.kind!r}: use 'demo'.")


class AdSourceResource(_DemoCapableSource):
    """Which ad source the extract assets read."""

    def get_source(self) -> AdSource:
        if self.kind == "demo":
            from resources.demo_data import DemoGoogleAdsSource

            return DemoGoogleAdsSource(**self._demo_args())
        raise self._unknown_kind()


class TicketSourceResource(_DemoCapableSource):
    """Which support-ticket source the ticket assets read."""

    def get_source(self) -> TicketSource:
        if self.kind == "demo":
            from resources.demo_data import DemoTicketSource

            return DemoTicketSource(**self._demo_args())
        raise self._unknown_kind()
