"""The pure parsing functions of file imports (assets/imports/parse.py), without a database."""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from assets.imports.mapping import Mapping, MappingError
from assets.imports.parse import (
    RowError,
    canonical_values,
    file_columns,
    fit_to_file,
    natural_key,
    parse_ad_row,
    parse_comments,
    parse_count,
    parse_datetime,
    parse_file,
    parse_number,
    parse_ticket_row,
    read_records,
    referenced_columns,
)

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
    [("1,234.50", Decimal("1234.50")), ("$ 12", Decimal("12")), ("7%", Decimal("7")), ("0", Decimal("0"))],
)
def test_numbers_drop_thousands_separators_and_currency_signs(text, value):
    assert parse_number("cost", text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [(None, "cost: missing"), ("abc", "not a number"), ("NaN", "not a number"), ("-3", "negative")],
)
def test_numbers_that_cannot_be_a_metric_are_row_errors(text, reason):
    with pytest.raises(RowError, match=reason):
        parse_number("cost", text)


def test_counts_must_be_whole():
    assert parse_count("clicks", "12.0") == 12
    with pytest.raises(RowError, match="not a whole number"):
        parse_count("clicks", "12.5")


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
    row = parse_ticket_row({"id": "J-1", "priority": "Blocker"}, TICKETS)
    assert (row["priority"], row["priority_raw"]) == ("urgent", "Blocker")
    with pytest.raises(RowError, match="'Trivial' maps to none of urgent, high, normal, low"):
        parse_ticket_row({"id": "J-2", "priority": "Trivial"}, TICKETS)


def test_ticket_times_out_of_order_are_a_row_error():
    with pytest.raises(RowError, match="timestamps out of order: resolved_at .* before created_at"):
        parse_ticket_row({"id": "J-3", "created_at": "02/04/2026 10:00", "resolved_at": "01/04/2026 10:00"}, TICKETS)


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
    assert file_columns(path, ADS)[:3] == ["Day", "Platform", "Account"]
    parsed = parse_file(path, ADS)
    assert (parsed.rows_read, len(parsed.rows), parsed.exact_duplicates) == (4, 1, 1)
    assert [(n, reason.split(":")[0]) for n, reason, _ in parsed.rejected] == [(3, "duplicate key"), (4, "impressions")]


def test_jsonl_records_keep_nested_values_and_number_from_one(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"Key": "A", "comments": [{"body": "x"}], "n": null}\n\n{"Key": "B", "n": 3}\n')
    assert list(read_records(path, TICKETS)) == [
        (1, {"Key": "A", "comments": [{"body": "x"}], "n": ""}),
        (2, {"Key": "B", "n": "3"}),
    ]
