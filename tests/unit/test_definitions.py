"""The code location loads as `dagster dev` loads it, and its graph reads as the data flows."""

from dagster import AssetKey, Definitions

from orchestration.definitions import defs


def test_the_code_location_validates_like_dagster_dev_loads_it():
    # Builds every job, the implicit asset job included: a job named like an op fails here.
    Definitions.validate_loadable(defs)
    assert {j.name for j in defs.get_repository_def().get_all_jobs()} >= {
        "extract_ads",
        "import_dropped_files",
        "refresh_tickets_and_marts",
        "rebuild_marts",
    }


def test_groups_are_domain_and_layer_and_imports_feed_the_raw_tables():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["imports/ad_files"] == groups["imports/ticket_files"] == "imports"
    assert groups["raw/ad_daily_metrics"] == "ads_raw" and groups["raw/tickets"] == "tickets_raw"
    assert groups["analytics/stg_ads__campaigns"] == "ads_staging"
    assert groups["analytics/int_ads__daily_facts"] == "ads_intermediate"
    assert groups["analytics/campaign_daily"] == "ads_marts" and groups["analytics/tickets_daily"] == "tickets_marts"
    assert groups["analytics/ticket_sla_targets"] == "tickets_seeds"
    assert AssetKey(["imports", "ad_files"]) in graph.get(AssetKey(["raw", "ad_daily_metrics"])).parent_keys
    assert AssetKey(["imports", "ticket_files"]) in graph.get(AssetKey(["raw", "tickets"])).parent_keys
    # ... and so, through dbt's sources, upstream of the marts.
    assert AssetKey(["imports", "ad_files"]) in set(
        graph.upstream_key_iterator(AssetKey(["analytics", "campaign_daily"]))
    )
