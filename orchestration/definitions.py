"""The one Dagster code location: `dagster dev` in the repo root loads it via workspace.yaml."""

from __future__ import annotations

import os

from dagster import AssetSelection, Definitions, define_asset_job
from dagster_dbt import DbtCliResource

from assets.ads import extract_ad_accounts
from assets.dbt import dbt_models
from assets.tickets import extract_tickets
from resources.ad_sources import AdSourceResource, TicketSourceResource
from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project
from resources.database import PostgresResource

refresh_all = define_asset_job(
    "refresh_all",
    selection=AssetSelection.all(),
    description="Extract every source, then rebuild the dbt models and run their tests.",
)

defs = Definitions(
    assets=[extract_ad_accounts, extract_tickets, dbt_models],
    jobs=[refresh_all],
    resources={
        "database": PostgresResource(),
        # Sources swap by environment: `demo` (deterministic synthetic data) until real ones are set.
        "ad_source": AdSourceResource(kind=os.environ.get("BURRY_AD_SOURCE", "demo")),
        "ticket_source": TicketSourceResource(kind=os.environ.get("BURRY_TICKET_SOURCE", "demo")),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
