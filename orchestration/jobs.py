"""Jobs and schedules: extract every account every 6 hours, then rebuild tickets and marts."""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

from assets.ads import AD_ACCOUNTS, extract_ad_account
from assets.imports import import_dropped_files

REFRESH_CRON = "0 */6 * * *"
# Marts rebuild 30 minutes after the extracts start: one dbt run over all accounts' fresh rows.
TRANSFORM_CRON = "30 */6 * * *"

extract_ads = define_asset_job(
    "extract_ads",
    selection=AssetSelection.assets(extract_ad_account),
    partitions_def=AD_ACCOUNTS,
    description="Extract one ad account (a partition) into raw.",
)

import_files = define_asset_job(
    "import_dropped_files",
    selection=AssetSelection.assets(import_dropped_files),
    description="Import the files dropped in BURRY_DROP_DIR.",
)

# The raw ad tables are written by other runs (extract_ads, imports), but their blocking checks run
# here again, before dbt: a blocking check only holds back downstream steps of its own run.
refresh_tickets_and_marts = define_asset_job(
    "refresh_tickets_and_marts",
    selection=(AssetSelection.all() - AssetSelection.assets(extract_ad_account, import_dropped_files))
    | AssetSelection.checks_for_assets(extract_ad_account),
    description="Extract tickets, check the raw tables, then rebuild every dbt model and run its tests.",
)


@schedule(cron_schedule=REFRESH_CRON, job=extract_ads, default_status=DefaultScheduleStatus.RUNNING)
def ad_accounts_every_6_hours(context: ScheduleEvaluationContext):
    keys = context.instance.get_dynamic_partitions(AD_ACCOUNTS.name)
    if not keys:
        return SkipReason("no ad accounts registered yet (the ad_account_registry sensor adds them)")
    tick = context.scheduled_execution_time.strftime("%Y%m%dT%H%M")
    return [RunRequest(run_key=f"{key}@{tick}", partition_key=key) for key in keys]


@schedule(cron_schedule=TRANSFORM_CRON, job=refresh_tickets_and_marts, default_status=DefaultScheduleStatus.RUNNING)
def marts_every_6_hours(context: ScheduleEvaluationContext):
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y%m%dT%H%M"))
