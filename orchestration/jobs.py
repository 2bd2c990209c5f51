"""Jobs and schedules: extract every account every 6 hours, then rebuild tickets and marts."""

from dagster import (
    AddDynamicPartitionsRequest,
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    ScheduleEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    run_status_sensor,
    schedule,
)

from assets.ads.extract import AD_ACCOUNTS, AD_ACCOUNTS_NAME, extract_ad_account
from assets.dbt.assets import dbt_models
from assets.embeddings.assets import ad_vectors, ticket_vectors
from assets.imports.drop_folder import import_dropped_files
from assets.prompts.assets import (
    PROMPT_SUBJECTS,
    PROMPT_SUBJECTS_NAME,
    prompt_snapshots,
    prompt_templates,
    served_prompts,
)
from assets.tickets.extract import extract_tickets
from resources.postgres import PostgresResource

REFRESH_CRON = "0 */6 * * *"
# Marts rebuild 30 minutes after the extracts start: one dbt run over all accounts' fresh rows.
TRANSFORM_CRON = "30 */6 * * *"

RAW_CHECKS = AssetSelection.checks_for_assets(extract_ad_account, extract_tickets)

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
    selection=AssetSelection.assets(extract_tickets, dbt_models) | RAW_CHECKS,
    description="Extract tickets, check the raw tables, then rebuild every dbt model and run its tests.",
)

# After new raw data arrives outside the schedules (`burry import`, a hand-run extract): the
# blocking checks on every raw table, then every dbt model and test. `burry refresh marts`.
rebuild_marts = define_asset_job(
    "rebuild_marts",
    selection=AssetSelection.assets(dbt_models) | RAW_CHECKS,
    description="Check every raw table, then rebuild every dbt model and run its tests (no extract).",
)


@schedule(cron_schedule=REFRESH_CRON, job=extract_ads, default_status=DefaultScheduleStatus.RUNNING)
def ad_accounts_every_6_hours(context: ScheduleEvaluationContext):
    keys = context.instance.get_dynamic_partitions(AD_ACCOUNTS_NAME)
    if not keys:
        return SkipReason("no ad accounts registered yet (the ad_account_registry sensor adds them)")
    tick = context.scheduled_execution_time.strftime("%Y%m%dT%H%M")
    return [RunRequest(run_key=f"{key}@{tick}", partition_key=key) for key in keys]


@schedule(cron_schedule=TRANSFORM_CRON, job=refresh_tickets_and_marts, default_status=DefaultScheduleStatus.RUNNING)
def marts_every_6_hours(context: ScheduleEvaluationContext):
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y%m%dT%H%M"))


# Embeddings (assets/embeddings): incremental, so a run embeds only new or changed texts; the nightly
# run is the backfill (seed 001's nightly precompute), after the day's last 6-hourly refresh.
EMBEDDINGS_CRON = "0 4 * * *"

embed_tickets_and_ads = define_asset_job(
    "embed_tickets_and_ads",
    selection=AssetSelection.assets(ticket_vectors, ad_vectors)
    | AssetSelection.checks_for_assets(ticket_vectors, ad_vectors),
    description="Embed tickets and ads whose text is new or changed, then check the vectors' quality.",
)


@schedule(cron_schedule=EMBEDDINGS_CRON, job=embed_tickets_and_ads, default_status=DefaultScheduleStatus.RUNNING)
def embeddings_nightly(context: ScheduleEvaluationContext):
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y%m%dT%H%M"))


# Prompts (assets/prompts): templates -> snapshots -> served prompts, one run per subject (an ad
# account or a ticket source), after every successful marts build.
refresh_prompts = define_asset_job(
    "refresh_prompts",
    selection=AssetSelection.assets(prompt_templates, prompt_snapshots, served_prompts),
    partitions_def=PROMPT_SUBJECTS,
    description="Sync the templates, render one subject's snapshot over the marts, check it, then serve it.",
)


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[refresh_tickets_and_marts, rebuild_marts],
    request_job=refresh_prompts,
    default_status=DefaultSensorStatus.RUNNING,
)
def prompts_after_marts(context: RunStatusSensorContext, database: PostgresResource):
    """New snapshots for every subject once the marts are rebuilt (its partitions added first)."""
    from assets.prompts.context import subject_keys

    with database.connect() as conn, conn.cursor() as cur:
        keys = subject_keys(cur)
    known = set(context.instance.get_dynamic_partitions(PROMPT_SUBJECTS_NAME))
    new = [key for key in keys if key not in known]
    run_id = context.dagster_run.run_id
    return SensorResult(
        run_requests=[RunRequest(run_key=f"{key}@{run_id}", partition_key=key) for key in keys],
        dynamic_partitions_requests=[AddDynamicPartitionsRequest(PROMPT_SUBJECTS_NAME, new)] if new else [],
    )
