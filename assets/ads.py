"""Ad-platform extracts into `raw`: one partition per registered ad account."""

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    DynamicPartitionsDefinition,
    Failure,
    MaterializeResult,
    multi_asset,
)

from assets.raw_load import last_refreshed_at, refresh_account, register_accounts
from assets.refresh_config import RefreshConfig
from resources.ad_sources import AdSourceResource
from resources.database import PostgresResource

RAW_AD_TABLES = {
    "customers": "Ad accounts as the platform describes them (name, currency, time zone).",
    "campaigns": "Campaigns: status, channel type, start/end dates.",
    "ad_groups": "Ad groups per campaign.",
    "ads": "Ads per ad group: headlines, descriptions, final URL, status.",
    "ad_daily_metrics": "Daily metrics at ad grain (impressions, clicks, cost_micros, conversions, value).",
    "campaign_daily_metrics": "Daily metrics at campaign grain, including campaigns without ads.",
}

# One partition per registered account, keyed "<platform>:<account id>" (sensors/accounts.py adds them).
AD_ACCOUNTS = DynamicPartitionsDefinition(name="ad_accounts")


def account_partition_key(platform: str, account_id: str) -> str:
    return f"{platform}:{account_id}"


def split_partition_key(key: str) -> tuple[str, str]:
    platform, _, account_id = key.partition(":")
    if not account_id:
        raise ValueError(f"ad account partition {key!r} is not '<platform>:<account id>'")
    return platform, account_id


@multi_asset(
    name="extract_ad_account",
    partitions_def=AD_ACCOUNTS,
    specs=[
        AssetSpec(["raw", table], description=text, group_name="ads", kinds={"python", "postgres"})
        for table, text in RAW_AD_TABLES.items()
    ],
)
def extract_ad_account(
    context: AssetExecutionContext,
    config: RefreshConfig,
    database: PostgresResource,
    ad_source: AdSourceResource,
):
    platform, account_id = split_partition_key(context.partition_key)
    source = ad_source.get_source()
    if platform != source.platform:
        raise Failure(f"Partition {context.partition_key} is a {platform} account, but the configured ad "
                      f"source reads {source.platform}: set BURRY_AD_SOURCE.")
    with database.connect() as conn, conn.cursor() as cur:
        # A partition is itself a request to extract the account (it may have been added in the
        # UI, or the database reset): make sure the account is registered.
        register_accounts(cur, platform, [{"account_id": account_id}])
        previous = last_refreshed_at(cur, platform, account_id)
    result = refresh_account(database.connect, source, account_id, previous, config.days_lookback, context.run_id)
    if result.status == "failed":
        raise Failure(f"{context.partition_key}: {result.error}", metadata={"app.refresh_jobs": "status failed"})
    context.log.info(f"{context.partition_key}: {result.window.start}..{result.window.end} {result.rows}")
    for table in RAW_AD_TABLES:
        yield MaterializeResult(
            asset_key=["raw", table],
            metadata={"rows_written": result.rows[table], "window": f"{result.window.start}..{result.window.end}"},
        )
