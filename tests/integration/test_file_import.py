"""File imports through the real CLI and the real database: counts, reasons, idempotence, and
hostile files (generated here) that must be quarantined row by row or refused cleanly, never
crash, roll back or change a row that was there before."""

import csv
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from assets.imports.changes import import_lock_key
from assets.imports.mapping import load_mapping
from assets.imports.parse import MAX_CELL_CHARS
from assets.imports.write import file_sha256, import_file
from resources.database import connect
from resources.raw_schema import TABLES
from resources.settings import MAPPINGS_DIR
from tests.helpers import BURRY, DEMO_END_DATE, FIXTURES, KAGGLE_TICKETS, ONLINE_ADS


def burry_import(kind, file, mapping, db, *options):
    return subprocess.run(burry_import_command(kind, file, mapping, *options), **burry_env(db))


def burry_import_command(kind, file, mapping, *options):
    return [BURRY, "import", kind, str(file), "--mapping", mapping, *options]


def burry_env(db) -> dict:
    env = {"PATH": str(Path(sys.executable).parent), "DATABASE_URL": db.libpq, "HOME": "/tmp"}
    return {"capture_output": True, "text": True, "env": env, "timeout": 300}


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

    undone = subprocess.run([BURRY, "import", "undo", "1"], **burry_env(db))
    assert undone.returncode == 0, undone.stderr
    assert "removed: 1 app.ad_accounts, 15403 raw.ad_daily_metrics" in undone.stdout
    for table in TABLES:
        assert rows(cursor, f"SELECT count(*) FROM raw.{table}") == [(0,)], table


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
    from resources.postgres import PostgresResource
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


# -- hostile files -------------------------------------------------------------------------------
# A Google Ads UI report (mapping google_ads_ui: two title lines above the header).
UI_TITLE = 'Ad performance report\n"September 1, 2026 - September 3, 2026"\n'
UI_HEADER = "Day,Customer ID,Campaign,Ad group,Ad ID,Currency code,Impr.,Clicks,Cost,Conversions,Conv. value\n"


def ui_row(day="2026-09-02", account="123-456-7890", ad="9", currency="USD", impressions="10", cost="1.00", group="G"):
    return f"{day},{account},Hostile,{group},{ad},{currency},{impressions},2,{cost},0,0\n"


def ui_report(tmp_path, *rows, name="report.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((UI_TITLE + UI_HEADER + "".join(rows)).encode(encoding))
    return path


# A ticket line as tests/data/helpdesk_tickets.yml reads it (every column it maps).
HELPDESK_TICKET = {
    "subject": "s",
    "priority": "low",
    "status": "open",
    "via": "email",
    "created_at": "2026-09-01T08:00:00Z",
    "first_reply_at": None,
    "solved_at": None,
    "comments": [],
}


@pytest.fixture
def existing(db, cursor):
    """Rows there before the hostile import (an ads export, a Jira export), and a check that none of
    them changed: `existing()` asserts every row (stamps included) is still there, as it was."""
    connection = lambda: connect(db)  # noqa: E731
    import_file(connection, FIXTURES / "google_ads_ui_report.csv", load_mapping(MAPPINGS_DIR / "google_ads_ui.yml"))
    import_file(connection, FIXTURES / "jira_export.csv", load_mapping(MAPPINGS_DIR / "jira.yml"))
    before = every_row(cursor)
    assert before["raw.ad_daily_metrics"] and before["raw.tickets"]

    def unchanged():
        after = every_row(cursor)
        for table, found in before.items():
            assert found <= after[table], f"{table}: rows changed or gone: {sorted(found - after[table])[:2]}"
        return after

    return unchanged


def every_row(cursor) -> dict[str, set[str]]:
    tables = [t.qualified for t in TABLES.values()] + ["raw.quarantine", "app.ad_accounts", "app.file_imports"]
    found = {}
    for table in tables:
        cursor.execute(f"SELECT t::text FROM {table} AS t")
        found[table] = {row for (row,) in cursor.fetchall()}
    return found


def quarantined(cursor, file_name) -> dict[int, str]:
    cursor.execute("SELECT row_number, reason FROM raw.quarantine WHERE file = %s ORDER BY 1", (file_name,))
    return dict(cursor.fetchall())


def hostile_ads(cursor) -> list[tuple]:
    cursor.execute(
        "SELECT ad_id, impressions FROM raw.ad_daily_metrics WHERE campaign_id = 'Hostile' ORDER BY ad_id, date"
    )
    return cursor.fetchall()


def test_a_cell_over_the_size_limit_is_quarantined_not_a_crash(db, cursor, existing, tmp_path):
    path = ui_report(tmp_path, ui_row(group="x" * (MAX_CELL_CHARS + 1)), ui_row(ad="10"))

    result = burry_import("ads", path, "google_ads_ui", db)

    assert result.returncode == 0, result.stderr
    assert "2 rows read, 1 loaded, 1 quarantined" in result.stdout
    assert quarantined(cursor, path.name) == {
        1: "cell over the size limit: more than 10,485,760 characters (10 MiB) in one cell, near line 4"
    }
    assert hostile_ads(cursor) == [("Hostile / G / 10", 10)]
    existing()


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_latin1_and_utf16_files_are_read_in_their_encoding(db, cursor, existing, tmp_path, encoding):
    path = ui_report(tmp_path, ui_row(group="Café Straße"), ui_row(ad="10", group="Müller"), encoding=encoding)

    result = burry_import("ads", path, "google_ads_ui", db)

    assert result.returncode == 0, result.stderr
    assert "2 rows read, 2 loaded, 0 quarantined" in result.stdout
    cursor.execute("SELECT name FROM raw.ad_groups WHERE campaign_id = 'Hostile' ORDER BY 1")
    assert cursor.fetchall() == [("Café Straße",), ("Müller",)]
    existing()


def test_a_wrong_encoding_refuses_the_file_naming_the_option(db, cursor, existing, tmp_path):
    path = ui_report(tmp_path, ui_row(group="Café"), encoding="latin-1")

    result = burry_import("ads", path, "google_ads_ui", db, "--encoding", "utf-8")

    assert result.returncode == 2, result.stderr
    assert "is not utf-8 (given) text" in result.stderr and "--encoding cp1252" in result.stderr
    assert "Traceback" not in result.stderr
    assert existing() == every_row(cursor)


def test_ragged_rows_are_quarantined_with_their_field_counts(db, cursor, existing, tmp_path):
    path = ui_report(tmp_path, "2026-09-02,123-456-7890,Hostile\n", ui_row().replace("\n", ",extra\n"), ui_row(ad="10"))

    result = burry_import("ads", path, "google_ads_ui", db)

    assert result.returncode == 0, result.stderr
    assert quarantined(cursor, path.name) == {
        1: "row has 3 fields, header has 11",
        2: "row has 12 fields, header has 11",
    }
    assert hostile_ads(cursor) == [("Hostile / G / 10", 10)]
    existing()


def test_a_nul_byte_is_quarantined_and_kept_visible_in_the_payload(db, cursor, existing, tmp_path):
    path = ui_report(tmp_path, ui_row(group="G\x00H"), ui_row(ad="10"))

    result = burry_import("ads", path, "google_ads_ui", db)

    assert result.returncode == 0, result.stderr
    assert quarantined(cursor, path.name) == {
        1: "NUL byte in 'Ad group': PostgreSQL text cannot hold one (remove it from the file)"
    }
    cursor.execute("SELECT payload->>'Ad group' FROM raw.quarantine WHERE file = %s", (path.name,))
    assert cursor.fetchall() == [("G\\x00H",)]
    existing()


def test_counts_beyond_bigint_are_quarantined_and_the_rest_of_the_file_loads(db, cursor, existing, tmp_path):
    path = ui_report(
        tmp_path,
        ui_row(impressions="99999999999999999999"),
        ui_row(ad="10", cost="9223372036854.775808"),
        ui_row(ad="11", impressions=str(2**63 - 1)),
    )

    result = burry_import("ads", path, "google_ads_ui", db)

    assert result.returncode == 0, result.stderr
    assert quarantined(cursor, path.name) == {
        1: "impressions: 99999999999999999999 is over the largest impressions PostgreSQL can hold (9223372036854775807)",
        2: "cost: 9223372036854775808 is over the largest cost_micros PostgreSQL can hold (9223372036854775807)",
    }
    assert hostile_ads(cursor) == [("Hostile / G / 11", 2**63 - 1)]
    existing()


def test_jsonl_lines_that_are_not_objects_are_quarantined(db, cursor, existing, tmp_path):
    good = {**HELPDESK_TICKET, "id": 1}
    path = tmp_path / "tickets.jsonl"
    path.write_text(json.dumps(good) + "\n{broken\n" + json.dumps([good]) + "\n" + json.dumps({**good, "id": 2}) + "\n")

    result = burry_import("tickets", path, str(FIXTURES / "helpdesk_tickets.yml"), db)

    assert result.returncode == 0, result.stderr
    assert "4 rows read, 2 loaded, 2 quarantined" in result.stdout
    reasons = quarantined(cursor, path.name)
    assert reasons[2].startswith("not valid JSON: Expecting property name enclosed in double quotes")
    assert reasons[3] == "not a JSON object: the line is an array; each line must be one object"
    cursor.execute("SELECT ticket_id FROM raw.tickets WHERE source = 'helpdesk' ORDER BY 1")
    assert cursor.fetchall() == [("1",), ("2",)]
    existing()


def test_duplicate_comment_ids_quarantine_their_ticket_naming_the_id(db, cursor, existing, tmp_path):
    comment = {"id": 5, "author": "a", "body": "b", "created_at": "2026-09-01T09:00:00Z"}
    ticket = {**HELPDESK_TICKET, "id": 1}
    path = tmp_path / "tickets.jsonl"
    path.write_text(
        json.dumps({**ticket, "comments": [comment, {**comment, "body": "again"}]})
        + "\n"
        + json.dumps({**ticket, "id": 2, "comments": [comment]})
        + "\n"
    )

    result = burry_import("tickets", path, str(FIXTURES / "helpdesk_tickets.yml"), db)

    assert result.returncode == 0, result.stderr
    assert quarantined(cursor, path.name) == {
        1: "comments: id '5' appears more than once in the ticket (ids must be unique)"
    }
    cursor.execute("SELECT ticket_id, comment_id FROM raw.ticket_comments WHERE source = 'helpdesk'")
    assert cursor.fetchall() == [("2", "5")]
    existing()


def test_an_import_of_a_file_another_import_is_running_exits_3(db, cursor, existing, tmp_path):
    path = ui_report(tmp_path, ui_row())
    holder = psycopg2.connect(db.libpq)
    try:
        with holder.cursor() as cur:  # what a running import of the same bytes holds
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", import_lock_key(file_sha256(path)))
            result = burry_import("ads", path, "google_ads_ui", db)
    finally:
        holder.close()

    assert result.returncode == 3, result.stderr
    assert "another import of this file is running" in result.stderr and "Traceback" not in result.stderr
    assert existing() == every_row(cursor)
    assert burry_import("ads", path, "google_ads_ui", db).returncode == 0  # once it is done


def test_the_same_file_imported_twice_at_once_loads_once_without_a_traceback(db, cursor, existing, tmp_path):
    path = ui_report(tmp_path, *(ui_row(ad=str(n)) for n in range(2000)))
    command = burry_import_command("ads", path, "google_ads_ui")
    env = burry_env(db)["env"]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in "12"]
    results = [(p.wait(300), *p.communicate()) for p in both]

    assert sorted(code for code, _, _ in results) in ([0, 0], [0, 3]), results
    assert not any("Traceback" in err for _, _, err in results)
    assert sum("2000 loaded" in out for _, out, _ in results) == 1
    cursor.execute("SELECT count(*) FROM app.file_imports WHERE file_name = %s", (path.name,))
    assert cursor.fetchone() == (1,)
    existing()


@pytest.mark.parametrize("content", ["", UI_TITLE + UI_HEADER])
def test_a_file_without_data_rows_records_nothing_and_exits_1(db, cursor, existing, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)

    for _ in range(2):  # the second try is not "already imported"
        result = burry_import("ads", path, "google_ads_ui", db)
        assert result.returncode == 1, result.stderr
        assert "nothing to import" in result.stdout
    assert existing() == every_row(cursor)


# -- one rule set: what the importer accepts passes the blocking checks ---------------------------
def test_boundary_rows_import_and_pass_every_blocking_check_and_the_2099_row_is_quarantined(db, cursor, tmp_path):
    from assets.ads.quality import AD_SUITES
    from assets.quality import gx
    from assets.tickets.quality import TICKET_SUITES

    now = datetime.now(UTC)
    tomorrow = now.date() + timedelta(days=1)  # the new account's local tomorrow (the mapping's zone: UTC)
    ads = ui_report(
        tmp_path,
        ui_row(day="2000-01-01", ad="1"),
        ui_row(day=tomorrow.isoformat(), ad="2", impressions=str(2**63 - 1), cost="9223372036854.775807"),
        ui_row(day="2099-01-01", ad="3"),
        ui_row(day="1999-12-31", ad="4"),
        ui_row(day=(tomorrow + timedelta(days=1)).isoformat(), ad="5"),
    )
    ticket = HELPDESK_TICKET
    soon = (now + timedelta(minutes=30)).isoformat()
    tickets = tmp_path / "tickets.jsonl"
    tickets.write_text(
        "\n".join(
            json.dumps({**ticket, "id": n, "created_at": at, "first_reply_at": reply, "solved_at": solved})
            for n, at, reply, solved in (
                (1, "2026-09-01T08:00:00Z", "2026-09-01T08:00:00Z", "2026-09-01T08:00:00Z"),  # all equal
                (2, soon, None, None),
                (3, "2060-01-01T00:00:00Z", None, None),
            )
        )
    )

    loaded = burry_import("ads", ads, "google_ads_ui", db)
    loaded_tickets = burry_import("tickets", tickets, str(FIXTURES / "helpdesk_tickets.yml"), db)

    assert loaded.returncode == 0 and loaded_tickets.returncode == 0, loaded.stderr + loaded_tickets.stderr
    assert quarantined(cursor, ads.name) == {
        3: f"date: 2099-01-01 is in the future (after {tomorrow}, the account's local tomorrow in UTC)",
        4: "date: 1999-12-31 is before 2000-01-01 (the earliest date a metrics row may have)",
        5: f"date: {tomorrow + timedelta(days=1)} is in the future (after {tomorrow}, the account's local tomorrow in UTC)",
    }
    assert quarantined(cursor, tickets.name)[3].startswith("created_at: 2060-01-01T00:00+00:00 is in the future")
    cursor.execute("SELECT date FROM raw.ad_daily_metrics ORDER BY 1")
    assert cursor.fetchall() == [(date(2000, 1, 1),), (tomorrow,)]

    outcomes = gx.validate(db, [s for s in (*AD_SUITES, *TICKET_SUITES) if s.blocking])
    assert [o.suite.table for o in outcomes if not o.passed] == [], [o.summary() for o in outcomes if not o.passed]
    checked = {o.suite.table: o for o in outcomes}
    assert len(checked) == 8
    future = [o for o in checked["ad_daily_metrics"].outcomes if "days_after_local_today" in o.expectation]
    assert [(o.element_count, o.unexpected_count) for o in future] == [(2, 0)]  # tomorrow's row was checked


# -- account ownership -----------------------------------------------------------------------------
@pytest.fixture
def demo_account(db, cursor):
    """The demo ad source's accounts, registered and extracted as the API path does; returns what
    an import must not change about account 4216739015 (USD, America/New_York)."""
    from assets.ads.load import refresh_ad_accounts
    from resources.ads.demo import DemoGoogleAdsSource

    results = refresh_ad_accounts(lambda: connect(db), DemoGoogleAdsSource(end_date=date.fromisoformat(DEMO_END_DATE)))
    assert {r.status for r in results} == {"completed"}
    return lambda: account_state(cursor, "4216739015")


def account_state(cursor, account_id) -> dict:
    state = {}
    for table, columns in (
        ("app.ad_accounts", "name, currency_code, time_zone, source"),
        ("raw.customers", "name, currency_code, time_zone, source"),
    ):
        cursor.execute(f"SELECT {columns} FROM {table} WHERE account_id = %s", (account_id,))
        state[table] = cursor.fetchall()
    for table in ("ad_daily_metrics", "campaign_daily_metrics"):
        cursor.execute(
            f"SELECT count(*), sum(cost_micros) FROM raw.{table} WHERE account_id = %s AND date > %s",
            (account_id, date.fromisoformat(DEMO_END_DATE) - timedelta(days=7)),
        )
        state[table] = cursor.fetchall()
    return state


def test_the_api_path_records_each_accounts_owner(demo_account):
    assert demo_account()["app.ad_accounts"] == [("Northwind Outdoor", "USD", "America/New_York", "demo")]


def test_a_file_naming_an_account_of_another_source_is_refused_and_changes_nothing(db, cursor, demo_account, tmp_path):
    """The issue's case: a one-row Google Ads UI export for demo account 421-673-9015 in EUR once
    renamed it and turned its USD into EUR, adding €5,000 to its USD spend."""
    before = demo_account()
    path = ui_report(tmp_path, ui_row(day="2026-09-29", account="421-673-9015", currency="EUR", cost="5000.00"))

    refused = burry_import("ads", path, "google_ads_ui", db)

    assert refused.returncode == 4, refused.stderr
    assert "google_ads:4216739015 (Northwind Outdoor, USD) is owned by source 'demo'" in refused.stderr
    assert "--merge" in refused.stderr and "Traceback" not in refused.stderr
    assert demo_account() == before
    cursor.execute("SELECT count(*) FROM app.file_imports")
    assert cursor.fetchone() == (0,)

    merged = burry_import("ads", path, "google_ads_ui", db, "--merge")

    assert merged.returncode == 1, merged.stderr  # its one row is in another currency: nothing loaded
    assert quarantined(cursor, path.name) == {1: "currency EUR differs from account 4216739015's USD"}
    assert demo_account() == before


def test_merge_adds_rows_in_the_accounts_currency_and_never_changes_the_account(db, cursor, demo_account, tmp_path):
    before = demo_account()
    path = ui_report(
        tmp_path,
        ui_row(day="2026-09-29", account="421-673-9015", currency="USD", cost="12.50"),
        ui_row(day="2026-09-29", account="421-673-9015", currency="EUR", ad="10"),
    )

    result = burry_import("ads", path, "google_ads_ui", db, "--merge")

    assert result.returncode == 0, result.stderr
    assert "merged into accounts of other sources (details unchanged): google_ads:4216739015 (owned by 'demo')" in (
        result.stdout
    )
    after = demo_account()
    assert {k: after[k] for k in ("app.ad_accounts", "raw.customers")} == {
        k: before[k] for k in ("app.ad_accounts", "raw.customers")
    }
    assert after["ad_daily_metrics"][0][1] == before["ad_daily_metrics"][0][1] + 12_500_000
    assert quarantined(cursor, path.name) == {2: "currency EUR differs from account 4216739015's USD"}


# -- list and undo -------------------------------------------------------------------------------
def burry(db, *args):
    return subprocess.run([BURRY, *args], **burry_env(db))


def without_imports_log(rows: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every table but app.file_imports (an undone import stays there, marked undone)."""
    return {table: found for table, found in rows.items() if table != "app.file_imports"}


def import_id(cursor, file_name) -> int:
    cursor.execute("SELECT max(id) FROM app.file_imports WHERE file_name = %s", (file_name,))
    return cursor.fetchone()[0]


def recorded_events(cursor) -> list[str]:
    cursor.execute(
        "SELECT event FROM dagster.event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' ORDER BY id"
    )
    return [
        json.loads(event)["dagster_event"]["event_specific_data"]["materialization"]["description"]
        for (event,) in cursor.fetchall()
    ]


def test_undo_removes_what_an_import_inserted_and_lists_it_undone(db, cursor, existing, tmp_path):
    before = every_row(cursor)
    path = ui_report(tmp_path, ui_row(account="999-888-7777"), ui_row(account="999-888-7777", ad="10"))
    assert burry_import("ads", path, "google_ads_ui", db).returncode == 0
    number = import_id(cursor, path.name)

    listed = burry(db, "import", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].startswith(f"#{number}  ")
    assert "ads  report.csv  mapping google_ads_ui  2 loaded  0 quarantined" in listed.stdout

    result = burry(db, "import", "undo", str(number))

    assert result.returncode == 0, result.stderr
    assert f"import #{number} (ads report.csv, mapping google_ads_ui) undone" in result.stdout
    assert (
        "removed: 1 app.ad_accounts, 2 raw.ad_daily_metrics, 1 raw.ad_groups, 2 raw.ads, 1 raw.campaign_daily_metrics, "
        "1 raw.campaigns, 1 raw.customers\n"
    ) in result.stdout
    assert without_imports_log(every_row(cursor)) == without_imports_log(before)
    assert "undone" in burry(db, "import", "list").stdout.splitlines()[0]
    assert recorded_events(cursor)[-2:] == [
        "burry import ads report.csv --mapping google_ads_ui",
        f"burry import undo {number} (report.csv)",
    ]
    again = burry_import("ads", path, "google_ads_ui", db)  # not "already imported": it was undone
    assert again.returncode == 0 and "2 loaded" in again.stdout


def test_undo_refuses_while_a_later_import_changed_its_rows_and_restores_updated_rows(db, cursor, existing, tmp_path):
    baseline = every_row(cursor)
    first = ui_report(tmp_path, ui_row(impressions="100"), ui_row(ad="10"), name="first.csv")
    second = ui_report(tmp_path, ui_row(impressions="200"), ui_row(ad="11"), name="second.csv")
    assert burry_import("ads", first, "google_ads_ui", db).returncode == 0
    after_first = every_row(cursor)
    assert burry_import("ads", second, "google_ads_ui", db).returncode == 0
    after_second = every_row(cursor)
    first_id, second_id = import_id(cursor, "first.csv"), import_id(cursor, "second.csv")

    refused = burry(db, "import", "undo", str(first_id))

    assert refused.returncode == 1, refused.stderr
    assert f"cannot undo import #{first_id} (first.csv): later writes changed 2 of the rows it wrote" in refused.stderr
    assert (
        "raw.ad_daily_metrics (platform=google_ads, account_id=1234567890, ad_group_id=Hostile / G, " in refused.stderr
    )
    assert (
        "ad_id=Hostile / G / 9, date=2026-09-02) written again at" in refused.stderr
        and "Undo the later imports first" in refused.stderr
    )
    assert every_row(cursor) == after_second

    undone = burry(db, "import", "undo", str(second_id))

    assert undone.returncode == 0, undone.stderr
    assert "restored to their previous values: 1 raw.ad_daily_metrics, 1 raw.campaign_daily_metrics" in undone.stdout
    assert without_imports_log(every_row(cursor)) == without_imports_log(after_first)
    assert hostile_ads(cursor) == [("Hostile / G / 10", 10), ("Hostile / G / 9", 100)]

    assert burry(db, "import", "undo", str(first_id)).returncode == 0
    assert without_imports_log(every_row(cursor)) == without_imports_log(baseline)
    twice = burry(db, "import", "undo", str(first_id))
    assert twice.returncode == 1 and "was undone already" in twice.stderr
    missing = burry(db, "import", "undo", "999")
    assert missing.returncode == 2 and "there is no import #999" in missing.stderr


def test_undo_of_a_corrected_mapping_brings_back_the_earlier_values_and_quarantine(db, cursor, tmp_path):
    jira = FIXTURES / "jira_export.csv"
    assert burry_import("tickets", jira, "jira", db).returncode == 0
    first = every_row(cursor)
    fixed = tmp_path / "jira.yml"
    fixed.write_text(
        (MAPPINGS_DIR / "jira.yml").read_text().replace("Trivial: low}", "Trivial: low, Urgent-ish: urgent}")
    )
    assert burry_import("tickets", jira, str(fixed), db).returncode == 0
    assert len(quarantined(cursor, "jira_export.csv")) == 1

    result = burry(db, "import", "undo", str(import_id(cursor, "jira_export.csv")))

    assert result.returncode == 0, result.stderr
    assert without_imports_log(every_row(cursor)) == without_imports_log(first)
    assert len(quarantined(cursor, "jira_export.csv")) == 2


def test_undo_of_a_merge_leaves_the_api_account_as_it_was(db, cursor, demo_account, tmp_path):
    before, rows_before = demo_account(), every_row(cursor)
    path = ui_report(tmp_path, ui_row(day="2026-09-29", account="421-673-9015", currency="USD", cost="12.50"))
    assert burry_import("ads", path, "google_ads_ui", db, "--merge").returncode == 0
    assert demo_account() != before

    result = burry(db, "import", "undo", str(import_id(cursor, path.name)))

    assert result.returncode == 0, result.stderr
    assert "kept" not in result.stdout  # the account and its customer row were not the import's
    assert demo_account() == before
    assert without_imports_log(every_row(cursor)) == without_imports_log(rows_before)
