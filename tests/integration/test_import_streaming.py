"""Streaming imports: a file bigger than one chunk resolves across chunks exactly as the in-memory
reference (`parse.resolve`) does: exact duplicates, conflicting keys, campaign-day totals, the
quarantine and its payloads, and an undo that takes it all back. Files are generated here; the
chunk size is made tiny so a few hundred rows span many chunks."""

from datetime import UTC, datetime

import pytest
from alembic import command

from assets.imports import changes, parse, write
from assets.imports.changes import undo_import
from assets.imports.mapping import load_mapping
from assets.imports.parse import parse_file
from assets.imports.write import import_file
from orchestration import migrate
from resources.database import connect
from resources.raw_schema import TABLES
from resources.settings import MAPPINGS_DIR

NOW = datetime(2026, 9, 30, 12, tzinfo=UTC)
MAPPING = load_mapping(MAPPINGS_DIR / "google_ads_ui.yml")
TITLE = 'Ad performance report\n"September 1, 2026 - September 3, 2026"\n'
HEADER = "Day,Customer ID,Campaign,Ad group,Ad ID,Currency code,Impr.,Clicks,Cost,Conversions,Conv. value\n"


def line(ad, impressions=10, clicks="2", day="2026-09-01", campaign="Stream"):
    return f"{day},123-456-7890,{campaign},G{int(ad) % 3},{ad},USD,{impressions},{clicks},1.50,0,0\n"


def write_file(path, lines):
    path.write_text(TITLE + HEADER + "".join(lines))
    return path


def rows(cursor, sql, *params):
    cursor.execute(sql, params)
    return cursor.fetchall()


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(parse, "CHUNK_ROWS", 50)


def test_a_file_of_many_chunks_resolves_like_the_in_memory_reference_and_undoes(db, cursor, tmp_path, small_chunks):
    lines = [line(n, impressions=n) for n in range(1, 201)]
    lines[74] = line(75, clicks="abc")  # record 75 (second chunk): unreadable
    lines += [
        line(10, impressions=999),  # record 201: key of record 10, other values
        lines[19],  # record 202: exact duplicate of record 20 (first chunk)
        lines[74],  # record 203: exact duplicate of the unreadable record 75: counted, not quarantined twice
        line(30, impressions=555),  # record 204: key of record 30, other values
        line(30, impressions=555),  # record 205: exact duplicate of record 204, itself quarantined
    ]
    path = write_file(tmp_path / "big.csv", lines)
    reference = parse_file(path, MAPPING, now=NOW)

    summary = import_file(lambda: connect(db), path, MAPPING, now=NOW)

    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined, summary.exact_duplicates) == (
        205,
        199,
        3,
        3,
    )
    assert (summary.rows_loaded, summary.exact_duplicates) == (len(reference.rows), reference.exact_duplicates)
    quarantine = rows(cursor, "SELECT row_number, reason, payload FROM raw.quarantine ORDER BY row_number")
    assert [(n, reason) for n, reason, _ in quarantine] == [(n, reason) for n, reason, _ in reference.rejected]
    assert [(n, reason) for n, reason, _ in quarantine] == [
        (75, "clicks: not a number: 'abc'"),
        (201, "duplicate key: same key as record 10, different values"),
        (204, "duplicate key: same key as record 30, different values"),
    ]
    # A row that lost to an earlier one is kept as read, like any quarantined record.
    assert quarantine[1][2]["Impr."] == "999" and quarantine[1][2]["Ad ID"] == "10"
    # The first of each key loaded, with its own values; the campaign total is their sum.
    assert rows(cursor, "SELECT impressions FROM raw.ad_daily_metrics WHERE ad_id LIKE '%%/ 10'") == [(10,)]
    expected = sum(n for n in range(1, 201) if n != 75)
    assert rows(cursor, "SELECT sum(impressions) FROM raw.ad_daily_metrics") == [(expected,)]
    assert rows(cursor, "SELECT impressions FROM raw.campaign_daily_metrics") == [(expected,)]
    # The keys of inserted rows are logged in batches (one log row per chunk written), not row by row.
    assert rows(
        cursor,
        "SELECT sum(jsonb_array_length(keys->'ad_id')), count(*) FROM app.import_changes "
        "WHERE table_name = 'raw.ad_daily_metrics'",
    ) == [(199, 1)]

    # A second file, also many chunks, changes some of those rows: undo gives them their values back.
    changed = write_file(tmp_path / "changed.csv", [line(n, impressions=n * 2) for n in range(150, 260)])
    assert import_file(lambda: connect(db), changed, MAPPING, now=NOW).rows_loaded == 110
    assert rows(cursor, "SELECT impressions FROM raw.ad_daily_metrics WHERE ad_id LIKE '%%/ 160'") == [(320,)]
    undone = undo_import(lambda: connect(db), 2)
    assert undone.restored["raw.ad_daily_metrics"] == 51 and undone.removed["raw.ad_daily_metrics"] == 59
    assert rows(cursor, "SELECT impressions FROM raw.ad_daily_metrics WHERE ad_id LIKE '%%/ 160'") == [(160,)]
    assert rows(cursor, "SELECT sum(impressions) FROM raw.ad_daily_metrics") == [(expected,)]
    assert rows(cursor, "SELECT impressions FROM raw.campaign_daily_metrics") == [(expected,)]

    undo_import(lambda: connect(db), 1)
    for table in TABLES:
        assert rows(cursor, f"SELECT count(*) FROM raw.{table}") == [(0,)], table
    assert rows(cursor, "SELECT count(*) FROM raw.quarantine") == [(0,)]


def test_campaign_day_totals_past_bigint_are_resolved_in_file_order_across_chunks(db, cursor, tmp_path, monkeypatch):
    monkeypatch.setattr(parse, "CHUNK_ROWS", 2)
    big = 2**63 - 1
    lines = [
        line(1, impressions=big),
        line(2, impressions=5, day="2026-09-02"),
        line(3, impressions=1),  # third chunk: the 2026-09-01 total would pass bigint
        line(1, impressions=7),  # key of record 1, other values: a duplicate key first, not an overflow
        line(4, impressions=0),  # fits
    ]
    path = write_file(tmp_path / "huge.csv", lines)
    reference = parse_file(path, MAPPING, now=NOW)

    summary = import_file(lambda: connect(db), path, MAPPING, now=NOW)

    assert summary.rows_loaded == len(reference.rows) == 3
    found = rows(cursor, "SELECT row_number, reason FROM raw.quarantine ORDER BY row_number")
    assert found == [(n, reason) for n, reason, _ in reference.rejected]
    assert found == [
        (
            3,
            "impressions: the campaign's total for 2026-09-01 would exceed the largest impressions PostgreSQL can "
            "hold (9223372036854775807)",
        ),
        (4, "duplicate key: same key as record 1, different values"),
    ]
    assert rows(cursor, "SELECT date::text, impressions FROM raw.campaign_daily_metrics ORDER BY 1") == [
        ("2026-09-01", big),
        ("2026-09-02", 5),
    ]


def test_a_long_import_reports_rows_read_as_it_goes(db, tmp_path, small_chunks, monkeypatch):
    monkeypatch.setattr(write, "PROGRESS_AFTER_S", 0)
    path = write_file(tmp_path / "long.csv", [line(n) for n in range(1, 121)])
    said: list[str] = []

    import_file(lambda: connect(db), path, MAPPING, now=NOW, progress=said.append)

    assert said[:3] == ["long.csv: 50 rows read", "long.csv: 100 rows read", "long.csv: 120 rows read"]
    assert said[-1] == "long.csv: 120 rows written; committing"


@pytest.mark.parametrize("returning_old", [True, False], ids=["returning-old", "lookup-before-write"])
def test_a_clean_file_is_written_chunk_by_chunk_and_undo_restores_exactly(
    db, cursor, tmp_path, small_chunks, monkeypatch, returning_old
):
    if not returning_old:  # a server before PostgreSQL 18: the previous rows are read before the write
        monkeypatch.setattr(changes, "RETURNING_OLD_FROM", 10**9)
    monkeypatch.setattr(write, "PROGRESS_AFTER_S", 0)
    said: list[str] = []
    lines = [line(n, impressions=n) for n in range(1, 201)]
    lines[74] = line(75, clicks="abc")  # quarantined, as in a file resolved whole
    path = write_file(tmp_path / "clean.csv", lines)
    reference = parse_file(path, MAPPING, now=NOW)

    summary = import_file(lambda: connect(db), path, MAPPING, now=NOW, progress=said.append)

    assert not [s for s in said if "reading it again" in s]  # no key repeats: never resolved whole
    assert type(summary.rows_loaded) is int  # recorded as Dagster metadata, which takes no Decimal
    assert (
        (summary.import_id, summary.rows_loaded, summary.rows_quarantined)
        == (1, 199, 1)
        == (
            1,
            len(reference.rows),
            len(reference.rejected),
        )
    )
    assert rows(cursor, "SELECT row_number, reason FROM raw.quarantine") == [(75, "clicks: not a number: 'abc'")]
    expected = sum(n for n in range(1, 201) if n != 75)
    assert rows(cursor, "SELECT sum(impressions), count(*) FROM raw.ad_daily_metrics") == [(expected, 199)]
    assert rows(cursor, "SELECT impressions FROM raw.campaign_daily_metrics") == [(expected,)]
    # One log row per chunk written holds the keys it inserted; nothing was updated.
    assert rows(
        cursor,
        "SELECT count(*), sum(jsonb_array_length(keys->'date')), count(previous) FROM app.import_changes "
        "WHERE table_name = 'raw.ad_daily_metrics'",
    ) == [(4, 199, 0)]

    # Chunk by chunk too: a file over the same rows updates them, logging each previous row.
    changed = write_file(tmp_path / "changed.csv", [line(n, impressions=n * 2) for n in range(150, 260)])
    assert import_file(lambda: connect(db), changed, MAPPING, now=NOW, progress=said.append).rows_loaded == 110
    assert not [s for s in said if "reading it again" in s]
    assert rows(
        cursor,
        "SELECT count(previous), count(keys) FROM app.import_changes WHERE import_id = 2 AND table_name = %s",
        "raw.ad_daily_metrics",
    ) == [(51, 2)]  # the first chunk only updated
    undone = undo_import(lambda: connect(db), 2)
    assert undone.restored["raw.ad_daily_metrics"] == 51 and undone.removed["raw.ad_daily_metrics"] == 59
    assert rows(cursor, "SELECT sum(impressions), count(*) FROM raw.ad_daily_metrics") == [(expected, 199)]
    assert rows(cursor, "SELECT impressions FROM raw.campaign_daily_metrics") == [(expected,)]
    assert rows(cursor, "SELECT impressions FROM raw.ad_daily_metrics WHERE ad_id LIKE '%%/ 160'") == [(160,)]

    assert undo_import(lambda: connect(db), 1).removed["raw.ad_daily_metrics"] == 199
    for table in TABLES:
        assert rows(cursor, f"SELECT count(*) FROM raw.{table}") == [(0,)], table


@pytest.mark.parametrize("account_had_rows", [False, True], ids=["inserted", "upserted"])
def test_a_key_repeated_in_a_later_chunk_resolves_the_file_whole_under_the_same_import_id(
    db, cursor, tmp_path, small_chunks, monkeypatch, account_had_rows
):
    monkeypatch.setattr(write, "PROGRESS_AFTER_S", 0)
    said: list[str] = []
    first = 1
    if account_had_rows:  # its rows are upserted (an earlier chunk's key is left alone), else inserted (fails)
        earlier = write_file(tmp_path / "earlier.csv", [line(999, impressions=5, campaign="Other")])
        first = import_file(lambda: connect(db), earlier, MAPPING, now=NOW).import_id + 1
    lines = [line(n, impressions=n) for n in range(1, 181)] + [line(10, impressions=999)]  # record 181: chunk 4
    path = write_file(tmp_path / "late.csv", lines)

    summary = import_file(lambda: connect(db), path, MAPPING, now=NOW, progress=said.append)

    # Upserted, the repeated key is the row the upsert left alone; inserted, it fails the insert.
    why = "a key repeats within the file" + ("" if account_had_rows else " (or was written meanwhile)")
    assert [s for s in said if "reading it again" in s] == [f"late.csv: {why}: reading it again to resolve it whole"]
    assert (summary.import_id, summary.rows_loaded, summary.rows_quarantined) == (first, 180, 1)
    assert rows(cursor, "SELECT id, rows_loaded FROM app.file_imports WHERE file_name = 'late.csv'") == [(first, 180)]
    assert rows(cursor, "SELECT row_number, reason FROM raw.quarantine") == [
        (181, "duplicate key: same key as record 10, different values")
    ]
    assert rows(cursor, "SELECT impressions FROM raw.ad_daily_metrics WHERE ad_id LIKE '%%/ 10'") == [(10,)]
    assert rows(cursor, "SELECT sum(impressions) FROM raw.campaign_daily_metrics WHERE campaign_id = 'Stream'") == [
        (sum(range(1, 181)),)
    ]
    undo_import(lambda: connect(db), first)
    assert rows(cursor, "SELECT sum(impressions) FROM raw.ad_daily_metrics") == [(5 if account_had_rows else None,)]


def test_downgrading_below_0010_writes_the_key_batches_out_one_row_per_key(db, cursor, tmp_path, small_chunks):
    path = write_file(tmp_path / "clean.csv", [line(n) for n in range(1, 121)])
    import_file(lambda: connect(db), path, MAPPING, now=NOW)
    logged = "SELECT key FROM app.import_changes WHERE table_name = 'raw.ad_daily_metrics' ORDER BY key->>'ad_id'"
    written = (
        "SELECT jsonb_build_object('platform', platform, 'account_id', account_id, 'ad_group_id', ad_group_id, "
        "'ad_id', ad_id, 'date', date) FROM raw.ad_daily_metrics ORDER BY ad_id"
    )

    command.downgrade(migrate.alembic_config(db), "0009")

    assert rows(cursor, logged) == rows(cursor, written) and len(rows(cursor, written)) == 120
    migrate.upgrade(db)
    assert undo_import(lambda: connect(db), 1).removed["raw.ad_daily_metrics"] == 120
