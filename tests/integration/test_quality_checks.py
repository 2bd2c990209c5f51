"""Great Expectations suites on the raw extracts as Dagster asset checks, through real Dagster runs.

One demo pipeline up to yesterday is built per module (so freshness passes too); each test that
breaks something gets its own copy of that database (CREATE DATABASE ... TEMPLATE).
"""

import psycopg2
import pytest
from dagster import AssetCheckSeverity, AssetKey, DagsterInstance

from assets.quality import gx
from assets.quality.checks import check_result
from assets.tickets.quality import TICKET_COMMENTS, TICKETS
from orchestration import migrate
from tests.helpers import create_database, drop_database

pytestmark = pytest.mark.slow

AD_CHECKS = {
    (t, "expectations")
    for t in ("customers", "campaigns", "ad_groups", "ads", "ad_daily_metrics", "campaign_daily_metrics")
} | {("campaign_daily_metrics", "freshness")}
TICKET_CHECKS = {("tickets", "expectations"), ("ticket_comments", "expectations")}


@pytest.fixture(scope="module")
def fresh_build(pg_server):
    """The demo pipeline with data through yesterday, as `burry demo` builds it, and its runs."""
    from orchestration.refresh import refresh_everything
    from resources.dbt import prepare_dbt_manifest

    _, admin_url = pg_server
    url = create_database(admin_url)
    migrate.upgrade(url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url.libpq)
        mp.delenv("BURRY_DEMO_END_DATE", raising=False)
        prepare_dbt_manifest()
        outcome = refresh_everything(DagsterInstance.ephemeral())
    yield url, outcome
    drop_database(admin_url, url)


@pytest.fixture
def broken_db(fresh_build, pg_server, monkeypatch):
    """A copy of the fresh build for a test to break, selected through DATABASE_URL."""
    template, _ = fresh_build
    _, admin_url = pg_server
    copy = create_database(admin_url, template=template)
    monkeypatch.setenv("DATABASE_URL", copy.libpq)
    yield copy
    drop_database(admin_url, copy)


def sql(url, statement, params=()):
    conn = psycopg2.connect(url.libpq)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(statement, params)
        rows = cur.fetchall() if cur.description else None
    conn.close()
    return rows


def mart_fingerprints(url) -> dict[str, str]:
    """A hash of every table dbt built: equal fingerprints, unchanged marts.

    Views are left out: they are live over their inputs (staging over raw, ad marts over the fact
    table), so they show the current raw rows whether dbt ran or not.
    """
    tables = [t for (t,) in sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'analytics' ORDER BY 1")]
    return {
        t: sql(url, f"SELECT md5(coalesce(string_agg(m::text, '|' ORDER BY m::text), '')) FROM analytics.{t} m")[0][0]
        for t in tables
    }


def evaluations(run) -> dict[tuple[str, str], object]:
    return {
        (e.asset_key.path[-1], e.check_name): e
        for e in run.get_asset_check_evaluations()
        if e.asset_key.path[0] == "raw"
    }


def results(evaluation) -> dict[str, dict]:
    return {r["expectation"]: r for r in evaluation.metadata["results"].value}


def run_marts_job():
    from orchestration.definitions import defs

    return defs.resolve_job_def("refresh_tickets_and_marts").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False
    )


def materialized(run) -> set[str]:
    return {e.asset_key.to_user_string() for e in run.get_asset_materialization_events()}


def test_every_check_passes_on_the_demo_pipeline_with_its_expectations_listed(fresh_build):
    url, outcome = fresh_build
    assert outcome.success, outcome.failed_steps

    assert len(outcome.account_runs) == 3
    for key, run in outcome.account_runs.items():
        found = evaluations(run)
        assert set(found) == AD_CHECKS, key
        for evaluation in found.values():
            assert evaluation.passed, evaluation.description
            assert evaluation.metadata["scope"].value == f"account {key}"

    found = evaluations(outcome.transform_run)
    assert set(found) == AD_CHECKS | TICKET_CHECKS
    for (_table, name), evaluation in found.items():
        assert evaluation.passed, evaluation.description
        assert evaluation.severity == (AssetCheckSeverity.WARN if name == "freshness" else AssetCheckSeverity.ERROR)
        assert evaluation.metadata["expectations_failed"].value == 0
        listed = results(evaluation)
        assert len(listed) == evaluation.metadata["expectations_evaluated"].value > 0
        assert all(r["passed"] for r in listed.values())
        assert "| expectation | result | observed |" in evaluation.metadata["expectations"].value

    metrics = results(found["ad_daily_metrics", "expectations"])
    assert metrics["column_values_to_be_of_type(cost_micros, type_=BIGINT)"]["observed"] == "BIGINT"
    clicks = metrics["column_values_to_be_between(clicks, min_value=0)"]
    assert clicks["unexpected_count"] == 0 and clicks["element_count"] > 1000
    assert "column_values_to_be_between(days_after_local_today, max_value=1)" in metrics
    assert "column_values_to_be_in_set(priority, value_set=['urgent', 'high', 'normal', 'low'])" in results(
        found["tickets", "expectations"]
    )
    # Every check closed the connections its GX context opened.
    assert (
        sql(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (gx.APPLICATION_NAME,))[0][0] == 0
    )


def test_a_failing_blocking_check_keeps_the_marts_from_materializing(broken_db):
    before = mart_fingerprints(broken_db)
    assert {"int_ads__daily_facts", "top_campaigns", "tickets_daily"} <= set(before)
    # What a broken API response or loader would write: a negative count (no constraint forbids it).
    ((account, day),) = sql(
        broken_db,
        """
        UPDATE raw.ad_daily_metrics SET clicks = -5
        WHERE ctid = (SELECT ctid FROM raw.ad_daily_metrics WHERE account_id = '5902261847' AND clicks > 0
                      ORDER BY date DESC, ad_id LIMIT 1)
        RETURNING account_id, date""",
    )

    run = run_marts_job()

    assert not run.success
    check = evaluations(run)["ad_daily_metrics", "expectations"]
    assert not check.passed and check.severity == AssetCheckSeverity.ERROR
    label = "column_values_to_be_between(clicks, min_value=0)"
    assert check.metadata["expectations_failed"].value == 1
    assert check.metadata["failing_accounts"].value == {f"google_ads:{account}": [label]}
    bad = results(check)[label]
    assert bad["unexpected_count"] == 1
    assert bad["sample"] == [
        {
            "platform": "google_ads",
            "account_id": account,
            "ad_group_id": bad["sample"][0]["ad_group_id"],
            "ad_id": bad["sample"][0]["ad_id"],
            "date": day.isoformat(),
            "clicks": -5,
        }
    ]
    assert f"{label}: 1 of " in check.description and "**FAIL**" in check.metadata["expectations"].value
    assert all(e.passed for k, e in evaluations(run).items() if k != ("ad_daily_metrics", "expectations"))

    # The run went on where it could (tickets were extracted) but dbt never started.
    done = materialized(run)
    assert "raw/tickets" in done
    assert not any(key.startswith("analytics/") for key in done), done
    assert "dbt_models" not in {e.step_key for e in run.get_step_success_events()}
    assert mart_fingerprints(broken_db) == before
    assert sql(broken_db, "SELECT count(*) FROM analytics.ad_daily WHERE clicks < 0")[0][0] == 0


def test_an_account_extract_run_checks_that_account_only_and_names_it(broken_db):
    from assets.ads.extract import AD_ACCOUNTS
    from orchestration.definitions import defs

    # A day after the account's local tomorrow: in the future wherever the account is.
    ((account, zone),) = sql(
        broken_db,
        """
        INSERT INTO raw.campaign_daily_metrics
        SELECT platform, account_id, campaign_id, (now() AT TIME ZONE c.time_zone)::date + 2, impressions,
               clicks, cost_micros, conversions, conversions_value, m.source, m._extracted_at
        FROM raw.campaign_daily_metrics m JOIN raw.customers c USING (platform, account_id)
        WHERE account_id = '7384920156' ORDER BY date DESC LIMIT 1
        RETURNING account_id, (SELECT time_zone FROM raw.customers WHERE account_id = '7384920156')""",
    )
    assert zone == "Europe/Berlin"
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(AD_ACCOUNTS.name, ["google_ads:7384920156", "google_ads:4216739015"])
    extract = defs.resolve_job_def("extract_ads")

    broken = extract.execute_in_process(instance=instance, partition_key=f"google_ads:{account}", raise_on_error=False)
    healthy = extract.execute_in_process(instance=instance, partition_key="google_ads:4216739015", raise_on_error=False)

    assert healthy.success and all(e.passed for e in evaluations(healthy).values())
    assert not broken.success
    check = evaluations(broken)["campaign_daily_metrics", "expectations"]
    assert not check.passed
    assert check.metadata["scope"].value == f"account google_ads:{account}"
    future = results(check)["column_values_to_be_between(days_after_local_today, max_value=1)"]
    assert future["unexpected_count"] == 1 and future["sample"][0]["account_id"] == account
    assert future["sample"][0]["days_after_local_today"] == 2
    # The extract itself landed: a check never undoes a materialization.
    assert "raw/campaign_daily_metrics" in materialized(broken)


def test_stale_data_warns_without_blocking_the_marts(broken_db):
    # One account not extracted for two days; another with its last four days missing.
    sql(
        broken_db,
        "UPDATE raw.campaign_daily_metrics SET _extracted_at = now() - interval '2 days' "
        "WHERE account_id = '4216739015'",
    )
    sql(broken_db, "DELETE FROM raw.ad_daily_metrics WHERE account_id = '5902261847' AND date > current_date - 5")
    sql(broken_db, "DELETE FROM raw.campaign_daily_metrics WHERE account_id = '5902261847' AND date > current_date - 5")

    run = run_marts_job()

    assert run.success
    found = evaluations(run)
    fresh = found["campaign_daily_metrics", "freshness"]
    assert not fresh.passed and fresh.severity == AssetCheckSeverity.WARN
    listed = results(fresh)
    assert [
        s["account_id"] for s in listed["column_values_to_be_between(hours_since_extracted, max_value=12)"]["sample"]
    ] == ["4216739015"]
    assert [
        s["account_id"] for s in listed["column_values_to_be_between(days_behind_local_today, max_value=2)"]["sample"]
    ] == ["5902261847"]
    assert all(e.passed for k, e in found.items() if k[1] == "expectations")
    assert {"analytics/account_daily", "analytics/campaign_daily"} <= materialized(run)
    ((latest,),) = sql(broken_db, "SELECT max(date_day) FROM analytics.account_daily WHERE account_id = '5902261847'")
    ((raw_latest,),) = sql(
        broken_db, "SELECT max(date) FROM raw.campaign_daily_metrics WHERE account_id = '5902261847'"
    )
    assert latest == raw_latest, "the marts were rebuilt from the stale raw data"


def test_a_schema_change_fails_with_gx_errors_in_the_metadata(broken_db):
    sql(broken_db, "ALTER TABLE raw.ticket_comments DROP COLUMN created_at, ALTER COLUMN comment_id TYPE varchar(40)")

    comments, tickets = gx.validate(broken_db, [TICKET_COMMENTS, TICKETS])

    assert tickets.passed
    assert not comments.passed
    failed = {o.expectation: o for o in comments.failed}
    assert set(failed) == {
        "table_columns_to_match_set(exact_match=False)",
        "column_values_to_be_of_type(comment_id, type_=TEXT)",
        "column_values_to_be_of_type(created_at, type_=TIMESTAMP WITH TIME ZONE)",
        "column_values_to_not_be_null(created_at)",
    }
    assert failed["column_values_to_be_of_type(comment_id, type_=TEXT)"].observed == "VARCHAR(40)"
    # GX reports the query on a missing column as a failed expectation: the message is kept.
    assert "created_at" in failed["column_values_to_not_be_null(created_at)"].error
    result = check_result(comments)
    assert not result.passed and any("created_at" in e for e in result.metadata["errors"].value)


def test_blocking_checks_guard_every_raw_input_of_the_dbt_step():
    """Structure, not data: in the marts job each raw table dbt reads is an input of the dbt step
    that waits on that table's blocking check (and on nothing that merely warns)."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    assert {
        (k.asset_key.path[-1], k.name) for k in graph.asset_check_keys if k.asset_key.path[0] == "raw"
    } >= AD_CHECKS | TICKET_CHECKS
    job = defs.resolve_job_def("refresh_tickets_and_marts")
    upstream = job.graph.dependency_structure.input_to_upstream_outputs_for_node("dbt_models")
    waits_on = {(out.node_name, out.output_def.name) for outs in upstream.values() for out in outs}
    dbt_reads = {
        dep.asset_key
        for spec in defs.resolve_assets_def(AssetKey(["analytics", "campaign_daily"])).specs
        for dep in spec.deps
        if dep.asset_key.path[0] == "raw"
    }
    assert {k.path[-1] for k in dbt_reads} >= {
        "customers",
        "campaigns",
        "ad_daily_metrics",
        "campaign_daily_metrics",
        "tickets",
    }
    for key in dbt_reads:
        node = "raw_ticket_expectations" if key.path[-1].startswith("ticket") else "raw_ad_expectations"
        assert (node, f"raw__{key.path[-1]}_expectations") in waits_on, key
    assert not any(output.endswith("_freshness") for _, output in waits_on)
    assert {n.name for n in defs.resolve_job_def("extract_ads").graph.nodes} == {
        "extract_ad_account",
        "raw_ad_expectations",
    }
