from datetime import date
from decimal import Decimal

import pytest

from ask.answerer import format_value, metric_value
from ask.questions import METRICS, find_metric, find_period

TODAY = date(2026, 10, 15)


@pytest.mark.parametrize(
    "question, metric",
    [
        ("What was total spend last 7 days?", "cost"),
        ("How much did we spend yesterday?", "cost"),
        ("total cost this month", "cost"),
        ("What was our conversion value last month?", "conversion_value"),
        ("revenue last 30 days", "conversion_value"),
        ("how many conversions last week", "conversions"),
        ("What's the cost per click?", "cpc"),
        ("CPA over the past 14 days", "cpa"),
        ("ROAS last 7 days", "roas"),
        ("click-through rate yesterday", "ctr"),
        ("How many impressions did we get?", "impressions"),
        ("clicks in the last 3 days", "clicks"),
    ],
)
def test_find_metric(question, metric):
    assert find_metric(question).name == metric


def test_unknown_metric():
    assert find_metric("How is the weather in Lisbon?") is None


@pytest.mark.parametrize(
    "question, start, end",
    [
        ("spend last 7 days", date(2026, 10, 8), date(2026, 10, 14)),
        ("spend in the past 30 days", date(2026, 9, 15), date(2026, 10, 14)),
        ("spend last seven days", date(2026, 10, 8), date(2026, 10, 14)),
        ("spend last week", date(2026, 10, 8), date(2026, 10, 14)),
        ("spend yesterday", date(2026, 10, 14), date(2026, 10, 14)),
        ("spend last month", date(2026, 9, 1), date(2026, 9, 30)),
        ("spend this month", date(2026, 10, 1), date(2026, 10, 14)),
    ],
)
def test_find_period_excludes_today(question, start, end):
    period = find_period(question, TODAY)
    assert (period.start, period.end) == (start, end)


def test_no_period_named():
    assert find_period("total spend", TODAY) is None
    assert find_period("spend this month", date(2026, 10, 1)) is None, "nothing of the month has passed yet"


def test_ratios_are_ratios_of_sums_and_undefined_without_denominator():
    sums = {
        "impressions": Decimal(0),
        "clicks": Decimal(0),
        "cost": Decimal("12.50"),
        "conversions": Decimal(4),
        "conversion_value": Decimal(50),
    }
    assert metric_value(METRICS["ctr"], sums) is None
    assert metric_value(METRICS["cpc"], sums) is None
    assert metric_value(METRICS["cpa"], sums) == Decimal("3.125")
    assert metric_value(METRICS["roas"], sums) == Decimal(4)
    assert metric_value(METRICS["cost"], sums) == Decimal("12.50")


def test_format_value():
    assert format_value(METRICS["cost"], Decimal("12345.675"), "USD") == "$12,345.68"
    assert format_value(METRICS["cost"], Decimal("10"), "CHF") == "10.00 CHF"
    assert format_value(METRICS["ctr"], Decimal("0.034567"), "USD") == "3.46%"
    assert format_value(METRICS["roas"], Decimal("4.5"), "EUR") == "4.50x"
    assert format_value(METRICS["clicks"], Decimal("1234"), "EUR") == "1,234"
    assert format_value(METRICS["conversions"], Decimal("12.5"), "EUR") == "12.50"
