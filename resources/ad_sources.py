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


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


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
        return ValueError(f"Unknown {type(self).__name__} kind {self.kind!r}: see its description for the choices.")


class AdSourceResource(_DemoCapableSource):
    """Which ad source the extract assets read: `demo`, or `google_ads` (the official API client,
    credentials from GOOGLE_ADS_* variables or google-ads.yaml, see resources/google_ads.py)."""

    google_ads_customer_ids: list[str] = Field(
        default_factory=lambda: _csv(os.environ.get("BURRY_GOOGLE_ADS_CUSTOMER_IDS")),
        description="Customer ids to extract (default: $BURRY_GOOGLE_ADS_CUSTOMER_IDS, comma-separated).",
    )
    history_days: int = Field(default=90, description="Days an account's first extract backfills.")
    google_ads_endpoint: str | None = Field(default=None, description="API endpoint override (proxies).")

    def get_source(self) -> AdSource:
        if self.kind == "demo":
            from resources.demo_data import DemoGoogleAdsSource

            return DemoGoogleAdsSource(**self._demo_args())
        if self.kind == "google_ads":
            from resources.google_ads import GoogleAdsSource, client_from_environment

            if not self.google_ads_customer_ids:
                raise ValueError("No Google Ads accounts to extract: set BURRY_GOOGLE_ADS_CUSTOMER_IDS=1234567890,...")
            return GoogleAdsSource(client_from_environment(self.google_ads_endpoint), self.google_ads_customer_ids,
                                   history_days=self.history_days)
        raise self._unknown_kind()


class TicketSourceResource(_DemoCapableSource):
    """Which support-ticket source the ticket assets read."""

    def get_source(self) -> TicketSource:
        if self.kind == "demo":
            from resources.demo_data import DemoTicketSource

            return DemoTicketSource(**self._demo_args())
        raise self._unknown_kind()
