"""A deterministic demo helpdesk: tickets and comments, one batch per creation day. What a later
end date adds is only what has happened since (a reply, a resolution, a status change); see
resources/demo.py for the determinism contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from resources.demo import SOURCE, DemoWindow, days_between, rng

# -- tickets -------------------------------------------------------------------------------------
# (canonical, as the helpdesk says it, share of tickets)
PRIORITIES = (
    ("urgent", "P1 - Urgent", 5),
    ("high", "P2 - High", 20),
    ("normal", "P3 - Normal", 55),
    ("low", "P4 - Low", 20),
)
CHANNELS = {"email": 40, "chat": 30, "web": 20, "phone": 10}
CATEGORY_WEIGHTS = {"technical": 30, "billing": 25, "account": 20, "shipping": 15, "feature_request": 10}
# (subject, description) templates per category; {order}/{account} become plausible numbers.
TEMPLATES = {
    "billing": (
        ("Charged twice for order {order}", "I was billed twice for order {order}. Please refund the duplicate."),
        ("Invoice shows the wrong VAT number", "Our invoice for account {account} lists an old VAT number."),
        ("Refund not received yet", "You confirmed a refund for order {order} last week but it has not arrived."),
    ),
    "technical": (
        ("App crashes on login", "Since the latest update the app closes as soon as I sign in."),
        ("Report export times out", "Exporting the monthly report fails with a timeout after a minute."),
        ("Data stopped syncing", "Nothing has synced for account {account} since yesterday morning."),
    ),
    "account": (
        ("Cannot reset my password", "The reset link has expired twice. My account is {account}."),
        ("Please add a second admin", "We need to give a colleague admin rights on account {account}."),
        ("Close my account", "Please close account {account} and delete my personal data."),
    ),
    "shipping": (
        ("Where is my package?", "Order {order} shows as shipped a week ago but tracking has not moved."),
        ("Wrong item delivered", "I received a different size than I ordered in order {order}."),
        ("Change delivery address", "Can you ship order {order} to my work address instead?"),
    ),
    "feature_request": (
        ("Export to CSV please", "It would help our team a lot to export reports to CSV."),
        ("Dark mode for the dashboard", "Any plans for a dark mode? Our team works late shifts."),
        ("Slack notifications", "Could you notify our Slack channel when a report is ready?"),
    ),
}
AGENT_REPLIES = {
    "billing": "Thanks for flagging this. Our billing team is checking the charge now.",
    "technical": "Sorry about that. Could you tell us your app version while we investigate?",
    "account": "Thanks for reaching out. I have updated your account settings as requested.",
    "shipping": "I have contacted the carrier and will update you as soon as I hear back.",
    "feature_request": "Great idea, thank you. I have passed it on to our product team.",
}
FOLLOW_UPS = ("Thanks, that solved it.", "Great, thank you for the quick help!", "Confirmed, all good now.")
AGENTS = ("maria", "tomas", "aisha", "li")
# Tickets arrive mostly in (UTC) office hours: relative weight per hour of the day.
HOURLY_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 9, 9, 9, 8, 9, 9, 8, 7, 5, 4, 3, 2, 2, 1, 1)
# Typical hours to first response and from response to resolution: urgent is fastest. Scaled by
# 0.2-2.5x and 0.3-3x, a reply always comes within a day and nearly all tickets resolve within 7 days.
RESPONSE_HOURS = {"urgent": 0.25, "high": 1.5, "normal": 4, "low": 9}
RESOLUTION_HOURS = {"urgent": 3, "high": 10, "normal": 24, "low": 48}
STUCK_SHARE = 0.02  # tickets waiting on the customer indefinitely: never resolved


@dataclass(frozen=True)
class PlannedComment:
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class TicketLife:
    """A ticket's whole life as planned on its creation day; observing it at a horizon clips the future."""

    row: dict  # the immutable fields
    first_response_at: datetime
    resolved_at: datetime | None  # None: stuck, never resolved
    closed_at: datetime | None
    comments: tuple[PlannedComment, ...]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def hours_after(moment: datetime, hours: float) -> datetime:
    """Whole seconds, as helpdesk exports report them."""
    return moment + timedelta(seconds=round(hours * 3600))


def plan_ticket(seed: int, day: date, index: int) -> TicketLife:
    r = rng(seed, "ticket", day.isoformat(), index)
    priority, priority_raw, _ = r.choices(PRIORITIES, weights=[p[2] for p in PRIORITIES])[0]
    category = r.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    channel = r.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
    subject, description = r.choice(TEMPLATES[category])
    numbers = {"order": r.randint(100_000, 999_999), "account": f"AC-{r.randint(1000, 9999)}"}

    hour = r.choices(range(24), weights=HOURLY_WEIGHTS)[0]
    created = day_start(day) + timedelta(hours=hour, seconds=r.randint(0, 3599))
    responded = hours_after(created, RESPONSE_HOURS[priority] * r.uniform(0.2, 2.5))
    stuck = r.random() < STUCK_SHARE
    resolved = None if stuck else hours_after(responded, RESOLUTION_HOURS[priority] * r.uniform(0.3, 3.0))
    closed = resolved + timedelta(days=r.randint(2, 4)) if resolved else None  # auto-close after solved

    agent = f"agent:{r.choice(AGENTS)}"
    description = description.format(**numbers)
    comments = [
        PlannedComment("customer", description, created),
        PlannedComment(agent, AGENT_REPLIES[category], responded),
    ]
    # The customer confirms the fix before it is marked resolved, or keeps waiting on a stuck ticket.
    if resolved:
        follow_up_at = responded + (resolved - responded) * r.uniform(0.2, 0.8)
    else:
        follow_up_at = hours_after(responded, r.uniform(1, 48))
    follow_up_at = follow_up_at.replace(microsecond=0)
    comments.append(PlannedComment("customer", r.choice(FOLLOW_UPS), follow_up_at))
    row = {
        "ticket_id": f"DEMO-{day:%Y%m%d}-{index:03d}",
        "subject": subject.format(**numbers),
        "description": description,
        "priority": priority,
        "priority_raw": priority_raw,
        "channel": channel,
        "category": category,
        "created_at": created,
    }
    return TicketLife(row, responded, resolved, closed, tuple(comments[: r.randint(1, 3)]))


def plan_day(seed: int, day: date) -> list[TicketLife]:
    r = rng(seed, "ticket-count", day.isoformat())
    count = r.randint(15, 25) if day.weekday() < 5 else r.randint(10, 15)
    return [plan_ticket(seed, day, i) for i in range(1, count + 1)]


def observe(ticket: TicketLife, horizon: datetime) -> dict:
    """The ticket as the helpdesk reports it at `horizon`: later events have not happened yet."""
    responded = ticket.first_response_at if ticket.first_response_at < horizon else None
    resolved = ticket.resolved_at if ticket.resolved_at and ticket.resolved_at < horizon else None
    if resolved:
        assert ticket.closed_at is not None  # plan_ticket closes every resolved ticket
        status = "closed" if ticket.closed_at < horizon else "solved"
    else:
        status = "pending" if responded else "open"
    return {**ticket.row, "status": status, "first_response_at": responded, "resolved_at": resolved}


class DemoTicketSource(DemoWindow):
    """A helpdesk's tickets and comments, one deterministic batch per creation day."""

    source = SOURCE

    def horizon(self) -> datetime:
        """The end of end_date (UTC): nothing later is reported."""
        return day_start(self.end_date + timedelta(days=1))

    def _lives(self, start: date, end: date) -> Iterator[TicketLife]:
        first, last = self.date_range()
        for day in days_between(max(start, first), min(end, last)):
            yield from plan_day(self.seed, day)

    def tickets(self, start: date, end: date) -> list[dict]:
        horizon = self.horizon()
        return [observe(t, horizon) for t in self._lives(start, end)]

    def comments(self, start: date, end: date) -> list[dict]:
        horizon = self.horizon()
        return [
            {
                "ticket_id": t.row["ticket_id"],
                "comment_id": str(n),
                "author": c.author,
                "body": c.body,
                "created_at": c.created_at,
            }
            for t in self._lives(start, end)
            # Planned comments are in time order, so the reported ones are a stable prefix.
            for n, c in enumerate((c for c in t.comments if c.created_at < horizon), start=1)
        ]
