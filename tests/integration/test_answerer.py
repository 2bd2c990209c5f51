"""The grounded answerer over real data: the demo accounts and tickets, and the public datasets in
../shared/data imported with the shipped mappings. Every number is checked against an independent
computation (pandas over the source file, or SQL over the raw tables) — never against the marts
the answerer reads.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg2
import pytest

from ask.answerer import AdAnswerer, answer, load_accounts
from ask.scope import Scope
from ask.understanding import Intent, Named, NotUnderstood
from assets.imports.mapping import load_mapping
from assets.imports.write import import_file
from resources.database import connect
from resources.settings import MAPPINGS_DIR
from resources.settings import REPO_ROOT as REPO
from tests.helpers import (
    BURRY,
    DEMO_END_DATE,
    FIXTURES,
    KAGGLE_TICKETS,
    ONLINE_ADS,
    build_marts,
    create_database,
)

pytestmark = pytest.mark.skipif(not ONLINE_ADS.exists(), reason="needs shared/data beside the repo")

AS_OF_2020 = date(2020, 7, 1)
DEMO_AS_OF = date.fromisoformat(DEMO_END_DATE)
NORTHWIND = ("google_ads", "4216739015")


@pytest.fixture(scope="module")
def data_db(pg_server, built_db):
    """The demo pipeline's database plus both public datasets, imported and built."""
    _, admin_url = pg_server
    url = create_database(admin_url, template=built_db)
    env = {"PATH": str(Path(sys.executable).parent), "DATABASE_URL": url.libpq, "HOME": "/tmp"}
    for kind, file, mapping in (
        ("ads", ONLINE_ADS, "online_ads"),
        ("tickets", KAGGLE_TICKETS, "kaggle_support_tickets"),
    ):
        done = subprocess.run(
            [BURRY, "import", kind, str(file), "--mapping", mapping],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url.libpq)
        build_marts()
    return url


@pytest.fixture(scope="module")
def cur(data_db):
    conn = psycopg2.connect(data_db.libpq)
    conn.autocommit = True
    with conn.cursor() as cursor:
        yield cursor
    conn.close()


@pytest.fixture(scope="module")
def everything(cur) -> Scope:
    cur.execute("SELECT platform, account_id FROM app.ad_accounts ORDER BY 1, 2")
    accounts = tuple(cur.fetchall())
    cur.execute("SELECT DISTINCT source FROM raw.tickets ORDER BY 1")
    return Scope(1, "test", accounts, tuple(r[0] for r in cur.fetchall()))


@pytest.fixture(scope="module")
def online(everything) -> Scope:
    return everything.narrowed(account_id="online-ads-2020")


@pytest.fixture(scope="module")
def northwind(everything) -> Scope:
    return everything.narrowed(account_id=NORTHWIND[1])


@pytest.fixture(scope="module")
def ads() -> pd.DataFrame:
    """The online ads file as pandas reads it; the 6 exact duplicate rows count once, as imported."""
    frame = pd.read_csv(ONLINE_ADS).iloc[:, :12].drop_duplicates()
    frame["date"] = pd.to_datetime(frame["day"].astype(str) + " " + frame["month"] + " 2020", format="%d %B %Y")
    return frame


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    """The Kaggle file as pandas reads it, less the rows the import quarantines (resolved before first response)."""
    frame = pd.read_csv(KAGGLE_TICKETS)
    frame["resolved"] = pd.to_datetime(frame["Time to Resolution"], errors="coerce")
    frame["responded"] = pd.to_datetime(frame["First Response Time"], errors="coerce")
    return frame[~(frame.resolved < frame.responded)]


def close(value, expected) -> bool:
    value, expected = Decimal(str(value)), Decimal(str(expected))
    return abs(value - expected) <= Decimal("1e-6") * max(Decimal(1), abs(expected))


def ask(cur, scope, question, as_of, previous=None):
    result = answer(cur, scope, question, as_of, previous)
    assert result.route in ("metric_sql", "ticket_sql"), result.text
    return result


def in_month(frame, month):
    return frame[frame["date"].dt.month == month]


# --- the online ads dataset (pandas over the CSV) -----------------------------------------------


@pytest.mark.parametrize(
    "question, expected",
    [
        ("total spend in May 2020", lambda d: in_month(d, 5).cost.sum()),
        ("What was our spend in May?", lambda d: in_month(d, 5).cost.sum()),
        ("clicks for camp 1 in June", lambda d: in_month(d, 6).query("campaign_number == 'camp 1'").clicks.sum()),
        (
            "How many impressions did campaign camp 2 get all time?",
            lambda d: d.query("campaign_number == 'camp 2'").displays.sum(),
        ),
        (
            "spend for the week of 2020-05-04",
            lambda d: d[(d.date >= "2020-05-04") & (d.date <= "2020-05-10")].cost.sum(),
        ),
        (
            "spend from 2020-05-01 to 2020-05-15",
            lambda d: d[(d.date >= "2020-05-01") & (d.date <= "2020-05-15")].cost.sum(),
        ),
        ("revenue in Q2 2020", lambda d: d.post_click_sales_amount.sum()),
        ("conversions on April 15th", lambda d: d[d.date == "2020-04-15"].post_click_conversions.sum()),
        ("spend last month", lambda d: in_month(d, 6).cost.sum()),
        (
            "CTR for campaign camp 1 in May",
            lambda d: (
                in_month(d, 5).query("campaign_number == 'camp 1'").pipe(lambda x: x.clicks.sum() / x.displays.sum())
            ),
        ),
        ("ROAS all time", lambda d: d.post_click_sales_amount.sum() / d.cost.sum()),
        ("cost per click in April", lambda d: in_month(d, 4).pipe(lambda x: x.cost.sum() / x.clicks.sum())),
        (
            "CPA for camp 3 in 2020",
            lambda d: d.query("campaign_number == 'camp 3'").pipe(
                lambda x: x.cost.sum() / x.post_click_conversions.sum()
            ),
        ),
        (
            "revenue for the High engagement ad group in campaign camp 1 in May",
            lambda d: (
                in_month(d, 5)
                .query("campaign_number == 'camp 1' and user_engagement == 'High'")
                .post_click_sales_amount.sum()
            ),
        ),
        ("clicks in the last two weeks", lambda d: d[(d.date >= "2020-06-17") & (d.date <= "2020-06-30")].clicks.sum()),
        ("spend last week", lambda d: d[(d.date >= "2020-06-22") & (d.date <= "2020-06-28")].cost.sum()),
    ],
)
def test_online_ads_totals(cur, online, ads, question, expected):
    result = ask(cur, online, question, AS_OF_2020)
    assert len(result.facts) == 1
    assert close(result.facts[0]["value"], expected(ads)), (result.text, expected(ads))


def test_online_ads_average_per_day(cur, online, ads):
    result = ask(cur, online, "average daily clicks in April 2020", AS_OF_2020)
    assert close(result.facts[0]["value"], in_month(ads, 4).clicks.sum() / 30)
    assert "55,370.50" in result.text


def test_online_ads_breakdown_by_campaign(cur, online, ads):
    result = ask(cur, online, "spend by campaign all time", AS_OF_2020)
    expected = ads.groupby("campaign_number").cost.sum()
    got = {f["group"]: f["value"] for f in result.facts}
    assert set(got) == set(expected.index)
    for campaign, value in expected.items():
        assert close(got[campaign], value)


def test_online_ads_top_ad_groups_name_their_campaign(cur, online, ads):
    result = ask(cur, online, "top 2 ad groups by conversions in Q2 2020", AS_OF_2020)
    expected = ads.groupby(["campaign_number", "user_engagement"]).post_click_conversions.sum().nlargest(2)
    got = [(f["group"], f["value"]) for f in result.facts]
    assert [g for g, _ in got] == [f"{e} engagement (campaign {c})" for c, e in expected.index]
    assert all(close(v, e) for (_, v), e in zip(got, expected.values, strict=True))


def test_online_ads_weekly_and_monthly_trend(cur, online, ads):
    result = ask(cur, online, "monthly spend trend in 2020", AS_OF_2020)
    expected = ads.groupby(ads.date.dt.month).cost.sum()
    assert [Decimal(f["value"]) for f in result.facts] == [
        pytest.approx(Decimal(str(v)), rel=Decimal("1e-9")) for v in expected.values
    ]
    assert "-37.4%" in result.text  # May against April


def test_online_ads_comparison(cur, online, ads):
    result = ask(cur, online, "spend in April vs May", AS_OF_2020)
    april, may = in_month(ads, 4).cost.sum(), in_month(ads, 5).cost.sum()
    assert close(result.facts[0]["value"], april) and close(result.facts[1]["value"], may)
    assert f"{(may - april) / april * 100:.1f}%" in result.text


def test_online_ads_share(cur, online, ads):
    result = ask(cur, online, "what share of spend went to camp 3 in 2020", AS_OF_2020)
    share = ads.query("campaign_number == 'camp 3'").cost.sum() / ads.cost.sum()
    assert close(result.facts[0]["share"], share)
    assert f"{share * 100:.2f}%" in result.text


def test_online_ads_count_of_days(cur, online, ads):
    result = ask(cur, online, "how many days had clicks over 50000 in April", AS_OF_2020)
    daily = in_month(ads, 4).groupby("date").clicks.sum()
    assert len(result.facts[0]["days_matched"]) == int((daily > 50000).sum())
    assert result.text.startswith(f"{int((daily > 50000).sum())} of the 30 days")


def test_online_ads_follow_ups(cur, online, ads):
    first = ask(cur, online, "spend for camp 1 in May", AS_OF_2020)
    again = ask(cur, online, "and the month before?", AS_OF_2020, first.intent)
    assert close(again.facts[0]["value"], in_month(ads, 4).query("campaign_number == 'camp 1'").cost.sum())
    clicks = ask(cur, online, "what about clicks?", AS_OF_2020, again.intent)
    assert close(clicks.facts[0]["value"], in_month(ads, 4).query("campaign_number == 'camp 1'").clicks.sum())


# --- the Kaggle tickets (pandas over the CSV) ----------------------------------------------------


def test_kaggle_resolved_tickets_by_channel(cur, everything, tickets):
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    result = ask(cur, scope, "tickets resolved in 2023 by channel", date(2024, 1, 1))
    resolved = tickets[tickets.resolved.dt.year == 2023]
    expected = resolved.groupby(resolved["Ticket Channel"].str.lower().replace({"social media": "social"})).size()
    assert dict(result.facts[0]["values"]) == expected.to_dict()


def test_kaggle_created_counts_decline_without_creation_times(cur, everything):
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    # Once "0 tickets created": a count in a period (or an open backlog) needs creation times.
    for question in ("how many tickets were created in 2023", "how many open tickets"):
        result = answer(cur, scope, question, date(2024, 1, 1))
        assert result.route == "no_data" and result.facts == [], result.text
        assert "7,104" in result.text and "0 tickets" not in result.text


def test_kaggle_counts_without_a_period_count_every_ticket(cur, tickets):
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    assert ask(cur, scope, "how many tickets", date(2024, 1, 1)).facts[0]["value"] == len(tickets)
    result = ask(cur, scope, "how many tickets have status open", date(2024, 1, 1))
    assert result.facts[0]["value"] == int((tickets["Ticket Status"] == "Open").sum())
    result = ask(cur, scope, "tickets by status", date(2024, 1, 1))
    statuses = {"Open": "open", "Pending Customer Response": "pending", "Closed": "closed"}
    assert result.facts[0]["values"] == tickets["Ticket Status"].map(statuses).value_counts().to_dict()
    result = ask(cur, scope, "what share of tickets are critical", date(2024, 1, 1))
    assert (result.facts[0]["value"], result.facts[1]["value"]) == (
        int((tickets["Ticket Priority"] == "Critical").sum()),
        len(tickets),
    )


def test_kaggle_critical_tickets_resolved(cur, tickets):
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    result = ask(cur, scope, "Critical tickets resolved in 2023", date(2024, 1, 1))
    expected = tickets[(tickets.resolved.dt.year == 2023) & (tickets["Ticket Priority"] == "Critical")]
    assert result.facts[0]["value"] == len(expected)


# --- the demo data (SQL over the raw tables) -----------------------------------------------------


def raw_one(cur, sql, *params):
    cur.execute(sql, params)
    return cur.fetchone()[0]


ACCOUNT_COST = (
    "SELECT sum(cost_micros) / 1e6 FROM raw.campaign_daily_metrics WHERE platform = %s AND account_id = %s "
    "AND date BETWEEN %s AND %s"
)


def test_demo_spend_last_7_days(cur, northwind):
    result = ask(cur, northwind, "What was total spend last 7 days?", DEMO_AS_OF)
    expected = raw_one(cur, ACCOUNT_COST, *NORTHWIND, date(2026, 9, 23), date(2026, 9, 29))
    assert close(result.facts[0]["value"], expected)


def test_demo_campaign_ctr_is_the_campaigns_not_the_accounts(cur, northwind):
    result = ask(cur, northwind, "CTR for campaign Search | Brand last month", DEMO_AS_OF)
    clicks, impressions = raw_one(
        cur,
        "SELECT array[sum(m.clicks), sum(m.impressions)] FROM raw.campaign_daily_metrics m JOIN raw.campaigns c "
        "USING (platform, account_id, campaign_id) WHERE m.platform = %s AND m.account_id = %s AND c.name = 'Search | Brand' "
        "AND m.date BETWEEN '2026-08-01' AND '2026-08-31'",
        *NORTHWIND,
    )
    assert close(result.facts[0]["value"], Decimal(clicks) / Decimal(impressions))


def test_demo_spend_on_one_day(cur, northwind):
    result = ask(cur, northwind, "spend on September 3rd", DEMO_AS_OF)
    assert close(result.facts[0]["value"], raw_one(cur, ACCOUNT_COST, *NORTHWIND, date(2026, 9, 3), date(2026, 9, 3)))


def test_workspace_wide_money_is_per_currency(cur, everything):
    result = ask(cur, everything.narrowed(platform="google_ads"), "spend last month", DEMO_AS_OF)
    cur.execute(
        "SELECT a.currency_code, sum(m.cost_micros) / 1e6 FROM raw.campaign_daily_metrics m JOIN app.ad_accounts a "
        "USING (platform, account_id) WHERE m.platform = 'google_ads' AND m.date BETWEEN '2026-08-01' AND '2026-08-31' GROUP BY 1"
    )
    expected = dict(cur.fetchall())
    assert {f["unit"]: f["value"] for f in result.facts}.keys() == expected.keys()
    for fact in result.facts:
        assert close(fact["value"], expected[fact["unit"]])
    assert "never summed across currencies" in result.text


def test_demo_tickets_created_last_month_by_priority(cur, everything):
    scope = Scope(1, "test", (), ("demo",))
    result = ask(cur, scope, "tickets by priority last month", DEMO_AS_OF)
    cur.execute(
        "SELECT priority, count(*) FROM raw.tickets WHERE source = 'demo' AND (created_at AT TIME ZONE 'UTC')::date "
        "BETWEEN '2026-08-01' AND '2026-08-31' GROUP BY 1"
    )
    assert result.facts[0]["values"] == dict(cur.fetchall())


def test_demo_median_resolution_time(cur):
    scope = Scope(1, "test", (), ("demo",))
    result = ask(cur, scope, "median resolution time for urgent tickets last month", DEMO_AS_OF)
    expected = raw_one(
        cur,
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at) / 3600) "
        "FROM raw.tickets WHERE source = 'demo' AND priority = 'urgent' AND resolved_at IS NOT NULL "
        "AND (created_at AT TIME ZONE 'UTC')::date BETWEEN '2026-08-01' AND '2026-08-31'",
    )
    assert close(Decimal(result.facts[0]["stats"]["median"]), Decimal(str(expected)).quantize(Decimal("0.000001")))


def test_spend_per_urgent_ticket_joins_both_halves(cur, northwind):
    scope = Scope(1, "test", northwind.accounts, ("demo",))
    result = ask(cur, scope, "spend per urgent ticket last month", DEMO_AS_OF)
    cost = raw_one(cur, ACCOUNT_COST, *NORTHWIND, date(2026, 8, 1), date(2026, 8, 31))
    urgent = raw_one(
        cur,
        "SELECT count(*) FROM raw.tickets WHERE source = 'demo' AND priority = 'urgent' "
        "AND (created_at AT TIME ZONE 'UTC')::date BETWEEN '2026-08-01' AND '2026-08-31'",
    )
    assert result.facts[1]["value"] == urgent
    per_ticket = (Decimal(str(cost)) / urgent).quantize(Decimal("0.01"))
    assert f"${per_ticket:,}" in result.text


# --- what it must decline ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "What is the weather in Lisbon?",
        "spend for campaign camp 9 in May",
        "spend in 2031",
        "spend last 0 days",
        "clicks next week",
        "delete the online ads account",
        "SELECT sum(cost) FROM raw.ad_daily_metrics",
        "'; DROP TABLE app.ad_accounts; --",
        "spend excluding camp 1 in May",
        "best campaign in May",
        "budget utilisation in May",
        "spend in May by hour",
        "spend for camp 2 last month",  # camp 2 ran in April only: no data, not zero
        "Facebook spend in May",
        # each of these once gave a number that was not the one asked for
        "spend on May 5 and May 10",  # read as the six days May 5 – May 10
        "revenue per click in May",  # two totals side by side
        "top 3 campaigns by spend per week",  # the top 3 of the whole period
        "spend by campaign and platform in May",  # by campaign only
        "number of campaigns with spend in May",  # the spend
        "average monthly spend from April 10 to May 20",  # 41 days read as 2 months
        "how many days was CTR above 1 in April",  # 1 read as 100%
        "spend in May vs May",
        "camp 1 vs camp 3 spend in April vs May",  # both campaigns summed
        "average daily spend for camp 1 and camp 3 in May",  # both campaigns summed
        "spend until May 15",  # the single day May 15
        "spend through May",  # May alone
        "what share of spend did camp 1 get by week in May",  # the "by week" dropped
        "how many days was spend over €2000 in May",  # counted days over $2,000: the € dropped
    ],
)
def test_declines_state_no_number(cur, online, question):
    result = answer(cur, online, question, AS_OF_2020)
    assert result.route not in ("metric_sql", "ticket_sql"), result.text
    assert result.facts == []
    # The only digits in a decline are the ones in the question, dates and the data's coverage.
    assert "$" not in result.text and "%" not in result.text


def test_demo_share_of_urgent_tickets(cur):
    scope = Scope(1, "test", (), ("demo",))
    result = ask(cur, scope, "what share of tickets were urgent last month", DEMO_AS_OF)
    cur.execute(
        "SELECT count(*) FILTER (WHERE priority = 'urgent'), count(*) FROM raw.tickets WHERE source = 'demo' "
        "AND (created_at AT TIME ZONE 'UTC')::date BETWEEN '2026-08-01' AND '2026-08-31'"
    )
    urgent, total = cur.fetchone()
    assert (result.facts[0]["value"], result.facts[1]["value"]) == (urgent, total)
    assert f"{Decimal(urgent) / total * 100:.1f}%" in result.text


def test_online_ads_day_with_the_highest_spend(cur, online, ads):
    result = ask(cur, online, "which day had the highest spend in May", AS_OF_2020)
    daily = in_month(ads, 5).groupby("date").cost.sum()
    assert close(result.facts[0]["value"], daily.max())
    assert f"{daily.idxmax():%b %-d}" in result.text


def test_online_ads_rank_campaigns(cur, online, ads):
    result = ask(cur, online, "rank campaigns by clicks in June", AS_OF_2020)
    expected = in_month(ads, 6).groupby("campaign_number").clicks.sum().sort_values(ascending=False)
    assert [f["group"] for f in result.facts] == list(expected.index)


def test_tickets_outside_the_data_are_no_data_not_zero(cur):
    scope = Scope(1, "test", (), ("demo",))
    result = answer(cur, scope, "how many tickets were created in 2001", DEMO_AS_OF)
    assert result.route == "no_data" and "Ticket data runs from" in result.text


def test_two_campaigns_get_one_figure_each_not_their_sum(cur, online, ads):
    result = ask(cur, online, "spend for camp 1 and camp 2 in April", AS_OF_2020)
    expected = in_month(ads, 4).groupby("campaign_number").cost.sum()
    assert {f["group"]: f["value"] for f in result.facts}.keys() == {"camp 1", "camp 2"}
    for fact in result.facts:
        assert close(fact["value"], expected[fact["group"]])


def test_several_metrics_by_campaign(cur, online, ads):
    result = ask(cur, online, "spend and clicks by campaign in May", AS_OF_2020)
    expected = in_month(ads, 5).groupby("campaign_number")[["cost", "clicks"]].sum()
    got = {(f["group"], f["metric"]): f["value"] for f in result.facts}
    for campaign, row in expected.iterrows():
        assert close(got[(campaign, "cost")], row.cost) and close(got[(campaign, "clicks")], row.clicks)


# --- red-team regressions (each once gave a wrong or misleading number) --------------------------


def test_online_ads_days_with_ctr_over_a_percentage(cur, online, ads):
    # "above 1%" once meant above 100%: 0 days.
    result = ask(cur, online, "how many days was CTR above 1% in April", AS_OF_2020)
    daily = in_month(ads, 4).groupby("date")[["clicks", "displays"]].sum()
    expected = int((daily.clicks / daily.displays > 0.01).sum())
    assert len(result.facts[0]["days_matched"]) == expected
    assert result.text.startswith(f"{expected} of the 30 days")


def test_online_ads_what_percent_of_spend_over_all_the_data(cur, online, ads):
    # Once the campaign's total spend (the "%" was dropped), then its share of April only.
    result = ask(cur, online, "what % of spend was camp 2", AS_OF_2020)
    share = ads.query("campaign_number == 'camp 2'").cost.sum() / ads.cost.sum()
    assert close(result.facts[0]["share"], share)
    assert f"{share * 100:.2f}%" in result.text


def test_online_ads_two_campaigns_compared_over_one_period(cur, online, ads):
    # Once both campaigns' May summed and set against an invented "previous 31 days".
    result = ask(cur, online, "camp 1 vs camp 3 spend in May", AS_OF_2020)
    expected = in_month(ads, 5).groupby("campaign_number").cost.sum()
    assert {f["group"] for f in result.facts} == {"camp 1", "camp 3"}
    for fact in result.facts:
        assert close(fact["value"], expected[fact["group"]])


def test_online_ads_previous_window_is_the_days_before(cur, online, ads):
    # Once the same 14 days twice: "±$0.00 (0.0%)".
    result = ask(cur, online, "spend last 2 weeks vs previous 2 weeks", AS_OF_2020)
    earlier = ads[(ads.date >= "2020-06-03") & (ads.date <= "2020-06-16")].cost.sum()
    later = ads[(ads.date >= "2020-06-17") & (ads.date <= "2020-06-30")].cost.sum()
    assert close(result.facts[0]["value"], earlier) and close(result.facts[1]["value"], later)


def test_online_ads_did_spend_rise_compares_with_the_month_before(cur, online, ads):
    result = ask(cur, online, "did spend rise in June?", AS_OF_2020)
    may, june = in_month(ads, 5).cost.sum(), in_month(ads, 6).cost.sum()
    assert close(result.facts[0]["value"], may) and close(result.facts[1]["value"], june)
    assert f"{(june - may) / may * 100:.1f}%" in result.text


def test_online_ads_top_ads_name_their_campaign(cur, online, ads):
    # The same banner and placement run in every ad group: the label must say which one.
    result = ask(cur, online, "top 3 ads by CTR in May", AS_OF_2020)
    keys = ["campaign_number", "user_engagement", "banner", "placement"]
    sums = in_month(ads, 5).groupby(keys, dropna=False)[["clicks", "displays"]].sum()
    expected = (sums.clicks / sums.displays).nlargest(3)
    labels = [
        f"{b} | {'' if pd.isna(p) else p}".strip() + f" (ad group {e} engagement, campaign {c})"
        for c, e, b, p in expected.index
    ]
    assert [f["group"] for f in result.facts] == labels
    assert all(close(f["value"], v) for f, v in zip(result.facts, expected.values, strict=True))


def test_online_ads_days_without_clicks_count_the_accounts_days(cur, online, ads):
    # camp 2 ran in April only: May and June had no clicks for it (once "0 of the 30 days").
    result = ask(cur, online, "on how many days did camp 2 get no clicks in Q2 2020", AS_OF_2020)
    days = pd.date_range("2020-04-01", "2020-06-30")
    clicks = ads.query("campaign_number == 'camp 2'").groupby("date").clicks.sum().reindex(days, fill_value=0)
    assert len(result.facts[0]["days_matched"]) == int((clicks == 0).sum())
    average = ask(cur, online, "average daily clicks for camp 2 in Q2", AS_OF_2020)
    assert close(average.facts[0]["value"], ads.query("campaign_number == 'camp 2'").clicks.sum() / len(days))


def test_online_ads_follow_up_keeps_the_breakdown(cur, online, ads):
    first = ask(cur, online, "spend by campaign in May", AS_OF_2020)
    again = ask(cur, online, "and the month before?", AS_OF_2020, first.intent)
    expected = in_month(ads, 4).groupby("campaign_number").cost.sum()
    assert {f["group"]: f["value"] for f in again.facts}.keys() == set(expected.index)
    for fact in again.facts:
        assert close(fact["value"], expected[fact["group"]])


def test_demo_a_filter_with_no_tickets_in_the_period_is_zero_not_no_data(cur):
    # Once "Ticket data runs from 2026-09-22": the coverage of solved tickets, not of the source.
    scope = Scope(1, "test", (), ("demo",))
    result = ask(cur, scope, "how many tickets with status solved last month", DEMO_AS_OF)
    expected = raw_one(
        cur,
        "SELECT count(*) FROM raw.tickets WHERE source = 'demo' AND status = 'solved' "
        "AND (created_at AT TIME ZONE 'UTC')::date BETWEEN '2026-08-01' AND '2026-08-31'",
    )
    assert result.facts[0]["value"] == expected


def test_demo_share_of_an_account_is_of_every_account(cur, everything):
    # Once "100.00% of the total of its account".
    scope = everything.narrowed(platform="google_ads")
    result = ask(cur, scope, "what share of clicks came from Northwind Outdoor last month", DEMO_AS_OF)
    cur.execute(
        "SELECT sum(clicks) FILTER (WHERE account_id = %s), sum(clicks) FROM raw.campaign_daily_metrics "
        "WHERE platform = 'google_ads' AND date BETWEEN '2026-08-01' AND '2026-08-31'",
        (NORTHWIND[1],),
    )
    part, whole = cur.fetchone()
    assert close(result.facts[0]["share"], Decimal(part) / Decimal(whole))
    money = answer(cur, scope, "what share of spend went to Northwind Outdoor last month", DEMO_AS_OF)
    assert money.facts == [] and "different currencies" in money.text


def test_demo_ticket_follow_up_with_a_new_filter(cur):
    scope = Scope(1, "test", (), ("demo",))
    first = ask(cur, scope, "how many urgent tickets last month", DEMO_AS_OF)
    high = ask(cur, scope, "what about high?", DEMO_AS_OF, first.intent)
    expected = raw_one(
        cur,
        "SELECT count(*) FROM raw.tickets WHERE source = 'demo' AND priority = 'high' "
        "AND (created_at AT TIME ZONE 'UTC')::date BETWEEN '2026-08-01' AND '2026-08-31'",
    )
    assert high.facts[0]["value"] == expected


def test_demo_average_per_month_needs_whole_months(cur, northwind):
    # The demo data starts on Jul 3: "this year" is not 3 whole months.
    result = answer(cur, northwind, "average monthly spend this year", DEMO_AS_OF)
    assert result.route == "unsupported_shape" and result.facts == []


def test_online_ads_worst_campaign_by_cpa_is_the_highest(cur, online, ads):
    # Once the campaign with the lowest (best) CPA.
    result = ask(cur, online, "worst campaign by CPA in May", AS_OF_2020)
    sums = in_month(ads, 5).groupby("campaign_number")[["cost", "post_click_conversions"]].sum()
    cpa = sums.cost / sums.post_click_conversions
    assert result.facts[0]["group"] == cpa.idxmax() and close(result.facts[0]["value"], cpa.max())


def test_online_ads_days_over_a_threshold_in_the_last_n_days(cur, online, ads):
    result = ask(cur, online, "how many days had spend over 3000 in the last 30 days", date(2020, 4, 10))
    daily = ads[(ads.date >= "2020-03-11") & (ads.date <= "2020-04-09")].groupby("date").cost.sum()
    assert len(result.facts[0]["days_matched"]) == int((daily > 3000).sum())


def test_online_ads_since_the_start_of_a_month(cur, online, ads):
    # Once May alone (read as "since the start" = all time, plus May).
    result = ask(cur, online, "spend since the start of May", AS_OF_2020)
    assert close(result.facts[0]["value"], ads[ads.date >= "2020-05-01"].cost.sum())


def test_demo_open_urgent_tickets_are_the_unresolved_ones(cur):
    # Once the status "open" (0 tickets) rather than the urgent tickets still unresolved.
    scope = Scope(1, "test", (), ("demo",))
    result = ask(cur, scope, "open urgent tickets", DEMO_AS_OF)
    expected = raw_one(
        cur,
        "SELECT count(*) FROM raw.tickets WHERE source = 'demo' AND priority = 'urgent' "
        "AND (created_at AT TIME ZONE 'UTC')::date <= '2026-09-30' "
        "AND (resolved_at IS NULL OR (resolved_at AT TIME ZONE 'UTC')::date > '2026-09-30')",
    )
    assert result.facts[0]["value"] == expected


def test_online_ads_shares_of_two_campaigns_are_of_the_account(cur, online, ads):
    # Once of the two campaigns' own sum (80.16% + 19.84%).
    result = ask(cur, online, "what share of spend went to camp 1 and camp 2 in April", AS_OF_2020)
    april = in_month(ads, 4)
    expected = april.groupby("campaign_number").cost.sum() / april.cost.sum()
    assert {f["group"] for f in result.facts} == {"camp 1", "camp 2"}
    for fact in result.facts:
        assert close(fact["share"], expected[fact["group"]])


def test_online_ads_share_by_ad_group_within_a_campaign(cur, online, ads):
    result = ask(cur, online, "share of spend by ad group in camp 1 in May", AS_OF_2020)
    may = in_month(ads, 5).query("campaign_number == 'camp 1'")
    expected = may.groupby("user_engagement").cost.sum() / may.cost.sum()
    got = {f["group"]: f["share"] for f in result.facts}
    assert got.keys() == {f"{e} engagement (campaign camp 1)" for e in expected.index}
    for engagement, share in expected.items():
        assert close(got[f"{engagement} engagement (campaign camp 1)"], share)


def test_online_ads_all_the_data_stops_at_the_as_of_date(cur, online, ads):
    # As of May 20 the data runs to Jun 30: "spend" once summed Apr 1 - Jun 30, 15 days after "today".
    as_of = date(2020, 5, 20)
    so_far = ads[ads.date <= "2020-05-20"]
    result = ask(cur, online, "spend", as_of)
    assert close(result.facts[0]["value"], so_far.cost.sum())
    assert result.facts[0]["period_end"] == "2020-05-20"
    assert "Apr 1 – May 20, 2020" in result.text and "up to today" in result.text
    days = ask(cur, online, "how many days had spend over 2000", as_of)
    daily = so_far.groupby("date").cost.sum()
    assert days.facts[0]["days_checked"] == 50
    assert len(days.facts[0]["days_matched"]) == int((daily > 2000).sum())
    assert days.text.startswith(f"{int((daily > 2000).sum())} of the 50 days")
    by_campaign = ask(cur, online, "spend by campaign", as_of)
    expected = so_far.groupby("campaign_number").cost.sum()
    assert {f["group"]: Decimal(f["value"]) for f in by_campaign.facts}.keys() == set(expected.index)
    for fact in by_campaign.facts:
        assert close(fact["value"], expected[fact["group"]])
    average = ask(cur, online, "average daily spend", as_of)
    assert close(average.facts[0]["value"], so_far.cost.sum() / 50)
    share = ask(cur, online, "what share of spend went to camp 2", as_of)
    assert close(share.facts[0]["share"], so_far.query("campaign_number == 'camp 2'").cost.sum() / so_far.cost.sum())
    before = answer(cur, online, "spend", date(2020, 3, 1))
    assert before.route == "no_data" and before.facts == [], before.text


def test_kaggle_all_the_data_stops_at_the_as_of_date(cur, tickets):
    # Tickets were resolved May 31 - Jun 2, 2023: as of Jun 1, Jun 2 is in the future.
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    as_of = date(2023, 6, 1)
    resolved = tickets[tickets.resolved.dt.date <= as_of]
    by_day = ask(cur, scope, "tickets resolved by day", as_of)
    assert by_day.facts[0]["values"] == {
        str(day): count for day, count in resolved.groupby(resolved.resolved.dt.date).size().items()
    }
    average = ask(cur, scope, "average daily tickets resolved", as_of)
    assert average.facts[0]["value"] == len(resolved) and average.facts[0]["divisor"] == "2"


def test_demo_tickets_without_a_period_stop_at_the_as_of_date(cur):
    # "How many tickets" as of Aug 31 once counted September's tickets too.
    scope = Scope(1, "test", (), ("demo",))
    result = ask(cur, scope, "how many tickets", date(2026, 8, 31))
    expected = raw_one(
        cur,
        "SELECT count(*) FROM raw.tickets WHERE source = 'demo' "
        "AND (created_at IS NULL OR (created_at AT TIME ZONE 'UTC')::date <= '2026-08-31')",
    )
    assert result.facts[0]["value"] == expected and "created after today" in result.text
    assert expected < raw_one(cur, "SELECT count(*) FROM raw.tickets WHERE source = 'demo'")


def test_online_ads_previous_30_days_are_30_days_even_when_the_last_30_are_a_month(cur, online, ads):
    # As of Jul 1 the last 30 days are Jun 1-30; the previous 30 days were once all of May (31 days).
    may_2_to_31 = ads[(ads.date >= "2020-05-02") & (ads.date <= "2020-05-31")].cost.sum()
    june = in_month(ads, 6).cost.sum()
    for question in ("spend last 30 days vs previous 30 days", "spend last 30 days vs the previous period"):
        result = ask(cur, online, question, AS_OF_2020)
        assert (result.facts[0]["period_start"], result.facts[0]["period_end"]) == ("2020-05-02", "2020-05-31")
        assert close(result.facts[0]["value"], may_2_to_31) and close(result.facts[1]["value"], june)
        assert f"{(june - may_2_to_31) / may_2_to_31 * 100:.1f}%" in result.text, result.text


def test_online_ads_share_of_a_named_campaign_is_of_that_campaign(cur, online, ads):
    # Once 81.82% "of its account": the campaign the question named was dropped from the whole.
    result = ask(cur, online, "what share of camp 1 spend came from the High engagement ad group", AS_OF_2020)
    camp_1 = ads.query("campaign_number == 'camp 1'")
    share = camp_1.query("user_engagement == 'High'").cost.sum() / camp_1.cost.sum()
    assert close(result.facts[0]["share"], share) and close(result.facts[0]["total"], camp_1.cost.sum())
    assert f"{share * 100:.2f}%" in result.text and "camp 1" in result.text.splitlines()[0], result.text
    assert "ad_group_id" in result.facts[0]["source"]  # the part's own query, not the whole's


def test_online_ads_share_of_a_part_outside_the_named_parent_is_declined(cur, online):
    # camp 1's High engagement ad group has no share of camp 2 to give: not a 0%, a decline.
    intent = Intent(
        metrics=["cost"],
        shape="share",
        entities=[
            Named("campaign", "camp 2", "online_ads", "online-ads-2020", "camp 2"),
            Named("ad_group", "High engagement", "online_ads", "online-ads-2020", "camp 1 / High engagement"),
        ],
    )
    with pytest.raises(NotUnderstood, match="part of campaign 'camp 2'"):
        AdAnswerer(cur, load_accounts(cur, online), intent, AS_OF_2020).run()


def test_online_ads_comparison_facts_carry_their_own_query(cur, online, ads):
    # Once the April fact showed May's SQL: the audit trail must match the value beside it.
    result = ask(cur, online, "clicks in May vs April", AS_OF_2020)
    april, may = result.facts
    assert close(april["value"], in_month(ads, 4).clicks.sum()) and close(may["value"], in_month(ads, 5).clicks.sum())
    assert "BETWEEN '2020-04-01' AND '2020-04-30'" in april["source"]
    assert "BETWEEN '2020-05-01' AND '2020-05-31'" in may["source"]


def test_online_ads_share_with_no_part_in_the_period_is_zero(cur, online, ads):
    # camp 2 ran in April only: its share of June was once a heading with nothing under it.
    result = ask(cur, online, "what share of spend went to camp 2 in June", AS_OF_2020)
    assert len(result.facts) == 1
    assert Decimal(result.facts[0]["value"]) == 0 and Decimal(result.facts[0]["share"]) == 0
    assert close(result.facts[0]["total"], in_month(ads, 6).cost.sum())
    assert "0.00%" in result.text and "no spend" in result.text, result.text
    both = ask(cur, online, "what share of spend went to camp 1 and camp 2 in June", AS_OF_2020)
    shares = {f["group"]: Decimal(f["share"]) for f in both.facts}
    assert shares.keys() == {"camp 1", "camp 2"} and shares["camp 2"] == 0, both.text


def test_spend_per_ticket_over_several_currencies_is_declined(cur, everything):
    # Once each currency's spend over all the workspace's urgent tickets, side by side.
    scope = Scope(1, "test", everything.narrowed(platform="google_ads").accounts, ("demo",))
    result = answer(cur, scope, "spend per urgent ticket last month", DEMO_AS_OF)
    assert result.route == "unsupported_shape" and result.facts == []
    clicks = ask(cur, scope, "clicks per urgent ticket last month", DEMO_AS_OF)
    total = raw_one(
        cur,
        "SELECT sum(clicks) FROM raw.campaign_daily_metrics WHERE platform = 'google_ads' "
        "AND date BETWEEN '2026-08-01' AND '2026-08-31'",
    )
    assert close(clicks.facts[0]["value"], total)


# --- other export shapes (red-team round 2): a Google Ads UI report with campaign names that
# contain one another, a Meta ad-set export (no ads) in GBP in another time zone, two ticket
# sources (a helpdesk JSONL with offsets, Jira). Checked against pandas over the generated files.

SHAPES_AS_OF = date(2026, 10, 1)
SHAPES_GOOGLE = "3216540987"
SHAPES_META = "7770001"


def _shapes_frames() -> dict[str, pd.DataFrame]:
    """Deterministic exports' contents: Aug 1 - Sep 30 2026, 'Brand - UK' stopping on Sep 15."""
    import numpy as np

    rng = np.random.default_rng(7)
    days = pd.date_range("2026-08-01", "2026-09-30", freq="D")
    google, meta = [], []
    for campaign in ["Brand", "Brand - US", "Brand - UK", "Shopping"]:
        for ad in ("11", "12"):
            for day in days:
                if campaign == "Brand - UK" and day > pd.Timestamp("2026-09-15"):
                    continue
                impressions = int(rng.integers(200, 4000))
                clicks = int(rng.binomial(impressions, 0.05))
                conversions = int(rng.binomial(clicks, 0.1))
                if campaign == "Shopping" and day == pd.Timestamp("2026-09-10"):
                    conversions = 0  # spend without a conversion: no CPA that day
                google.append(
                    {
                        "date": day,
                        "campaign": campaign,
                        "ad": f"{campaign[:2]}{ad}",
                        "impressions": impressions,
                        "clicks": clicks,
                        "cost": round(clicks * float(rng.uniform(0.4, 2.0)), 2),
                        "conversions": conversions,
                        "value": round(conversions * float(rng.uniform(20, 80)), 2),
                    }
                )
    for campaign, ad_set in [("Summer Sale", "Broad"), ("Summer Sale", "Lookalike 1%"), ("Always On", "Broad")]:
        for day in days:
            impressions = int(rng.integers(500, 9000))
            clicks = int(rng.binomial(impressions, 0.015))
            conversions = int(rng.binomial(clicks, 0.05))
            meta.append(
                {
                    "date": day,
                    "campaign": campaign,
                    "ad_group": ad_set,
                    "impressions": impressions,
                    "clicks": clicks,
                    "cost": round(impressions / 1000 * float(rng.uniform(3, 9)), 2),
                    "conversions": conversions,
                    "value": round(conversions * float(rng.uniform(30, 120)), 2),
                }
            )
    created = pd.Timestamp("2026-08-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 61 * 24 * 60, 120), unit="min")
    tickets = pd.DataFrame(
        {
            "id": range(5000, 5120),
            "created": created,
            "offset": [["Z", "+09:00", "-05:00", "+02:00"][i % 4] for i in range(120)],
            "priority": rng.choice(["urgent", "high", "normal", "low"], 120),
            # every tenth is marked solved without a solved_at (an export that lost it)
            "status": ["solved" if i % 10 == 0 else "open" for i in range(120)],
        }
    )
    return {"google": pd.DataFrame(google), "meta": pd.DataFrame(meta), "tickets": tickets}


@pytest.fixture(scope="module")
def shapes(pg_server, tmp_path_factory):
    from orchestration import migrate

    frames = _shapes_frames()
    folder = tmp_path_factory.mktemp("shapes")
    google = frames["google"]
    with open(folder / "google.csv", "w") as out:
        out.write('Ad performance report\n"August 1, 2026 - September 30, 2026"\n')
        pd.DataFrame(
            {
                "Day": google.date.dt.strftime("%Y-%m-%d"),
                "Customer ID": "321-654-0987",
                "Campaign": google.campaign,
                "Ad group": google.campaign + " AG",
                "Ad ID": google.ad,
                "Currency code": "USD",
                "Impr.": google.impressions.map(lambda v: f"{v:,}"),
                "Clicks": google.clicks,
                "Cost": google.cost.map(lambda v: f"{v:,.2f}"),
                "Conversions": google.conversions.map(lambda v: f"{v:.2f}" if v else "--"),
                "Conv. value": google.value.map(lambda v: f"{v:,.2f}" if v else "--"),
            }
        ).to_csv(out, index=False)
    meta = frames["meta"]
    pd.DataFrame(
        {
            "Day": meta.date.dt.strftime("%Y-%m-%d"),
            "Account ID": f"act_{SHAPES_META}",
            "Account name": "Shapes UK",
            "Campaign name": meta.campaign,
            "Ad set name": meta.ad_group,
            "Currency": "GBP",
            "Impressions": meta.impressions,
            "Link clicks": meta.clicks.map(lambda v: v or ""),
            "Amount spent (GBP)": meta.cost,
            "Purchases": meta.conversions.map(lambda v: v or ""),
            "Purchases conversion value": [v if c else "" for v, c in zip(meta.value, meta.conversions, strict=True)],
        }
    ).to_csv(folder / "meta_ad_sets.csv", index=False)
    mapping = (REPO / "mappings" / "meta_ads_manager_ad_sets.yml").read_text()
    (folder / "meta_sydney.yml").write_text(
        mapping.replace("name: meta_ads_manager_ad_sets", "name: meta_sydney") + "time_zone: Australia/Sydney\n"
    )
    with open(folder / "helpdesk.jsonl", "w") as out:
        for row in frames["tickets"].itertuples():
            shift = pd.Timedelta(0) if row.offset == "Z" else pd.Timedelta(hours=int(row.offset[:3]))
            local = (row.created + shift).strftime("%Y-%m-%dT%H:%M:%S") + row.offset
            out.write(
                f'{{"id": {row.id}, "subject": "t", "priority": "{row.priority}", "status": "{row.status}", "via": "email", '
                f'"created_at": "{local}", "first_reply_at": null, "solved_at": null, "comments": []}}\n'
            )
    _, admin_url = pg_server
    url = create_database(admin_url)
    migrate.upgrade(url)
    env = {"PATH": str(Path(sys.executable).parent), "DATABASE_URL": url.libpq, "HOME": "/tmp"}
    for kind, file, mapping_name in (
        ("ads", folder / "google.csv", "google_ads_ui"),
        ("ads", folder / "meta_ad_sets.csv", str(folder / "meta_sydney.yml")),
        ("tickets", folder / "helpdesk.jsonl", str(FIXTURES / "helpdesk_tickets.yml")),
        ("tickets", FIXTURES / "jira_export.csv", "jira"),
    ):
        done = subprocess.run(
            [BURRY, "import", kind, str(file), "--mapping", mapping_name],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url.libpq)
        build_marts()
    conn = psycopg2.connect(url.libpq)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT platform, account_id FROM app.ad_accounts ORDER BY 1, 2")
        scope = Scope(1, "shapes", tuple(cursor.fetchall()), ("helpdesk", "jira"))
        yield cursor, scope, frames
    conn.close()


def _september(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame.date.dt.month == 9]


def test_shapes_ad_set_questions_are_answered_not_refused(shapes):
    # "ad set" once matched the refusal of write commands ("set"): every Meta ad-set question was refused.
    cur, scope, frames = shapes
    september = _september(frames["meta"])
    result = ask(cur, scope, "CPA for ad set Lookalike 1% last month", SHAPES_AS_OF)
    lookalike = september[september.ad_group == "Lookalike 1%"]
    assert close(result.facts[0]["value"], lookalike.cost.sum() / lookalike.conversions.sum())
    by_set = ask(cur, scope.narrowed(account_id=SHAPES_META), "spend by ad set last month", SHAPES_AS_OF)
    expected = september.groupby(["campaign", "ad_group"]).cost.sum()
    got = {f["group"]: f["value"] for f in by_set.facts}
    assert got.keys() == {f"{s} (campaign {c})" for c, s in expected.index}
    for (campaign, ad_set), value in expected.items():
        assert close(got[f"{ad_set} (campaign {campaign})"], value)


def test_shapes_per_ad_on_an_ad_set_export_says_there_are_no_ads(shapes):
    # Once "There is no data for Shapes UK yet (last refreshed never)": the data is there, per ad set.
    cur, scope, _ = shapes
    result = answer(cur, scope.narrowed(account_id=SHAPES_META), "spend by ad last month", SHAPES_AS_OF)
    assert result.route == "no_data" and result.facts == []
    assert "no ads, only ad groups (ad sets)" in result.text and "yet" not in result.text


def test_shapes_a_campaign_family_is_asked_back_and_one_name_is_exact(shapes):
    # "Brand campaigns" once gave campaign 'Brand' alone, while 'Brand - US' and 'Brand - UK' exist.
    cur, scope, frames = shapes
    family = answer(cur, scope, "spend for Brand campaigns last month", SHAPES_AS_OF)
    assert family.route == "ambiguous" and family.facts == []
    one = ask(cur, scope, "spend for the Brand campaign last month", SHAPES_AS_OF)
    september = _september(frames["google"])
    assert close(one.facts[0]["value"], september[september.campaign == "Brand"].cost.sum())


def test_shapes_a_campaign_that_stopped_is_not_stale_data(shapes):
    # Once "This data wasn't in our latest refresh ... `burry refresh all` fetches newer days": the
    # account has those days, the campaign stopped on Sep 15.
    cur, scope, _ = shapes
    result = answer(cur, scope, "CPC for Brand - UK last week", SHAPES_AS_OF)
    assert result.route == "no_data" and result.facts == []
    assert "2026-09-15" in result.text and "refresh" not in result.text


@pytest.mark.parametrize(
    "question, frame, day",
    [
        ("spend for 321-654-0987 yesterday", "google", "2026-09-30"),
        ("spend for act_7770001 yesterday", "meta", "2026-09-30"),
    ],
)
def test_shapes_account_ids_as_exports_write_them(shapes, question, frame, day):
    cur, scope, frames = shapes
    result = ask(cur, scope, question, SHAPES_AS_OF)
    data = frames[frame]
    assert close(result.facts[0]["value"], data[data.date == day].cost.sum())


def test_shapes_a_named_ticket_source_is_a_filter(shapes):
    # "helpdesk" was filler: "how many helpdesk tickets" counted every source's tickets.
    cur, scope, frames = shapes
    result = ask(cur, scope, "how many helpdesk tickets were created in September", SHAPES_AS_OF)
    created = frames["tickets"].created
    assert result.facts[0]["value"] == int((created.dt.month == 9).sum())  # support days are UTC dates
    apart = ask(cur, scope, "how many help desk tickets were created in September", SHAPES_AS_OF)
    assert apart.facts[0]["value"] == result.facts[0]["value"]
    every = ask(cur, scope, "how many tickets were created in September", SHAPES_AS_OF)
    cur.execute(
        "SELECT count(*) FROM raw.tickets WHERE source = 'jira' "
        "AND created_at >= '2026-09-01 00:00+00' AND created_at < '2026-10-01 00:00+00'"
    )
    jira = cur.fetchone()[0]
    assert jira > 0 and every.facts[0]["value"] == result.facts[0]["value"] + jira


def test_shapes_today_is_the_named_accounts_own(shapes, monkeypatch):
    # Without as_of, a workspace of several time zones took UTC's today for everything: at 20:30 UTC
    # on Sep 30 an account in Sydney (Oct 1 there) got Sep 29 as "yesterday". Ticket days are UTC.
    import ask.answerer as answerer_module

    class At(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 9, 30, 20, 30, tzinfo=UTC).astimezone(tz)

    monkeypatch.setattr(answerer_module, "datetime", At)
    cur, scope, frames = shapes
    sydney = ask(cur, scope, "spend for Shapes UK yesterday", None)
    meta = frames["meta"]
    assert "Sep 30, 2026" in sydney.text
    assert close(sydney.facts[0]["value"], meta[meta.date == "2026-09-30"].cost.sum())
    utc = ask(cur, scope, "spend for 321-654-0987 yesterday", None)
    google = frames["google"]
    assert "Sep 29, 2026" in utc.text
    assert close(utc.facts[0]["value"], google[google.date == "2026-09-29"].cost.sum())
    tickets = ask(cur, scope, "how many helpdesk tickets were created yesterday", None)
    created = frames["tickets"].created
    assert tickets.facts[0]["value"] == int((created.dt.strftime("%Y-%m-%d") == "2026-09-29").sum())


def test_shapes_share_of_tickets_by_priority_gives_shares(shapes):
    # Once the counts alone, as a plain breakdown: the shares asked for were not there.
    cur, scope, frames = shapes
    result = ask(cur, scope, "share of helpdesk tickets by priority in September", SHAPES_AS_OF)
    tickets = frames["tickets"]
    expected = tickets[tickets.created.dt.month == 9].priority.value_counts()
    fact = result.facts[0]
    assert fact["values"] == expected.to_dict() and fact["total"] == expected.sum()
    for priority, count in expected.items():
        assert close(fact["shares"][priority], count / expected.sum())
        assert f"{priority}: {count:,} of {expected.sum():,} = {count / expected.sum() * 100:.2f}%" in result.text


def test_shapes_backlog_says_when_it_counts_solved_tickets_without_a_resolution_time(shapes):
    # Tickets marked solved with no solved_at were counted as open without a word.
    cur, scope, frames = shapes
    result = ask(cur, scope, "how many helpdesk tickets are open", SHAPES_AS_OF)
    tickets = frames["tickets"]  # none has a solved_at: all are open by their timestamps
    assert result.facts[0]["value"] == len(tickets)
    unstamped = int((tickets.status == "solved").sum())
    assert result.facts[0]["solved_or_closed_without_resolution_time"] == unstamped
    assert f"{unstamped} of them are marked solved or closed but have no resolution time" in result.text


def test_shapes_worst_cpa_names_a_campaign_that_spent_without_converting(shapes):
    # "worst campaign by CPA" once named the highest defined CPA and passed over in silence a
    # campaign that spent with no conversion at all (no CPA to rank).
    cur, scope, frames = shapes
    result = ask(cur, scope.narrowed(account_id=SHAPES_GOOGLE), "worst campaign by CPA on 2026-09-10", SHAPES_AS_OF)
    day = frames["google"][frames["google"].date == "2026-09-10"]
    by_campaign = day.groupby("campaign")[["cost", "conversions"]].sum()
    defined = by_campaign[by_campaign.conversions > 0]
    cpa = (defined.cost / defined.conversions).sort_values(ascending=False)
    assert result.facts[0]["group"] == cpa.index[0] and close(result.facts[0]["value"], cpa.iloc[0])
    assert (
        f"(not ranked, no conversions so no CPA: Shopping (${by_campaign.cost['Shopping']:,.2f} spend))" in result.text
    )


def test_kaggle_ticket_answers_say_how_many_rows_their_import_held_back(cur, tickets):
    # 1,365 of the file's 8,469 tickets wait in quarantine (resolved before their first response);
    # every ticket count once left them out without a word.
    held = len(pd.read_csv(KAGGLE_TICKETS)) - len(tickets)
    assert held == raw_one(
        cur, "SELECT count(*) FROM raw.quarantine WHERE entity = 'tickets' AND source = 'kaggle_support_tickets'"
    )
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    result = ask(cur, scope, "how many tickets", date(2024, 1, 1))
    assert result.facts[0]["value"] == len(tickets)
    assert f"Not counted: {held:,} rows of kaggle_support_tickets (mostly: timestamps out of order)" in result.text
    demo = ask(cur, Scope(1, "test", (), ("demo",)), "how many tickets", DEMO_AS_OF)
    assert "Not counted" not in demo.text  # a source with nothing held back says nothing


def test_online_ads_follow_ups_about_the_last_answers_period(cur, online, ads):
    # Found by a conversation audit: "and the previous 30 days?" repeated the same 30 days, "is that
    # up from May?" compared May with April, "What was total spend in June?" gave the last top 3.
    june = ads[ads.date.dt.month == 6]
    last_30 = ask(cur, online, "spend last 30 days", AS_OF_2020)
    before = ask(cur, online, "and the previous 30 days?", AS_OF_2020, last_30.intent)
    window = ads[(ads.date >= "2020-05-02") & (ads.date <= "2020-05-31")]
    assert close(before.facts[0]["value"], window.cost.sum())
    clicks = ask(cur, online, "clicks in June", AS_OF_2020)
    up = ask(cur, online, "is that up from May?", AS_OF_2020, clicks.intent)
    change = Decimal(int(june.clicks.sum()) - int(in_month(ads, 5).clicks.sum()))
    assert f"{change / int(in_month(ads, 5).clicks.sum()) * 100:.1f}%" in up.text
    top = ask(cur, online, "top 3 ads by clicks in May", AS_OF_2020)
    total = ask(cur, online, "What was total spend in June 2020?", AS_OF_2020, top.intent)
    assert len(total.facts) == 1 and close(total.facts[0]["value"], june.cost.sum())


def test_online_ads_a_stopped_campaigns_days_without_rows_are_zero(cur, online, ads):
    # camp 2 stops on Apr 30: "all the data" for it was Apr 1-30 ("0 of the 30 days had no clicks"),
    # and its lowest month in Q2 was April, its only month with rows.
    camp2 = ads[ads.campaign_number == "camp 2"]
    days = ads.date.nunique()
    result = ask(cur, online, "how many days did camp 2 have no clicks", AS_OF_2020)
    assert result.text.startswith(f"{days - camp2[camp2.clicks > 0].date.nunique()} of the {days} days")
    lowest = ask(cur, online, "which month had the lowest spend for camp 2 in Q2", AS_OF_2020)
    assert (lowest.facts[0]["group"], lowest.facts[0]["value"]) == ("May 2020", "0")
    by_month = ask(cur, online, "camp 2 spend by month in Q2", AS_OF_2020)
    assert [f["group"] for f in by_month.facts] == ["April 2020", "May 2020", "June 2020"]
    assert close(by_month.facts[0]["value"], in_month(camp2, 4).cost.sum()) and by_month.facts[2]["value"] == "0"
    assert "Data covers only" not in by_month.text


@pytest.mark.parametrize(
    "question", ["how many tickets about refunds last week", "how many tickets about refunds were resolved yesterday"]
)
def test_kaggle_a_text_search_never_counts_what_it_cannot_place(cur, everything, question):
    # Once "0 tickets created last week are about 'refunds'" (Kaggle has no creation times), and
    # "about 'refunds were resolved'" among the tickets created yesterday.
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    result = answer(cur, scope, question, date(2023, 6, 3))
    assert result.facts == [] and result.route != "ticket_search", result.text


def test_online_ads_a_share_of_the_total_is_of_the_account_not_the_named_parent(cur, online, ads):
    # "what % of total clicks came from camp 3 High engagement" once divided by camp 3's clicks (18.70%).
    result = ask(cur, online, "what % of total clicks came from camp 3 High engagement in June", AS_OF_2020)
    june = in_month(ads, 6)
    part = june[(june.campaign_number == "camp 3") & (june.user_engagement == "High")].clicks.sum()
    assert f"{Decimal(int(part)) / int(june.clicks.sum()) * 100:.2f}%" in result.text


def test_kaggle_the_fewest_counts_a_group_with_none(cur, tickets):
    # Once "email: 1" as the fewest when the other channels had no critical ticket resolved that day.
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    channel = tickets["Ticket Channel"].str.lower().replace({"social media": "social"})
    day = (tickets.resolved.dt.strftime("%Y-%m-%d") == "2023-06-02") & (tickets["Ticket Priority"] == "Critical")
    counts = channel[day].value_counts().reindex(sorted(channel.unique()), fill_value=0)
    fewest = counts.sort_values(kind="stable").index[0]
    assert counts.min() == 0
    result = ask(cur, scope, "which channel had the fewest critical tickets resolved on 2023-06-02", date(2023, 6, 3))
    assert f"1. {fewest}: 0" in result.text


def test_online_ads_a_trend_shows_no_change_against_a_partial_week(cur, online, ads):
    # "week of May 4: +77,915 (+133.2%)" once compared a whole week with the 3 days of May 1-3.
    result = ask(cur, online, "trend of clicks in May", AS_OF_2020)
    assert "week of May 4, 2020: " in result.text and "+133.2%" not in result.text
    assert "(a partial period: no change shown)" in result.text.split("week of May 4, 2020: ")[1].split("\n")[0]


def test_kaggle_rankings_averages_and_empty_groups(cur, tickets):
    # "rank channels by tickets" was alphabetical; "average per week" over 3 days of resolutions was
    # extrapolated to 3,276 a week; a grouped ticket time with no measured ticket was a bare heading.
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    ranked = ask(cur, scope, "rank channels by tickets", date(2023, 6, 3))
    counts = tickets["Ticket Channel"].str.lower().replace({"social media": "social"}).value_counts()
    lines = [line.split(":")[0] for line in ranked.text.splitlines()[1:5]]
    assert lines == list(counts.sort_values(ascending=False).index)
    for question in ("average tickets resolved per week", "median first response time by priority"):
        declined = answer(cur, scope, question, date(2023, 6, 3))
        assert declined.facts == [] and declined.route not in ("ticket_sql",), declined.text


def test_kaggle_a_share_of_a_filtered_group_is_within_it(cur, tickets):
    # Once 480 of every ticket (6.8%) where the share of email tickets that are critical is 480 of 1,797.
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    result = ask(cur, scope, "what share of email tickets are critical", date(2024, 1, 1))
    email = tickets[tickets["Ticket Channel"] == "Email"]
    critical = int((email["Ticket Priority"] == "Critical").sum())
    assert (result.facts[0]["value"], result.facts[1]["value"]) == (critical, len(email))
    assert f"{Decimal(critical) / len(email) * 100:.1f}%" in result.text and "(channel email)" in result.text


@pytest.mark.parametrize("question", ["how many tickets came via social media", "how many Social media tickets"])
def test_kaggle_the_sources_long_channel_name_is_the_channel(cur, tickets, question):
    scope = Scope(1, "test", (), ("kaggle_support_tickets",))
    result = ask(cur, scope, question, date(2024, 1, 1))
    assert result.facts[0]["value"] == int((tickets["Ticket Channel"] == "Social media").sum())


def test_online_ads_a_bottom_ranking_names_what_had_no_data_in_the_period(cur, online, ads):
    # camp 2's data stops on Apr 30: "the least in May" is camp 3, and camp 2 is named, not passed over.
    may = ads[ads.date.dt.month == 5]
    spend = may.groupby("campaign_number").cost.sum()
    assert "camp 2" not in spend.index
    result = ask(cur, online, "which campaign spent the least in May", date(2020, 7, 1))
    assert close(result.facts[0]["value"], spend.min()) and result.facts[0]["group"] == spend.idxmin() == "camp 3"
    assert "(not ranked, no data in this period: camp 2)" in result.text
    top = ask(cur, online, "top 3 campaigns by spend in May", date(2020, 7, 1))
    assert "not ranked" not in top.text


def test_accounts_whose_data_covers_different_days_are_never_averaged_or_compared_as_one(db, cursor):
    # The shipped Google Ads export runs Sep 1-3, the Meta one Sep 1-2 (its extract a day behind):
    # "average daily spend" once divided Meta's EUR by 3 days, and "clicks on Sep 3 vs Sep 2"
    # compared Google alone with both platforms.
    for file, mapping in (
        ("google_ads_ui_report.csv", "google_ads_ui"),
        ("meta_ads_manager_export.csv", "meta_ads_manager"),
    ):
        import_file(lambda: connect(db), FIXTURES / file, load_mapping(MAPPINGS_DIR / f"{mapping}.yml"))
    build_marts()
    cursor.execute("SELECT platform, account_id FROM app.ad_accounts ORDER BY 1, 2")
    scope = Scope(1, "test", tuple(cursor.fetchall()), ())
    as_of = date(2026, 9, 4)
    for question in ("average daily spend", "clicks on Sep 3 vs Sep 2", "clicks yesterday vs the day before"):
        result = answer(cursor, scope, question, as_of)
        assert result.route == "unsupported_shape" and result.facts == [], (question, result.text)
    yesterday = answer(cursor, scope, "spend yesterday", as_of)
    assert "has no data in this period: its data ends on Sep 2, 2026" in yesterday.text
    on_meta = answer(cursor, scope, "average daily spend on Meta", as_of)
    cursor.execute("SELECT sum(cost) / 2 FROM analytics.account_daily WHERE platform = 'meta'")
    assert Decimal(str(on_meta.facts[0]["value"])) == cursor.fetchone()[0]
    both_days = answer(cursor, scope, "spend on Sep 2", as_of)
    assert "has data only" not in both_days.text and "no data in this period" not in both_days.text
    # The Google Ads file's rows in quarantine are named where its account is read, not elsewhere.
    cursor.execute("SELECT count(*) FROM raw.quarantine WHERE entity = 'ads'")
    held = cursor.fetchone()[0]
    assert held > 0
    google = answer(cursor, scope, "spend on Google Ads", as_of)
    assert f"Not counted: {held:,} rows of google_ads_ui_report.csv, imported into these accounts" in google.text
    assert "Not counted" not in on_meta.text


@pytest.fixture
def jira_and_helpdesk(db, cursor):
    """A fresh database with the shipped Jira export and helpdesk dump imported and built."""
    for file, mapping in (
        (FIXTURES / "jira_export.csv", MAPPINGS_DIR / "jira.yml"),
        (FIXTURES / "helpdesk_tickets.jsonl", FIXTURES / "helpdesk_tickets.yml"),
    ):
        import_file(lambda: connect(db), file, load_mapping(mapping))
    build_marts()
    return cursor


def test_a_ticket_ranking_says_what_ties_with_its_last_place(jira_and_helpdesk):
    cursor = jira_and_helpdesk
    cursor.execute("SELECT priority, count(*) FROM analytics.int_tickets__ticket_times GROUP BY 1 ORDER BY 2 DESC, 1")
    counts = cursor.fetchall()
    tied = [priority for priority, n in counts[1:] if n == counts[0][1]]
    assert tied, counts  # the shipped files do tie: low and urgent have 2 each
    result = answer(
        cursor, Scope(1, "test", (), ("helpdesk", "jira")), "which priority has the most tickets", date(2026, 9, 4)
    )
    assert f"1. {counts[0][0]}: {counts[0][1]}" in result.text and f"(tied with {', '.join(tied)})" in result.text


def test_sla_attainment_counts_a_ticket_still_open_past_its_target_as_missed(jira_and_helpdesk):
    # The helpdesk dump's ticket 9002 (low) has had no reply since Sep 2; Jira's SUP-102 (Major ->
    # high) is still in progress. Asked on Sep 4 both are past their targets: once they were left
    # out and attainment read 100%. Jira records no first responses: none of its tickets is overdue
    # for one.
    cursor = jira_and_helpdesk
    cursor.execute(
        "SELECT source, first_response_at IS NOT NULL, met_first_response_target, met_resolution_target, resolved_at, "
        "created_at + first_response_target_hours * interval '1 hour', resolution_due_at "
        "FROM analytics.int_tickets__ticket_times"
    )
    tickets = cursor.fetchall()
    cutoff = datetime(2026, 9, 5, tzinfo=UTC)  # the end of the as-of day
    answers_first = {source for source, answered, *_ in tickets if answered}
    first_known = [
        bool(met)
        for source, answered, met, _, resolved, first_due, _ in tickets
        if met is not None or (source in answers_first and not answered and resolved is None and first_due < cutoff)
    ]
    resolution_known = [
        bool(met)
        for _, _, _, met, resolved, _, due in tickets
        if met is not None or (resolved is None and due < cutoff)
    ]
    measured = [row for row in tickets if row[2] is not None], [row for row in tickets if row[3] is not None]
    assert len(first_known) > len(measured[0]) and len(resolution_known) > len(measured[1])  # the overdue are in
    result = answer(cursor, Scope(1, "test", (), ("helpdesk", "jira")), "SLA attainment", date(2026, 9, 4))
    fact = result.facts[0]
    assert (fact["first_response_met"], fact["first_response_known"]) == (sum(first_known), len(first_known))
    assert (fact["resolution_met"], fact["resolution_known"]) == (sum(resolution_known), len(resolution_known))
    assert "still open past its target counts as missed" in result.text


def test_shapes_the_backlog_by_day_is_the_open_count_at_each_days_end(shapes):
    # Once the tickets open at the period's end grouped by their creation day: days with no new
    # ticket were missing and each day showed only its own tickets.
    cur, scope, frames = shapes
    result = ask(cur, scope, "helpdesk backlog by day in September", SHAPES_AS_OF)
    created = frames["tickets"].created.dt.strftime("%Y-%m-%d")  # none is resolved
    values = result.facts[0]["values"]
    assert len(values) == 30
    for day, count in values.items():
        assert count == int((created <= day).sum()), day


def test_shapes_a_named_campaign_without_rows_is_zero_not_left_out(shapes):
    # "Brand - UK vs Shopping spend in late September": Brand - UK stopped on Sep 15.
    cur, scope, frames = shapes
    result = ask(cur, scope, "spend for Brand - UK and Shopping from 2026-09-20 to 2026-09-25", SHAPES_AS_OF)
    assert [f["group"] for f in result.facts if f["value"] == "0"] == ["Brand - UK"]


def test_shapes_a_campaigns_share_of_clicks_is_of_every_account_read(shapes):
    # Once 100% of its own Meta account's clicks, beside a Google account's: the whole of an
    # unnarrowed question is every account it reads (money in two currencies stays per account).
    cur, scope, frames = shapes
    result = ask(cur, scope, "what % of clicks came from Summer Sale in September", SHAPES_AS_OF)
    meta, google = (frames[k][frames[k].date.dt.month == 9] for k in ("meta", "google"))
    part = int(meta[meta.campaign == "Summer Sale"].clicks.sum())
    whole = int(meta.clicks.sum()) + int(google.clicks.sum())
    assert f"{part:,} of {whole:,} = {Decimal(part) / whole * 100:.2f}%" in result.text
