"""The code location loads as `dagster dev` loads it, and its graph reads as the data flows."""

from pathlib import Path

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


def test_prompts_read_templates_then_snapshots_then_served_after_the_marts():
    graph = defs.resolve_asset_graph()
    snapshots, served = AssetKey(["prompts", "snapshots"]), AssetKey(["prompts", "served"])
    assert {graph.get(key).group_name for key in (snapshots, served, AssetKey(["prompts", "templates"]))} == {"prompts"}
    assert AssetKey(["prompts", "templates"]) in graph.get(snapshots).parent_keys
    for mart in ("account_overview", "top_campaigns", "top_ad_groups", "top_ads", "tickets_daily"):
        assert AssetKey(["analytics", mart]) in graph.get(snapshots).parent_keys
    assert graph.get(served).parent_keys == {snapshots}
    assert AssetKey(["raw", "ad_daily_metrics"]) in set(graph.upstream_key_iterator(served))
    assert "refresh_prompts" in {j.name for j in defs.get_repository_def().get_all_jobs()}


def test_embeddings_follow_the_raw_tickets_and_ads_with_checks_and_a_nightly_schedule():
    from orchestration.jobs import EMBEDDINGS_CRON

    graph = defs.resolve_asset_graph()
    tickets, ads = AssetKey(["embeddings", "ticket_vectors"]), AssetKey(["embeddings", "ad_vectors"])
    assert {graph.get(key).group_name for key in (tickets, ads)} == {"embeddings"}
    assert {AssetKey(["raw", "tickets"]), AssetKey(["raw", "ticket_comments"])} <= graph.get(tickets).parent_keys
    assert {AssetKey(["raw", "ads"]), AssetKey(["raw", "ad_groups"]), AssetKey(["raw", "campaigns"])} <= graph.get(
        ads
    ).parent_keys
    checks = {(key.asset_key, key.name) for key in graph.asset_check_keys}
    for name in ("dimensions", "zero_vectors", "norms", "duplicates", "coverage"):
        assert {(tickets, name), (ads, name)} <= checks
    schedule = defs.resolve_schedule_def("embeddings_nightly")
    assert schedule.cron_schedule == EMBEDDINGS_CRON == "0 4 * * *"
    assert schedule.job_name == "embed_tickets_and_ads"


def test_concurrent_manifest_preparations_take_turns_and_leave_a_whole_manifest():
    """Two `burry` commands starting at once both parse dbt: neither may read or leave half a manifest."""
    import fcntl
    import json
    import subprocess
    import time

    from resources.dbt import dbt_project
    from tests.helpers import BURRY

    target = Path(dbt_project.project_dir) / dbt_project.target_path
    started = time.time()
    both = [subprocess.Popen([BURRY, "dbt-prepare"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in (1, 2)]
    outputs = [p.communicate(timeout=300)[0].decode() for p in both]
    assert [p.returncode for p in both] == [0, 0], outputs
    assert (target / "manifest.json").stat().st_mtime >= started - 1, "the manifest in target/ is the new one"
    manifest = json.loads((target / "manifest.json").read_text())
    assert "model.burry.account_daily" in manifest["nodes"]
    with (target / ".parse.lock").open("w") as lock:  # no parse in progress (another test worker's)
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert not list(target.glob("parse-*")), "scratch targets are removed"


def test_old_dbt_run_targets_are_pruned_and_the_newest_kept(tmp_path):
    import os

    from resources.dbt import prune_run_targets

    for i in range(25):
        run = tmp_path / f"dbt_models-{i:07d}-abcdef0"
        run.mkdir()
        (run / "manifest.json").write_text("{}")
        os.utime(run, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "compiled").mkdir()

    assert prune_run_targets(tmp_path, keep=20) == 5
    left = sorted(p.name for p in tmp_path.glob("dbt_models-*"))
    assert left == [f"dbt_models-{i:07d}-abcdef0" for i in range(5, 25)], "the 20 newest stay"
    assert (tmp_path / "manifest.json").exists() and (tmp_path / "compiled").is_dir(), "the project's own files stay"
