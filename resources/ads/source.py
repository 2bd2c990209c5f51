"""Ad-platform sources behind one interface, swapped by configuration: `demo` (deterministic
synthetic data) or `google_ads` (the official API client). Every source returns rows shaped like
the `raw` tables (resources/raw_schema.py), so the same loader lands them all.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from dagster import ConfigurableResource
from pydantic import Field

from resources import settings


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


class AdSourceResource(ConfigurableResource):
    """Which ad source the extract assets read. Bound once in orchestration/definitions.py from
    the settings (BURRY_AD_SOURCE, BURRY_GOOGLE_ADS_CUSTOMER_IDS). Credentials are read from the
    environment when a source is built, never held in the resource (the UI shows its fields)."""

    kind: str = Field(default="demo", description="demo (deterministic synthetic data) or google_ads.")
    demo_end_date: str | None = Field(
        default=None, description="Last demo day (YYYY-MM-DD); default BURRY_DEMO_END_DATE, else yesterday."
    )
    demo_days: int = Field(default=90, description="Days of demo history.")
    google_ads_customer_ids: list[str] = Field(
        default_factory=settings.google_ads_customer_ids, description="Customer ids to extract."
    )
    history_days: int = Field(default=90, description="Days an account's first extract backfills.")
    google_ads_endpoint: str | None = Field(default=None, description="API endpoint override (proxies).")

    def get_source(self) -> AdSource:
        if self.kind == "demo":
            from resources.ads.demo import DemoGoogleAdsSource

            end = date.fromisoformat(self.demo_end_date) if self.demo_end_date else settings.demo_end_date()
            return DemoGoogleAdsSource(end_date=end, days=self.demo_days)
        if self.kind == "google_ads":
            from resources.ads.google_ads import GoogleAdsSource, client_from_settings

            if not self.google_ads_customer_ids:
                raise ValueError("No Google Ads accounts to extract: set BURRY_GOOGLE_ADS_CUSTOMER_IDS=1234567890,...")
            client = client_from_settings(settings.google_ads_credentials(), self.google_ads_endpoint)
            return GoogleAdsSource(client, self.google_ads_customer_ids, history_days=self.history_days)
        raise ValueError(f"Unknown ad source {self.kind!r}: BURRY_AD_SOURCE is demo or google_ads.")
