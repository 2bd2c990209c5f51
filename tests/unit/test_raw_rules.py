"""The one rule set for valid raw rows (resources/raw_rules.py): each boundary, both sides."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from resources.raw_rules import (
    BIGINT_MAX,
    created_at_problem,
    currency_problem,
    latest_metric_date,
    metric_date_problem,
    metric_value_problem,
    time_order_problem,
)

# 2026-09-30 23:30 UTC: already 2026-10-01 in Berlin, still 2026-09-30 in New York.
NOW = datetime(2026, 9, 30, 23, 30, tzinfo=UTC)


def test_the_latest_metric_day_is_the_accounts_local_tomorrow():
    assert latest_metric_date("UTC", NOW) == date(2026, 10, 1)
    assert latest_metric_date("Europe/Berlin", NOW) == date(2026, 10, 2)
    assert latest_metric_date("America/New_York", NOW) == date(2026, 10, 1)


@pytest.mark.parametrize(
    ("day", "zone", "valid"),
    [
        (date(2000, 1, 1), "UTC", True),
        (date(1999, 12, 31), "UTC", False),
        (date(2026, 10, 1), "UTC", True),
        (date(2026, 10, 2), "UTC", False),
        (date(2026, 10, 2), "Europe/Berlin", True),
        (date(2099, 1, 1), "Pacific/Kiritimati", False),
    ],
)
def test_metric_days_run_from_2000_to_the_accounts_local_tomorrow(day, zone, valid):
    assert (metric_date_problem(day, zone, NOW) is None) == valid


@pytest.mark.parametrize(
    ("column", "value", "valid"),
    [
        ("impressions", 0, True),
        ("impressions", -1, False),
        ("clicks", BIGINT_MAX, True),
        ("clicks", BIGINT_MAX + 1, False),
        ("cost_micros", BIGINT_MAX + 1, False),
        ("conversions", Decimal("1e20"), True),
        ("conversions_value", Decimal("-0.01"), False),
        ("conversions_value", Decimal("1e131072"), False),
        ("conversions", Decimal("1e-16384"), False),
    ],
)
def test_metrics_are_non_negative_and_fit_their_column_type(column, value, valid):
    assert (metric_value_problem(column, column, value) is None) == valid


def test_currencies_are_three_capital_letters():
    assert currency_problem("EUR") is None
    assert currency_problem("eur") and currency_problem("EURO") and currency_problem("")


def test_tickets_may_be_created_up_to_an_hour_from_now():
    assert created_at_problem(NOW + timedelta(minutes=60), NOW) is None
    assert created_at_problem(None, NOW) is None
    assert created_at_problem(NOW + timedelta(minutes=61), NOW)


def test_ticket_times_are_in_order_when_known():
    created, later = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    assert time_order_problem({"created_at": created, "first_response_at": None, "resolved_at": created}) is None
    assert time_order_problem({"created_at": later, "first_response_at": created, "resolved_at": None}) == (
        "timestamps out of order: first_response_at (2026-09-30 21.30) before created_at (2026-09-30 22.30)"
    )
