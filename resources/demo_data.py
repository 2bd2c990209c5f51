"""Deterministic demo data shaped like the Google Ads API and a helpdesk export.

Every number for an (entity, day) is a pure function of the seed, the entity's ids and the day:
it never depends on the run date, the requested range or call order. Shifting the demo's end
date therefore re-extracts identical numbers for overlapping days (idempotent refreshes), and
two instances with the same seed agree exactly.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

PLATFORM = "google_ads"
SOURCE = "demo"
CENTS = Decimal("0.01")


def rng(seed: int, *parts) -> random.Random:
    """A generator for one (entity, day): never Python's salted hash()."""
    digest = hashlib.sha256("|".join(str(p) for p in (seed, *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _default_end() -> date:
    return date.today() - timedelta(days=1)


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENTS)


# -- the catalogue -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignSpec:
    campaign_id: str
    name: str
    channel_type: str
    daily_budget: float  # average spend per day, account currency
    ctr: float
    cpc: float
    conversion_rate: float
    value_per_conversion: float
    status: str = "ENABLED"
    ends_days_before_end: int | None = None  # paused campaigns stop this many days before end_date
    zero_impression_weekday: int | None = None  # a weekday with no delivery (ratios divide by 0)
    ad_groups: tuple[tuple[str, str, tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]], ...] = ()


@dataclass(frozen=True)
class AccountSpec:
    account_id: str
    name: str
    currency_code: str
    time_zone: str
    domain: str
    campaigns: tuple[CampaignSpec, ...]


def _groups(prefix: int, themes: list[tuple[str, list[str]]]) -> tuple:
    """Ad groups with 2-3 responsive search ads each; ids derived from a per-campaign prefix."""
    groups = []
    for g, (theme, words) in enumerate(themes, start=1):
        ads = []
        for a in range(1, 2 + (g % 2) + 1):
            headlines = tuple(f"{w} {theme}".strip() for w in words[: 3 + a % 3])
            descriptions = (f"Shop {theme.lower()} with free returns.", f"Rated 4.8/5 by customers. Order today.")
            ads.append((f"{prefix}{g}{a:02d}7", headlines, descriptions))
        groups.append((f"{prefix}{g}3", f"{theme}", tuple(ads)))
    return tuple(groups)


ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec(
        "4216739015", "Northwind Outdoor", "USD", "America/New_York", "northwind.example",
        (
            CampaignSpec("20318841", "Search | Tents | US", "SEARCH", 420, 0.062, 1.35, 0.045, 140,
                         ad_groups=_groups(20318, [("Tents", ["Buy", "Best", "Ultralight", "Family", "4-Season"]),
                                                   ("Camping Gear", ["Shop", "Top", "Durable", "Outdoor", "New"]),
                                                   ("Backpacks", ["Hiking", "Travel", "Waterproof", "Best", "Light"])])),
            CampaignSpec("20318852", "Search | Brand", "SEARCH", 120, 0.11, 0.55, 0.09, 110,
                         ad_groups=_groups(20319, [("Northwind", ["Official", "Shop", "Northwind", "Save on"]),
                                                   ("Northwind Sale", ["Official", "Shop", "Seasonal", "Outlet"])])),
            CampaignSpec("20318863", "Display | Remarketing", "DISPLAY", 90, 0.008, 0.42, 0.02, 95,
                         ad_groups=_groups(20320, [("Cart Abandoners", ["Come back to", "Still thinking of", "Finish your"]),
                                                   ("Past Buyers", ["New", "Restock", "Upgrade your"])])),
            CampaignSpec("20318874", "PMax | All Products", "PERFORMANCE_MAX", 300, 0.021, 0.88, 0.035, 125),
            CampaignSpec("20318885", "Search | Summer Sale", "SEARCH", 260, 0.055, 1.1, 0.05, 90, status="PAUSED",
                         ends_days_before_end=40,
                         ad_groups=_groups(20321, [("Summer Tents", ["Summer", "Sale on", "Discount"]),
                                                   ("Summer Sleeping Bags", ["Summer", "Sale on", "Light"])])),
        ),
    ),
    AccountSpec(
        "7384920156", "Brightlane Studio", "EUR", "Europe/Berlin", "brightlane.example",
        (
            CampaignSpec("30427716", "Search | Design Courses | DE", "SEARCH", 180, 0.048, 1.9, 0.03, 180,
                         ad_groups=_groups(30427, [("UX Course", ["Online", "Certified", "Best", "Live"]),
                                                   ("UI Design Course", ["Online", "Beginner", "Advanced", "Live"]),
                                                   ("Figma Course", ["Learn", "Master", "Quick"])])),
            CampaignSpec("30427727", "Search | Brand", "SEARCH", 45, 0.13, 0.6, 0.08, 150,
                         ad_groups=_groups(30428, [("Brightlane", ["Official", "Brightlane", "Join"])])),
            CampaignSpec("30427738", "Display | Prospecting", "DISPLAY", 70, 0.006, 0.35, 0.012, 160,
                         zero_impression_weekday=6,
                         ad_groups=_groups(30429, [("Design Careers", ["Start", "Switch to", "Grow your"]),
                                                   ("Creative Pros", ["For", "Upskill", "Level up"])])),
            CampaignSpec("30427749", "Video | Course Trailers", "VIDEO", 60, 0.004, 0.25, 0.01, 170,
                         ad_groups=_groups(30430, [("Trailer Viewers", ["Watch", "See", "Preview"]),
                                                   ("Design Fans", ["For", "Made for", "Loved by"])])),
        ),
    ),
    AccountSpec(
        "5902261847", "Kestrel Labs", "GBP", "Europe/London", "kestrel.example",
        (
            CampaignSpec("40519931", "Search | Lab Software", "SEARCH", 95, 0.041, 2.4, 0.025, 60,
                         ad_groups=_groups(40519, [("LIMS", ["Cloud", "Modern", "Affordable", "GxP"]),
                                                   ("ELN", ["Electronic", "Simple", "Team"])])),
            CampaignSpec("40519942", "Search | Brand", "SEARCH", 25, 0.12, 0.7, 0.07, 55,
                         ad_groups=_groups(40520, [("Kestrel", ["Official", "Kestrel", "Try"]),
                                                   ("Kestrel Labs", ["Official", "Demo", "Pricing"])])),
            CampaignSpec("40519953", "Display | Webinars", "DISPLAY", 30, 0.007, 0.4, 0.015, 40,
                         ad_groups=_groups(40521, [("Webinar Signups", ["Free", "Join our", "Live"]),
                                                   ("Lab Managers", ["For", "Built for", "Save time,"])])),
        ),
    ),
)
ACCOUNTS_BY_ID = {a.account_id: a for a in ACCOUNTS}


def _account(account_id: str) -> AccountSpec:
    try:
        return ACCOUNTS_BY_ID[account_id]
    except KeyError:
        raise KeyError(f"unknown demo account {account_id!r}; known: {', '.join(ACCOUNTS_BY_ID)}") from None


# -- metrics -------------------------------------------------------------------------------------
def _ad_day(seed: int, campaign: CampaignSpec, ad_key: str, day: date, share: float) -> dict:
    """One ad's (or a campaign-only campaign's) metrics for one day."""
    if campaign.zero_impression_weekday is not None and day.weekday() == campaign.zero_impression_weekday:
        return {"impressions": 0, "clicks": 0, "cost_micros": 0, "conversions": Decimal("0.00"),
                "conversions_value": Decimal("0.00")}
    r = rng(seed, campaign.campaign_id, ad_key, day.isoformat())
    weekday_factor = 0.75 if day.weekday() >= 5 else 1.0
    spend = campaign.daily_budget * share * weekday_factor * r.uniform(0.7, 1.3)
    cpc = campaign.cpc * r.uniform(0.8, 1.2)
    clicks = max(0, int(spend / cpc))
    impressions = max(clicks, int(clicks / (campaign.ctr * r.uniform(0.8, 1.2)))) if clicks else r.randint(0, 40)
    cost_cents = int(round(clicks * cpc * 100))
    conversions = _money(min(clicks, clicks * campaign.conversion_rate * r.uniform(0.5, 1.5)))
    value = _money(float(conversions) * campaign.value_per_conversion * r.uniform(0.8, 1.2))
    return {"impressions": impressions, "clicks": clicks, "cost_micros": cost_cents * 10_000,
            "conversions": conversions, "conversions_value": value}


def _sum_metrics(rows: list[dict]) -> dict:
    keys = ("impressions", "clicks", "cost_micros", "conversions", "conversions_value")
    return {k: sum((row[k] for row in rows), Decimal("0.00") if k.startswith("conv") else 0) for k in keys}


class DemoGoogleAdsSource:
    platform = PLATFORM
    source = SOURCE

    def __init__(self, end_date: date | None = None, days: int = 90, seed: int = 7):
        self.end_date = end_date or _default_end()
        self.days = days
        self.seed = seed

    def date_range(self) -> tuple[date, date]:
        return self.end_date - timedelta(days=self.days - 1), self.end_date

    def accounts(self) -> list[dict]:
        return [self.customer(a.account_id) for a in ACCOUNTS]

    def customer(self, account_id: str) -> dict:
        a = _account(account_id)
        return {"account_id": a.account_id, "name": a.name, "currency_code": a.currency_code,
                "time_zone": a.time_zone}

    def _campaign_dates(self, campaign: CampaignSpec) -> tuple[date, date | None]:
        start = self.date_range()[0] - timedelta(days=30)
        end = None
        if campaign.ends_days_before_end is not None:
            end = self.end_date - timedelta(days=campaign.ends_days_before_end)
        return start, end

    def campaigns(self, account_id: str) -> list[dict]:
        rows = []
        for c in _account(account_id).campaigns:
            start, end = self._campaign_dates(c)
            rows.append({"account_id": account_id, "campaign_id": c.campaign_id, "name": c.name,
                         "status": c.status, "channel_type": c.channel_type, "start_date": start, "end_date": end})
        return rows

    def ad_groups(self, account_id: str) -> list[dict]:
        return [
            {"account_id": account_id, "campaign_id": c.campaign_id, "ad_group_id": g_id, "name": g_name,
             "status": "ENABLED"}
            for c in _account(account_id).campaigns
            for g_id, g_name, _ in c.ad_groups
        ]

    def ads(self, account_id: str) -> list[dict]:
        domain = _account(account_id).domain
        return [
            {"account_id": account_id, "ad_group_id": g_id, "ad_id": ad_id, "ad_type": "RESPONSIVE_SEARCH_AD",
             "headlines": list(headlines), "descriptions": list(descriptions),
             "final_url": f"https://www.{domain}/{g_name.lower().replace(' ', '-')}", "status": "ENABLED"}
            for c in _account(account_id).campaigns
            for g_id, g_name, ads in c.ad_groups
            for ad_id, headlines, descriptions in ads
        ]

    def _days(self, start: date, end: date, campaign: CampaignSpec):
        first, last = self.date_range()
        _, campaign_end = self._campaign_dates(campaign)
        day, stop = max(start, first), min(end, last, campaign_end or last)
        while day <= stop:
            yield day
            day += timedelta(days=1)

    def _ad_rows(self, account_id: str, campaign: CampaignSpec, day: date) -> list[dict]:
        ads = [(g_id, ad_id) for g_id, _, ads in campaign.ad_groups for ad_id, _, _ in ads]
        return [
            {"account_id": account_id, "campaign_id": campaign.campaign_id, "ad_group_id": g_id, "ad_id": ad_id,
             "date": day, **_ad_day(self.seed, campaign, ad_id, day, 1 / len(ads))}
            for g_id, ad_id in ads
        ]

    def ad_daily_metrics(self, account_id: str, start: date, end: date) -> list[dict]:
        return [
            row
            for c in _account(account_id).campaigns
            for day in self._days(start, end, c)
            for row in self._ad_rows(account_id, c, day)
        ]

    def campaign_daily_metrics(self, account_id: str, start: date, end: date) -> list[dict]:
        rows = []
        for c in _account(account_id).campaigns:
            for day in self._days(start, end, c):
                # Campaigns with ads report exactly the sum of their ads; PMax has no ad rows.
                metrics = (_sum_metrics(self._ad_rows(account_id, c, day)) if c.ad_groups
                           else _ad_day(self.seed, c, "campaign", day, 1.0))
                rows.append({"account_id": account_id, "campaign_id": c.campaign_id, "date": day, **metrics})
        return rows


# -- tickets -------------------------------------------------------------------------------------
PRIORITIES = [("urgent", "P1 - Urgent", 0.05), ("high", "P2 - High", 0.20), ("normal", "P3 - Normal", 0.55),
              ("low", "P4 - Low", 0.20)]
CHANNELS = ["email", "chat", "phone", "web"]
CATEGORIES = {
    "billing": ("Charged twice for my order", "I was billed twice for order {n}. Please refund one charge."),
    "technical": ("App crashes on login", "Since the last update the app closes when I sign in (device {n})."),
    "account": ("Cannot reset my password", "The reset link in the email has expired twice. Account {n}."),
    "shipping": ("Where is my package?", "Order {n} shows shipped a week ago but tracking has not moved."),
    "feature_request": ("Export to CSV please", "It would help us a lot to export reports to CSV ({n})."),
}
AGENTS = ["maria", "tomas", "aisha", "li"]
# Median hours to first response / resolution by priority (urgent fastest).
RESPONSE_HOURS = {"urgent": 0.5, "high": 2, "normal": 6, "low": 16}
RESOLUTION_HOURS = {"urgent": 4, "high": 12, "normal": 36, "low": 72}


class DemoTicketSource:
    source = SOURCE

    def __init__(self, end_date: date | None = None, days: int = 90, seed: int = 7):
        self.end_date = end_date or _default_end()
        self.days = days
        self.seed = seed

    def date_range(self) -> tuple[date, date]:
        return self.end_date - timedelta(days=self.days - 1), self.end_date

    def _horizon(self) -> datetime:
        return datetime.combine(self.end_date + timedelta(days=1), time.min, tzinfo=timezone.utc)

    def _tickets_on(self, day: date) -> list[dict]:
        """A day's tickets as they would be observed at the end of `end_date`."""
        r = rng(self.seed, "tickets", day.isoformat())
        count = r.randint(14, 25) if day.weekday() < 5 else r.randint(8, 14)
        tickets = []
        for i in range(1, count + 1):
            t = rng(self.seed, "ticket", day.isoformat(), i)
            priority, priority_raw, _ = t.choices(PRIORITIES, weights=[p[2] for p in PRIORITIES])[0]
            category = t.choice(list(CATEGORIES))
            subject, body = CATEGORIES[category]
            created = datetime.combine(day, time.min, tzinfo=timezone.utc) + timedelta(seconds=t.randint(0, 86_399))
            responded = created + timedelta(hours=RESPONSE_HOURS[priority] * t.uniform(0.2, 2.5))
            resolved = responded + timedelta(hours=RESOLUTION_HOURS[priority] * t.uniform(0.3, 3.0))
            reopen_pending = t.random() < 0.03  # a few stay open long after creation
            tickets.append({
                "ticket_id": f"DEMO-{day:%Y%m%d}-{i:03d}", "subject": subject,
                "description": body.format(n=t.randint(10_000, 99_999)), "priority": priority,
                "priority_raw": priority_raw, "channel": t.choice(CHANNELS), "category": category,
                "created_at": created, "first_response_at": responded,
                "resolved_at": None if reopen_pending else resolved,
                "_closed_after_days": t.randint(2, 5),
            })
        return tickets

    def _observe(self, ticket: dict) -> dict:
        """Clip a ticket's life at the horizon: what has not happened yet is not reported."""
        horizon = self._horizon()
        row = {k: v for k, v in ticket.items() if not k.startswith("_")}
        if row["first_response_at"] >= horizon:
            row["first_response_at"] = None
        if row["resolved_at"] is None or row["resolved_at"] >= horizon:
            row["resolved_at"] = None
            row["status"] = "pending" if row["first_response_at"] else "open"
        else:
            closed = row["resolved_at"] + timedelta(days=ticket["_closed_after_days"])
            row["status"] = "closed" if closed < horizon else "solved"
        return row

    def _days(self, start: date, end: date):
        first, last = self.date_range()
        day = max(start, first)
        while day <= min(end, last):
            yield day
            day += timedelta(days=1)

    def tickets(self, start: date, end: date) -> list[dict]:
        return [self._observe(t) for day in self._days(start, end) for t in self._tickets_on(day)]

    def comments(self, start: date, end: date) -> list[dict]:
        rows = []
        for ticket in self.tickets(start, end):
            r = rng(self.seed, "comments", ticket["ticket_id"])
            last = ticket["resolved_at"] or self._horizon() - timedelta(seconds=1)
            span = (last - ticket["created_at"]).total_seconds()
            for n in range(1, r.randint(1, 3) + 1):
                author = "customer" if n == 1 else f"agent:{r.choice(AGENTS)}"
                rows.append({
                    "ticket_id": ticket["ticket_id"], "comment_id": str(n), "author": author,
                    "body": ticket["description"] if n == 1 else "Thanks, we are looking into it.",
                    "created_at": ticket["created_at"] + timedelta(seconds=span * (n - 1) / 3),
                })
        return rows
