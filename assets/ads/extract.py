"""Ad-platform extracts into `raw`: one partition per registered ad account."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    DynamicPartitionsDefinition,
    Failure,
    MaterializeResult,
    multi_asset,
)

from assets.ads.load import last_refreshed_at, refresh_account, register_accounts
from assets.ads.refresh_jobs import record_failed_job
from assets.refresh import RefreshConfig
from resources.ads.source import AdSourceResource
from resources.ids import split_partition_key
from resources.postgres import PostgresResource
from resources.raw_schema import tables

# One partition per registered account, keyed "<platform>:<account id>" (sensors/accounts.py adds them).
# AD_ACCOUNTS.name is Optional in Dagster's types: use the constant where a str is needed.
AD_ACCOUNTS_NAME = "ad_accounts"
AD_ACCOUNTS = DynamicPartitionsDefinition(name=AD_ACCOUNTS_NAME)
RAW_AD_TABLES = tables("ads")
# Files dropped for import feed the same raw tables (assets/imports/drop_folder.py).
AD_FILE_IMPORTS = AssetKey(["imports", "ad_files"])


@multi_asset(
    name="extract_ad_account",
    partitions_def=AD_ACCOUNTS,
    specs=[
        AssetSpec(
            ["raw", t.name],
            description=t.description,
            group_name="ads_raw",
            kinds={"python", "postgres"},
            deps=[AD_FILE_IMPORTS],
        )
        for t in RAW_AD_TABLES
    ],
)
def extract_ad_account(
    context: AssetExecutionContext,
    config: RefreshConfig,
    database: PostgresResource,
    ad_source: AdSourceResource,
):
    platform, account_id = split_partition_key(context.partition_key)
    try:
        source = ad_source.get_source()
    except Exception as exc:
        # Building the source (credentials, the OAuth token exchange) fails this account's run, and
        # says so where refreshes are recorded: a failed job, like a failure during the extract.
        error = f"{type(exc).__name__}: {exc}"
        record_failed_job(database.connect, platform, account_id, config.lookback_days, context.run_id, error)
        raise Failure(
            f"{context.partition_key}: the ad source could not be built: {error}",
            metadata={"app.refresh_jobs": "status failed"},
        ) from exc
    if platform != source.platform:
        raise Failure(
            f"Partition {context.partition_key} is a {platform} account, but the configured ad "
            f"source reads {source.platform}: set BURRY_AD_SOURCE."
        )
    with database.connect() as conn, conn.cursor() as cur:
        # A partition is itself a request to extract the account (it may have been added in the
        # UI, or the database reset): make sure the account is registered.
        register_accounts(cur, platform, [{"account_id": account_id}])
        previous = last_refreshed_at(cur, platform, account_id)
    result = refresh_account(database.connect, source, account_id, previous, config.lookback_days, context.run_id)
    if result.status == "failed":
        raise Failure(f"{context.partition_key}: {result.error}", metadata={"app.refresh_jobs": "status failed"})
    window = result.window
    assert window is not None  # refresh_account sets the window on every completed refresh
    context.log.info(f"{context.partition_key}: {window.start}..{window.end} {result.rows}")
    for table in RAW_AD_TABLES:
        yield MaterializeResult(
            asset_key=["raw", table.name],
            metadata={"rows_written": result.rows[table.name], "window": f"{window.start}..{window.end}"},
        )
