"""The pure parsing functions of file imports (assets/imports/parse.py), without a database."""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from assets.imports.mapping import Lookup, Mapping, MappingError, UnreadableFile, load_mapping
from assets.imports.parse import (
    MAX_CELL_CHARS,
    Account,
    Encoding,
    FileReader,
    RowError,
    canonical_values,
    detect_encoding,
    file_columns,
    fit_to_file,
    layout,
    natural_key,
    parse_ad_row,
    parse_comments,
    parse_datetime,
    parse_file,
    parse_metric,
    parse_number,
    parse_ticket_row,
    read_records,
    referenced_columns,
)
from resources.raw_schema import METRICS
from resources.settings import MAPPINGS_DIR

NOW = datetime(2026, 9, 30, 12, tzinfo=UTC)
UTF8 = Encoding("utf-8", "valid UTF-8")

ADS = Mapping(
    name="t_ads",
    kind="ads",
    source="t_ads",
    sha256="x",
    columns={
        "date": ("Day",),
        "platform": ("Platform",),
        "account": ("Account",),
        "campaign": ("Campaign",),
        "ad_group": ("Ad group",),
        "ad": ("Ad",),
        "impressions": ("Impr.",),
        "clicks": ("Clicks",),
        "cost": ("Cost (EUR)", "Cost"),
        "currency": ("Currency",),
    },
    null_values=("", "--"),
)
TICKETS = Mapping(
    name="t_tickets",
    kind="tickets",
    source="t_tickets",
    sha256="y",
    columns={"id": ("Key",), "priority": ("Priority",), "created_at": ("Created",), "resolved_at": ("Resolved",)},
    value_maps={"priority": {"blocker": "urgent", "major": "high"}},
    date_formats=("%d/%m/%Y %H:%M",),
    time_zone="Europe/Berlin",
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234.50", Decimal("1234.50")),
        ("12,345,678", Decimal("12345678")),
        ("$ 12", Decimal("12")),
        ("€1,234", Decimal("1234")),
        ("0", Decimal("0")),
    ],
)
def test_numbers_drop_thousands_separators_and_currency_signs(text, value):
    assert parse_number("cost", text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "cost: missing"),
        ("abc", "not a number"),
        ("NaN", "not a number"),
        ("-3", "negative"),
        # A decimal comma is never read as a thousands separator (12,50 is not 1,250).
        ("12,50", "a comma that is not a thousands separator"),
        ("1.234,50", "a comma that is not a thousands separator"),
        ("1,5", "a comma that is not a thousands separator"),
        ("1,23,456", "a comma that is not a thousands separator"),
        ("7%", "is a percentage"),
    ],
)
def test_numbers_that_cannot_be_a_metric_are_row_errors(text, reason):
    with pytest.raises(RowError, match=reason):
        parse_number("cost", text)


def test_counts_must_be_whole():
    assert parse_metric("clicks", "clicks", "12.0") == 12
    with pytest.raises(RowError, match="not a whole number"):
        parse_metric("clicks", "clicks", "12.5")


def test_a_count_written_with_a_thousands_dot_is_quarantined_not_read_as_one():
    """A German export writes 1,000 impressions as "1.000": neither 1 nor a guess."""
    with pytest.raises(RowError, match=r"'1.000' could be 1 or 1,000"):
        parse_metric("impressions", "impressions", "1.000")
    assert parse_metric("impressions", "impressions", "1,000") == 1000
    assert parse_metric("conversions", "conversions", "1.500") == Decimal("1.5")  # a decimal column


def test_datetimes_use_the_mappings_formats_then_iso_and_its_time_zone():
    berlin = parse_datetime("created_at", "01/04/2026 09:30", TICKETS)
    assert berlin.utcoffset().total_seconds() == 7200 and berlin.hour == 9
    assert parse_datetime("created_at", "2026-04-01T09:30:00+00:00", TICKETS) == datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
    assert parse_datetime("created_at", None, TICKETS) is None
    with pytest.raises(RowError, match="unparseable date 'April 1st'"):
        parse_datetime("created_at", "April 1st", TICKETS)


def test_templates_reference_their_columns():
    assert referenced_columns("{day} {month} 2020") == ["day", "month"]
    assert referenced_columns("Day") == ["Day"]


def test_the_first_alternative_the_file_has_wins_and_a_missing_column_names_the_fix():
    header = ["Day", "Platform", "Account", "Campaign", "Ad group", "Ad", "Impr.", "Clicks", "Cost", "Currency"]
    fitted = fit_to_file(ADS, header, Path("x.csv"))
    assert fitted.columns["cost"] == ("Cost",)
    with pytest.raises(MappingError, match="needs columns 'Clicks'"):
        fit_to_file(ADS, [c for c in header if c != "Clicks"], Path("x.csv"))


def test_canonical_values_apply_null_values_defaults_and_value_maps():
    mapping = replace(ADS, defaults={"clicks": "0"}, value_maps={"platform": {"adwords": "google_ads"}})
    record = {"Day": "2026-09-01", "Platform": "AdWords", "Clicks": "--", "Impr.": " 10 "}
    values = canonical_values(
        record, replace(mapping, columns={k: mapping.columns[k] for k in ("date", "platform", "clicks", "impressions")})
    )
    assert values == {"date": "2026-09-01", "platform": "google_ads", "clicks": "0", "impressions": "10"}


def ad_values(**overrides):
    values = {
        "date": "2026-09-01",
        "platform": "google_ads",
        "account": "123-456-7890",
        "campaign": "Brand",
        "ad_group": "Exact",
        "ad": "Ad 1",
        "impressions": "100",
        "clicks": "7",
        "cost": "12.345678",
        "currency": "EUR",
    }
    return {**values, **overrides}


def test_an_ad_row_is_keyed_by_names_under_their_parents_and_costs_in_micros():
    row = parse_ad_row(ad_values(), ADS)
    assert row["account_id"] == "1234567890"  # the API's spelling of the customer id
    assert (row["ad_group_id"], row["ad_id"]) == ("Brand / Exact", "Brand / Exact / Ad 1")
    assert row["cost_micros"] == 12_345_678 and row["currency_code"] == "EUR"
    assert natural_key(row, ADS) == ("google_ads", "1234567890", "Brand / Exact / Ad 1", date(2026, 9, 1))


def test_an_ad_row_without_a_required_field_names_it():
    with pytest.raises(RowError, match="missing campaign"):
        parse_ad_row(ad_values(campaign=None), ADS)


def test_ticket_priorities_map_and_keep_the_sources_own_value():
    row = parse_ticket_row({"id": "J-1", "priority": "Blocker"}, TICKETS, NOW)
    assert (row["priority"], row["priority_raw"]) == ("urgent", "Blocker")
    with pytest.raises(RowError, match="'Trivial' maps to none of urgent, high, normal, low"):
        parse_ticket_row({"id": "J-2", "priority": "Trivial"}, TICKETS, NOW)


def test_ticket_times_out_of_order_are_a_row_error():
    with pytest.raises(RowError, match="timestamps out of order: resolved_at .* before created_at"):
        parse_ticket_row(
            {"id": "J-3", "created_at": "02/04/2026 10:00", "resolved_at": "01/04/2026 10:00"}, TICKETS, NOW
        )


def test_comments_must_be_objects_with_a_time():
    comments = parse_comments([{"id": 5, "body": "hi", "created_at": "2026-04-01T10:00:00+00:00"}], TICKETS)
    assert comments == [
        {"comment_id": "5", "author": None, "body": "hi", "created_at": datetime(2026, 4, 1, 10, tzinfo=UTC)}
    ]
    with pytest.raises(RowError, match="item 1 has no created_at"):
        parse_comments([{"body": "hi"}], TICKETS)
    with pytest.raises(RowError, match="item 1 is not an object"):
        parse_comments(["hi"], TICKETS)


def test_a_file_parses_into_rows_rejections_and_exact_duplicates(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(
        "Day,Platform,Account,Campaign,Ad group,Ad,Impr.,Clicks,Cost,Currency\n"
        "2026-09-01,google_ads,1234567890,Brand,Exact,Ad 1,100,7,1.5,EUR\n"
        "2026-09-01,google_ads,1234567890,Brand,Exact,Ad 1,100,7,1.5,EUR\n"  # exact duplicate: loaded once
        "2026-09-01,google_ads,1234567890,Brand,Exact,Ad 1,100,8,1.5,EUR\n"  # same key, other values
        "2026-09-02,google_ads,1234567890,Brand,Exact,Ad 1,x,7,1.5,EUR\n"
    )
    assert file_columns(path, ADS, UTF8)[:3] == ["Day", "Platform", "Account"]
    parsed = parse_file(path, ADS, now=NOW)
    assert (parsed.rows_read, len(parsed.rows), parsed.exact_duplicates) == (4, 1, 1)
    assert [(n, reason.split(":")[0]) for n, reason, _ in parsed.rejected] == [(3, "duplicate key"), (4, "impressions")]


def test_jsonl_records_keep_nested_values_and_number_from_one(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"Key": "A", "comments": [{"body": "x"}], "n": null}\n\n{"Key": "B", "n": 3}\n')
    assert [(r.number, r.values) for r in read_records(path, TICKETS, UTF8)] == [
        (1, {"Key": "A", "comments": [{"body": "x"}], "n": ""}),
        (2, {"Key": "B", "n": "3"}),
    ]


# -- hostile files: every row-level problem is a quarantine reason, file-level ones refuse the file --
HEADER = "Day,Platform,Account,Campaign,Ad group,Ad,Impr.,Clicks,Cost,Currency\n"


def ad_line(day="2026-09-01", ad="Ad 1", impressions="100", cost="1.5", currency="EUR", account="1234567890"):
    return f"{day},google_ads,{account},Brand,Exact,{ad},{impressions},7,{cost},{currency}\n"


def reasons(parsed) -> dict[int, str]:
    return {number: reason for number, reason, _ in parsed.rejected}


@pytest.mark.parametrize(
    ("codec", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("utf-32", "utf-32"), ("cp1252", "cp1252")],
)
def test_the_encoding_comes_from_the_bom_then_utf8_then_the_detector(tmp_path, codec, detected):
    path = tmp_path / "ads.csv"
    path.write_bytes((HEADER + ad_line(ad="Café été Müller") + ad_line(ad="Straße Köln")).encode(codec))

    parsed = parse_file(path, ADS, now=NOW)

    assert parsed.encoding.name == detected
    assert [row["ad_name"] for _, row in parsed.rows] == ["Café été Müller", "Straße Köln"]


def test_latin1_in_cyrillic_is_detected_as_its_own_code_page(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_bytes((HEADER + ad_line(ad="Зимняя распродажа обуви") + ad_line(ad="Летняя коллекция")).encode("cp1251"))

    parsed = parse_file(path, ADS, now=NOW)

    assert parsed.encoding.name == "cp1251"
    assert parsed.rows[0][1]["ad_name"] == "Зимняя распродажа обуви"


def test_a_given_encoding_wins_and_a_wrong_or_unknown_one_refuses_the_file_naming_the_option(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_bytes((HEADER + ad_line(ad="Café")).encode("latin-1"))
    assert parse_file(path, ADS, encoding=detect_encoding(path, "latin-1"), now=NOW).rows[0][1]["ad_name"] == "Café"

    with pytest.raises(UnreadableFile, match="is not utf-8 \\(given\\) text .* --encoding cp1252"):
        parse_file(path, ADS, encoding=detect_encoding(path, "utf-8"), now=NOW)
    with pytest.raises(UnreadableFile, match="--encoding 'klingon' is not an encoding"):
        detect_encoding(path, "klingon")


def test_a_cell_over_the_size_limit_is_quarantined_and_reading_goes_on(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(HEADER + ad_line(ad="x" * (MAX_CELL_CHARS + 1)) + ad_line(ad="Ad 2"))

    parsed = parse_file(path, ADS, now=NOW)

    assert reasons(parsed) == {
        1: "cell over the size limit: more than 10,485,760 characters (10 MiB) in one cell, near line 2"
    }
    assert [(n, row["ad_name"]) for n, row in parsed.rows] == [(2, "Ad 2")]


def test_ragged_rows_are_quarantined_and_a_trailing_delimiter_is_not_ragged(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(
        HEADER.replace("\n", ",\n")  # the header ends with a delimiter: an unnamed last column
        + "2026-09-01,google_ads,1234567890,Brand\n"  # fewer fields
        + ad_line(ad="Ad 2").replace("\n", ",,surplus\n")  # more fields, with a value
        + ad_line(ad="Ad 3")  # no trailing delimiter: fine
        + ad_line(ad="Ad 4").replace("\n", ",,\n")  # empty extra fields: fine
    )

    parsed = parse_file(path, ADS, now=NOW)

    assert reasons(parsed) == {1: "row has 4 fields, header has 11", 2: "row has 12 fields, header has 11"}
    assert parsed.rejected[1][2]["_extra_fields"] == ["surplus"]
    assert [n for n, _ in parsed.rows] == [3, 4]


def test_a_nul_byte_in_a_cell_is_quarantined(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(HEADER + ad_line(ad="Bad\x00Ad") + ad_line(ad="Ad 2"))

    parsed = parse_file(path, ADS, now=NOW)

    assert reasons(parsed) == {1: "NUL byte in 'Ad': PostgreSQL text cannot hold one (remove it from the file)"}
    assert len(parsed.rows) == 1


@pytest.mark.parametrize(
    ("impressions", "cost", "reason"),
    [
        ("99999999999999999999", "1", "impressions: 99999999999999999999 is over the largest impressions"),
        ("9223372036854775808", "1", "impressions: 9223372036854775808 is over the largest impressions"),
        ("1", "9223372036854.775808", "cost: 9223372036854775808 is over the largest cost_micros"),
        ("1e999999999", "1", "impressions: '1e999999999' is larger than any number PostgreSQL holds"),
    ],
)
def test_numbers_beyond_their_column_type_are_quarantined(tmp_path, impressions, cost, reason):
    path = tmp_path / "ads.csv"
    path.write_text(HEADER + ad_line(impressions=impressions, cost=cost) + ad_line(ad="Ad 2"))

    parsed = parse_file(path, ADS, now=NOW)

    assert reasons(parsed)[1].startswith(reason)
    assert len(parsed.rows) == 1


def test_the_largest_bigint_loads_but_a_campaign_day_cannot_sum_past_it(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(HEADER + ad_line(impressions=str(2**63 - 1)) + ad_line(ad="Ad 2", impressions="1"))

    parsed = parse_file(path, ADS, now=NOW)

    assert parsed.rows[0][1]["impressions"] == 2**63 - 1
    assert reasons(parsed) == {
        2: "impressions: the campaign's total for 2026-09-01 would exceed the largest impressions PostgreSQL can "
        "hold (9223372036854775807)"
    }


def test_metric_days_outside_the_valid_range_are_quarantined_in_the_accounts_time_zone(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(
        HEADER
        + ad_line(day="2099-01-01")
        + ad_line(day="1999-12-31")
        + ad_line(day="2000-01-01")
        + ad_line(day="2026-10-01")  # UTC tomorrow at NOW
        + ad_line(day="2026-10-02", account="555")  # tomorrow in Kiritimati (UTC+14), where it is 2026-10-01 already
        + ad_line(day="2026-10-02", ad="Ad 2")  # the day after tomorrow in UTC, the mapping's zone
    )
    kiritimati = {("google_ads", "555"): Account("google_ads", "555", "K", "EUR", "Pacific/Kiritimati", "demo")}

    parsed = parse_file(path, ADS, accounts=kiritimati, now=NOW)

    assert reasons(parsed) == {
        1: "date: 2099-01-01 is in the future (after 2026-10-01, the account's local tomorrow in UTC)",
        2: "date: 1999-12-31 is before 2000-01-01 (the earliest date a metrics row may have)",
        6: "date: 2026-10-02 is in the future (after 2026-10-01, the account's local tomorrow in UTC)",
    }
    assert [n for n, _ in parsed.rows] == [3, 4, 5]
    assert parsed.accounts == {("google_ads", "1234567890"), ("google_ads", "555")}


def test_a_row_in_another_currency_than_its_account_is_quarantined(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(
        HEADER
        + ad_line(currency="USD", account="4216739015")
        + ad_line(currency="EUR", account="4216739015", ad="Ad 2")
        + ad_line(currency="GBP")  # a new account: its first row sets its currency
        + ad_line(currency="EUR", ad="Ad 3")
        + ad_line(currency="E", ad="Ad 4")
    )
    demo = {("google_ads", "4216739015"): Account("google_ads", "4216739015", "N", "USD", "America/New_York", "demo")}

    parsed = parse_file(path, ADS, accounts=demo, now=NOW)

    assert reasons(parsed) == {
        2: "currency EUR differs from account 4216739015's USD",
        4: "currency EUR differs from account 1234567890's GBP",
        5: "currency: 'E' is not a three-letter currency code such as USD or EUR",
    }


def test_jsonl_lines_that_are_not_json_objects_are_quarantined(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"Key": "A", "Priority": "Blocker", "Created": null, "Resolved": null}\n'
        "{not json\n"
        '["Key", "B"]\n'
        "7\n"
        + "[" * 100_000
        + "\n"
        + '{"Key": "C", "Priority": {"nested": 1}}\n'
        + '{"Key": "D\\u0000"}\n'
        + '{"Key": "E"}\n'
    )

    parsed = parse_file(path, TICKETS, now=NOW)

    found = reasons(parsed)
    assert found[2].startswith("not valid JSON: Expecting property name")
    assert found[3] == "not a JSON object: the line is an array; each line must be one object"
    assert found[4] == "not a JSON object: the line is a int; each line must be one object"
    assert found[5].startswith("not valid JSON")
    assert found[6] == "priority: expected a value, found an object"
    assert found[7].startswith("NUL byte in 'Key'")
    assert [row["ticket_id"] for _, row in parsed.rows] == ["A", "E"]
    assert parsed.rejected[1][2] == {"_line": '["Key", "B"]'}


def test_duplicate_comment_ids_quarantine_the_ticket_naming_the_id():
    comment = {"id": 7, "body": "hi", "created_at": "2026-04-01T10:00:00+00:00"}
    with pytest.raises(RowError, match="comments: id '7' appears more than once in the ticket"):
        parse_comments([comment, {**comment, "body": "again"}], TICKETS)


def test_tickets_created_in_the_future_are_quarantined_with_an_hour_of_slack():
    soon = parse_ticket_row({"id": "J-4", "created_at": "2026-09-30T12:59:00+00:00"}, TICKETS, NOW)
    assert soon["created_at"] == datetime(2026, 9, 30, 12, 59, tzinfo=UTC)
    with pytest.raises(RowError, match="created_at: 2060-01-01T00:00\\+00:00 is in the future"):
        parse_ticket_row({"id": "J-5", "created_at": "2060-01-01T00:00:00+00:00"}, TICKETS, NOW)


@pytest.mark.parametrize("content", ["", HEADER, HEADER + "\n\n"])
def test_a_file_without_data_rows_reads_nothing(tmp_path, content):
    path = tmp_path / "ads.csv"
    path.write_text(content)

    parsed = parse_file(path, ADS, now=NOW)

    assert (parsed.rows_read, parsed.rows, parsed.rejected) == (0, [], [])


# -- streaming and the mapping extensions ------------------------------------------------------------
@pytest.mark.parametrize("text", ["0", "7", "007", "123456789012", "1.5", "0.000001", "12.345678", "3.", ".5", "1e3"])
@pytest.mark.parametrize("column", ["impressions", "cost_micros", "conversions"])
def test_the_fast_number_paths_return_what_the_general_path_returns(text, column):
    def general():
        value = parse_number("x", text)
        if column == "conversions":
            return value
        if column == "cost_micros":
            return int((value * 1_000_000).to_integral_value())
        if value != value.to_integral_value():
            raise RowError("not whole")
        return int(value)

    try:
        expected = general()
    except RowError:
        with pytest.raises(RowError):
            parse_metric("x", column, text)
        return
    found = parse_metric("x", column, text)
    assert (found, type(found)) == (expected, type(expected))


def test_a_file_read_in_chunks_gives_every_record_once_in_order(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(HEADER + "".join(ad_line(ad=f"Ad {n}") for n in range(1, 8)) + ad_line(impressions="x"))
    reader = FileReader(path, ADS, now=NOW, chunk_rows=3)
    chunks = list(reader.chunks())
    assert [len(c.rows) + len(c.rejected) for c in chunks] == [3, 3, 2]
    assert [r.number for c in chunks for r in c.rows] == list(range(1, 8))
    assert reader.rows_read == 8 and chunks[-1].rejected[0].reason.startswith("impressions: not a number")
    assert not reader.may_overflow


def test_a_mapping_with_an_ad_group_and_no_ad_keys_rows_by_ad_group():
    mapping = replace(ADS, columns={k: v for k, v in ADS.columns.items() if k != "ad"})
    assert mapping.grain == "ad_group"
    row = parse_ad_row(ad_values(ad=None), mapping)
    assert (row["ad_group_id"], row["ad_id"], row["ad_group_name"]) == ("Brand / Exact", "", "Exact")
    assert natural_key(row, mapping) == ("google_ads", "1234567890", "Brand / Exact", date(2026, 9, 1))
    campaign_grain = replace(ADS, columns={k: v for k, v in ADS.columns.items() if k not in ("ad", "ad_group")})
    assert campaign_grain.grain == "campaign"


def test_ticket_status_maps_and_keeps_the_sources_own_wording_and_resolution():
    tickets = replace(TICKETS, value_maps={**TICKETS.value_maps, "status": {"in progress": "pending"}})
    row = parse_ticket_row({"id": "J-1", "status": "In Progress", "resolution": "Won't Fix"}, tickets, NOW)
    assert (row["status"], row["status_raw"], row["resolution"]) == ("pending", "In Progress", "Won't Fix")


def test_an_optional_field_without_its_column_is_dropped_not_refused():
    mapping = replace(ADS, optional=frozenset({"currency"}))
    header = ["Day", "Platform", "Account", "Campaign", "Ad group", "Ad", "Impr.", "Clicks", "Cost"]
    assert "currency" not in fit_to_file(mapping, header, Path("x.csv")).columns
    with pytest.raises(MappingError, match="needs columns 'Currency'"):
        fit_to_file(ADS, header, Path("x.csv"))


def test_lookups_and_optional_fields_are_checked_when_the_mapping_loads(tmp_path):
    path = tmp_path / "m.yml"
    path.write_text(
        "kind: ads\ncolumns: {date: Day, account: A, campaign: Campaign, account_name: N}\n"
        "defaults: {platform: p}\noptional: [account_name]\n"
        "lookups: [{file: names.csv, key: {Campaign ID: Id}, columns: Campaign}]\n"
    )
    mapping = load_mapping(path)
    assert mapping.optional == {"account_name"}
    assert mapping.lookups[0] == Lookup("names.csv", "Campaign ID", "Id", ("Campaign",))
    path.write_text("kind: ads\ncolumns: {date: Day, account: A, campaign: C}\ndefaults: {platform: p}\nlookups: [x]\n")
    with pytest.raises(MappingError, match="each of `lookups` needs `file`, `key` and `columns`"):
        load_mapping(path)
    path.write_text(
        "kind: ads\ncolumns: {date: Day, account: A, campaign: C}\ndefaults: {platform: p}\noptional: [ad]\n"
    )
    with pytest.raises(MappingError, match="`optional` names fields without a column"):
        load_mapping(path)


def test_unreadable_records_count_towards_a_chunk_so_a_file_of_them_stays_in_chunks(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(HEADER + "a,b\n" * 7)
    chunks = list(FileReader(path, ADS, now=NOW, chunk_rows=3).chunks())
    assert [len(c.rejected) for c in chunks] == [3, 3, 1]
    assert chunks[0].rejected[0].reason == "row has 2 fields, header has 10"


def staged_outcomes(path: Path, mapping: Mapping, accounts: dict, staged: bool) -> tuple[dict, FileReader]:
    """{record number: staged row (layout order, as COPY reads it) or the reason it is rejected}."""
    reader = FileReader(path, mapping, accounts, now=NOW, chunk_rows=4, staged=staged)
    names = list(layout(reader.mapping).columns)

    def text(value):  # what the staging COPY reads: numbers by value, dates in ISO
        if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
            return Decimal(value)
        return value.isoformat() if isinstance(value, date) else value

    found: dict[int, object] = {}
    for chunk in reader.chunks():
        for number, fingerprint, *cells in chunk.staged:
            found[number] = (
                "compiled",
                fingerprint,
                *(Decimal(c) if n in METRICS else c for n, c in zip(names, cells, strict=True)),
            )
        for c in chunk.rows:
            found[c.number] = ("general", c.fingerprint, *(text(c.row.get(n)) for n in names))
        for r in chunk.rejected:
            found[r.number] = r.reason
    return found, reader


@pytest.mark.parametrize("mapping_name", ["t_ads", "online_ads"])
def test_the_compiled_converter_stages_exactly_what_the_general_functions_do(tmp_path, mapping_name):
    if mapping_name == "online_ads":
        mapping = load_mapping(MAPPINGS_DIR / "online_ads.yml")
        header = "month,day,campaign_number,user_engagement,banner,placement,displays,cost,clicks,revenue,"
        header += "post_click_conversions,post_click_sales_amount,,\n"
        lines = [
            "April,1,camp 1,High,160 x 600,abc,4000,12.3456,30,1,2,95.0000,,\n",
            "April,2,camp 1,High,160 x 600,,4000,0.1234567,30,1,2,95,,\n",  # blank placement; 7 decimals
            "May,31,camp 2,Low,728 x 90,jkl,0,0,0,0,0,0.0000,,\n",
            "June,31,camp 2,Low,728 x 90,jkl,1,1,1,1,1,1,,\n",  # no June 31st
            "April,3,camp 3,Medium,300 x 250,def,12,1.5,abc,0,0,0,,\n",  # clicks unreadable
            "April,4,camp 3,Medium,300 x 250,def,12,1.5,3,0,0,0,,x\n",  # a value in an unnamed column
            "April,5,camp 3,Medium,300 x 250,def,5.0,1.5,3,0,0,0\n",  # no trailing cells; 5.0 impressions
            'April,6,"camp, 4",High,"800 x ""250""",ghi,0012,007.50,1,0,0,0012.5,,\n',
        ]
        accounts: dict = {}
    else:
        mapping = replace(ADS, columns={**ADS.columns, "account_name": ("Name",)}, null_values=("", "--"))
        header = HEADER.rstrip("\n") + ",Name\n"
        lines = [
            ad_line().rstrip("\n") + ",Shop\n",
            ad_line(ad="Ad 2", cost="1,234.50").rstrip("\n") + ",\n",  # a thousands separator: general
            ad_line(ad="Ad 3", impressions="1234567890123").rstrip("\n") + ",--\n",  # 13 digits: general
            ad_line(ad="Ad 4", impressions="-1").rstrip("\n") + ",Shop\n",
            ad_line(ad="Ad 5", currency="usd").rstrip("\n") + ",Shop\n",  # another currency than the first row's
            ad_line(ad="Ad 6", currency="EURO").rstrip("\n") + ",Shop\n",
            ad_line(ad="--").rstrip("\n") + ",Shop\n",  # a null ad: missing
            ad_line(ad="Ad 7", day="2099-01-01").rstrip("\n") + ",Shop\n",
            ad_line(ad="Ad 8", day="Sept 1").rstrip("\n") + ",Shop\n",
            ad_line(ad="Café été", account="123-456-7890").rstrip("\n") + ",Müller\n",
            ad_line(ad="Ad\x009").rstrip("\n") + ",Shop\n",
            ad_line(ad="Ad 10", account="555-000-1111", currency="", impressions="", cost="").rstrip("\n") + ",X\n",
            ad_line(ad="Ad 11", account="555-000-1111", cost="0.000001").rstrip("\n") + ",X\n",  # EUR on a USD account
            ad_line(ad="Ad 12", account="7777777777", day="2026-10-01").rstrip("\n") + ",R\n",  # its local tomorrow
            ad_line(ad="Ad 13", account="7777777777", day="2026-10-03").rstrip("\n") + ",R\n",  # past it
            "2026-09-01,google_ads,1234567890,Brand\n",  # ragged
        ]
        accounts = {
            ("google_ads", "7777777777"): Account("google_ads", "7777777777", "R", "EUR", "Pacific/Kiritimati", "x")
        }
    path = tmp_path / "ads.csv"
    path.write_text(header + "".join(lines))

    general, general_reader = staged_outcomes(path, mapping, accounts, staged=False)
    compiled, compiled_reader = staged_outcomes(path, mapping, accounts, staged=True)

    assert {n: (v[1:] if isinstance(v, tuple) else v) for n, v in compiled.items()} == {
        n: (v[1:] if isinstance(v, tuple) else v) for n, v in general.items()
    }
    assert (compiled_reader.accounts, compiled_reader.currencies, compiled_reader.totals) == (
        general_reader.accounts,
        general_reader.currencies,
        general_reader.totals,
    )
    # The compiled converter took the ordinary rows (and only rows the general functions load).
    taken = sorted(n for n, v in compiled.items() if isinstance(v, tuple) and v[0] == "compiled")
    assert taken == ([1, 3, 6, 8] if mapping_name == "online_ads" else [1, 10, 12, 14])
