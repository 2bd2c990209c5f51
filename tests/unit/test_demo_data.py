"""The demo sources: deterministic, stable under a moving end date, and internally consistent."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from statistics import mean

import pytest

from resources.ads.demo import PLATFORM, DemoGoogleAdsSource
from resources.demo import SOURCE
from resources.tickets.demo import DemoTicketSource

END = date(2026, 9, 30)
NORTHWIND, BRIGHTLANE, KESTREL = "4216739015", "7384920156", "5902261847"
PMAX_CAMPAIGN, PAUSED_CAMPAIGN, DARK_SUNDAY_CAMPAIGN = "20318874", "20318885", "30427738"
METRICS = ("impressions", "clicks", "cost_micros", "conversions", "conversions_value")
HORIZON = datetime(2026, 10, 1, tzinfo=UTC)  # the end of END


def all_metrics(source: DemoGoogleAdsSource, grain: str) -> list[dict]:
    first, last = source.date_range()
    fetch = source.ad_daily_metrics if grain == "ad" else source.campaign_daily_metrics
    return [row for a in source.accounts() for row in fetch(a["account_id"], first, last)]


def metric_key(row: dict) -> tuple:
    return (row["account_id"], row["campaign_id"], row.get("ad_id"), row["date"])


@pytest.fixture(scope="module")
def ads() -> DemoGoogleAdsSource:
    return DemoGoogleAdsSource(end_date=END)


@pytest.fixture(scope="module")
def ad_rows(ads) -> list[dict]:
    return all_metrics(ads, "ad")


@pytest.fixture(scope="module")
def campaign_rows(ads) -> list[dict]:
    return all_metrics(ads, "campaign")


@pytest.fixture(scope="module")
def helpdesk() -> DemoTicketSource:
    return DemoTicketSource(end_date=END)


@pytest.fixture(scope="module")
def tickets(helpdesk) -> list[dict]:
    return helpdesk.tickets(*helpdesk.date_range())


@pytest.fixture(scope="module")
def comments(helpdesk) -> list[dict]:
    return helpdesk.comments(*helpdesk.date_range())


# -- catalogue -----------------------------------------------------------------------------------
def test_accounts_are_the_three_demo_customers(ads):
    assert (ads.platform, ads.source) == (PLATFORM, SOURCE) == ("google_ads", "demo")
    assert ads.accounts() == [
        {"account_id": NORTHWIND, "name": "Northwind Outdoor", "currency_code": "USD", "time_zone": "America/New_York"},
        {"account_id": BRIGHTLANE, "name": "Brightlane Studio", "currency_code": "EUR", "time_zone": "Europe/Berlin"},
        {"account_id": KESTREL, "name": "Kestrel Labs", "currency_code": "GBP", "time_zone": "Europe/London"},
    ]
    assert ads.customer(KESTREL) == ads.accounts()[2]


def test_ids_are_digit_strings_unique_across_the_demo(ads):
    account_ids = [a["account_id"] for a in ads.accounts()]
    assert all(re.fullmatch(r"\d{10}", i) for i in account_ids)
    ids = list(account_ids)
    for account_id in account_ids:
        entity_ids = (
            [c["campaign_id"] for c in ads.campaigns(account_id)]
            + [g["ad_group_id"] for g in ads.ad_groups(account_id)]
            + [a["ad_id"] for a in ads.ads(account_id)]
        )
        assert all(re.fullmatch(r"\d{8,11}", i) for i in entity_ids), entity_ids
        ids += entity_ids
    assert len(ids) == len(set(ids))


def test_campaigns_ad_groups_and_ads_hang_together(ads):
    for account in ads.accounts():
        account_id = account["account_id"]
        campaigns = {c["campaign_id"]: c for c in ads.campaigns(account_id)}
        groups = ads.ad_groups(account_id)
        ads_by_group = defaultdict(list)
        for ad in ads.ads(account_id):
            ads_by_group[ad["ad_group_id"]].append(ad)
        groups_by_campaign = defaultdict(list)
        for group in groups:
            groups_by_campaign[group["campaign_id"]].append(group)
            assert 2 <= len(ads_by_group[group["ad_group_id"]]) <= 3
        assert set(ads_by_group) == {g["ad_group_id"] for g in groups}, "every ad belongs to a known ad group"
        for campaign_id, campaign in campaigns.items():
            assert campaign["status"] in {"ENABLED", "PAUSED", "REMOVED"}
            assert campaign["channel_type"] in {"SEARCH", "DISPLAY", "PERFORMANCE_MAX", "VIDEO"}
            assert campaign["start_date"] <= (campaign["end_date"] or END)
            expected_groups = (0, 0) if campaign["channel_type"] == "PERFORMANCE_MAX" else (2, 3)
            assert expected_groups[0] <= len(groups_by_campaign[campaign_id]) <= expected_groups[1]
    assert [len(ads.campaigns(a)) for a in (NORTHWIND, BRIGHTLANE, KESTREL)] == [5, 4, 3]


def test_ads_are_responsive_search_ads_with_api_sized_text(ads):
    for account in ads.accounts():
        for ad in ads.ads(account["account_id"]):
            assert ad["ad_type"] == "RESPONSIVE_SEARCH_AD" and ad["status"] == "ENABLED"
            assert 3 <= len(ad["headlines"]) <= 5 and len(set(ad["headlines"])) == len(ad["headlines"])
            assert len(ad["descriptions"]) == 2
            # Google's limits: 30 characters per headline, 90 per description.
            assert all(0 < len(h) <= 30 for h in ad["headlines"]), ad["headlines"]
            assert all(0 < len(d) <= 90 for d in ad["descriptions"]), ad["descriptions"]
            assert re.fullmatch(r"https://www\.[a-z]+\.example/[a-z0-9-]+", ad["final_url"])


def test_default_window_ends_yesterday():
    first, last = DemoGoogleAdsSource().date_range()
    assert last == date.today() - timedelta(days=1)
    assert (last - first).days == 89
    assert DemoTicketSource(days=30).date_range() == (last - timedelta(days=29), last)


def test_unknown_account_raises_key_error_naming_known_ids(ads):
    calls = [
        lambda: ads.customer("0000000000"),
        lambda: ads.campaigns("0000000000"),
        lambda: ads.ad_groups("0000000000"),
        lambda: ads.ads("0000000000"),
        lambda: ads.ad_daily_metrics("0000000000", END, END),
        lambda: ads.campaign_daily_metrics("0000000000", END, END),
    ]
    for call in calls:
        with pytest.raises(KeyError, match="0000000000") as raised:
            call()
        assert all(known in str(raised.value) for known in (NORTHWIND, BRIGHTLANE, KESTREL))


# -- metrics -------------------------------------------------------------------------------------
def test_same_seed_gives_identical_data_and_another_seed_does_not(ad_rows, campaign_rows):
    twin = DemoGoogleAdsSource(end_date=END, seed=7)
    assert all_metrics(twin, "ad") == ad_rows
    assert all_metrics(twin, "campaign") == campaign_rows
    other_seed = DemoGoogleAdsSource(end_date=END, seed=8).campaign_daily_metrics(KESTREL, END, END)
    assert other_seed != [r for r in campaign_rows if r["account_id"] == KESTREL and r["date"] == END]


@pytest.mark.parametrize("shift", [1, 10])
@pytest.mark.parametrize("grain", ["ad", "campaign"])
def test_overlapping_days_are_identical_when_the_end_date_moves(ads, shift, grain):
    later = DemoGoogleAdsSource(end_date=END + timedelta(days=shift))
    overlap_start = later.date_range()[0]
    before = {metric_key(r): r for r in all_metrics(ads, grain) if r["date"] >= overlap_start}
    after = {metric_key(r): r for r in all_metrics(later, grain) if r["date"] <= END}
    assert before and len(before) > 0.8 * len(after)
    for key in before.keys() & after.keys():
        assert before[key] == after[key], key
    # The only rows that appear are the paused campaign's: its end date is relative to end_date.
    assert {k[1] for k in before.keys() ^ after.keys()} <= {PAUSED_CAMPAIGN}


def test_metrics_do_not_depend_on_the_query_range_or_call_order(ads, ad_rows):
    day = END - timedelta(days=20)
    one_day = ads.ad_daily_metrics(BRIGHTLANE, day, day)
    assert one_day == [r for r in ad_rows if r["account_id"] == BRIGHTLANE and r["date"] == day]
    assert DemoGoogleAdsSource(end_date=END, days=30).ad_daily_metrics(BRIGHTLANE, day, day) == one_day


def test_campaign_rows_are_exactly_the_sum_of_their_ad_rows(ad_rows, campaign_rows):
    sums = defaultdict(lambda: dict.fromkeys(METRICS, 0))
    for row in ad_rows:
        for metric in METRICS:
            sums[(row["account_id"], row["campaign_id"], row["date"])][metric] += row[metric]
    campaigns_with_ads = {(r["account_id"], r["campaign_id"]) for r in ad_rows}
    checked = 0
    for row in campaign_rows:
        if (row["account_id"], row["campaign_id"]) in campaigns_with_ads:
            assert {m: row[m] for m in METRICS} == sums.pop((row["account_id"], row["campaign_id"], row["date"]))
            checked += 1
    assert not sums, "no ad rows without a campaign row"
    assert checked == 950, "every day of every campaign with ads"


def test_performance_max_has_campaign_rows_and_no_ads(ads, ad_rows, campaign_rows):
    pmax = next(c for c in ads.campaigns(NORTHWIND) if c["campaign_id"] == PMAX_CAMPAIGN)
    assert pmax["channel_type"] == "PERFORMANCE_MAX"
    assert not [g for g in ads.ad_groups(NORTHWIND) if g["campaign_id"] == PMAX_CAMPAIGN]
    assert not [r for r in ad_rows if r["campaign_id"] == PMAX_CAMPAIGN]
    pmax_rows = [r for r in campaign_rows if r["campaign_id"] == PMAX_CAMPAIGN]
    assert len(pmax_rows) == 90 and sum(r["cost_micros"] for r in pmax_rows) > 0


def test_paused_campaign_stops_at_its_end_date(ads, ad_rows, campaign_rows):
    paused = next(c for c in ads.campaigns(NORTHWIND) if c["campaign_id"] == PAUSED_CAMPAIGN)
    assert paused["status"] == "PAUSED" and paused["end_date"] == END - timedelta(days=40)
    for rows in (ad_rows, campaign_rows):
        days = {r["date"] for r in rows if r["campaign_id"] == PAUSED_CAMPAIGN}
        assert max(days) == paused["end_date"]
        assert days == {paused["end_date"] - timedelta(days=n) for n in range(50)}, "daily up to its end, no gaps"
    assert all(c["end_date"] is None for c in ads.campaigns(NORTHWIND) if c["campaign_id"] != PAUSED_CAMPAIGN)


def test_metric_invariants(ad_rows, campaign_rows):
    for row in ad_rows + campaign_rows:
        assert all(isinstance(row[m], int) for m in ("impressions", "clicks", "cost_micros"))
        assert all(isinstance(row[m], Decimal) for m in ("conversions", "conversions_value"))
        assert row["conversions"].as_tuple().exponent == row["conversions_value"].as_tuple().exponent == -2
        assert 0 <= row["conversions"] <= row["clicks"] <= row["impressions"]
        assert row["cost_micros"] >= 0 and row["conversions_value"] >= 0
        assert row["cost_micros"] % 10_000 == 0, "whole cents"
        assert (row["clicks"] == 0) <= (row["cost_micros"] == 0), "pay per click: no click, no cost"


def test_ratios_are_realistic_per_campaign(ads, campaign_rows):
    channel = {c["campaign_id"]: c["channel_type"] for a in ads.accounts() for c in ads.campaigns(a["account_id"])}
    totals = defaultdict(lambda: dict.fromkeys(METRICS, 0))
    for row in campaign_rows:
        for metric in METRICS:
            totals[row["campaign_id"]][metric] += row[metric]
    for campaign_id, t in totals.items():
        ctr, cpc = t["clicks"] / t["impressions"], t["cost_micros"] / 1e6 / t["clicks"]
        conversion_rate, value = t["conversions"] / t["clicks"], t["conversions_value"] / t["conversions"]
        low_ctr = channel[campaign_id] in {"DISPLAY", "VIDEO"}
        assert (0.002 <= ctr < 0.01) if low_ctr else (0.01 <= ctr <= 0.08), (campaign_id, ctr)
        assert 0.3 <= cpc <= 3.0, (campaign_id, cpc)
        assert 0.01 <= conversion_rate <= 0.10, (campaign_id, conversion_rate)
        assert 20 <= value <= 200, (campaign_id, value)


def test_spend_is_seasonal_and_scaled_per_account(campaign_rows):
    def daily_spend(account_id, weekend):
        by_day = defaultdict(int)
        for r in campaign_rows:
            if r["account_id"] == account_id and (r["date"].weekday() >= 5) == weekend:
                by_day[r["date"]] += r["cost_micros"]
        return mean(by_day.values()) / 1e6

    assert daily_spend(KESTREL, weekend=False) > 1.5 * daily_spend(KESTREL, weekend=True), "B2B: quiet weekends"
    assert daily_spend(NORTHWIND, weekend=False) > 3 * daily_spend(KESTREL, weekend=False)


def test_one_campaign_has_zero_impression_days(ad_rows, campaign_rows):
    zero_days = {r["date"] for r in campaign_rows if r["impressions"] == 0}
    assert zero_days and {r["campaign_id"] for r in campaign_rows if r["impressions"] == 0} == {DARK_SUNDAY_CAMPAIGN}
    assert all(day.weekday() == 6 for day in zero_days)
    zero_ad_rows = [r for r in ad_rows if r["campaign_id"] == DARK_SUNDAY_CAMPAIGN and r["date"] in zero_days]
    assert zero_ad_rows and all(r[m] == 0 for r in zero_ad_rows for m in METRICS)


def test_metric_queries_are_clamped_to_the_date_range(ads):
    first, last = ads.date_range()
    assert (first, last) == (END - timedelta(days=89), END)
    for fetch in (ads.ad_daily_metrics, ads.campaign_daily_metrics):
        wide = fetch(NORTHWIND, first - timedelta(days=30), last + timedelta(days=30))
        assert wide == fetch(NORTHWIND, first, last)
        assert min(r["date"] for r in wide) == first and max(r["date"] for r in wide) == last
        assert fetch(NORTHWIND, last + timedelta(days=1), last + timedelta(days=5)) == []
        assert fetch(NORTHWIND, first - timedelta(days=5), first - timedelta(days=1)) == []


# -- tickets -------------------------------------------------------------------------------------
def test_tickets_are_deterministic_per_seed(helpdesk, tickets, comments):
    twin = DemoTicketSource(end_date=END)
    assert twin.tickets(*twin.date_range()) == tickets
    assert twin.comments(*twin.date_range()) == comments
    other = DemoTicketSource(end_date=END, seed=8)
    assert other.tickets(*other.date_range()) != tickets


def test_tickets_per_day_and_ids(tickets):
    per_day = defaultdict(int)
    for t in tickets:
        per_day[t["created_at"].date()] += 1
        assert re.fullmatch(rf"DEMO-{t['created_at']:%Y%m%d}-\d{{3}}", t["ticket_id"])
    assert len(per_day) == 90 and all(10 <= n <= 25 for n in per_day.values())
    weekday = mean(n for d, n in per_day.items() if d.weekday() < 5)
    weekend = mean(n for d, n in per_day.items() if d.weekday() >= 5)
    assert weekday > weekend
    assert len({t["ticket_id"] for t in tickets}) == len(tickets)


def test_ticket_fields_are_canonical(tickets):
    raw = {"urgent": "P1 - Urgent", "high": "P2 - High", "normal": "P3 - Normal", "low": "P4 - Low"}
    for t in tickets:
        assert t["priority_raw"] == raw[t["priority"]]
        assert t["status"] in {"open", "pending", "solved", "closed"}
        assert t["channel"] in {"email", "chat", "phone", "web"}
        assert t["category"] in {"billing", "technical", "account", "shipping", "feature_request"}
        assert t["subject"] and t["description"] and "{" not in t["subject"] + t["description"]
    share = {p: sum(t["priority"] == p for t in tickets) / len(tickets) for p in raw}
    assert 0.02 < share["urgent"] < 0.10 and 0.45 < share["normal"] < 0.65
    assert len({t["subject"] for t in tickets}) >= 10


def test_ticket_timestamps_are_ordered_and_never_in_the_future(tickets):
    for t in tickets:
        created, responded, resolved = t["created_at"], t["first_response_at"], t["resolved_at"]
        assert created.tzinfo == UTC and created < HORIZON
        if responded is None:
            assert resolved is None and t["status"] == "open"
            continue
        assert created < responded < HORIZON and responded - created <= timedelta(days=1)
        if resolved is not None:
            assert responded < resolved < HORIZON


def test_open_tickets_are_unresolved_and_old_tickets_are_settled(tickets):
    for t in tickets:
        assert (t["resolved_at"] is None) == (t["status"] in {"open", "pending"})
    old = [t for t in tickets if t["created_at"] < HORIZON - timedelta(days=8)]
    settled = sum(t["status"] in {"solved", "closed"} for t in old)
    assert settled / len(old) >= 0.95
    recent = [t for t in tickets if t["created_at"].date() == END]
    assert any(t["status"] in {"open", "pending"} for t in recent)


def test_urgent_tickets_are_answered_and_resolved_faster(tickets):
    def hours(priority, start, end):
        spans = [t[end] - t[start] for t in tickets if t["priority"] == priority and t[end]]
        return mean(s.total_seconds() for s in spans) / 3600

    assert hours("urgent", "created_at", "first_response_at") < hours("low", "created_at", "first_response_at")
    assert hours("urgent", "first_response_at", "resolved_at") < hours("low", "first_response_at", "resolved_at")


@pytest.mark.parametrize("shift", [1, 10])
def test_tickets_are_stable_when_the_end_date_moves(tickets, comments, shift):
    later = DemoTicketSource(end_date=END + timedelta(days=shift))
    overlap = (later.date_range()[0], END)
    before = {t["ticket_id"]: t for t in tickets if t["created_at"].date() >= overlap[0]}
    after = {t["ticket_id"]: t for t in later.tickets(*overlap)}
    assert before.keys() == after.keys()
    settled_before = HORIZON - timedelta(days=14)
    for ticket_id, old in before.items():
        new = after[ticket_id]
        if old["created_at"] < settled_before:
            assert new == old, "a settled ticket never changes"
        else:  # a recent ticket only gains what happened since
            changing = {"status", "first_response_at", "resolved_at"}
            assert {k: v for k, v in new.items() if k not in changing} == {
                k: v for k, v in old.items() if k not in changing
            }
            assert all(old[k] in (None, new[k]) for k in ("first_response_at", "resolved_at"))
    # Comments once reported never change; later ones are appended.
    new_comments = {(c["ticket_id"], c["comment_id"]): c for c in later.comments(*overlap)}
    for c in comments:
        if c["ticket_id"] in before:
            assert new_comments[(c["ticket_id"], c["comment_id"])] == c


def test_comments_lie_inside_their_tickets_lifetime(tickets, comments):
    by_ticket = defaultdict(list)
    for c in comments:
        by_ticket[c["ticket_id"]].append(c)
    assert by_ticket.keys() == {t["ticket_id"] for t in tickets}, "every ticket has its customer's message"
    for t in tickets:
        thread = by_ticket[t["ticket_id"]]
        assert 1 <= len(thread) <= 3
        assert [c["comment_id"] for c in thread] == [str(n) for n in range(1, len(thread) + 1)]
        assert thread[0]["author"] == "customer" and thread[0]["body"] == t["description"]
        assert all(c["author"] == "customer" or re.fullmatch(r"agent:[a-z]+", c["author"]) for c in thread)
        end = t["resolved_at"] or HORIZON
        times = [c["created_at"] for c in thread]
        assert times == sorted(times) and t["created_at"] <= times[0] and times[-1] <= end


def test_ticket_queries_are_clamped_and_comments_follow_their_tickets(helpdesk):
    first, last = helpdesk.date_range()
    assert helpdesk.tickets(first - timedelta(days=10), last + timedelta(days=10)) == helpdesk.tickets(first, last)
    assert helpdesk.tickets(last + timedelta(days=1), last + timedelta(days=3)) == []
    day = END - timedelta(days=3)
    ticket_ids = {t["ticket_id"] for t in helpdesk.tickets(day, day)}
    assert {c["ticket_id"] for c in helpdesk.comments(day, day)} == ticket_ids
    assert all(t.startswith(f"DEMO-{day:%Y%m%d}-") for t in ticket_ids)
