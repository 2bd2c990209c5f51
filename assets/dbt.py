"""dbt models as Dagster assets: raw -> staging -> marts lineage, dbt tests as asset checks."""

import json
import os
from typing import Any, Mapping

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from pydantic import Field

from assets.refresh_config import RefreshConfig
from orchestration.dbt_project import dbt_project
from resources.database import PostgresResource


class DbtBuildConfig(RefreshConfig):
    """`days_lookback` (shared with the extract assets' config) is how many recent days of the
    incremental daily facts are re-processed; days loaded since the last build always are."""

    full_refresh: bool = Field(
        default=False,
        description="Rebuild the incremental models from scratch (gives the same numbers, slower).",
    )


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    args = ["build", "--vars", json.dumps({"lookback_days": config.days_lookback})]
    return args + ["--full-refresh"] if config.full_refresh else args


class BurryDbtTranslator(DagsterDbtTranslator):
    """Sources keep dbt's default key (raw/<table>, matching the extract assets); models live
    under analytics/<model>, grouped by domain folder (models/ads, models/tickets)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return AssetKey(["analytics", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "analytics"


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=BurryDbtTranslator())
def dbt_models(context: AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource,
               database: PostgresResource):
    # dbt inherits this process's environment; profiles.yml reads the connection from it.
    os.environ.update(database.database_url().dbt_env())
    yield from dbt.cli(dbt_build_args(config), context=context).stream()
