"""Deterministic demo ad accounts shaped like the Google Ads API (see resources/demo.py for the
determinism contract).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from resources.demo import SOURCE, DemoWindow, days_between, money, rng, slug
from resources.ids import GOOGLE_ADS
from resources.raw_schema import METRICS

PLATFORM = GOOGLE_ADS

ZERO = Decimal("0.00")
MICROS_PER_CENT = 10_000


# -- the ad catalogue ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AdGroupSpec:
    name: str
    headlines: tuple[str, ...]  # specific to the group; each ad fills up with the account's own


@dataclass(frozen=True)
class CampaignSpec:
    campaign_id: str
    name: str
    channel_type: str
    start_date: date  # launch date (pulled back for demo windows that start earlier)
    daily_spend: float  # average weekday spend in account currency
    ctr: float
    cpc: float
    conversion_rate: float  # conversions per click
    value_per_conversion: float
    ad_groups: tuple[AdGroupSpec, ...] = ()  # empty: Performance Max, campaign-grain metrics only
    descriptions: tuple[str, ...] = ()  # ads of the campaign take two each
    status: str = "ENABLED"
    ends_days_before_end: int | None = None  # a campaign that stopped this many days before end_date
    dark_weekday: int | None = None  # ad schedule off that weekday: zero-impression rows

    @property
    def has_ads(self) -> bool:
        return bool(self.ad_groups)


@dataclass(frozen=True)
class AccountSpec:
    account_id: str
    name: str
    currency_code: str
    time_zone: str
    domain: str
    weekend_factor: float  # consumer shoppers keep browsing at weekends; B2B buyers do not
    headlines: tuple[str, ...]  # account-wide headlines that complete every ad
    campaigns: tuple[CampaignSpec, ...]


def _groups(*groups: tuple[str, ...]) -> tuple[AdGroupSpec, ...]:
    """(name, headline, ...) tuples: the compact form the catalogue below is written in."""
    return tuple(AdGroupSpec(name, tuple(headlines)) for name, *headlines in groups)


ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec(
        "4216739015",
        "Northwind Outdoor",
        "USD",
        "America/New_York",
        "northwind.example",
        weekend_factor=1.1,
        headlines=("Free Shipping Over $75", "30-Day Trail Guarantee", "Rated 4.8 by 12k Hikers"),
        campaigns=(
            CampaignSpec(
                "20318841",
                "Search | Tents | US",
                "SEARCH",
                date(2024, 3, 4),
                daily_spend=420,
                ctr=0.055,
                cpc=1.35,
                conversion_rate=0.045,
                value_per_conversion=140,
                ad_groups=_groups(
                    ("Backpacking Tents", "Backpacking Tents", "Tents Under 3 lb"),
                    ("Family Tents", "Roomy Family Tents", "Tents for 6 or More"),
                    ("Ultralight Tents", "Ultralight Tents", "Pack Light, Camp Dry"),
                ),
                descriptions=(
                    "Tents tested in wind, rain and snow. Free shipping on orders over $75.",
                    "Compare weights, sizes and prices. Pitch in minutes, packs down small.",
                    "Outfitters since 1998. Order today and get it before the weekend.",
                ),
            ),
            CampaignSpec(
                "20318852",
                "Search | Brand",
                "SEARCH",
                date(2023, 11, 6),
                daily_spend=120,
                ctr=0.065,
                cpc=0.55,
                conversion_rate=0.06,
                value_per_conversion=110,
                ad_groups=_groups(
                    ("Northwind Brand", "Northwind Outdoor", "Official Northwind Store"),
                    ("Northwind Sale", "Northwind Outlet Sale", "Up to 40% Off Northwind"),
                ),
                descriptions=(
                    "Shop the official Northwind Outdoor store. Free returns for 30 days.",
                    "Tents, packs and apparel from Northwind. Members get early access.",
                    "Find last season's gear at outlet prices while stocks last.",
                ),
            ),
            CampaignSpec(
                "20318863",
                "Display | Remarketing",
                "DISPLAY",
                date(2024, 5, 20),
                daily_spend=90,
                ctr=0.009,
                cpc=0.45,
                conversion_rate=0.025,
                value_per_conversion=95,
                ad_groups=_groups(
                    ("Cart Abandoners", "Still Thinking It Over?", "Your Cart Is Waiting"),
                    ("Past Buyers", "New Season Gear Is In", "Time for an Upgrade?"),
                ),
                descriptions=(
                    "The gear you picked is still in your cart. Free shipping over $75.",
                    "New season tents and packs just landed. See what's new at Northwind.",
                    "Trail-tested gear with a 30-day guarantee. Come back and gear up.",
                ),
            ),
            CampaignSpec(
                "20318874",
                "PMax | All Products",
                "PERFORMANCE_MAX",
                date(2024, 8, 12),
                daily_spend=300,
                ctr=0.021,
                cpc=0.88,
                conversion_rate=0.035,
                value_per_conversion=125,
            ),
            CampaignSpec(
                "20318885",
                "Search | Summer Sale",
                "SEARCH",
                date(2025, 5, 26),
                daily_spend=260,
                ctr=0.05,
                cpc=1.1,
                conversion_rate=0.05,
                value_per_conversion=90,
                ad_groups=_groups(
                    ("Summer Tents", "Summer Tent Sale", "Tents Up to 30% Off"),
                    ("Summer Sleeping Bags", "Light Summer Bags", "Sleeping Bags on Sale"),
                ),
                descriptions=(
                    "Summer sale: up to 30% off tents and sleeping bags. Ends Sunday.",
                    "Warm nights, light packs. Save on summer camping gear today.",
                ),
                status="PAUSED",
                ends_days_before_end=40,
            ),
        ),
    ),
    AccountSpec(
        "7384920156",
        "Brightlane Studio",
        "EUR",
        "Europe/Berlin",
        "brightlane.example",
        weekend_factor=0.85,
        headlines=("Learn from Working Designers", "Certificate Included", "Start Any Monday"),
        campaigns=(
            CampaignSpec(
                "30427716",
                "Search | Design Courses | DE",
                "SEARCH",
                date(2024, 1, 8),
                daily_spend=180,
                ctr=0.048,
                cpc=1.9,
                conversion_rate=0.03,
                value_per_conversion=165,
                ad_groups=_groups(
                    ("UX Course", "Online UX Course", "UX Design in 8 Weeks"),
                    ("UI Design Course", "UI Design Course", "Master Interface Design"),
                    ("Figma Course", "Learn Figma Fast", "Figma from Zero to Pro"),
                ),
                descriptions=(
                    "Live online classes taught by working designers. Certificate included.",
                    "Build a real portfolio in 8 weeks. Small groups and weekly feedback.",
                    "Evening and weekend classes. Try your first lesson free.",
                ),
            ),
            CampaignSpec(
                "30427727",
                "Search | Brand",
                "SEARCH",
                date(2023, 9, 4),
                daily_spend=45,
                ctr=0.065,
                cpc=0.6,
                conversion_rate=0.06,
                value_per_conversion=150,
                ad_groups=_groups(
                    ("Brightlane Brand", "Brightlane Studio", "Official Brightlane Site"),
                    ("Brightlane Courses", "All Brightlane Courses", "Brightlane Course Dates"),
                ),
                descriptions=(
                    "The official Brightlane Studio site. See all course dates and prices.",
                    "Design courses from Berlin, online everywhere. Enrol in minutes.",
                ),
            ),
            CampaignSpec(
                "30427738",
                "Display | Prospecting",
                "DISPLAY",
                date(2024, 10, 7),
                daily_spend=70,
                ctr=0.006,
                cpc=0.45,
                conversion_rate=0.02,
                value_per_conversion=160,
                ad_groups=_groups(
                    ("Design Careers", "Switch to a Design Career", "Become a UX Designer"),
                    ("Creative Pros", "Upskill Your Design Team", "Level Up Your Craft"),
                ),
                descriptions=(
                    "Thinking about a career in design? Start with a free lesson.",
                    "Team licences for design courses. Upskill your whole studio.",
                ),
                dark_weekday=6,
            ),
            CampaignSpec(
                "30427749",
                "Video | Course Trailers",
                "VIDEO",
                date(2025, 2, 3),
                daily_spend=60,
                ctr=0.004,
                cpc=0.4,
                conversion_rate=0.02,
                value_per_conversion=160,
                ad_groups=_groups(
                    ("Trailer Viewers", "Watch a Free Lesson", "See a Class in Action"),
                    ("Design Fans", "Made for Curious Minds"),
                ),
                descriptions=(
                    "Watch a two-minute trailer of our most popular design course.",
                    "See how our students went from beginner to hired in a year.",
                ),
            ),
        ),
    ),
    AccountSpec(
        "5902261847",
        "Kestrel Labs",
        "GBP",
        "Europe/London",
        "kestrel.example",
        weekend_factor=0.45,
        headlines=("Book a 20-Minute Demo", "Trusted by 300+ Labs", "GxP Ready Out of the Box"),
        campaigns=(
            CampaignSpec(
                "40519931",
                "Search | Lab Software",
                "SEARCH",
                date(2024, 4, 15),
                daily_spend=95,
                ctr=0.041,
                cpc=2.4,
                conversion_rate=0.025,
                value_per_conversion=60,
                ad_groups=_groups(
                    ("LIMS", "Cloud LIMS for Labs", "Modern LIMS Software"),
                    ("ELN", "Electronic Lab Notebook", "Simple ELN for Teams"),
                ),
                descriptions=(
                    "Replace spreadsheets with software your whole lab will use.",
                    "Audit trails, sample tracking and reports in one place. UK support.",
                    "Go live in weeks, not months. Book a 20-minute demo today.",
                ),
            ),
            CampaignSpec(
                "40519942",
                "Search | Brand",
                "SEARCH",
                date(2023, 10, 2),
                daily_spend=25,
                ctr=0.065,
                cpc=0.7,
                conversion_rate=0.065,
                value_per_conversion=55,
                ad_groups=_groups(
                    ("Kestrel Brand", "Kestrel Labs Official", "Kestrel LIMS Pricing"),
                    ("Kestrel Login", "Kestrel Labs Sign In"),
                ),
                descriptions=(
                    "The official Kestrel Labs site. Pricing, demos and customer stories.",
                    "Already a customer? Sign in or contact our UK support team.",
                ),
            ),
            CampaignSpec(
                "40519953",
                "Display | Webinars",
                "DISPLAY",
                date(2025, 1, 13),
                daily_spend=30,
                ctr=0.007,
                cpc=0.4,
                conversion_rate=0.02,
                value_per_conversion=40,
                ad_groups=_groups(
                    ("Webinar Signups", "Free Lab Data Webinar", "Join Our Live Webinar"),
                    ("Lab Managers", "Built for Lab Managers", "Save Hours Every Week"),
                ),
                descriptions=(
                    "Free monthly webinar: getting lab data out of spreadsheets.",
                    "Lab managers save hours a week with Kestrel. See how in 30 minutes.",
                ),
            ),
        ),
    ),
)
ACCOUNTS_BY_ID = {a.account_id: a for a in ACCOUNTS}


def account_spec(account_id: str) -> AccountSpec:
    try:
        return ACCOUNTS_BY_ID[account_id]
    except KeyError:
        known = ", ".join(ACCOUNTS_BY_ID)
        raise KeyError(f"unknown demo account {account_id!r}; known account ids: {known}") from None


# Ids nest like the API's: an ad group's id extends its campaign's, an ad's its group's (8/10/11 digits).
def ad_group_id(campaign: CampaignSpec, group_index: int) -> str:
    return f"{campaign.campaign_id}{group_index:02d}"


def ad_id(group_id: str, ad_index: int) -> str:
    return f"{group_id}{ad_index}"


def ads_per_group(group_index: int) -> int:
    return 3 if group_index % 2 else 2


@dataclass(frozen=True)
class AdSpec:
    campaign_id: str
    ad_group_id: str
    ad_id: str
    weight: float  # this ad's share of its campaign's spend


def campaign_ads(seed: int, campaign: CampaignSpec) -> list[AdSpec]:
    """Every ad of a campaign, with spend shares that differ per ad but not per day."""
    keys = [
        (ad_group_id(campaign, g), ad_id(ad_group_id(campaign, g), a))
        for g in range(1, len(campaign.ad_groups) + 1)
        for a in range(1, ads_per_group(g) + 1)
    ]
    strengths = [rng(seed, "ad-strength", a_id).uniform(0.5, 1.5) for _, a_id in keys]
    total = sum(strengths)
    return [
        AdSpec(campaign.campaign_id, g_id, a_id, s / total) for (g_id, a_id), s in zip(keys, strengths, strict=True)
    ]


def rotate(items: tuple[str, ...] | list[str], shift: int) -> list[str]:
    shift %= len(items)
    return list(items[shift:]) + list(items[:shift])


def ad_copy(account: AccountSpec, campaign: CampaignSpec, group: AdGroupSpec, group_index: int, ad_index: int) -> dict:
    """3-5 headlines and 2 descriptions; the ads of a group rotate the same pools so they differ."""
    count = 3 + (group_index + ad_index) % 3
    headlines = rotate(list(group.headlines) + list(account.headlines), ad_index - 1)[:count]
    descriptions = rotate(campaign.descriptions, ad_index - 1)[:2]
    return {"headlines": headlines, "descriptions": descriptions}


# -- ad metrics ----------------------------------------------------------------------------------
def zero_metrics() -> dict:
    return {"impressions": 0, "clicks": 0, "cost_micros": 0, "conversions": ZERO, "conversions_value": ZERO}


def day_metrics(
    seed: int, account: AccountSpec, campaign: CampaignSpec, entity_id: str, share: float, day: date
) -> dict:
    """One ad's (or one Performance Max campaign's) metrics for one day: a pure function of its inputs."""
    if day.weekday() == campaign.dark_weekday:
        return zero_metrics()
    r = rng(seed, campaign.campaign_id, entity_id, day.isoformat())
    season = account.weekend_factor if day.weekday() >= 5 else 1.0
    spend = campaign.daily_spend * share * season * r.uniform(0.7, 1.3)
    cpc = campaign.cpc * r.uniform(0.8, 1.2)
    ctr = campaign.ctr * r.uniform(0.8, 1.2)
    clicks = int(spend / cpc)
    # Some impressions still happen on a day without a click; they cost nothing (pay per click).
    impressions = max(clicks, round(clicks / ctr)) if clicks else r.randint(0, 40)
    cost_cents = round(clicks * cpc * 100)
    conversions = money(min(clicks, clicks * campaign.conversion_rate * r.uniform(0.6, 1.4)))
    value = money(conversions * money(campaign.value_per_conversion * r.uniform(0.8, 1.2)))
    return {
        "impressions": impressions,
        "clicks": clicks,
        "cost_micros": cost_cents * MICROS_PER_CENT,
        "conversions": conversions,
        "conversions_value": value,
    }


def sum_metrics(rows: list[dict]) -> dict:
    total = zero_metrics()
    for row in rows:
        for key in METRICS:
            total[key] += row[key]
    return total


class DemoGoogleAdsSource(DemoWindow):
    """Three demo ad accounts answering the same calls a Google Ads API source answers."""

    platform = PLATFORM
    source = SOURCE

    def __init__(self, end_date: date | None = None, days: int = 90, seed: int = 7):
        super().__init__(end_date, days, seed)
        self._ads = {c.campaign_id: campaign_ads(seed, c) for a in ACCOUNTS for c in a.campaigns}

    def accounts(self) -> list[dict]:
        return [self.customer(a.account_id) for a in ACCOUNTS]

    def customer(self, account_id: str) -> dict:
        a = account_spec(account_id)
        return {"account_id": a.account_id, "name": a.name, "currency_code": a.currency_code, "time_zone": a.time_zone}

    def _campaign_dates(self, campaign: CampaignSpec) -> tuple[date, date | None]:
        end = None
        if campaign.ends_days_before_end is not None:
            end = self.end_date - timedelta(days=campaign.ends_days_before_end)
        # A demo window (or a stopped campaign) earlier than the launch date would leave no data.
        start = min(campaign.start_date, self.date_range()[0], end or self.end_date)
        return start, end

    def campaigns(self, account_id: str) -> list[dict]:
        rows = []
        for c in account_spec(account_id).campaigns:
            start, end = self._campaign_dates(c)
            rows.append(
                {
                    "account_id": account_id,
                    "campaign_id": c.campaign_id,
                    "name": c.name,
                    "status": c.status,
                    "channel_type": c.channel_type,
                    "start_date": start,
                    "end_date": end,
                }
            )
        return rows

    def ad_groups(self, account_id: str) -> list[dict]:
        return [
            {
                "account_id": account_id,
                "campaign_id": c.campaign_id,
                "ad_group_id": ad_group_id(c, g),
                "name": group.name,
                "status": "ENABLED",
            }
            for c in account_spec(account_id).campaigns
            for g, group in enumerate(c.ad_groups, start=1)
        ]

    def ads(self, account_id: str) -> list[dict]:
        account = account_spec(account_id)
        return [
            {
                "account_id": account_id,
                "ad_group_id": ad_group_id(c, g),
                "ad_id": ad_id(ad_group_id(c, g), a),
                "ad_type": "RESPONSIVE_SEARCH_AD",
                **ad_copy(account, c, group, g, a),
                "final_url": f"https://www.{account.domain}/{slug(group.name)}",
                "status": "ENABLED",
            }
            for c in account.campaigns
            for g, group in enumerate(c.ad_groups, start=1)
            for a in range(1, ads_per_group(g) + 1)
        ]

    def _running_days(self, campaign: CampaignSpec, start: date, end: date) -> Iterator[date]:
        """Days of [start, end] inside the demo window on which the campaign delivered."""
        first, last = self.date_range()
        campaign_start, campaign_end = self._campaign_dates(campaign)
        return days_between(max(start, first, campaign_start), min(end, last, campaign_end or last))

    def _ad_rows(self, account: AccountSpec, campaign: CampaignSpec, day: date) -> list[dict]:
        return [
            {
                "account_id": account.account_id,
                "campaign_id": ad.campaign_id,
                "ad_group_id": ad.ad_group_id,
                "ad_id": ad.ad_id,
                "date": day,
                **day_metrics(self.seed, account, campaign, ad.ad_id, ad.weight, day),
            }
            for ad in self._ads[campaign.campaign_id]
        ]

    def ad_daily_metrics(self, account_id: str, start: date, end: date) -> list[dict]:
        account = account_spec(account_id)
        return [
            row
            for c in account.campaigns
            for day in self._running_days(c, start, end)
            for row in self._ad_rows(account, c, day)
        ]

    def campaign_daily_metrics(self, account_id: str, start: date, end: date) -> list[dict]:
        account = account_spec(account_id)
        rows = []
        for c in account.campaigns:
            for day in self._running_days(c, start, end):
                # A campaign with ads reports exactly the sum of its ads, as the API's totals do.
                metrics = (
                    sum_metrics(self._ad_rows(account, c, day))
                    if c.has_ads
                    else day_metrics(self.seed, account, c, c.campaign_id, 1.0, day)
                )
                rows.append({"account_id": account_id, "campaign_id": c.campaign_id, "date": day, **metrics})
        return rows
