"""Mappings real exports need (files generated here): ad-set grain without ads, a lookup file joined
by key, the account name, Jira's resolution and 24-hour timestamps, the source's own status."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from assets.imports.changes import undo_import
from assets.imports.mapping import MappingError, load_mapping
from assets.imports.write import import_file
from resources.database import connect
from resources.settings import MAPPINGS_DIR
from tests.helpers import FIXTURES, build_marts, query

NOW = datetime(2026, 9, 30, 12, tzinfo=UTC)
AD_SETS = (
    "Day,Account ID,Account name,Campaign name,Ad set name,Currency,Impressions,Link clicks,Amount spent (EUR),"
    "Purchases,Purchases conversion value\n"
)


def rows(cursor, sql, *params):
    cursor.execute(sql, params)
    return cursor.fetchall()


def ad_set_export(tmp_path, *lines, name="ad_sets.csv"):
    path = tmp_path / name
    path.write_text(AD_SETS + "".join(f"{line}\n" for line in lines))
    return path


def test_an_ad_set_export_lands_at_ad_group_grain_without_inventing_ads(db, cursor, tmp_path):
    path = ad_set_export(
        tmp_path,
        "2026-09-01,act_555,Shop EU,Autumn Sale,Lookalike 1%,EUR,5400,81,64.20,3,297.00",
        "2026-09-01,act_555,Shop EU,Autumn Sale,Retargeting,EUR,3100,,22.75,,",  # same campaign-day: no collision
        "2026-09-02,act_555,Shop EU,Autumn Sale,Lookalike 1%,EUR,4000,60,50.00,2,100.00",
        "2026-09-02,act_555,Shop EU,Autumn Sale,Lookalike 1%,EUR,4100,60,50.00,2,100.00",  # same ad set-day
    )
    summary = import_file(lambda: connect(db), path, load_mapping(MAPPINGS_DIR / "meta_ads_manager_ad_sets.yml"))

    assert (summary.rows_loaded, summary.rows_quarantined) == (3, 1)
    assert rows(cursor, "SELECT reason FROM raw.quarantine") == [
        ("duplicate key: same key as record 3, different values",)
    ]
    assert rows(cursor, "SELECT ad_group_id, ad_id, impressions FROM raw.ad_daily_metrics ORDER BY date, 1") == [
        ("Autumn Sale / Lookalike 1%", "", 5400),
        ("Autumn Sale / Retargeting", "", 3100),
        ("Autumn Sale / Lookalike 1%", "", 4000),
    ]
    assert rows(cursor, "SELECT count(*) FROM raw.ads") == [(0,)], "no ad is invented"
    assert rows(cursor, "SELECT name FROM raw.ad_groups ORDER BY 1") == [("Lookalike 1%",), ("Retargeting",)]
    assert rows(cursor, "SELECT date::text, impressions FROM raw.campaign_daily_metrics ORDER BY 1") == [
        ("2026-09-01", 8500),
        ("2026-09-02", 4000),
    ]
    # The export's account name names the account this source registered.
    assert rows(cursor, "SELECT name, source FROM app.ad_accounts") == [("Shop EU", "meta_ads_manager_export")]
    assert rows(cursor, "SELECT name FROM raw.customers") == [("Shop EU",)]

    build_marts()
    assert query(db, "SELECT count(*) AS n FROM analytics.ad_daily WHERE account_id = '555'")["n"][0] == 0
    groups = query(
        db,
        "SELECT ad_group_name, sum(impressions) AS impressions FROM analytics.ad_group_daily "
        "WHERE account_id = '555' GROUP BY 1 ORDER BY 1",
    )
    assert groups.to_dict("records") == [
        {"ad_group_name": "Lookalike 1%", "impressions": 9400},
        {"ad_group_name": "Retargeting", "impressions": 3100},
    ]
    campaign = query(
        db, "SELECT sum(impressions) AS impressions FROM analytics.campaign_daily WHERE account_id = '555'"
    )
    assert campaign["impressions"][0] == 12500
    grains = query(db, "SELECT DISTINCT grain FROM analytics.int_ads__daily_facts WHERE account_id = '555'")
    assert grains["grain"].tolist() == ["ad_group"]


def test_the_account_name_renames_only_accounts_the_source_owns_and_undo_gives_the_old_name(db, cursor, tmp_path):
    mapping = load_mapping(MAPPINGS_DIR / "meta_ads_manager_ad_sets.yml")
    first = ad_set_export(tmp_path, "2026-09-01,act_777,Old Name,C,S,EUR,1,1,1.00,0,0", name="first.csv")
    import_file(lambda: connect(db), first, mapping)
    second = ad_set_export(tmp_path, "2026-09-02,act_777,New Name,C,S,EUR,1,1,1.00,0,0", name="second.csv")
    import_file(lambda: connect(db), second, mapping)
    assert rows(cursor, "SELECT name FROM app.ad_accounts") == [("New Name",)]
    assert rows(cursor, "SELECT name FROM raw.customers") == [("New Name",)]

    undo_import(lambda: connect(db), 2)
    assert rows(cursor, "SELECT name FROM app.ad_accounts") == [("Old Name",)]
    assert rows(cursor, "SELECT name FROM raw.customers") == [("Old Name",)]

    # An account another source owns keeps its name, even with --merge.
    cursor.execute("UPDATE app.ad_accounts SET source = 'google_ads_api', name = 'API name'")
    cursor.execute("UPDATE raw.customers SET source = 'google_ads_api', name = 'API name'")
    third = ad_set_export(tmp_path, "2026-09-03,act_777,File Name,C,S,EUR,1,1,1.00,0,0", name="third.csv")
    summary = import_file(lambda: connect(db), third, mapping, merge=True)
    assert summary.rows_loaded == 1
    assert rows(cursor, "SELECT name FROM app.ad_accounts") == [("API name",)]
    assert rows(cursor, "SELECT name FROM raw.customers") == [("API name",)]


def test_ids_in_the_metrics_file_take_their_names_from_a_lookup_file(db, cursor, tmp_path):
    (tmp_path / "lookups").mkdir()
    names = tmp_path / "lookups" / "campaigns.csv"
    names.write_text("Campaign ID,Campaign,Account name\n901,Brand Search,Outdoor Shop\n902,Generic,Outdoor Shop\n")
    metrics = tmp_path / "report.csv"
    metrics.write_text(
        "Day,Customer ID,Campaign ID,Ad group ID,Ad ID,Currency code,Impressions,Clicks,Cost,Conversions,"
        "Conversion value\n"
        "2026-09-01,111-222-3333,901,71,81,USD,100,10,5.00,1,20.00\n"
        "2026-09-01,111-222-3333,902,72,82,USD,50,5,2.50,0,0\n"
        "2026-09-01,111-222-3333,903,73,83,USD,10,1,1.00,0,0\n"  # not in the names file
    )
    mapping = load_mapping(MAPPINGS_DIR / "google_ads_ids.yml")

    summary = import_file(lambda: connect(db), metrics, mapping)

    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 1)
    assert rows(cursor, "SELECT reason FROM raw.quarantine") == [
        ("lookup: Campaign ID '903' is not in lookups/campaigns.csv (its 'Campaign ID' column)",)
    ]
    assert rows(cursor, "SELECT campaign_id, ad_id FROM raw.ad_daily_metrics ORDER BY 1") == [
        ("Brand Search", "Brand Search / 71 / 81"),
        ("Generic", "Generic / 72 / 82"),
    ]
    assert rows(cursor, "SELECT account_id, name FROM app.ad_accounts") == [("1112223333", "Outdoor Shop")]
    # The payload is the record as read, not the joined one.
    assert "Campaign" not in rows(cursor, "SELECT payload FROM raw.quarantine")[0][0]

    # The same metrics with a corrected names file is another import (its lookups are part of its mapping).
    names.write_text("Campaign ID,Campaign,Account name\n901,Brand,Outdoor Shop\n902,Generic,Outdoor Shop\n")
    again = import_file(lambda: connect(db), metrics, mapping)
    assert not again.already_imported and again.rows_loaded == 2


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (None, "the lookup file 'lookups/campaigns.csv' is not there"),
        ("Campaign ID,Campaign\n901,Brand\n", "the lookup file lacks columns \\['Account name'\\]"),
        (
            "Campaign ID,Campaign,Account name\n901,A,X\n901,B,X\n",
            "Campaign ID '901' appears twice with different values",
        ),
    ],
)
def test_an_unusable_lookup_file_refuses_the_import(db, cursor, tmp_path, names, message):
    (tmp_path / "lookups").mkdir()
    if names is not None:
        (tmp_path / "lookups" / "campaigns.csv").write_text(names)
    metrics = tmp_path / "report.csv"
    metrics.write_text(
        "Day,Customer ID,Campaign ID,Ad group ID,Ad ID,Currency code,Impressions,Clicks,Cost,Conversions,"
        "Conversion value\n2026-09-01,111-222-3333,901,71,81,USD,100,10,5.00,1,20.00\n"
    )
    with pytest.raises(MappingError, match=message):
        import_file(lambda: connect(db), metrics, load_mapping(MAPPINGS_DIR / "google_ads_ids.yml"))
    assert rows(cursor, "SELECT count(*) FROM app.file_imports") == [(0,)]


def test_jira_resolution_status_wording_and_24_hour_timestamps(db, cursor, tmp_path):
    path = tmp_path / "jira.csv"
    path.write_text(
        "Issue key,Summary,Description,Priority,Status,Resolution,Issue Type,Created,Resolved\n"
        "OPS-1,Disk full,,Major,Done,Fixed,Bug,01/Sep/26 14:05,01/Sep/26 17:30\n"
        "OPS-2,Same as OPS-1,,Minor,Closed,Duplicate,Bug,01/Sep/26 9:15 AM,02/Sep/26 10:00 AM\n"
        "OPS-3,Dark mode,,Trivial,In Progress,,Story,02/Sep/26 23:59,\n"
    )
    summary = import_file(lambda: connect(db), path, load_mapping(MAPPINGS_DIR / "jira.yml"), now=NOW)

    assert (summary.rows_loaded, summary.rows_quarantined) == (3, 0)
    found = rows(
        cursor,
        "SELECT ticket_id, status, status_raw, resolution, to_char(created_at AT TIME ZONE 'UTC', 'HH24:MI') "
        "FROM raw.tickets ORDER BY 1",
    )
    assert found == [
        ("OPS-1", "solved", "Done", "Fixed", "14:05"),
        ("OPS-2", "closed", "Closed", "Duplicate", "09:15"),
        ("OPS-3", "pending", "In Progress", None, "23:59"),
    ]


def test_an_ad_export_and_an_ad_set_export_of_the_same_days_fail_the_build_not_the_numbers(db, tmp_path):
    """The same Meta account exported at ad level, then at ad-set level: summed, every total would
    count those days twice. The build fails naming the check, before the daily fact reads them."""
    ads = load_mapping(MAPPINGS_DIR / "meta_ads_manager.yml")
    import_file(lambda: connect(db), FIXTURES / "meta_ads_manager_export.csv", ads)
    build_marts()
    spend = (
        "SELECT date_day::text AS day, sum(impressions) AS impressions, sum(cost) AS cost "
        "FROM analytics.int_ads__daily_facts WHERE account_id = '998877' GROUP BY 1 ORDER BY 1"
    )
    before = query(db, spend).to_dict("records")
    assert before[0] == {"day": "2026-09-01", "impressions": 8500, "cost": Decimal("86.950000")}

    sets = ad_set_export(
        tmp_path,
        "2026-09-01,act_998877,Shop,Autumn Sale,Lookalike 1%,EUR,8500,81,86.95,3,297.00",
        "2026-09-02,act_998877,Shop,Autumn Sale,Broad,EUR,1000,10,5.00,0,0",  # a set without ad rows: fine
    )
    import_file(lambda: connect(db), sets, load_mapping(MAPPINGS_DIR / "meta_ads_manager_ad_sets.yml"))
    result = build_marts(expect_success=False)

    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert "ad_group_rows_beside_their_ads" in failed, failed
    assert query(db, spend).to_dict("records") == before, "the daily fact keeps its last good numbers"
