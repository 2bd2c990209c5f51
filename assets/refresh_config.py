"""Run config shared by the extract assets."""

from dagster import Config
from pydantic import Field

from assets.raw_load import DEFAULT_LOOKBACK_DAYS


class RefreshConfig(Config):
    days_lookback: int = Field(
        default=DEFAULT_LOOKBACK_DAYS,
        ge=1,
        description="Days re-read on each refresh (late conversions, status changes); "
        "a source's first extract backfills all the history it has.",
    )
