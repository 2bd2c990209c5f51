"""The period before a period: it follows how the period was asked for, not the shape of its dates."""

from __future__ import annotations

from datetime import date

import pytest

from ask.periods import Period, find_periods

JULY_1 = date(2020, 7, 1)  # a Wednesday


def one(text: str, today: date = JULY_1) -> Period:
    found = [f.period for f in find_periods(text.lower(), today) if f.period is not None]
    assert len(found) == 1, found
    return found[0]


def span(period: Period) -> tuple[str, str]:
    return period.start.isoformat(), period.end.isoformat()


def test_previous_n_days_are_n_days_even_when_the_last_n_are_a_whole_month():
    # As of Jul 1 the last 30 days are Jun 1-30: the 30 days before are May 2-31, once May 1-31.
    last_30 = one("spend last 30 days")
    assert span(last_30) == ("2020-06-01", "2020-06-30")
    before = last_30.shifted("period")
    assert span(before) == ("2020-05-02", "2020-05-31")
    assert before.label == "the previous 30 days"


@pytest.mark.parametrize(
    "text, today, expected",
    [
        ("spend in June", JULY_1, ("2020-05-01", "2020-05-31")),
        ("spend last month", JULY_1, ("2020-05-01", "2020-05-31")),
        ("spend last quarter", JULY_1, ("2020-01-01", "2020-03-31")),
        ("spend in Q2 2020", JULY_1, ("2020-01-01", "2020-03-31")),
        ("spend last 3 months", JULY_1, ("2020-01-01", "2020-03-31")),
        ("spend in 2019", JULY_1, ("2018-01-01", "2018-12-31")),
        ("spend last week", JULY_1, ("2020-06-15", "2020-06-21")),
        ("spend the week of June 10", JULY_1, ("2020-06-01", "2020-06-07")),
        ("spend last 4 weeks", date(2021, 3, 1), ("2021-01-04", "2021-01-31")),  # Feb 1-28: 28 days, not January
        ("spend from 2020-05-01 to 2020-05-31", JULY_1, ("2020-03-31", "2020-04-30")),  # 31 days named
        ("spend yesterday", JULY_1, ("2020-06-29", "2020-06-29")),
        ("spend this week", JULY_1, ("2020-06-22", "2020-06-24")),  # Mon-Wed against Mon-Wed
        ("spend this month", date(2020, 6, 15), ("2020-05-01", "2020-05-15")),
        ("spend this quarter", date(2020, 5, 20), ("2020-01-01", "2020-02-20")),
        ("spend this year", JULY_1, ("2019-01-01", "2019-07-01")),
    ],
)
def test_the_previous_period_follows_how_the_period_was_asked_for(text, today, expected):
    assert span(one(text, today).shifted("period")) == expected


def test_the_unit_survives_a_follow_up():
    # A follow-up ("and the previous period?") reads the period back from the stored intent.
    last_30 = Period.from_json(one("spend last 30 days").to_json())
    assert span(last_30.shifted("period")) == ("2020-05-02", "2020-05-31")
    # A period stored before units were kept still goes by its dates.
    stored = Period.from_json({"start": "2020-06-01", "end": "2020-06-30", "label": "June 2020"})
    assert span(stored.shifted("period")) == ("2020-05-01", "2020-05-31")


def test_the_month_before_n_days_is_the_same_days_a_month_earlier():
    # "the last 30 days vs the month before": 30 days against 30 days, whatever the dates.
    assert span(one("spend last 30 days").shifted("month")) == ("2020-05-01", "2020-05-30")
    assert span(one("spend in June").shifted("month")) == ("2020-05-01", "2020-05-31")
