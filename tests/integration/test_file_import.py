"""File imports through the real CLI and the real database: counts, reasons, idempotence."""

import csv
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from assets.imports.mapping import load_mapping
from assets.imports.write import import_file
from resources.database import connect
from resources.settings import MAPPINGS_DIR
from tests.helpers import BURRY, FIXTURES, KAGGLE_TICKETS, ONLINE_ADS


def burry_import(kind, file, mapping, db):
    env = {"PATH": str(Path(sys.executable).parent), "DATABASE_URL": db.libpq, "HOME": "/tmp"}
    return subprocess.run(
        [BURRY, "import", kind, str(file), "--mapping", mapping], capture_output=True, text=True, env=env, timeout=300
    )


def rows(cursor, sql, *params):
    cursor.execute(sql, params)
    return cursor.fetchall()


@pytest.mark.skipif(not ONLINE_ADS.exists(), reason="needs shared/data beside the repo")
def test_online_ads_dataset_loads_every_good_row_once(db, cursor):
    result = burry_import("ads", ONLINE_ADS, "online_ads", db)

    assert result.returncode == 0, result.stderr
    assert "15409 rows read, 15403 loaded, 0 quarantined, 6 exact duplicates loaded once" in result.stdout
    assert rows(cursor, "SELECT count(*) FROM raw.ad_daily_metrics WHERE source = 'online_ads'") == [(15403,)]
    # Spend to the micro equals the file's distinct rows, read independently with the csv module.
    with ONLINE_ADS.open(newline="") as f:
        distinct = {tuple(r) for r in list(csv.reader(f))[1:]}
    expected_micros = sum(int((Decimal(r[7]) * 1_000_000).to_integral_value()) for r in distinct)
    assert rows(cursor, "SELECT sum(cost_micros) FROM raw.ad_daily_metrics WHERE source = 'online_ads'") == [
        (expected_micros,)
    ]
    assert rows(cursor, "SELECT sum(cost_micros) FROM raw.campaign_daily_metrics WHERE source = 'online_ads'") == [
        (expected_micros,)
    ]
    assert (
        rows(cursor, "SELECT min(date), max(date) FROM raw.ad_daily_metrics WHERE source = 'online_ads'")[0][0].year
        == 2020
    )

    again = burry_import("ads", ONLINE_ADS, "online_ads", db)
    assert again.returncode == 0 and "already imported" in again.stdout
    assert rows(cursor, "SELECT count(*) FROM raw.ad_daily_metrics") == [(15403,)]
    assert rows(cursor, "SELECT count(*) FROM app.file_imports") == [(1,)]


@pytest.mark.skipif(not KAGGLE_TICKETS.exists(), reason="needs shared/data beside the repo")
def test_kaggle_tickets_quarantine_impossible_timestamps_with_reasons(db, cursor):
    result = burry_import("tickets", KAGGLE_TICKETS, "kaggle_support_tickets", db)

    assert result.returncode == 0, result.stderr
    assert "8469 rows read, 7104 loaded, 1365 quarantined" in result.stdout
    assert rows(cursor, "SELECT count(*) FROM raw.tickets") == [(7104,)]
    quarantined = rows(
        cursor,
        "SELECT count(*), min(row_number) FROM raw.quarantine WHERE entity = 'tickets' "
        "AND reason LIKE 'timestamps out of order: resolved_at%%before first_response_at%%'",
    )
    assert quarantined[0][0] == 1365 and quarantined[0][1] >= 1
    assert dict(rows(cursor, "SELECT priority, count(*) FROM raw.tickets GROUP BY 1")).keys() == {
        "urgent",
        "high",
        "normal",
        "low",
    }
    assert rows(cursor, "SELECT DISTINCT priority_raw FROM raw.tickets WHERE priority = 'normal'") == [("Medium",)]
    assert dict(rows(cursor, "SELECT status, count(*) FROM raw.tickets GROUP BY 1")).keys() == {
        "open",
        "pending",
        "closed",
    }
    assert rows(cursor, "SELECT count(*) FROM raw.tickets WHERE created_at IS NOT NULL") == [(0,)], "never invented"
    # No PII columns are imported: the customers' e-mail addresses appear nowhere.
    assert rows(
        cursor, "SELECT count(*) FROM raw.tickets WHERE concat_ws(' ', subject, description) LIKE '%%carrollallison@%%'"
    ) == [(0,)]


def test_google_ads_ui_export_with_every_kind_of_bad_row(db, cursor):
    result = burry_import("ads", FIXTURES / "google_ads_ui_report.csv", "google_ads_ui", db)

    assert result.returncode == 0, result.stderr
    assert "12 rows read, 6 loaded, 5 quarantined, 1 exact duplicates loaded once" in result.stdout
    reasons = dict(rows(cursor, "SELECT row_number, reason FROM raw.quarantine ORDER BY row_number"))
    assert reasons[7] == "clicks: negative (-3)"
    assert reasons[8].startswith("date: unparseable date '2026-09-31'")
    assert reasons[9] == "missing campaign"
    assert reasons[10] == "clicks: not a number: 'abc'"
    assert reasons[12] == "duplicate key: same key as record 11, different values"
    payload = rows(cursor, "SELECT payload FROM raw.quarantine WHERE row_number = 10")[0][0]
    assert payload["Clicks"] == "abc" and payload["Campaign"] == "Search | Tents"
    # Thousands separators, "--" and the UI's dashed customer id are understood.
    assert rows(cursor, "SELECT account_id, sum(impressions) FROM raw.ad_daily_metrics GROUP BY 1") == [
        ("1234567890", 5507)
    ]
    assert rows(
        cursor, "SELECT conversions FROM raw.ad_daily_metrics WHERE date = '2026-09-01' AND ad_id LIKE '%%/ 801'"
    ) == [(0,)]
    assert rows(cursor, "SELECT currency_code FROM app.ad_accounts WHERE account_id = '1234567890'") == [("USD",)]


def test_a_corrected_mapping_reimports_and_replaces_the_quarantine(db, cursor, tmp_path):
    jira = FIXTURES / "jira_export.csv"
    assert burry_import("tickets", jira, "jira", db).returncode == 0
    assert rows(cursor, "SELECT count(*) FROM raw.quarantine") == [(2,)]

    fixed = tmp_path / "jira.yml"
    fixed.write_text(
        (MAPPINGS_DIR / "jira.yml").read_text().replace("Trivial: low}", "Trivial: low, Urgent-ish: urgent}")
    )
    result = burry_import("tickets", jira, str(fixed), db)

    assert result.returncode == 0
    assert rows(cursor, "SELECT reason FROM raw.quarantine") == [
        ("timestamps out of order: resolved_at (2026-09-03 09.00) before created_at (2026-09-04 09.00)",)
    ]
    assert rows(cursor, "SELECT ticket_id, priority, priority_raw, status FROM raw.tickets ORDER BY 1") == [
        ("SUP-101", "urgent", "Blocker", "solved"),
        ("SUP-102", "high", "Major", "pending"),
        ("SUP-103", "low", "Minor", "open"),
        ("SUP-104", "urgent", "Urgent-ish", "open"),
    ]


def test_meta_export_blank_cells_take_the_mapping_defaults(db, cursor):
    summary = import_file(
        lambda: connect(db),
        FIXTURES / "meta_ads_manager_export.csv",
        load_mapping(MAPPINGS_DIR / "meta_ads_manager.yml"),
    )

    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (3, 3, 0)
    assert rows(
        cursor,
        "SELECT platform, account_id, sum(clicks), sum(cost_micros) FROM raw.campaign_daily_metrics GROUP BY 1, 2",
    ) == [("meta", "998877", 171, 157_050_000)]  # the export's act_998877, in Meta's plain-id spelling


def test_nothing_loadable_exits_non_zero_and_a_bad_mapping_names_the_columns(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Day,Customer ID,Campaign,Ad group,Ad ID,Currency code,Impr.,Clicks,Cost,Conversions,Conv. value\n"
        "nope,1,C,G,1,USD,1,1,1,0,0\n"
    )
    mapping = tmp_path / "no_skip.yml"
    mapping.write_text((MAPPINGS_DIR / "google_ads_ui.yml").read_text().replace("skip_rows: 2", "skip_rows: 0"))
    result = burry_import("ads", bad, str(mapping), db)
    assert result.returncode == 1 and "0 loaded, 1 quarantined" in result.stdout

    wrong = burry_import("ads", FIXTURES / "meta_ads_manager_export.csv", "google_ads_ui", db)
    assert wrong.returncode == 2
    assert "needs columns" in wrong.stderr and "'Impr.'" in wrong.stderr

    kind = burry_import("tickets", FIXTURES / "jira_export.csv", "online_ads", db)
    assert kind.returncode == 2 and "is for ads, not tickets" in kind.stderr


def test_drop_folder_asset_and_sensor_import_each_file_once(db, cursor, tmp_path, monkeypatch):
    from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context, materialize

    from assets.imports.drop_folder import import_dropped_files
    from resources.database import PostgresResource
    from sensors.imports import drop_folder

    monkeypatch.setenv("BURRY_DROP_DIR", str(tmp_path))
    (tmp_path / "ads" / "meta_ads_manager").mkdir(parents=True)
    (tmp_path / "tickets" / "jira").mkdir(parents=True)
    (tmp_path / "ads" / "meta_ads_manager" / "sept.csv").write_bytes(
        (FIXTURES / "meta_ads_manager_export.csv").read_bytes()
    )
    (tmp_path / "tickets" / "jira" / "export.csv").write_bytes((FIXTURES / "jira_export.csv").read_bytes())

    request = drop_folder(build_sensor_context())
    assert isinstance(request, RunRequest)

    def run():
        result = materialize(
            [import_dropped_files], resources={"database": PostgresResource()}, instance=DagsterInstance.ephemeral()
        )
        assert result.success
        events = {
            e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()
        }
        assert set(events) == {"imports/ad_files", "imports/ticket_files"}
        return {name: sum(m[name].value for m in events.values()) for name in ("files", "new_files", "rows_loaded")}

    first = run()
    assert (first["files"], first["new_files"], first["rows_loaded"]) == (2, 2, 6)
    assert rows(cursor, "SELECT count(*) FROM raw.tickets") == [(3,)]
    second = run()
    assert (second["new_files"], second["rows_loaded"]) == (0, 0)
    assert rows(cursor, "SELECT count(*) FROM raw.ad_daily_metrics") == [(3,)]

    assert isinstance(drop_folder(build_sensor_context(cursor=request_cursor(tmp_path))), SkipReason)


def request_cursor(root):
    from assets.imports.drop_folder import dropped_files

    return "\n".join(sorted(f"{f}|{f.stat().st_size}|{f.stat().st_mtime_ns}" for f, _ in dropped_files(root)))


def test_jsonl_tickets_with_nested_comments(db, cursor):
    summary = import_file(
        lambda: connect(db), FIXTURES / "helpdesk_tickets.jsonl", load_mapping(FIXTURES / "helpdesk_tickets.yml")
    )

    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (3, 2, 1)
    assert rows(cursor, "SELECT reason FROM raw.quarantine") == [("comments: item 1 has no created_at",)]
    assert (
        rows(cursor, "SELECT ticket_id, channel, created_at AT TIME ZONE 'UTC' FROM raw.tickets ORDER BY 1")[1][2].hour
        == 7
    )
    assert rows(cursor, "SELECT ticket_id, comment_id, author FROM raw.ticket_comments ORDER BY 1, 2") == [
        ("9001", "1", "customer"),
        ("9001", "2", "agent:li"),
    ]
