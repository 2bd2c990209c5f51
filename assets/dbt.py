"""dbt models as Dagster assets: raw -> staging -> marts lineage, dbt tests as asset checks."""

import os
from typing import Any, Mapping

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.dbt_project import dbt_project
from resources.database import PostgresResource

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
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, database: PostgresResource):
    # dbt inherits this process's environment; profiles.yml reads the connection from it.
    os.environ.update(database.database_url().dbt_env())
    yield from dbt.cli(["build"], context=context).stream()
