"""Views that nothing changed are left alone by a build (dbt_project/macros/materializations/view.sql):
no DDL, no locks on what the ask service reads, and a build that fails leaves the marts readable."""

import psycopg2
import pytest

from tests.helpers import build_marts, materialize_pipeline, query

pytestmark = pytest.mark.slow

VIEWS = "SELECT relname, oid::int AS oid FROM pg_class WHERE relkind = 'v' AND relnamespace = 'analytics'::regnamespace"


def view_oids(db) -> dict[str, int]:
    """Each analytics view's oid: a view dbt recreated gets a new one."""
    return dict(query(db, VIEWS).itertuples(index=False))


def execute(db, sql: str) -> None:
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute(sql)


def test_a_build_recreates_only_the_views_whose_sql_or_parents_changed(db, demo_env):
    materialize_pipeline()
    first = view_oids(db)
    assert {"stg_ads__ads", "ad_daily", "account_daily", "account_weekly", "campaign_daily"} <= set(first)
    comment = query(db, "SELECT obj_description('analytics.account_daily'::regclass, 'pg_class') AS c")["c"][0]
    assert comment.startswith("burry-view "), "each view carries the fingerprint it was built from"

    build_marts()
    again = view_oids(db)
    unchanged = {name for name in first if again.get(name) == first[name]}
    assert {"stg_ads__ads", "ad_daily", "account_daily", "account_weekly", "campaign_daily"} <= unchanged

    # A view gone (dropped with a parent, by hand): built again, with the views on top of it.
    execute(db, "DROP VIEW analytics.account_daily CASCADE")
    build_marts()
    after_drop = view_oids(db)
    assert {"account_daily", "account_weekly", "account_monthly"} <= set(after_drop)
    assert after_drop["account_weekly"] != first["account_weekly"]
    assert after_drop["campaign_daily"] == first["campaign_daily"]

    # A parent's columns changed (same SQL): the view and what is built on it are recreated.
    execute(db, "ALTER TABLE raw.ads ADD COLUMN label text")
    build_marts()
    after_alter = view_oids(db)
    assert after_alter["stg_ads__ads"] != first["stg_ads__ads"]
    assert after_alter["ad_daily"] != first["ad_daily"]
    assert after_alter["campaign_daily"] == first["campaign_daily"]

    # A full refresh recreates every view.
    build_marts(full_refresh=True)
    refreshed = view_oids(db)
    assert set(refreshed) == set(first) and not any(refreshed[name] == first[name] for name in first)


def test_a_build_that_fails_its_checks_leaves_the_mart_views_in_place(db, demo_env):
    """dbt used to recreate every staging view, and recreating one drops the views built on it
    (CASCADE): a build stopped by a failing check then left the marts missing until the next good
    build, and every answer declined."""
    materialize_pipeline()
    before = query(db, "SELECT sum(cost) AS cost FROM analytics.account_daily")["cost"][0]

    # An ad group's own row beside its ads' rows of the same day: the build must stop before the fact.
    execute(
        db,
        """
        INSERT INTO raw.ad_daily_metrics (platform, account_id, campaign_id, ad_group_id, ad_id, date, impressions,
                                          clicks, cost_micros, conversions, conversions_value, source)
        SELECT platform, account_id, campaign_id, ad_group_id, '', date, 100, 10, 5000000, 0, 0, source
        FROM raw.ad_daily_metrics ORDER BY date DESC LIMIT 1
        """,
    )
    result = build_marts(expect_success=False)
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert "ad_group_rows_beside_their_ads" in failed

    for view in ("account_daily", "account_weekly", "campaign_daily", "ad_daily"):
        assert query(db, f"SELECT to_regclass('analytics.{view}') IS NOT NULL AS present")["present"][0], view
    assert query(db, "SELECT sum(cost) AS cost FROM analytics.account_daily")["cost"][0] == before
