"""The one Dagster code location: `dagster dev` in the repo root loads it via workspace.yaml."""

import os

from dagster import Definitions
from dagster_dbt import DbtCliResource

from assets.ads import extract_ad_account
from assets.checks import RAW_CHECKS
from assets.dbt import dbt_models
from assets.imports import import_dropped_files
from assets.tickets import extract_tickets
from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project
from orchestration.jobs import (
    ad_accounts_every_6_hours,
    extract_ads,
    import_files,
    marts_every_6_hours,
    refresh_tickets_and_marts,
)
from resources.ad_sources import AdSourceResource, TicketSourceResource
from resources.database import PostgresResource
from sensors.accounts import ad_account_registry
from sensors.imports import drop_folder

defs = Definitions(
    assets=[extract_ad_account, extract_tickets, import_dropped_files, dbt_models],
    asset_checks=RAW_CHECKS,
    jobs=[extract_ads, import_files, refresh_tickets_and_marts],
    schedules=[ad_accounts_every_6_hours, marts_every_6_hours],
    sensors=[ad_account_registry, drop_folder],
    resources={
        "database": PostgresResource(),
        # Sources swap by environment: `demo` (deterministic synthetic data) until real ones are set.
        "ad_source": AdSourceResource(kind=os.environ.get("BURRY_AD_SOURCE", "demo")),
        "ticket_source": TicketSourceResource(kind=os.environ.get("BURRY_TICKET_SOURCE", "demo")),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
