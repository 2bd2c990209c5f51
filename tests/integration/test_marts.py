"""The marts against independent computations: the numbers every answer quotes must be right."""

import pandas as pd
import psycopg2
import pytest
from dagster import DagsterInstance, materialize

from assets.file_import import import_file, load_mapping
from orchestration.settings import MAPPINGS_DIR
from resources.database import connect
from tests.integration.test_file_import import ONLINE_ADS

pytestmark = pytest.mark.slow


def build_marts():
    from assets.dbt import dbt_models
    from orchestration.dbt_project import prepare_dbt_manifest
    from orchestration.definitions import defs

    prepare_dbt_manifest()
    resources = {"dbt": defs.resources["dbt"], "database": defs.resources["database"]}
    assert materialize([dbt_models], resources=resources, instance=DagsterInstance.ephemeral()).success


def query(db, sql) -> pd.DataFrame:
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def expected_online_ads_weeks() -> pd.DataFrame:
    """Straight from the file with pandas: duplicates removed, weeks starting Monday."""
    raw = pd.read_csv(ONLINE_ADS).loc[:, lambda f: ~f.columns.str.startswith("Unnamed")].drop_duplicates()
    raw["date"] = pd.to_datetime(raw["day"].astype(str) + " " + raw["month"] + " 2020", format="%d %B %Y")
    raw["week_start"] = (raw["date"] - pd.to_timedelta(raw["date"].dt.weekday, unit="D")).dt.date
    weeks = raw.groupby(["campaign_number", "week_start"], as_index=False).agg(
        cost=("cost", "sum"), clicks=("clicks", "sum"), value=("post_click_sales_amount", "sum"))
    weeks["roas"] = weeks["value"] / weeks["cost"]
    return weeks.rename(columns={"campaign_number": "campaign_id"})


@pytest.mark.skipif(not ONLINE_ADS.exists(), reason="needs shared/data beside the repo")
def test_online_ads_campaign_weeks_equal_pandas_to_the_cent(db):
    import_file(lambda: connect(db), ONLINE_ADS, load_mapping(MAPPINGS_DIR / "online_ads.yml"))
    build_marts()

    marts = query(db, "SELECT campaign_id, week_start, cost, clicks, roas FROM analytics.campaign_weekly "
                      "WHERE platform = 'online_ads'")
    expected = expected_online_ads_weeks()
    joined = expected.merge(marts, on=["campaign_id", "week_start"], how="outer", suffixes=("_pandas", "_mart"),
                            indicator=True)

    assert (joined["_merge"] == "both").all(), joined[joined["_merge"] != "both"]
    assert len(marts) == len(expected) == len(joined) and expected["campaign_id"].nunique() == 3
    assert (joined["clicks_pandas"] == joined["clicks_mart"]).all()
    assert ((joined["cost_pandas"] - joined["cost_mart"].astype(float)).abs() < 0.005).all()
    assert ((joined["roas_pandas"] - joined["roas_mart"].astype(float)).abs() < 0.005).all()
    # Weekly ROAS is a ratio of weekly sums, never the average of daily ratios.
    daily = query(db, "SELECT campaign_id, date_trunc('week', date_day)::date AS week_start, avg(roas) AS avg_daily "
                      "FROM analytics.campaign_daily WHERE platform = 'online_ads' GROUP BY 1, 2")
    differs = joined.merge(daily, on=["campaign_id", "week_start"])
    assert ((differs["avg_daily"].astype(float) - differs["roas_mart"].astype(float)).abs() > 0.005).any()


def test_every_grain_adds_up_to_the_account(built_db):
    grains = query(built_db, """
        SELECT 'ad' AS grain, sum(cost) AS cost FROM analytics.ad_daily
        UNION ALL SELECT 'ad_group', sum(cost) FROM analytics.ad_group_daily
        UNION ALL SELECT 'campaign_with_ads', sum(cost) FROM analytics.campaign_daily
            WHERE channel_type <> 'PERFORMANCE_MAX'
        UNION ALL SELECT 'campaign', sum(cost) FROM analytics.campaign_daily
        UNION ALL SELECT 'account', sum(cost) FROM analytics.account_daily
        UNION ALL SELECT 'account_weekly', sum(cost) FROM analytics.account_weekly
        UNION ALL SELECT 'account_monthly', sum(cost) FROM analytics.account_monthly
        UNION ALL SELECT 'campaign_monthly', sum(cost) FROM analytics.campaign_monthly""").set_index("grain")["cost"]
    assert grains["ad"] == grains["ad_group"] == grains["campaign_with_ads"]
    assert grains["campaign"] == grains["account"] == grains["account_weekly"] == grains["account_monthly"]
    assert grains["campaign"] == grains["campaign_monthly"] > grains["campaign_with_ads"], "PMax has no ad rows"


def test_weekly_rollups_start_on_monday_and_rederive_ratios(built_db):
    weeks = query(built_db, "SELECT week_start, clicks, impressions, ctr FROM analytics.account_weekly")
    assert all(d.weekday() == 0 for d in weeks["week_start"])
    with_impressions = weeks[weeks["impressions"] > 0]
    assert ((with_impressions["clicks"] / with_impressions["impressions"]).astype(float)
            - with_impressions["ctr"].astype(float)).abs().max() < 1e-12
