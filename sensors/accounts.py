"""Keep the ad-account partitions in step with the accounts the configured source can read."""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from assets.ads.extract import AD_ACCOUNTS
from assets.ads.load import sync_source_accounts
from resources.ads.source import AdSourceResource
from resources.ids import account_partition_key
from resources.postgres import PostgresResource


def new_account_partitions(instance, database: PostgresResource, ad_source: AdSourceResource) -> list[str]:
    """Register the source's accounts in app.ad_accounts; return partition keys Dagster lacks."""
    source = ad_source.get_source()
    keys = [account_partition_key(source.platform, a) for a in sync_source_accounts(database.connect, source)]
    known = set(instance.get_dynamic_partitions(AD_ACCOUNTS.name))
    return [k for k in keys if k not in known]


@sensor(minimum_interval_seconds=300, default_status=DefaultSensorStatus.RUNNING)
def ad_account_registry(context: SensorEvaluationContext, database: PostgresResource, ad_source: AdSourceResource):
    new_keys = new_account_partitions(context.instance, database, ad_source)
    if not new_keys:
        return SkipReason("every active ad account already has a partition")
    context.log.info(f"adding ad account partitions: {', '.join(new_keys)}")
    return SensorResult(dynamic_partitions_requests=[AD_ACCOUNTS.build_add_request(new_keys)])
