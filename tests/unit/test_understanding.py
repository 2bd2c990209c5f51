"""Reading questions: every phrasing below is understood exactly as stated, or declined. No I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ask.answerer import format_change, format_value, metric_value
from ask.periods import find_periods
from ask.understanding import METRICS, Catalog, Named, NotUnderstood, understand

TODAY = date(2026, 10, 15)  # a Thursday
CATALOG = Catalog(
    named=(
        Named("account", "Northwind Outdoor", "google_ads", "4216739015", "4216739015"),
        Named("account", "Kestrel Labs", "google_ads", "5902261847", "5902261847"),
        Named("campaign", "Search | Brand", "google_ads", "4216739015", "c1", "Northwind Outdoor", "4216739015"),
        Named("campaign", "Search | Brand", "google_ads", "5902261847", "c9", "Kestrel Labs", "5902261847"),
        Named("campaign", "Summer Sale", "google_ads", "4216739015", "c2", "Northwind Outdoor", "4216739015"),
        Named("ad_group", "Family Tents", "google_ads", "4216739015", "g1", "campaign 'Summer Sale'", "c2"),
        Named("ad_group", "Brand", "google_ads", "4216739015", "g2", "campaign 'Search | Brand'", "c1"),
        Named("ad_group", "High engagement", "google_ads", "4216739015", "g3", "campaign 'Summer Sale'", "c2"),
        Named("ad_group", "High engagement", "google_ads", "4216739015", "g4", "campaign 'Search | Brand'", "c1"),
    ),
    platforms=("google_ads",),
    ticket_values={
        "priority": {
            "urgent": ("priority", "urgent"),
            "high": ("priority", "high"),
            "normal": ("priority", "normal"),
            "low": ("priority", "low"),
            "blocker": ("priority_raw", "Blocker"),
            "critical": ("priority_raw", "Critical"),
        },
        "channel": {"email": ("channel", "email"), "chat": ("channel", "chat")},
        "category": {"refund request": ("category", "Refund request")},
    },
    ticket_sources=("jira",),
)


def read(question, previous=None):
    return understand(question, CATALOG, TODAY, previous)


def span(intent, index=0):
    period = intent.periods[index]
    return period.start.isoformat(), period.end.isoformat()


@pytest.mark.parametrize(
    "question, metric",
    [
        ("What was total spend last 7 days?", "cost"),
        ("How much did we spend yesterday?", "cost"),
        ("total cost this month", "cost"),
        ("What was our conversion value last month?", "conversion_value"),
        ("revenue last 30 days", "conversion_value"),
        ("how many conversions last week", "conversions"),
        ("What's the cost per click yesterday?", "cpc"),
        ("CPA over the past 14 days", "cpa"),
        ("return on ad spend last 7 days", "roas"),
        ("click-through rate yesterday", "ctr"),
        ("How many impressions did we get last week?", "impressions"),
        ("clicks in the last 3 days", "clicks"),
        ("conversion rate last week", "cvr"),
        ("CPM last week", "cpm"),
    ],
)
def test_metrics_and_synonyms(question, metric):
    assert read(question).metrics == [metric]


@pytest.mark.parametrize(
    "question, start, end",
    [
        ("spend last 7 days", "2026-10-08", "2026-10-14"),
        ("spend in the past 30 days", "2026-09-15", "2026-10-14"),
        ("spend last seven days", "2026-10-08", "2026-10-14"),
        ("clicks in the last two weeks", "2026-10-01", "2026-10-14"),
        ("spend last week", "2026-10-05", "2026-10-11"),
        ("spend this week", "2026-10-12", "2026-10-15"),
        ("spend yesterday", "2026-10-14", "2026-10-14"),
        ("spend today", "2026-10-15", "2026-10-15"),
        ("spend last month", "2026-09-01", "2026-09-30"),
        ("spend this month", "2026-10-01", "2026-10-15"),
        ("spend last 3 months", "2026-07-01", "2026-09-30"),
        ("spend on November 3rd", "2025-11-03", "2025-11-03"),
        ("spend on October 3rd", "2026-10-03", "2026-10-03"),
        ("spend on 2021-11-22", "2021-11-22", "2021-11-22"),
        ("spend in March 2022", "2022-03-01", "2022-03-31"),
        ("spend in October", "2026-10-01", "2026-10-15"),
        ("spend in December", "2025-12-01", "2025-12-31"),
        ("spend in Q1 2022", "2022-01-01", "2022-03-31"),
        ("spend last quarter", "2026-07-01", "2026-09-30"),
        ("spend in 2021", "2021-01-01", "2021-12-31"),
        ("spend so far this year", "2026-01-01", "2026-10-15"),
        ("spend last year", "2025-01-01", "2025-12-31"),
        ("spend from 2021-11-22 to 2021-11-28", "2021-11-22", "2021-11-28"),
        ("spend between Nov 1 and Nov 15 2025", "2025-11-01", "2025-11-15"),
        ("spend the week of 2026-09-09", "2026-09-07", "2026-09-13"),
        ("spend since September 20", "2026-09-20", "2026-10-15"),
    ],
)
def test_periods(question, start, end):
    intent = read(question)
    assert len(intent.periods) == 1
    assert span(intent) == (start, end)


def test_all_time_and_no_period():
    assert read("clicks all time").all_time
    intent = read("total clicks")
    assert intent.periods == [] and not intent.all_time  # the answerer states it covers all the data


@pytest.mark.parametrize(
    "question, shape, group, n, order",
    [
        ("top 3 campaigns by conversions this month", "top", "campaign", 3, "desc"),
        ("bottom 2 ad groups by CTR last month", "top", "ad_group", 2, "asc"),
        ("which campaign had the most clicks last week", "top", "campaign", 1, "desc"),
        ("worst 5 ads by CPA last month", "top", "ad", 5, "desc"),  # the worst CPA is the highest
        ("spend by campaign last month", "breakdown", "campaign", None, "desc"),
        ("spend per week last month", "breakdown", "week", None, "desc"),
        ("daily clicks last week", "breakdown", "day", None, "desc"),
        ("spend by account last month", "breakdown", "account", None, "desc"),
        ("spend trend over the last 3 months", "trend", None, None, "desc"),
        ("monthly spend trend this year", "trend", "month", None, "desc"),
    ],
)
def test_shapes(question, shape, group, n, order):
    intent = read(question)
    assert (intent.shape, intent.group_by, intent.top_n if shape == "top" else None, intent.order) == (
        shape,
        group,
        n,
        order,
    )


def test_average_per_unit():
    assert (read("average daily spend, last 7 days").shape, read("average daily spend, last 7 days").average_unit) == (
        "average",
        "day",
    )
    assert read("average spend per week in 2025").average_unit == "week"
    assert read("average CPC last month").shape == "total"  # a ratio's average is the ratio of sums


def test_count_of_days():
    intent = read("how many days was spend over 200 last month")
    assert (intent.shape, intent.condition, span(intent)) == (
        "count_days",
        ("cost", "gt", 200.0),
        ("2026-09-01", "2026-09-30"),
    )
    assert read("on how many days did we get no clicks last week").condition == ("clicks", "eq", 0.0)


def test_comparisons():
    intent = read("compare spend last week vs the week before")
    assert intent.shape == "compare"
    assert [span(intent, 0), span(intent, 1)] == [("2026-10-05", "2026-10-11"), ("2026-09-28", "2026-10-04")]
    intent = read("spend in April vs May 2026")
    assert intent.shape == "compare" and span(intent, 1) == ("2026-05-01", "2026-05-31")
    intent = read("did clicks rise last month?")
    assert intent.shape == "compare" and span(intent, 1) == ("2026-08-01", "2026-08-31")  # the month before


def test_share():
    intent = read("what share of spend went to campaign Summer Sale last month")
    assert intent.shape == "share" and intent.entities[0].id == "c2"


@pytest.mark.parametrize(
    "question, ids",
    [
        ("CTR for campaign Summer Sale last month", ["c2"]),
        ("ctr for 'summer sale' last month", ["c2"]),
        ('spend for "Summer Sale" last month', ["c2"]),
        ("spend for the Family Tents ad group yesterday", ["g1"]),
        ("spend for Search | Brand in Northwind Outdoor last week", ["4216739015", "c1"]),
        ("clicks for ad group High engagement in campaign Summer Sale last week", ["c2", "g3"]),
        ("clicks for account 421-673-9015 last week", ["4216739015"]),
    ],
)
def test_entities(question, ids):
    assert sorted(e.id for e in read(question).entities) == sorted(ids)


def test_platform():
    assert read("spend on Google Ads last week").platforms == ["google_ads"]


@pytest.mark.parametrize(
    "question, measure, filters, stat",
    [
        ("how many tickets were created last month", "created", [], None),
        ("urgent tickets last month", "created", [("priority", "priority", "urgent")], None),
        ("tickets resolved last week", "resolved", [], None),
        ("open tickets", "backlog", [], None),
        ("backlog of high priority tickets", "backlog", [("priority", "priority", "high")], None),
        ("average first response time last month", "first_response_hours", [], "avg"),
        (
            "median resolution time for email tickets in 2026",
            "resolution_hours",
            [("channel", "channel", "email")],
            "median",
        ),
        ("p90 first response time this year", "first_response_hours", [], "p90"),
        ("SLA attainment last month", "sla", [], None),
        (
            "how many Blocker or Critical tickets in 2026",
            "created",
            [("priority", "priority_raw", "Blocker"), ("priority", "priority_raw", "Critical")],
            None,
        ),
        ("refund request tickets last week", "created", [("category", "category", "Refund request")], None),
    ],
)
def test_ticket_questions(question, measure, filters, stat):
    intent = read(question)
    assert intent.domain == "tickets"
    assert (intent.ticket_measure, sorted(intent.ticket_filters), intent.stat) == (measure, sorted(filters), stat)


def test_tickets_by_a_breakdown():
    intent = read("tickets by priority last month")
    assert (intent.shape, intent.group_by) == ("breakdown", "priority")


def test_questions_joining_both_halves():
    intent = read("spend per urgent ticket last month")
    assert (intent.domain, intent.shape, intent.metrics, intent.ticket_filters) == (
        "both",
        "join_ratio",
        ["cost"],
        [("priority", "priority", "urgent")],
    )
    assert read("did support load rise in the weeks spend rose last quarter?").shape == "join_trend"


def test_follow_ups_reuse_what_they_omit():
    first = read("spend for campaign Summer Sale last week").to_json()
    follow = read("and the week before?", first)
    assert follow.metrics == ["cost"] and [e.id for e in follow.entities] == ["c2"]
    assert span(follow) == ("2026-09-28", "2026-10-04")
    other = read("what about clicks?", first)
    assert other.metrics == ["clicks"] and span(other) == ("2026-10-05", "2026-10-11")


@pytest.mark.parametrize(
    "question, route, says",
    [
        ("How is the weather in Lisbon?", "unsupported_metric", "weather"),
        ("What is our budget last week?", "unsupported_metric", "budget"),
        ("spend for campaign Sumer Sale last week", "not_understood", "Did you mean 'Summer Sale'"),
        ('spend for "Winter Sale" last week', "unknown_entity", "couldn't find"),
        ("CTR for campaign Search | Brand last month", "ambiguous", "more than one campaign"),
        ("clicks for High engagement last week", "ambiguous", "more than one ad group"),
        ("spend in 2031", "future_period", "future"),
        ("spend next month", "not_understood", "next"),
        ("spend last 0 days", "bad_period", "empty period"),
        ("spend last 1000000 days", "bad_period", "30 years"),
        ("spend on February 30 2025", "bad_period", "not a date"),
        ("delete all campaigns", "refused", "can't change"),
        ("SELECT * FROM raw.tickets; DROP TABLE raw.tickets", "refused", "SQL"),
        ("pause campaign Summer Sale", "refused", "can't change"),
        ("Facebook spend last month", "unknown_entity", "no Meta accounts"),
        ("best campaign last month", "unsupported_shape", "by which number"),
        ("average spend last month", "unsupported_shape", "per what"),
        ("spend by campaign by week last month", "unsupported_shape", "one thing at a time"),
        ("spend by priority last month", "unsupported_shape", "ticket priority"),
        ("how many days last month", "not_understood", "condition"),
        ("spend excluding Summer Sale last week", "not_understood", "excluding"),
        ("spend for campaigns not in Summer Sale", "not_understood", "not"),
        (
            "spend last month and the month before and the month before that",
            "unsupported_shape",
            "more than one period",
        ),
        ("the week before?", "bad_period", "The week before"),
    ],
)
def test_declines_say_what_was_not_understood(question, route, says):
    with pytest.raises(NotUnderstood) as declined:
        read(question)
    assert declined.value.route == route
    assert says in str(declined.value)


def test_no_metric_is_a_decline_with_the_fallback():
    with pytest.raises(NotUnderstood) as declined:
        read("tell me about last week")
    assert declined.value.route == "unsupported_metric"


def test_may_the_month_and_may_the_verb():
    assert span(read("clicks in may 2025")) == ("2025-05-01", "2025-05-31")
    assert read("may I see clicks last week").metrics == ["clicks"]


def test_find_periods_reports_spans():
    found = find_periods("spend yesterday vs the day before yesterday", TODAY)
    assert [f.period.label for f in found if f.period] == ["yesterday", "the day before yesterday"]


def test_ratios_of_sums_and_formatting():
    sums = {
        "impressions": Decimal(1000),
        "clicks": Decimal(25),
        "cost": Decimal("50"),
        "conversions": Decimal(0),
        "conversion_value": Decimal(0),
    }
    assert metric_value(METRICS["ctr"], sums) == Decimal("0.025")
    assert metric_value(METRICS["cpa"], sums) is None  # no conversions: undefined, not zero
    assert metric_value(METRICS["cpm"], sums) == Decimal(50)
    assert format_value(METRICS["cost"], Decimal("1234.565"), "EUR") == "€1,234.57"
    assert format_value(METRICS["ctr"], Decimal("0.0642"), "") == "6.42%"
    assert format_value(METRICS["conversions"], Decimal("12.5"), "") == "12.50"
    assert format_change(Decimal(100), Decimal(150), METRICS["cost"], "USD") == "+$50.00 (+50.0%)"


@pytest.mark.parametrize(
    "question, shape, group",
    [
        ("rank campaigns by spend last month", "breakdown", "campaign"),
        ("list all campaigns by clicks this year", "breakdown", "campaign"),
        ("what is the campaign with the lowest CPC in September", "top", "campaign"),
        ("which day had the highest spend last month", "top", "day"),
        ("how did spend change week over week last month", "trend", "week"),
        ("CTR for each ad group last week", "breakdown", "ad_group"),
    ],
)
def test_more_shapes(question, shape, group):
    intent = read(question)
    assert (intent.shape, intent.group_by) == (shape, group)


def test_kind_words_are_never_dropped():
    # "campaigns" once was filler: "list all campaigns by clicks" became the account total.
    with pytest.raises(NotUnderstood):
        read("campaigns clicks last week")
    assert read("how much did we spend on ads last month").shape == "total"


def test_same_period_last_year_and_misfitting_relatives():
    intent = read("spend last month compared to the same period last year")
    assert intent.shape == "compare" and span(intent, 1) == ("2025-09-01", "2025-09-30")
    with pytest.raises(NotUnderstood, match="fits a week"):
        read("clicks in 2025 vs the week before")


def test_an_account_name_wins_over_an_ad_that_repeats_it():
    catalog = Catalog(
        named=(
            Named("account", "Northwind Outdoor", "google_ads", "1", "1"),
            Named("ad", "Northwind Outdoor", "google_ads", "1", "ad9", "ad group 'x'", "g"),
        ),
        platforms=("google_ads",),
    )
    intent = understand("spend for Northwind Outdoor last week", catalog, TODAY)
    assert [e.kind for e in intent.entities] == ["account"]
    assert any("the account" in note for note in intent.notes)


def test_ticket_share_of_a_filter():
    intent = read("what share of tickets were urgent last month")
    assert (intent.shape, intent.ticket_filters) == ("share", [("priority", "priority", "urgent")])


def test_average_ticket_counts_are_a_shape_not_a_time_statistic():
    intent = read("average daily tickets last month")
    assert (intent.domain, intent.shape, intent.average_unit, intent.stat) == ("tickets", "average", "day", None)
    assert read("average first response time last month").stat == "avg"
    with pytest.raises(NotUnderstood, match="at least one"):
        read("top 0 campaigns by clicks")


def test_several_metrics_in_a_breakdown_but_not_in_a_ranking():
    assert read("spend, clicks and conversions by campaign last month").metrics == ["cost", "clicks", "conversions"]
    with pytest.raises(NotUnderstood, match="one metric at a time"):
        read("top 2 campaigns by spend and clicks last month")


def test_ticket_text_search_phrases():
    intent = read("how many tickets mention refunds last week")
    assert (intent.ticket_measure, intent.search_text, span(intent)) == (
        "mentions",
        "refunds",
        ("2026-10-05", "2026-10-11"),
    )
    intent = read('show tickets like "login fails after update"')
    assert (intent.ticket_measure, intent.search_text) == ("similar", "login fails after update")


# --- red-team regressions: each once gave a number that was not the one asked for -----------------


def test_two_days_joined_by_and_are_not_the_days_between():
    # "on Oct 5 and Oct 10" once read as Oct 5 – Oct 10 (six days summed).
    with pytest.raises(NotUnderstood, match="more than one period"):
        read("spend on October 5 and October 10")
    assert span(read("spend between October 5 and October 10")) == ("2026-10-05", "2026-10-10")


def test_previous_n_days_after_last_n_days_is_the_window_before():
    # "last 30 days vs previous 30 days" once compared the same 30 days with themselves (0.0%).
    intent = read("revenue last 30 days vs previous 30 days")
    assert intent.shape == "compare"
    assert [span(intent, 0), span(intent, 1)] == [("2026-09-15", "2026-10-14"), ("2026-08-16", "2026-09-14")]
    with pytest.raises(NotUnderstood, match="twice"):
        read("spend in May 2026 vs May 2026")


def test_an_implicit_comparison_of_a_whole_month_is_with_the_month_before():
    intent = read("did spend rise in September?")
    assert span(intent, 1) == ("2026-08-01", "2026-08-31")
    assert span(read("did spend rise last quarter?"), 1) == ("2026-04-01", "2026-06-30")


@pytest.mark.parametrize("question", ["revenue per click last month", "clicks per impression last week"])
def test_a_ratio_we_do_not_name_is_declined_not_two_totals(question):
    with pytest.raises(NotUnderstood, match="can't compute"):
        read(question)


def test_percent_thresholds_and_shares():
    # "CTR above 1%" once counted days with CTR over 100%.
    assert read("how many days was CTR above 1% last month").condition == ("ctr", "gt", 0.01)
    assert read("how many days was spend over 1,500 last month").condition == ("cost", "gt", 1500.0)
    with pytest.raises(NotUnderstood, match="percentage"):
        read("how many days was CTR above 1 last month")
    # "what % of spend" once lost its "%" and answered the campaign's total spend.
    intent = read("what % of spend went to Summer Sale last month")
    assert intent.shape == "share" and intent.entities[0].id == "c2"
    with pytest.raises(NotUnderstood, match="50%"):
        read("spend 50% last month")


@pytest.mark.parametrize(
    "question",
    [
        "top 3 campaigns by spend per week",  # once: the top 3 over the whole period
        "spend by campaign and platform last month",  # once: by campaign only
        "tickets by priority and channel last month",  # once: by priority only
        "spend by campaign, by week last month",
    ],
)
def test_a_second_grouping_is_never_dropped(question):
    with pytest.raises(NotUnderstood, match="one thing at a time"):
        read(question)


@pytest.mark.parametrize("question", ["number of campaigns with spend last month", "how many ads had clicks last week"])
def test_counting_campaigns_is_declined_not_answered_with_spend(question):
    with pytest.raises(NotUnderstood, match="can't count"):
        read(question)


def test_two_names_compared_over_one_period_get_one_figure_each():
    # "Northwind vs Kestrel spend last month" once summed both and compared with an invented period.
    intent = read("Northwind Outdoor vs Kestrel Labs spend last month")
    assert intent.shape == "total" and len(intent.periods) == 1 and len(intent.entities) == 2


def test_follow_ups_keep_the_shape_and_condition():
    by_campaign = read("spend by campaign last month").to_json()
    before = read("and the month before?", by_campaign)
    assert (before.shape, before.group_by, span(before)) == ("breakdown", "campaign", ("2026-08-01", "2026-08-31"))
    days = read("how many days was spend over 200 last month").to_json()
    again = read("and the month before?", days)
    assert (again.shape, again.condition) == ("count_days", ("cost", "gt", 200.0))
    compared = read("spend last month vs the month before").to_json()
    clicks = read("what about clicks?", compared)
    assert (clicks.shape, clicks.metrics, len(clicks.periods)) == ("compare", ["clicks"], 2)
    urgent = read("how many urgent tickets last month").to_json()
    high = read("what about high?", urgent)
    assert (high.domain, high.ticket_filters, high.search_text) == ("tickets", [("priority", "priority", "high")], None)


@pytest.mark.parametrize(
    "question", ["spend until October 5", "spend up to Oct 5", "spend through September", "spend before May"]
)
def test_open_ended_periods_are_asked_back(question):
    # "spend until October 5" once read as the single day October 5.
    with pytest.raises(NotUnderstood, match="open-ended"):
        read(question)


def test_since_the_start_of_a_month():
    # Once read as "since the start" (all time) plus May: May alone.
    assert span(read("spend since the start of September")) == ("2026-09-01", "2026-10-15")
    with pytest.raises(NotUnderstood, match="all time"):
        read("clicks all time in September")


def test_by_account_is_a_grouping_not_the_ticket_category_account():
    # "spend per urgent ticket last month by account" once filtered tickets to the category "account".
    values = {**CATALOG.ticket_values, "category": {"account": ("category", "account")}}
    catalog = Catalog(CATALOG.named, CATALOG.platforms, values, ("jira",))
    with pytest.raises(NotUnderstood):
        understand("spend per urgent ticket last month by account", catalog, TODAY)
    intent = understand("how many account tickets last month", catalog, TODAY)
    assert intent.ticket_filters == [("category", "category", "account")]


def test_count_of_days_over_the_last_n_days():
    # "in the last 30 days" once lost its "days" to the count-of-days phrase and was declined.
    intent = read("how many days had spend over 3000 in the last 30 days")
    assert (intent.condition, span(intent)) == (("cost", "gt", 3000.0), ("2026-09-15", "2026-10-14"))


def test_best_and_worst_by_a_cost_per_result():
    # "worst campaign by CPA" once named the campaign with the lowest (best) CPA.
    assert read("worst campaign by CPA last month").order == "desc"
    assert read("best campaign by CPC last month").order == "asc"
    assert read("best campaign by ROAS last month").order == "desc"
    assert read("top 3 campaigns by CPA last month").order == "desc"  # "top" is literal: the highest


def test_names_that_read_as_numbers_metrics_or_periods_need_their_kind():
    catalog = Catalog(
        named=(
            Named("account", "Northwind Outdoor", "google_ads", "1", "1"),
            Named("ad_group", "10", "google_ads", "1", "g10", "campaign 'x'", "c"),
            Named("ad", "Today", "google_ads", "1", "ad1", "ad group 'x'", "g"),
            Named("campaign", "Sales", "google_ads", "1", "c5", "Northwind Outdoor", "1"),
        ),
        platforms=("google_ads",),
    )
    # once: "top 10" filtered by the ad group "10", "today" by the ad "Today", "sales" by the campaign
    intent = understand("top 10 campaigns by clicks last week", catalog, TODAY)
    assert (intent.top_n, intent.entities) == (10, [])
    intent = understand("spend today", catalog, TODAY)
    assert (span(intent), intent.entities) == (("2026-10-15", "2026-10-15"), [])
    intent = understand("sales last week", catalog, TODAY)
    assert (intent.metrics, intent.entities) == (["conversion_value"], [])
    assert [e.id for e in understand("spend for the Sales campaign last week", catalog, TODAY).entities] == ["c5"]
    assert [e.id for e in understand("clicks for ad group 10 last week", catalog, TODAY).entities] == ["g10"]


@pytest.mark.parametrize(
    "question, filters",
    [
        ("open urgent tickets", [("priority", "priority", "urgent")]),
        ("how many high priority tickets are open", [("priority", "priority", "high")]),
        ("how many tickets are still open", []),
        ("unresolved urgent tickets", [("priority", "priority", "urgent")]),
    ],
)
def test_open_tickets_are_the_backlog_with_their_filters(question, filters):
    # "open urgent tickets" once counted the status "open" (0) instead of the unresolved urgent tickets.
    intent = read(question)
    assert (intent.ticket_measure, intent.ticket_filters) == ("backlog", filters)


def test_response_time_alone_is_a_ticket_question():
    assert read("avg response time last week").ticket_measure == "first_response_hours"


def test_a_share_by_a_grouping_keeps_the_grouping():
    # "by week" once lost its "by" to the share phrase; the week passed as filler.
    intent = read("what share of spend did Summer Sale get by week last month")
    assert (intent.shape, intent.group_by) == ("share", "week")
    assert read("share of spend by campaign last month").group_by == "campaign"


# --- other export shapes: Meta ad sets, name families, ids as exports write them (red-team round 2) ---

SHAPES = Catalog(
    named=(
        Named("account", "Acme US", "google_ads", "1112223333", "1112223333"),
        Named("account", "Acme UK Meta", "meta", "5550001", "5550001"),
        Named("campaign", "Brand", "google_ads", "1112223333", "c1", "Acme US", "1112223333"),
        Named("campaign", "Brand - US", "google_ads", "1112223333", "c2", "Acme US", "1112223333"),
        Named("campaign", "Brand - UK", "google_ads", "1112223333", "c3", "Acme US", "1112223333"),
        Named("campaign", "Shopping", "google_ads", "1112223333", "c4", "Acme US", "1112223333"),
        Named("campaign", "Summer Sale", "meta", "5550001", "m1", "Acme UK Meta", "5550001"),
        Named("ad_group", "Broad", "meta", "5550001", "s1", "campaign 'Summer Sale'", "m1"),
    ),
    platforms=("google_ads", "meta"),
    ticket_values={
        "priority": {"urgent": ("priority", "urgent"), "high": ("priority", "high")},
        "source": {"helpdesk": ("source", "helpdesk"), "jira": ("source", "jira")},
    },
    ticket_sources=("helpdesk", "jira"),
)


@pytest.mark.parametrize(
    "question",
    ["spend for ad set Broad last month", "CPA by ad set last month", "spend for the Broad adset last week"],
)
def test_an_ad_set_is_an_ad_group_not_a_command_to_set_something(question):
    # Meta's "ad set" once matched the refusal of write commands ("set"): every ad-set question was refused.
    intent = understand(question, SHAPES, TODAY)
    assert intent.metrics and (intent.group_by == "ad_group" or [e.id for e in intent.entities] == ["s1"])
    with pytest.raises(NotUnderstood) as refused:
        understand("set the budget of ad set Broad to 100", SHAPES, TODAY)
    assert refused.value.route == "refused"


@pytest.mark.parametrize(
    "question",
    ["spend for Brand campaigns last month", "clicks for the brand campaigns in May"],
)
def test_a_name_before_plural_campaigns_that_others_contain_is_asked_back(question):
    # "Brand campaigns" was read as the one campaign called Brand while 'Brand - US' and 'Brand - UK' exist.
    with pytest.raises(NotUnderstood) as exc:
        understand(question, SHAPES, TODAY)
    assert exc.value.route == "ambiguous" and "'Brand - US'" in str(exc.value)


def test_a_name_before_plural_campaigns_without_a_family_and_singular_names_stay_exact():
    assert [e.id for e in understand("spend for the Brand campaign last month", SHAPES, TODAY).entities] == ["c1"]
    assert [e.id for e in understand("spend for Brand - US campaigns last month", SHAPES, TODAY).entities] == ["c2"]
    assert [e.id for e in understand("spend for Shopping campaigns last month", SHAPES, TODAY).entities] == ["c4"]


@pytest.mark.parametrize(
    "question, account",
    [
        ("spend for 111-222-3333 last month", "1112223333"),  # dashed, without the word "account"
        ("clicks for act_5550001 yesterday", "5550001"),  # Ads Manager's spelling of the id
    ],
)
def test_account_ids_as_exports_write_them(question, account):
    assert [e.account_id for e in understand(question, SHAPES, TODAY).entities] == [account]


def test_support_tickets_created_is_a_count_of_created_tickets():
    # "support tickets" once claimed the words and left "created" not understood.
    assert understand("support tickets created last month", SHAPES, TODAY).ticket_measure == "created"


def test_a_named_ticket_source_filters_by_it():
    # "helpdesk tickets" was filler: every source's tickets were counted.
    intent = understand("how many helpdesk tickets were created last week", SHAPES, TODAY)
    assert intent.ticket_filters == [("source", "source", "helpdesk")]


@pytest.mark.parametrize(
    "question", ["CTR on Facebook vs Google last month", "compare Meta and Google Ads clicks last week"]
)
def test_platforms_compared_over_one_period_are_one_figure_each(question):
    # Once both platforms together, last month against the month before: not the comparison asked.
    intent = understand(question, SHAPES, TODAY)
    assert (intent.shape, intent.group_by, len(intent.periods)) == ("breakdown", "platform", 1)
    assert sorted(intent.platforms) == ["google_ads", "meta"]


def test_ticket_follow_ups_keep_the_filters_they_do_not_replace():
    # "helpdesk tickets last week" -> "what about urgent ones?" once counted every source's urgent tickets.
    first = understand("how many helpdesk tickets were created last week", SHAPES, TODAY).to_json()
    urgent = understand("what about urgent ones?", SHAPES, TODAY, first)
    assert sorted(urgent.ticket_filters) == [("priority", "priority", "urgent"), ("source", "source", "helpdesk")]
    resolved = understand("how many were resolved?", SHAPES, TODAY, urgent.to_json())
    assert resolved.ticket_measure == "resolved"
    assert sorted(resolved.ticket_filters) == sorted(urgent.ticket_filters)
    jira = understand("and in jira?", SHAPES, TODAY, urgent.to_json())
    assert sorted(jira.ticket_filters) == [("priority", "priority", "urgent"), ("source", "source", "jira")]


# Found by an audit on real data (online_ads, Kaggle tickets): each of these once gave a number
# for a question it had not understood, because a word that carried meaning passed as filler.
@pytest.mark.parametrize(
    "question, unit",
    [
        ("how much do we spend a day in May?", "day"),
        ("clicks a day last week", "day"),
        ("how much are we spending a week?", "week"),
        ("how many clicks do we get a month?", "month"),
    ],
)
def test_a_rate_per_day_week_or_month_is_an_average_not_a_total(question, unit):
    intent = read(question)
    assert (intent.shape, intent.average_unit) == ("average", unit)


@pytest.mark.parametrize(
    "question, says",
    [
        ("what was spend for the week?", "week"),
        ("spend in the month", "month"),
        ("spend for the day", "day"),
        ("spend right now", "right now"),
        ("what are we currently spending?", "currently"),
        ("spend so far", "so far"),
        ("spend year over year", "year"),
        ("how many sales did we get in May?", "How many sales"),
        ("total values last week", "values"),
        ("spend for the period", "period"),
        ("what was spend at that time", "time"),
    ],
)
def test_words_that_name_a_period_or_a_meaning_we_do_not_read_are_declined(question, says):
    with pytest.raises(NotUnderstood) as declined:
        read(question)
    assert says in str(declined.value)


@pytest.mark.parametrize(
    "question",
    ["what was the value of conversions in May?", "total conversion values in May", "values of our conversions in May"],
)
def test_the_value_of_conversions_is_conversion_value(question):
    assert read(question).metrics == ["conversion_value"]


@pytest.mark.parametrize(
    "question", ["is spend up in September?", "was CTR down last month?", "has spend gone down last month"]
)
def test_up_or_down_is_a_comparison_with_the_period_before(question):
    intent = read(question)
    assert intent.shape == "compare" and len(intent.periods) == 2


def test_down_and_up_in_other_phrases_are_not_movements():
    assert (read("spend broken down by campaign last month").shape, read("spend broken down by campaign").group_by) == (
        "breakdown",
        "campaign",
    )


def test_two_metrics_against_each_other_are_side_by_side_over_one_period():
    intent = read("clicks vs impressions in May")
    assert (intent.shape, intent.metrics, len(intent.periods)) == ("total", ["clicks", "impressions"], 1)


@pytest.mark.parametrize(
    "question",
    ["how many tickets are open right now", "current backlog", "open tickets now", "urgent tickets open currently"],
)
def test_now_is_today_for_a_tickets_status(question):
    assert read(question).domain == "tickets"


def test_the_day_of_a_date():
    assert span(read("spend on the day of June 8 2026")) == ("2026-06-08", "2026-06-08")


@pytest.mark.parametrize(
    "question, start, end",
    [
        ("spend for the current month", "2026-10-01", "2026-10-15"),
        ("spend this current week", "2026-10-12", "2026-10-15"),
        ("current quarter spend", "2026-10-01", "2026-10-15"),
        ("spend in the current year", "2026-01-01", "2026-10-15"),
    ],
)
def test_the_current_month_quarter_or_year_is_this_one(question, start, end):
    assert span(read(question)) == (start, end)


# The second real-data audit: a count of days with a shape word became spend totals; a share
# within filtered tickets divided by every ticket; a week running past as-of summed days to come.
@pytest.mark.parametrize(
    "question",
    [
        "how many days had spend over 2000 in May vs April",
        "how many days had spend over 2000 by campaign",
        "how many days had spend over 2000 each month",
        "how many days did Kestrel Labs have spend over 2000 vs Northwind Outdoor",
        "how many days had spend over 1000 for top campaign",
        "how many days had spend over 3000 in April trend",
        "how many days had spend over 2000, share by campaign",
        "how many days had clicks over 20000 week over week",
        "days with spend over 2000 last month vs the month before",
    ],
)
def test_a_count_of_days_is_not_broken_down_ranked_or_compared(question):
    with pytest.raises(NotUnderstood) as declined:
        read(question)
    assert "count the days" in str(declined.value)


def test_a_count_of_days_follow_up_by_a_grouping_is_declined():
    first = read("how many days had spend over 2000 in May")
    assert first.shape == "count_days"
    assert read("what about Summer Sale?", first.to_json()).shape == "count_days"
    with pytest.raises(NotUnderstood):
        read("by campaign", first.to_json())


@pytest.mark.parametrize(
    ("question", "within", "part"),
    [
        ("what share of email tickets are urgent", "channel", "priority"),
        ("what percentage of Refund request tickets came from chat", "category", "channel"),
        ("what % of urgent tickets came via email last month", "priority", "channel"),
    ],
)
def test_a_share_of_a_filtered_group_is_taken_within_it(question, within, part):
    # Once "of every ticket": the share of all tickets that were email AND urgent.
    intent = read(question)
    assert intent.shape == "share"
    assert [f[0] for f in intent.share_within] == [within]
    assert sorted(f[0] for f in intent.ticket_filters) == sorted([within, part])
    plain = read("what share of tickets are urgent")
    assert (plain.shape, plain.share_within) == ("share", [])


def test_a_share_whose_group_is_every_filter_is_asked_back():
    # "...of high priority tickets were resolved" is a resolution rate: nothing left to pick the part.
    with pytest.raises(NotUnderstood, match="needs what to count in it"):
        read("what percent of high priority tickets were resolved")


def test_a_period_running_past_today_stops_at_today():
    intent = read("spend the week of October 12")  # TODAY is Thursday Oct 15
    assert span(intent) == ("2026-10-12", "2026-10-15") and "up to today" in intent.periods[0].label
    assert span(read("spend from 2026-10-10 to 2026-10-20")) == ("2026-10-10", "2026-10-15")
    assert span(read("spend the week of October 5")) == ("2026-10-05", "2026-10-11")  # a past week is whole


def test_the_share_that_fell_in_a_period_is_declined():
    with pytest.raises(NotUnderstood) as declined:
        read("what share of Summer Sale spend happened in September")
    assert "fell in a period" in str(declined.value)
    assert read("what share of spend went to campaign Summer Sale last month").shape == "share"


@pytest.mark.parametrize(
    "question",
    [
        "How many Highest priority tickets?",
        "lowest priority tickets last week",
        "How many tickets with priority Highest?",
    ],
)
def test_highest_or_lowest_priority_is_a_level_not_a_ranking(question):
    # Jira's own "Highest" once answered "the priority with the most tickets: low".
    with pytest.raises(NotUnderstood) as declined:
        read(question)
    assert "highest" in str(declined.value).lower() or "lowest" in str(declined.value).lower()
    assert read("which priority has the most tickets").shape == "top"


# Found by an audit of conversations over HTTP (online_ads, Jira + helpdesk): each follow-up below
# once answered another question than the one asked.
def test_the_previous_n_days_in_a_follow_up_are_before_the_last_answers_period():
    # Once the same 30 days again: "previous 30 days" read against today, not the period asked.
    last_30 = read("spend last 30 days").to_json()
    before = read("and the previous 30 days?", last_30)
    assert span(before) == ("2026-08-16", "2026-09-14") and not before.notes
    weeks = read("and the prior 2 weeks?", before.to_json())
    assert span(weeks) == ("2026-08-02", "2026-08-15")
    months = read("and the previous 2 months?", read("spend last 2 months").to_json())
    assert span(months) == ("2026-06-01", "2026-07-31")
    quarter = read("and the previous quarter?", read("spend last quarter").to_json())
    assert span(quarter) == ("2026-04-01", "2026-06-30")
    assert span(read("spend in the previous 30 days")) == ("2026-09-15", "2026-10-14")  # alone: before today


def test_compare_that_in_a_follow_up_compares_the_last_answers_period():
    # "clicks in June" -> "is that up from May?" once compared May with April.
    june = read("clicks in September").to_json()
    up = read("is that up from August?", june)
    assert up.shape == "compare" and sorted(span(up, i) for i in (0, 1)) == [
        ("2026-08-01", "2026-08-31"),
        ("2026-09-01", "2026-09-30"),
    ]
    april = read("spend in July").to_json()
    compared = read("compare that with last month", april)
    assert sorted(span(compared, i) for i in (0, 1)) == [("2026-07-01", "2026-07-31"), ("2026-09-01", "2026-09-30")]


@pytest.mark.parametrize("question", ["What was total spend in September?", "How many clicks did we get in September?"])
def test_a_whole_question_mid_conversation_inherits_nothing(question):
    # Once the last answer's top 3 (or its campaign) for a question that asked for a total.
    top = read("top 3 campaigns by clicks for Summer Sale last week").to_json()
    intent = read(question, top)
    assert (intent.shape, intent.entities, span(intent)) == ("total", [], ("2026-09-01", "2026-09-30"))


def test_a_follow_up_can_ask_for_the_total_and_for_every_campaign():
    ranked = read("spend by campaign last month").to_json()
    assert read("and the total?", ranked).shape == "total"
    summer = read("spend for Summer Sale last month").to_json()
    assert read("what about all campaigns?", summer).entities == []
    assert read("and total spend across all campaigns in August?", summer).entities == []
    assert [e.id for e in read("what about clicks?", summer).entities] == ["c2"]  # the campaign stays


def test_a_ticket_follow_up_naming_tickets_keeps_the_measure():
    # "how many tickets were resolved?" -> "and for low priority tickets?" once counted every low ticket.
    resolved = read("how many tickets were resolved last month?").to_json()
    low = read("and for low priority tickets?", resolved)
    assert (low.ticket_measure, low.ticket_filters) == ("resolved", [("priority", "priority", "low")])
    times = read("median first response time last month").to_json()
    urgent = read("and for urgent tickets?", times)
    assert (urgent.ticket_measure, urgent.stat) == ("first_response_hours", "median")
    assert read("and new tickets?", resolved).ticket_measure == "created"


def test_a_ticket_source_outside_the_questions_sources_is_declined():
    # Narrowed to Jira, "helpdesk tickets" once counted Jira's tickets as if the word were filler.
    with pytest.raises(NotUnderstood, match="No ticket source called helpdesk"):
        read("how many helpdesk tickets?")
    helpdesk = understand("how many helpdesk tickets?", SHAPES, TODAY).to_json()
    with pytest.raises(NotUnderstood, match="was about helpdesk tickets"):
        read("what about urgent ones?", helpdesk)  # CATALOG reads jira only


@pytest.mark.parametrize(
    "question",
    [
        "spend as of October 5",
        "total spend as at October 5",
        "spend by October 5",
        "spend from October 5 on",
        "spend from October 5",
        "clicks from September onwards",
        "spend around October 5",
        "top 3 campaigns by spend as of October 5",
    ],
)
def test_open_ended_and_approximate_days_are_asked_back(question):
    # Each was once answered as the single day named ("as of May 15" -> May 15's spend alone).
    with pytest.raises(NotUnderstood, match="open-ended or approximate"):
        read(question)
    assert span(read("spend from October 3 to October 5")) == ("2026-10-03", "2026-10-05")


def test_up_from_a_period_names_the_baseline_not_the_period_measured():
    # "is spend up from September?" once compared September with August.
    with pytest.raises(NotUnderstood, match="to when"):
        read("is spend up from September?")
    assert read("is spend up in September?").shape == "compare"


@pytest.mark.parametrize(
    "question",
    [
        "of the email tickets, what share are critical",
        "for email tickets, what percent are critical",
        "in the email channel, what share of tickets are critical",
        "email tickets: what % are critical",
    ],
)
def test_a_share_names_its_group_in_any_order(question):
    # Each once divided by every ticket: the group named before the share was not seen.
    intent = read(question)
    assert [f[0] for f in intent.share_within] == ["channel"]


def test_a_share_over_two_fields_without_a_named_group_is_asked_back():
    with pytest.raises(NotUnderstood, match="A share of which tickets"):
        read("what share of tickets are critical for email")


@pytest.mark.parametrize(
    "question",
    [
        "email vs chat tickets resolved yesterday",
        "how many critical tickets were resolved yesterday and how many high",
        "how many critical and how many high tickets were resolved yesterday",
    ],
)
def test_several_values_of_one_field_are_counted_each(question):
    # Once their union against the day before (-98.2%), or their sum.
    intent = read(question)
    assert (intent.shape, len(intent.periods)) == ("breakdown", 1)
    assert intent.group_by in ("channel", "priority")
    union = read("how many email or chat tickets were resolved yesterday")
    assert (union.shape, union.group_by) == ("total", None)


@pytest.mark.parametrize(
    "question", ["tickets that are critical or email", "critical email tickets and high chat tickets"]
)
def test_filters_of_different_fields_combine_with_and_only(question):
    # "critical or pending" once counted critical AND pending.
    with pytest.raises(NotUnderstood):
        read(question)


def test_ticket_follow_ups_widen_a_field_and_keep_a_share():
    # "what about all channels?" once kept the email filter; "and yesterday?" after a share gave a count.
    email = read("how many critical email tickets were resolved last week").to_json()
    widened = read("what about all channels?", email)
    assert widened.ticket_filters == [("priority", "priority_raw", "Critical")]
    by_channel = read("and for every channel?", email)
    assert (by_channel.group_by, by_channel.ticket_filters) == ("channel", [("priority", "priority_raw", "Critical")])
    share = read("what share of email tickets are critical").to_json()
    chat = read("and for chat?", share)
    assert (chat.shape, chat.share_within) == ("share", [("channel", "channel", "chat")])
    assert (
        read("and last week?", read("what share of tickets resolved yesterday were urgent").to_json()).shape == "share"
    )


def test_open_backlog_is_the_backlog_not_the_status_open():
    # "open backlog" once added the status filter open and dropped pending tickets.
    intent = read("what is the open backlog")
    assert (intent.ticket_measure, intent.ticket_filters) == ("backlog", [])


def test_shares_and_comparisons_with_the_whole():
    # "what % of camp 1 spend was in May" once gave camp 1's share of May; "compare to the overall
    # CTR" compared with the month before; "what may our CTR be" read the month May.
    with pytest.raises(NotUnderstood, match="fell in a period"):
        read("what % of Summer Sale spend was in September")
    with pytest.raises(NotUnderstood, match="part with the whole"):
        read("how does Summer Sale CTR compare to the overall CTR last month")
    assert read("what may our CTR be overall").periods == []
    assert "share-of-all" in read("what % of total clicks came from Summer Sale last month").notes
    assert "share-of-all" not in read("what % of clicks came from Summer Sale last month").notes


def test_a_text_search_follow_up_keeps_the_text():
    # "how many tickets about invoices" -> "and last week?" once searched for nothing (0).
    first = read("how many tickets about invoices").to_json()
    again = read("and last week?", first)
    assert (again.ticket_measure, again.search_text) == ("mentions", "invoices")


def test_one_total_as_a_percent_of_another_and_both_are_asked_back():
    # "camp 3 spend as a percent of camp 1 spend" once gave each one's share of the account;
    # "and both?" after Google's then Meta's spend gave Meta's again.
    with pytest.raises(NotUnderstood, match="two questions"):
        read("Summer Sale spend as a percent of Search | Brand spend in Northwind Outdoor last month")
    google = read("spend for Northwind Outdoor last month").to_json()
    with pytest.raises(NotUnderstood, match="Both of which"):
        read("and both?", google)


@pytest.mark.parametrize(
    "question, says",
    [
        ("average CTR across campaigns last month", "average of a ratio"),
        ("How many tickets are there in total, and how many are critical?", "one thing at a time"),
        ("average backlog last month", "I don't average it"),
    ],
)
def test_readings_that_dropped_a_word_are_asked_back(question, says):
    # Each once answered something else: the pooled CTR unsaid, the second half only, the backlog
    # at the end of the month.
    with pytest.raises(NotUnderstood, match=says):
        read(question)


@pytest.mark.parametrize(
    "question, says",
    [
        ("spend to October 5", "open-ended"),
        ("spend October 5+", "open-ended"),
        ("Summer Sale CTR last month versus the combined CTR", "part with the whole"),
        ("what % of Summer Sale spend was on October 5", "fell in a period"),
        ("email vs urgent tickets created yesterday", "values of one field"),
    ],
)
def test_the_recheck_of_the_fourth_audit(question, says):
    # Phrasings of the same wrong readings that the first fixes missed ("spend to May 15" was May
    # 15's spend; "versus the combined CTR" compared with the month before).
    with pytest.raises(NotUnderstood, match=says):
        read(question)
    summer = read("clicks for Summer Sale last month").to_json()
    assert read("and in total?", summer).entities == [] and read("and combined?", summer).entities == []


def test_widening_to_all_campaigns_keeps_the_named_account():
    # "spend for Northwind Outdoor" -> "what about all campaigns?" once dropped the account too.
    campaign = read("spend for Summer Sale in Northwind Outdoor last month").to_json()
    account = read("spend for Northwind Outdoor last month").to_json()
    assert [e.kind for e in read("what about all campaigns?", account).entities] == ["account"]
    assert read("what about all accounts?", account).entities == []
    assert [e.kind for e in read("what about all campaigns?", campaign).entities] in ([], ["account"])


def test_a_thresholds_currency_symbol_is_kept_for_the_answer_to_check():
    assert "threshold-symbol=€" in read("how many days was spend over €50 last month").notes
    assert not any(n.startswith("threshold-symbol") for n in read("how many days was spend over 50 last month").notes)
