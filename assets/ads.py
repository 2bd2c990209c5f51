"""Ad-platform extracts into `raw` (one asset per raw table, filled by one extraction)."""

from dagster import AssetExecutionContext, AssetSpec, Failure, MaterializeResult, multi_asset

from assets.raw_load import refresh_ad_accounts
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


@multi_asset(
    name="extract_ad_accounts",
    specs=[
        AssetSpec(["raw", table], description=text, group_name="ads", kinds={"python", "postgres"})
        for table, text in RAW_AD_TABLES.items()
    ],
)
def extract_ad_accounts(
    context: AssetExecutionContext,
    config: RefreshConfig,
    database: PostgresResource,
    ad_source: AdSourceResource,
):
    source = ad_source.get_source()
    results = refresh_ad_accounts(database.connect, source, config.days_lookback, context.run_id)
    for result in results:
        if result.status == "completed":
            context.log.info(
                f"{source.platform} {result.account_id}: {result.window.start}..{result.window.end} {result.rows}"
            )
        else:
            context.log.error(f"{source.platform} {result.account_id} failed: {result.error}")
    if results and all(r.status == "failed" for r in results):
        raise Failure(f"Every {source.platform} account failed to refresh; see app.refresh_jobs.")
    failed = [r.account_id for r in results if r.status == "failed"]
    for table in RAW_AD_TABLES:
        yield MaterializeResult(
            asset_key=["raw", table],
            metadata={
                "rows_written": sum(r.rows.get(table, 0) for r in results),
                "accounts_refreshed": len(results) - len(failed),
                "accounts_failed": ", ".join(failed) or "none",
            },
        )
