"""The grounded answerer over real data: the demo accounts and tickets, and the public datasets in
../shared/data imported with the shipped mappings. Every number is checked against an independent
computation (pandas over the source file, or SQL over the raw tables) — never against the marts
the answerer reads.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg2
import pytest

from ask.answerer import answer
from ask.scope import Scope
from tests.helpers import BURRY, DEMO_END_DATE, KAGGLE_TICKETS, ONLINE_ADS, build_marts, create_database

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
