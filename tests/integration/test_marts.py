"""The marts against independent computations: the numbers every answer quotes must be right."""

from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg2
import pytest

from assets.imports.mapping import load_mapping
from assets.imports.write import import_file
from resources.database import connect
from resources.settings import MAPPINGS_DIR
from tests.helpers import FIXTURES, ONLINE_ADS, build_marts, materialize_pipeline, query

pytestmark = pytest.mark.slow


def expected_online_ads_weeks() -> pd.DataFrame:
    """Straight from the file with pandas: duplicates removed, weeks starting Monday."""
    raw = pd.read_csv(ONLINE_ADS).loc[:, lambda f: ~f.columns.str.startswith("Unnamed")].drop_duplicates()
    raw["date"] = pd.to_datetime(raw["day"].astype(str) + " " + raw["month"] + " 2020", format="%d %B %Y")
    raw["week_start"] = (raw["date"] - pd.to_timedelta(raw["date"].dt.weekday, unit="D")).dt.date
    weeks = raw.groupby(["campaign_number", "week_start"], as_index=False).agg(
        cost=("cost", "sum"), clicks=("clicks", "sum"), value=("post_click_sales_amount", "sum")
    )
    weeks["roas"] = weeks["value"] / weeks["cost"]
    return weeks.rename(columns={"campaign_number": "campaign_id"})


@pytest.mark.skipif(not ONLINE_ADS.exists(), reason="needs shared/data beside the repo")
def test_online_ads_campaign_weeks_equal_pandas_to_the_cent(db):
    import_file(lambda: connect(db), ONLINE_ADS, load_mapping(MAPPINGS_DIR / "online_ads.yml"))
    build_marts()

    marts = query(
        db,
        "SELECT campaign_id, week_start, cost, clicks, roas FROM analytics.campaign_weekly "
        "WHERE platform = 'online_ads'",
    )
    expected = expected_online_ads_weeks()
    joined = expected.merge(
        marts, on=["campaign_id", "week_start"], how="outer", suffixes=("_pandas", "_mart"), indicator=True
    )

    assert (joined["_merge"] == "both").all(), joined[joined["_merge"] != "both"]
    assert len(marts) == len(expected) == len(joined) and expected["campaign_id"].nunique() == 3
    assert (joined["clicks_pandas"] == joined["clicks_mart"]).all()
    assert ((joined["cost_pandas"] - joined["cost_mart"].astype(float)).abs() < 0.005).all()
    assert ((joined["roas_pandas"] - joined["roas_mart"].astype(float)).abs() < 0.005).all()
    # Weekly ROAS is a ratio of weekly sums, never the average of daily ratios.
    daily = query(
        db,
        "SELECT campaign_id, date_trunc('week', date_day)::date AS week_start, avg(roas) AS avg_daily "
        "FROM analytics.campaign_daily WHERE platform = 'online_ads' GROUP BY 1, 2",
    )
    differs = joined.merge(daily, on=["campaign_id", "week_start"])
    assert ((differs["avg_daily"].astype(float) - differs["roas_mart"].astype(float)).abs() > 0.005).any()


def test_every_grain_adds_up_to_the_account(built_db):
    grains = query(
        built_db,
        """
        SELECT 'ad' AS grain, sum(cost) AS cost FROM analytics.ad_daily
        UNION ALL SELECT 'ad_group', sum(cost) FROM analytics.ad_group_daily
        UNION ALL SELECT 'campaign_with_ads', sum(cost) FROM analytics.campaign_daily
            WHERE channel_type <> 'PERFORMANCE_MAX'
        UNION ALL SELECT 'campaign', sum(cost) FROM analytics.campaign_daily
        UNION ALL SELECT 'account', sum(cost) FROM analytics.account_daily
        UNION ALL SELECT 'account_weekly', sum(cost) FROM analytics.account_weekly
        UNION ALL SELECT 'account_monthly', sum(cost) FROM analytics.account_monthly
        UNION ALL SELECT 'campaign_monthly', sum(cost) FROM analytics.campaign_monthly""",
    ).set_index("grain")["cost"]
    assert grains["ad"] == grains["ad_group"] == grains["campaign_with_ads"]
    assert grains["campaign"] == grains["account"] == grains["account_weekly"] == grains["account_monthly"]
    assert grains["campaign"] == grains["campaign_monthly"] > grains["campaign_with_ads"], "PMax has no ad rows"


def test_weekly_rollups_start_on_monday_and_rederive_ratios(built_db):
    weeks = query(built_db, "SELECT week_start, clicks, impressions, ctr FROM analytics.account_weekly")
    assert all(d.weekday() == 0 for d in weeks["week_start"])
    with_impressions = weeks[weeks["impressions"] > 0]
    assert (
        (with_impressions["clicks"] / with_impressions["impressions"]).astype(float)
        - with_impressions["ctr"].astype(float)
    ).abs().max() < 1e-12


AD_MODELS = [
    "int_ads__daily_facts",
    "ad_daily",
    "ad_group_daily",
    "campaign_daily",
    "account_daily",
    "campaign_weekly",
    "campaign_monthly",
    "account_weekly",
    "account_monthly",
    "account_overview",
    "top_campaigns",
    "top_ad_groups",
    "top_ads",
]


# Bookkeeping, not data: when the build that wrote the row ran.
BUILD_COLUMNS = {"built_at"}


def snapshot(db) -> dict[str, list[tuple]]:
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        tables = {}
        for model in AD_MODELS:
            cur.execute(f"SELECT * FROM analytics.{model}")
            keep = [i for i, column in enumerate(cur.description) if column.name not in BUILD_COLUMNS]
            tables[model] = sorted((tuple(row[i] for i in keep) for row in cur.fetchall()), key=repr)
        return tables


def fact_row_versions(db, before: str) -> dict[tuple, str]:
    """Each fact row's xmin: a row that was deleted and inserted again gets a new one."""
    rows = query(
        db,
        "SELECT campaign_id, ad_group_id, ad_id, date_day, xmin::text AS version "
        f"FROM analytics.int_ads__daily_facts WHERE date_day < '{before}'",
    )
    return {tuple(r[:4]): r[4] for r in rows.itertuples(index=False)}


def test_incremental_build_equals_full_refresh_and_leaves_history_alone(db, monkeypatch):
    monkeypatch.setenv("BURRY_DEMO_END_DATE", "2026-09-20")
    materialize_pipeline()
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        # As if the backfill ran three days ago and a refresh of September two days ago: a build
        # re-reads the last load (the overlap), not the one before.
        for table in ["raw.ad_daily_metrics", "raw.campaign_daily_metrics", "analytics.int_ads__daily_facts"]:
            column = "extracted_at" if table.startswith("analytics") else "_extracted_at"
            day = "date_day" if table.startswith("analytics") else "date"
            cur.execute(
                f"UPDATE {table} SET {column} = {column} - CASE WHEN {day} < '2026-09-01' "
                "THEN interval '3 days' ELSE interval '2 days' END"
            )
    history = fact_row_versions(db, before="2026-09-01")

    # Ten days later: a short refresh, and a report of older days imported late from a file.
    monkeypatch.setenv("BURRY_DEMO_END_DATE", "2026-09-30")
    import_file(
        lambda: connect(db), FIXTURES / "google_ads_ui_report.csv", load_mapping(MAPPINGS_DIR / "google_ads_ui.yml")
    )
    materialize_pipeline(lookback_days=12)
    incremental = snapshot(db)

    late = query(
        db, "SELECT count(*) AS n, max(date_day) AS last FROM analytics.ad_daily WHERE account_id = '1234567890'"
    )
    assert late["n"][0] > 0, "rows loaded since the last build are built even outside the lookback window"
    assert query(db, "SELECT max(date_day) AS d FROM analytics.account_daily")["d"][0].isoformat() == "2026-09-30"
    assert fact_row_versions(db, before="2026-09-01") == history, "an incremental build leaves old days alone"

    build_marts(full_refresh=True)
    full = snapshot(db)
    assert fact_row_versions(db, before="2026-09-01") != history, "the full refresh rebuilt everything"
    for model in AD_MODELS:
        assert incremental[model] == full[model], model
    assert all(full[model] for model in AD_MODELS)


DEMO_ACCOUNT = "4216739015"
# Independent of the dbt models: straight from raw, cost from micros, windows ending at the
# account's latest data day.
TOP_CAMPAIGNS_SQL = """
    WITH bounds AS (
        SELECT max(date) AS last_day FROM raw.campaign_daily_metrics WHERE account_id = %(account)s
    )
    SELECT campaign_id, sum(cost_micros) / 1e6 AS cost, sum(clicks) AS clicks,
           sum(conversions_value) / nullif(sum(cost_micros) / 1e6, 0) AS roas
    FROM raw.campaign_daily_metrics, bounds
    WHERE account_id = %(account)s AND date > last_day - %(days)s
    GROUP BY campaign_id
    ORDER BY sum(cost_micros) DESC, sum(clicks) DESC
    LIMIT 5"""
TOP_CHILDREN_SQL = """
    WITH bounds AS (
        SELECT max(date) AS last_day FROM raw.campaign_daily_metrics WHERE account_id = %(account)s
    ), totals AS (
        SELECT {parent}, {child}, sum(cost_micros) / 1e6 AS cost, sum(clicks) AS clicks,
               row_number() OVER (PARTITION BY {parent} ORDER BY sum(cost_micros) DESC, sum(clicks) DESC) AS spend_rank
        FROM raw.ad_daily_metrics, bounds
        WHERE account_id = %(account)s AND date > last_day - %(days)s AND {parent} = ANY(%(parents)s)
        GROUP BY {parent}, {child}
    )
    SELECT {parent}, {child}, cost, clicks, spend_rank FROM totals WHERE spend_rank <= 5"""


def rows_of(frame: pd.DataFrame, columns: list[str]) -> set[tuple]:
    return {
        tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in frame[columns].itertuples(index=False)
    }


def assert_top_n_match_raw(db, account: str, days: int) -> dict[str, pd.DataFrame]:
    params = {"account": account, "days": days}
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:

        def direct(sql, **extra):
            cur.execute(sql, {**params, **extra})
            return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])

        campaigns = direct(TOP_CAMPAIGNS_SQL)
        ad_groups = direct(
            TOP_CHILDREN_SQL.format(parent="campaign_id", child="ad_group_id"), parents=list(campaigns["campaign_id"])
        )
        ads = direct(
            TOP_CHILDREN_SQL.format(parent="ad_group_id", child="ad_id"), parents=list(ad_groups["ad_group_id"])
        )
        cur.execute(
            "SELECT sum(cost_micros) / 1e6, sum(clicks), sum(conversions) FROM raw.campaign_daily_metrics "
            "WHERE account_id = %(account)s AND date > (SELECT max(date) FROM raw.campaign_daily_metrics "
            "WHERE account_id = %(account)s) - %(days)s",
            params,
        )
        overview_direct = cur.fetchone()

    where = f"WHERE account_id = '{account}' AND window_days = {days}"
    top_campaigns = query(db, f"SELECT * FROM analytics.top_campaigns {where} ORDER BY spend_rank")
    top_ad_groups = query(db, f"SELECT * FROM analytics.top_ad_groups {where}")
    top_ads = query(db, f"SELECT * FROM analytics.top_ads {where}")
    overview = query(db, f"SELECT * FROM analytics.account_overview {where}")

    assert len(top_campaigns) >= 3 and len(top_ads) >= len(top_ad_groups) >= len(top_campaigns)
    assert list(top_campaigns["campaign_id"]) == list(campaigns["campaign_id"]), "same campaigns, same order"
    assert list(top_campaigns["spend_rank"]) == list(range(1, len(campaigns) + 1))
    assert rows_of(top_campaigns, ["campaign_id", "cost", "clicks"]) == rows_of(
        campaigns, ["campaign_id", "cost", "clicks"]
    )
    assert ((top_campaigns["roas"].astype(float) - campaigns["roas"].astype(float)).abs() < 1e-9).all()
    columns = ["campaign_id", "ad_group_id", "cost", "clicks", "spend_rank"]
    assert rows_of(top_ad_groups, columns) == rows_of(ad_groups, columns)
    columns = ["ad_group_id", "ad_id", "cost", "clicks", "spend_rank"]
    assert rows_of(top_ads, columns) == rows_of(ads, columns)
    assert (overview["window_end"] - overview["window_start"]).iloc[0].days == days - 1
    assert (float(overview["cost"][0]), overview["clicks"][0], overview["conversions"][0]) == (
        float(overview_direct[0]),
        overview_direct[1],
        overview_direct[2],
    )
    return {"campaigns": top_campaigns, "ad_groups": top_ad_groups, "ads": top_ads}


@pytest.mark.parametrize("days", [7, 30])
def test_top_n_marts_match_direct_sql_for_a_demo_account(built_db, days):
    top = assert_top_n_match_raw(built_db, DEMO_ACCOUNT, days)
    assert top["campaigns"]["campaign_name"].notna().all() and top["ads"]["headline"].notna().all()
    # Performance Max spends without ads: a top campaign, with no ad groups under it.
    pmax = top["campaigns"].loc[top["campaigns"]["channel_type"] == "PERFORMANCE_MAX", "campaign_id"]
    assert len(pmax) == 1 and pmax.iloc[0] not in set(top["ad_groups"]["campaign_id"])


def write_wide_account_report(path, rng) -> None:
    """A Google Ads UI export of one account with 7 campaigns, the first with 7 ad groups, whose
    first has 7 ads: every top-5 limit has more candidates than places."""
    lines = [
        "Ad performance report",
        '"September 1, 2026 - September 14, 2026"',
        "Day,Customer ID,Campaign,Ad group,Ad ID,Currency code,Impr.,Clicks,Cost,Conversions,Conv. value",
    ]
    for day in range(1, 15):
        for campaign in range(1, 8):
            for group in range(1, 8 if campaign == 1 else 3):
                for ad in range(1, 8 if (campaign, group) == (1, 1) else 3):
                    impressions = int(rng.integers(100, 5000))
                    clicks = int(rng.integers(0, impressions // 10))
                    lines.append(
                        f"2026-09-{day:02d},111-222-3333,C{campaign},C{campaign} G{group},"
                        f"{campaign}{group}{ad},USD,{impressions},{clicks},{rng.uniform(1, 400):.2f},"
                        f"{int(rng.integers(0, 5))},{rng.uniform(0, 900):.2f}"
                    )
    path.write_text("\n".join(lines) + "\n")


def assert_parsed_partially(run_id: str) -> None:
    """The run's dbt build reused the parse `prepare_dbt_manifest` left (same vars, same connection
    fields), instead of parsing the whole project again (~4 s a build)."""
    from resources.dbt import dbt_project

    target = Path(dbt_project.project_dir) / dbt_project.target_path
    (log,) = target.glob(f"dbt_models-{run_id[:7]}-*/dbt.log")
    text = log.read_text()
    assert "UnableToPartialParse" not in text and "PartialParsing" in text, [
        line for line in text.splitlines() if "artial" in line
    ]


def test_top_n_marts_keep_five_per_parent_when_there_are_more(db, tmp_path):
    import numpy as np

    report = tmp_path / "wide_account.csv"
    write_wide_account_report(report, np.random.default_rng(7))
    import_file(lambda: connect(db), report, load_mapping(MAPPINGS_DIR / "google_ads_ui.yml"))
    result = build_marts()
    assert_parsed_partially(result.run_id)

    for days in (7, 30):
        top = assert_top_n_match_raw(db, "1112223333", days)
        assert len(top["campaigns"]) == 5
        per_campaign = top["ad_groups"].groupby("campaign_id").size()
        per_group = top["ads"].groupby("ad_group_id").size()
        assert per_campaign.max() == 5 and per_group.max() == 5, (per_campaign, per_group)


def test_dbt_tests_are_asset_checks_and_clicks_above_impressions_only_warn(db, tmp_path):
    from dagster import AssetCheckSeverity, AssetKey

    from orchestration.definitions import defs

    check_keys = defs.resolve_asset_graph().asset_check_keys
    checked = {key.asset_key for key in check_keys}
    for model in ["int_ads__daily_facts", "ad_daily", "campaign_daily", "top_campaigns", "tickets_daily"]:
        assert AssetKey(["analytics", model]) in checked, model

    report = tmp_path / "clicks_above_impressions.csv"
    report.write_text(
        'Ad performance report\n"September 1, 2026"\n'
        "Day,Customer ID,Campaign,Ad group,Ad ID,Currency code,Impr.,Clicks,Cost,Conversions,Conv. value\n"
        "2026-09-01,999-000-1111,C1,G1,1,USD,10,12,3.00,1,9.00\n"
        "2026-09-01,999-000-1111,C1,G1,2,USD,100,5,2.00,0,0\n"
    )
    import_file(lambda: connect(db), report, load_mapping(MAPPINGS_DIR / "google_ads_ui.yml"))
    result = build_marts()  # succeeds: flagged, not failed

    ad_daily_checks = {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == AssetKey(["analytics", "ad_daily"])
    }
    # One check for the model's rules, one for its warn-only rule (tests folded per model).
    assert set(ad_daily_checks) == {"ad_daily_rules", "ad_daily_ctr_at_most_1"}, ad_daily_checks
    ctr_check = ad_daily_checks["ad_daily_ctr_at_most_1"]
    assert not ctr_check.passed and ctr_check.severity == AssetCheckSeverity.WARN
    assert ctr_check.metadata["dagster_dbt/failed_row_count"].value == 1
    assert ad_daily_checks["ad_daily_rules"].passed
    assert (
        query(db, "SELECT ctr FROM analytics.ad_daily WHERE ad_id LIKE '%1' AND account_id = '9990001111'")["ctr"][0]
        > 1
    )


def test_an_incremental_build_tests_every_row_it_wrote_days_imported_late_included(db, demo_env):
    """Tests of an incremental build check the rows it wrote (by built_at), not the lookback window
    alone: an old day loaded late with a fault fails the build that read it."""
    materialize_pipeline()
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        # As if history was loaded three days ago and September re-read two days ago (a single load
        # would be re-read whole: the overlap for loads still committing).
        for table, column, day in [
            ("raw.ad_daily_metrics", "_extracted_at", "date"),
            ("raw.campaign_daily_metrics", "_extracted_at", "date"),
            ("analytics.int_ads__daily_facts", "extracted_at", "date_day"),
        ]:
            cur.execute(
                f"UPDATE {table} SET {column} = {column} - CASE WHEN {day} < '2026-09-01' "
                "THEN interval '3 days' ELSE interval '2 days' END"
            )
        # Half a year back, far outside the lookback: an ad row of an account raw.customers lacks.
        cur.execute(
            "INSERT INTO raw.ad_daily_metrics (platform, account_id, campaign_id, ad_group_id, ad_id, date, "
            "impressions, clicks, cost_micros, conversions, conversions_value, source) "
            "VALUES ('google_ads', '9999999999', 'c', 'g', 'a', '2026-04-01', 10, 1, 1000000, 0, 0, 'test')"
        )
    result = build_marts(expect_success=False)
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert "int_ads__daily_facts_has_account" in failed, failed
    # That build rewrote the lookback window and the late day only; the rest keeps the first build's stamp.
    built = query(
        db,
        "SELECT built_at = max(built_at) OVER () AS this_build, min(date_day) AS first, count(*) AS n "
        "FROM analytics.int_ads__daily_facts GROUP BY built_at",
    )
    assert sorted(built["this_build"]) == [False, True]
    this_build, earlier = built[built["this_build"]].iloc[0], built[~built["this_build"]].iloc[0]
    assert this_build["first"].isoformat() == "2026-04-01"  # the late day, with September
    assert earlier["first"].isoformat() == "2026-07-03" and earlier["n"] > this_build["n"]


def test_a_folded_test_names_each_failing_rule_and_counts_its_rows(db, demo_env):
    """Each model's column rules are one dbt test (one asset check): its failure count is the rows
    that break a rule, and its SQL, run again, says which rules and how many rows each."""
    from dagster import AssetCheckSeverity, AssetKey

    from resources.dbt import dbt_project

    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.customers (platform, account_id, name, currency_code, time_zone, source) "
            "VALUES ('google_ads', '5550001111', 'Refunds', 'USD', 'UTC', 'test')"
        )
        # Two ads of one ad group with a negative cost (a refund booked as a day's cost), one fine.
        cur.execute(
            "INSERT INTO raw.ad_daily_metrics (platform, account_id, campaign_id, ad_group_id, ad_id, date, "
            "impressions, clicks, cost_micros, conversions, conversions_value, source) VALUES "
            "('google_ads', '5550001111', 'c1', 'g1', 'a1', '2026-09-01', 100, 5, -2000000, 0, 0, 'test'), "
            "('google_ads', '5550001111', 'c1', 'g1', 'a2', '2026-09-01', 100, 5, -1000000, 0, 0, 'test'), "
            "('google_ads', '5550001111', 'c1', 'g1', 'a3', '2026-09-01', 100, 5, 1000000, 0, 0, 'test')"
        )
    result = build_marts(expect_success=False)

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    rules = checks["ad_daily_rules"]
    assert rules.asset_key == AssetKey(["analytics", "ad_daily"])
    assert not rules.passed and rules.severity == AssetCheckSeverity.ERROR
    assert rules.metadata["dagster_dbt/failed_row_count"].value == 2
    assert checks["ad_daily_ctr_at_most_1"].passed
    # The fact only warns (a negative campaign remainder happens); its other rules pass.
    in_range = checks["int_ads__daily_facts_metrics_in_range"]
    assert not in_range.passed and in_range.severity == AssetCheckSeverity.WARN
    assert in_range.metadata["dagster_dbt/failed_row_count"].value == 2
    assert checks["int_ads__daily_facts_rules"].passed

    # Which rule: the test's compiled SQL in the run's target, one row per failing rule.
    target = Path(dbt_project.project_dir) / dbt_project.target_path
    (compiled,) = target.glob(
        f"dbt_models-{result.run_id[:7]}-*/compiled/burry/models/ads/marts/_marts.yml/ad_daily_rules.sql"
    )
    failing = query(db, compiled.read_text())
    assert failing.to_dict("records") == [{"rule": "between(cost, 0, 1000000000)", "failing_rows": 2}]
