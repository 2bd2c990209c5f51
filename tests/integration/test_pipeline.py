"""The demo pipeline end to end: demo source -> raw -> dbt marts, through real Dagster runs."""

from datetime import date, timedelta
from decimal import Decimal

import psycopg2
import pytest

from ask.answerer import answer
from ask.scope import Scope
from tests.helpers import materialize_pipeline

pytestmark = pytest.mark.slow

COUNTED_TABLES = [
    "raw.customers",
    "raw.campaigns",
    "raw.ad_groups",
    "raw.ads",
    "raw.ad_daily_metrics",
    "raw.campaign_daily_metrics",
    "raw.tickets",
    "raw.ticket_comments",
    "analytics.campaign_daily",
    "analytics.account_daily",
]


def counts(cur) -> dict[str, int]:
    result = {}
    for table in COUNTED_TABLES:
        cur.execute(f"SELECT count(*) FROM {table}")
        result[table] = cur.fetchone()[0]
    return result


@pytest.fixture
def read(built_db):
    conn = psycopg2.connect(built_db.libpq)
    with conn.cursor() as cur:
        yield cur
    conn.close()


def test_every_stage_has_rows(read):
    found = counts(read)
    assert all(n > 0 for n in found.values()), found
    read.execute("SELECT count(*) FROM raw.campaign_daily_metrics")
    assert found["analytics.campaign_daily"] == read.fetchone()[0], "one mart row per campaign-day"


def test_accounts_registered_and_refreshed(read):
    read.execute("SELECT count(*), count(last_refreshed_at) FROM app.ad_accounts")
    total, refreshed = read.fetchone()
    assert total == refreshed == 3
    read.execute("SELECT status, count(*) FROM app.refresh_jobs GROUP BY status")
    assert dict(read.fetchall()) == {"completed": 3}


def test_account_spend_equals_raw_micros_to_the_cent(read):
    read.execute(
        "SELECT account_id, sum(cost_micros) FROM raw.campaign_daily_metrics "
        "WHERE date BETWEEN '2026-09-24' AND '2026-09-30' GROUP BY account_id ORDER BY account_id"
    )
    expected = {a: Decimal(m) / 1_000_000 for a, m in read.fetchall()}
    read.execute(
        "SELECT account_id, sum(cost) FROM analytics.account_daily "
        "WHERE date_day BETWEEN '2026-09-24' AND '2026-09-30' GROUP BY account_id ORDER BY account_id"
    )
    assert {a: round(c, 2) for a, c in read.fetchall()} == {a: round(c, 2) for a, c in expected.items()}
    assert all(v > 0 for v in expected.values())


def test_ratios_are_ratios_of_sums_and_null_without_denominator(read):
    read.execute("SELECT count(*) FROM analytics.campaign_daily WHERE impressions = 0 AND ctr IS NOT NULL")
    assert read.fetchone()[0] == 0
    read.execute(
        "SELECT bool_and(ctr = clicks::numeric / impressions) FROM analytics.account_daily WHERE impressions > 0"
    )
    assert read.fetchone()[0] is True


def test_days_older_than_the_conversion_window_are_final(read):
    # The shared build's data ends 2026-09-30 and was extracted today, over 30 days later.
    read.execute("SELECT count(*) FILTER (WHERE is_provisional), count(*) FROM analytics.account_daily")
    provisional, total = read.fetchone()
    assert provisional == 0 and total > 0


def test_rematerializing_is_idempotent_and_labels_recent_days_provisional(db, monkeypatch):
    yesterday = date.today() - timedelta(days=1)
    monkeypatch.setenv("BURRY_DEMO_END_DATE", yesterday.isoformat())
    materialize_pipeline()
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        first = counts(cur)
        cur.execute("SELECT sum(cost) FROM analytics.account_daily")
        first_spend = cur.fetchone()[0]

    materialize_pipeline()

    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        assert counts(cur) == first
        cur.execute("SELECT sum(cost) FROM analytics.account_daily")
        assert cur.fetchone()[0] == first_spend
        # The second refresh re-reads only the lookback window; the first backfilled 90 days.
        cur.execute("SELECT lookback_days, count(*) FROM app.refresh_jobs GROUP BY 1 ORDER BY 1")
        assert cur.fetchall() == [(30, 3), (90, 3)]
        # Days inside the 30-day conversion window (in the account's time zone) are provisional:
        # from its local today - 29. Per account: near midnight UTC, accounts in different zones
        # are on different days (Europe/Berlin is already on tomorrow from 23:00 UTC in winter).
        cur.execute(
            "SELECT account_id, min(date_day) FILTER (WHERE is_provisional), "
            "max(date_day) FILTER (WHERE NOT is_provisional) FROM analytics.account_daily GROUP BY 1"
        )
        boundaries = cur.fetchall()
        assert len(boundaries) == 3
        for account, first_provisional, last_final in boundaries:
            assert last_final + timedelta(days=1) == first_provisional, account
            assert yesterday - timedelta(days=29) <= first_provisional <= yesterday - timedelta(days=27), account
        # Answers say so where it matters: conversion figures, not spend.
        cur.execute("SELECT min(account_id) FROM app.ad_accounts")
        account_id = cur.fetchone()[0]
        scope = Scope(None, "test", (("google_ads", account_id),), ())
        conversions = answer(cur, scope, "How many conversions last 7 days?")
        spend = answer(cur, scope, "What was total spend last 7 days?")
        assert "7 of these days are provisional" in conversions.text
        assert "provisional" not in spend.text
        assert spend.facts[0]["provisional_days"] == 7, "the facts always carry the label"
