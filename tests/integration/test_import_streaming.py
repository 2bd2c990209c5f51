"""Streaming imports: a file bigger than one chunk resolves across chunks exactly as the in-memory
reference (`parse.resolve`) does: exact duplicates, conflicting keys, campaign-day totals, the
quarantine and its payloads, and an undo that takes it all back. Files are generated here; the
chunk size is made tiny so a few hundred rows span many chunks."""

from datetime import UTC, datetime

import pytest

from assets.imports import parse, write
from assets.imports.changes import undo_import
from assets.imports.mapping import load_mapping
from assets.imports.parse import parse_file
from assets.imports.write import import_file
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
    assert rows(
        cursor, "SELECT count(*) FROM app.import_changes WHERE table_name = 'raw.ad_daily_metrics' AND previous IS NULL"
    ) == [(199,)]

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
