"""dbt models as Dagster assets: raw -> staging -> intermediate -> marts, dbt tests as asset checks."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, dbt_assets
from pydantic import Field

from assets.refresh import RefreshConfig
from resources.dbt import BurryDbtResource, build_vars, dbt_project


class DbtBuildConfig(RefreshConfig):
    """`lookback_days` (shared with the extract assets' config) is how many recent days of the
    incremental daily facts are re-processed; days loaded since the last build always are."""

    full_refresh: bool = Field(
        default=False,
        description="Rebuild the incremental models from scratch (gives the same numbers, slower).",
    )


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    """The lookback always goes to dbt explicitly: its one default is RefreshConfig's."""
    args = ["build", *build_vars(config.lookback_days)]
    return args + ["--full-refresh"] if config.full_refresh else args


class BurryDbtTranslator(DagsterDbtTranslator):
    """Sources keep dbt's default key (raw/<table>, matching the extract assets); models live
    under analytics/<model>, grouped by domain and layer from their folder (models/ads/staging ->
    `ads_staging`), so the global lineage reads raw -> staging -> intermediate -> marts per domain.
    Seeds and anything outside a domain folder take `meta.dagster.group` from their yml."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return AssetKey(["analytics", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "model" and len(fqn) > 3:
            return f"{fqn[1]}_{fqn[2]}"
        return super().get_group_name(dbt_resource_props) or "analytics"


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=BurryDbtTranslator())
def dbt_models(context: AssetExecutionContext, config: DbtBuildConfig, dbt: BurryDbtResource):
    yield from dbt.build(dbt_build_args(config), context=context).stream()
