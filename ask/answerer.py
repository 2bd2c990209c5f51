"""Grounded answers from the marts: every number stated is a sum (or a ratio of sums, or a
percentile over tickets) read from `analytics`, and `facts` carries the query and the exact values
behind it. A question that is not wholly understood, or that the data cannot answer, is declined in
words (seed 000's fallbacks) — never answered with a guess or a default.

The library the HTTP service, the CLI and (later) the LLM route share: `answer(cur, scope, question)`.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from ask.periods import Period, format_range
from ask.quarantine import held_ad_rows_note, held_tickets_note
from ask.scope import Scope
from ask.understanding import (
    ADDITIVE,
    METRICS,
    PLATFORM_LABELS,
    TICKET_WORDS,
    Catalog,
    Intent,
    Metric,
    Named,
    NotUnderstood,
    understand,
)

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
MARTS = {
    "account": "analytics.account_daily",
    "campaign": "analytics.campaign_daily",
    "ad_group": "analytics.ad_group_daily",
    "ad": "analytics.ad_daily",
}
LEVELS = ["account", "campaign", "ad_group", "ad"]
ID_COLUMNS = {"account": "account_id", "campaign": "campaign_id", "ad_group": "ad_group_id", "ad": "ad_id"}
NAME_SQL = {  # ad groups and ads carry their parent: names repeat across campaigns
    "account": "coalesce(account_name, account_id)",
    "campaign": "coalesce(campaign_name, campaign_id)",
    "ad_group": "coalesce(ad_group_name, ad_group_id) || ' (campaign ' || coalesce(campaign_name, campaign_id) || ')'",
    "ad": "coalesce(headline, ad_id) || ' (ad group ' || coalesce(ad_group_name, ad_group_id) || ', campaign ' "
    "|| coalesce(campaign_name, campaign_id) || ')'",
}
FACT = "analytics.int_ads__daily_facts"  # what the daily marts sum: its date span is theirs
TICKETS = "analytics.int_tickets__ticket_times"
TICKETS_STG = "analytics.stg_tickets__tickets"
TICKET_LABELS = {
    "created": "tickets created",
    "resolved": "tickets resolved",
    "backlog": "open tickets (backlog)",
    "first_response_hours": "first-response time",
    "resolution_hours": "resolution time",
    "sla": "SLA attainment",
}
# Ticket fields a question can filter by: the canonical column, then the source's own words.
TICKET_FILTER_COLUMNS = [
    ("priority", "priority"),
    ("status", "status"),
    ("channel", "channel"),
    ("category", "category"),
    ("resolution", "resolution"),
    ("priority", "priority_raw"),
    ("status", "status_raw"),
]
CHANNEL_SPELLINGS = {"social media": "social", "e-mail": "email", "phone call": "phone", "live chat": "chat"}
STAT_LABELS = {"avg": "average", "median": "median", "p90": "90th percentile"}
CENT = Decimal("0.01")
MIN_AS_OF, MAX_AS_OF = date(2000, 1, 1), date(2100, 12, 31)


class AccountNotFound(LookupError):
    pass


@dataclass
class Answer:
    text: str
    route: str
    facts: list[dict] = field(default_factory=list)
    freshness: dict = field(default_factory=dict)
    provider: str = "none"  # no language model was used for this answer
    cost_usd: Decimal = Decimal("0")
    # What was understood (metric, entities, period, shape), JSON-ready: the service stores it with
    # the interaction and passes it back as `previous` for a follow-up in the same conversation.
    intent: dict | None = None


@dataclass(frozen=True)
class Account:
    platform: str
    account_id: str
    name: str
    currency_code: str
    time_zone: str
    last_refreshed_at: datetime | None


# --- formatting ---------------------------------------------------------------------------------


def when(period: Period) -> str:
    """'August 2026 (Aug 1 – Aug 31, 2026)'; the label alone when it already is the range."""
    span = format_range(period.start, period.end)
    return period.label if span in period.label else f"{period.label} ({span})"


def plain(value: Decimal | None) -> str | None:
    """An exact decimal without scale noise: 6644.2500000000 -> '6644.25', 100 -> '100'."""
    if value is None:
        return None
    return format(value.normalize(), "f")


def format_value(metric: Metric, value: Decimal | None, currency: str) -> str:
    if value is None:
        return "undefined"
    if metric.kind == "money":
        amount = f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
        symbol = CURRENCY_SYMBOLS.get(currency)
        return f"{symbol}{amount}" if symbol else f"{amount} {currency}".strip()
    if metric.kind == "ratio":
        return f"{(value * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"
    if metric.kind == "multiple":
        return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP)}x"
    return format_number(value)


def format_number(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


def format_change(old: Decimal | None, new: Decimal | None, metric: Metric, currency: str) -> str:
    if old is None or new is None:
        return "no comparison possible (a value is undefined)"
    delta = new - old
    sign = "+" if delta > 0 else "-" if delta < 0 else "±"
    if metric.kind == "ratio":
        absolute = f"{sign}{abs(delta * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)} percentage points"
    else:
        absolute = sign + format_value(metric, abs(delta), currency)
    if old == 0:
        return f"{absolute} (from zero, no % change)"
    pct = (delta / abs(old) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{absolute} ({'+' if pct > 0 else ''}{pct}%)"


def metric_value(metric: Metric, sums: dict[str, Decimal]) -> Decimal | None:
    """Additive metrics are sums; ratios are ratios of sums, None when the denominator is 0."""
    if metric.numerator is None:
        return sums[metric.name]
    assert metric.denominator is not None
    denominator = sums[metric.denominator]
    if not denominator:
        return None
    value = sums[metric.numerator] / denominator
    return value * 1000 if metric.name == "cpm" else value


def all_data(first: date, last: date, today: date, label: str, what: str) -> Period:
    """The period a question without one covers: the data's days, up to today included (as "this
    month" runs to today). Asked as of an earlier day, the days after it are not "the data there
    is": they had not happened yet, and the answer says where it stopped."""
    if first > today:
        raise NotUnderstood(
            f"I don't have {what} up to {today:%b %-d, %Y}: the data starts on {first:%b %-d, %Y}.", "no_data"
        )
    if last <= today:
        return Period(first, last, f"{label} ({format_range(first, last)})")
    return Period(first, today, f"{label} up to today, {today:%b %-d} included ({format_range(first, today)})")


def whole_months(unit: str, start: date, end: date) -> None:
    """An average per month is over whole calendar months; 41 days are not "2 months". An average
    per week needs a week of data: 1,404 tickets over 3 days are not "3,276 a week"."""
    if unit == "week" and (end - start).days + 1 < 7:
        raise NotUnderstood(
            f"The data in that period ({format_range(start, end)}) is less than a week, so an average per week "
            "would be an extrapolation. Ask for the total, or an average per day.",
            "unsupported_shape",
        )
    if unit == "month" and not (start.day == 1 and (end + timedelta(days=1)).day == 1):
        raise NotUnderstood(
            f"The data in that period ({format_range(start, end)}) is not whole calendar months, so an average per "
            'month would be misleading. Ask for an average per day or week, or name whole months ("in Q2 2020").',
            "unsupported_shape",
        )


# --- scope and catalog --------------------------------------------------------------------------

# The accounts a question reads. The pair filter is the exact one; the two ANY filters follow from
# it and are what PostgreSQL pushes below a mart view's GROUP BY into the fact's (platform,
# account_id, date_day) index (a semi-join is not pushed down): one account's month at 20 accounts
# x 2 years reads its own rows, 2.5 ms instead of 50.
IN_ACCOUNTS = (
    "platform = ANY(%s::text[]) AND account_id = ANY(%s::text[]) "
    "AND (platform, account_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
)


def in_accounts_params(accounts: list[Account]) -> list:
    platforms, account_ids = [a.platform for a in accounts], [a.account_id for a in accounts]
    return [platforms, account_ids, platforms, account_ids]


def load_accounts(cur, scope: Scope) -> list[Account]:
    if not scope.accounts:
        return []
    cur.execute(
        "SELECT platform, account_id, coalesce(name, account_id), coalesce(currency_code, ''), "
        "coalesce(time_zone, 'UTC'), last_refreshed_at FROM app.ad_accounts "
        "WHERE (platform, account_id) IN (SELECT * FROM unnest(%s::text[], %s::text[])) ORDER BY platform, account_id",
        ([p for p, _ in scope.accounts], [a for _, a in scope.accounts]),
    )
    return [Account(*row) for row in cur.fetchall()]


# Names and relations change only when a refresh or import runs: a few seconds' memory spares
# every answer the statements that read them (one process-wide cache, per database and scope).
CATALOG_TTL_S = 5.0
_cache: dict[tuple, tuple[float, object]] = {}
_cache_lock = threading.Lock()


def _cached(cur, key: tuple, load):
    full_key = (cur.connection.dsn, *key)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(full_key)
        if hit and hit[0] > now:
            return hit[1]
    value = load()
    with _cache_lock:
        if len(_cache) > 1000:
            _cache.clear()
        _cache[full_key] = (now + CATALOG_TTL_S, value)
    return value


def _relation_exists(cur, name: str) -> bool:
    def load() -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        return bool(cur.fetchone()[0])

    return bool(_cached(cur, ("relation", name), load))


def load_catalog(cur, scope: Scope, accounts: list[Account], with_tickets: bool = True) -> Catalog:
    key = ("catalog", tuple((a.platform, a.account_id, a.name) for a in accounts), scope.ticket_sources, with_tickets)
    catalog = _cached(cur, key, lambda: _load_catalog(cur, scope, accounts, with_tickets))
    assert isinstance(catalog, Catalog)
    return catalog


def _load_catalog(cur, scope: Scope, accounts: list[Account], with_tickets: bool) -> Catalog:
    named: list[Named] = [Named("account", a.name, a.platform, a.account_id, a.account_id) for a in accounts]
    if accounts and _relation_exists(cur, "analytics.stg_ads__campaigns"):
        keys = ([a.platform for a in accounts], [a.account_id for a in accounts])
        in_scope = "(platform, account_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
        names = {a.account_id: a.name for a in accounts}
        cur.execute(
            f"SELECT DISTINCT platform, account_id, campaign_id, campaign_name FROM analytics.stg_ads__campaigns WHERE {in_scope} AND campaign_name IS NOT NULL",
            keys,
        )
        named += [Named("campaign", n, p, a, i, names.get(a, a)) for p, a, i, n in cur.fetchall()]
        cur.execute(
            "SELECT DISTINCT g.platform, g.account_id, g.ad_group_id, g.ad_group_name, coalesce(c.campaign_name, g.campaign_id), "
            "g.campaign_id "
            "FROM analytics.stg_ads__ad_groups g LEFT JOIN analytics.stg_ads__campaigns c USING (platform, account_id, campaign_id) "
            "WHERE (g.platform, g.account_id) IN (SELECT * FROM unnest(%s::text[], %s::text[])) AND g.ad_group_name IS NOT NULL",
            keys,
        )
        named += [Named("ad_group", n, p, a, i, f"campaign {c!r}", ci) for p, a, i, n, c, ci in cur.fetchall()]
        cur.execute(
            "SELECT DISTINCT ads.platform, ads.account_id, ads.ad_id, ads.headline, coalesce(g.ad_group_name, ads.ad_group_id), "
            "ads.ad_group_id "
            "FROM analytics.stg_ads__ads ads LEFT JOIN analytics.stg_ads__ad_groups g USING (platform, account_id, ad_group_id) "
            "WHERE (ads.platform, ads.account_id) IN (SELECT * FROM unnest(%s::text[], %s::text[])) AND ads.headline IS NOT NULL",
            keys,
        )
        named += [Named("ad", n, p, a, i, f"ad group {g!r}", gi) for p, a, i, n, g, gi in cur.fetchall()]
    ticket_values: dict[str, dict[str, tuple[str, str]]] = {}
    if with_tickets and scope.ticket_sources and _relation_exists(cur, TICKETS_STG):
        # (field as asked, column): canonical columns first, so "high" means the canonical value.
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = %s",
            (TICKETS_STG.split(".")[1],),
        )
        present = {r[0] for r in cur.fetchall()}
        fields = [(f, c) for f, c in TICKET_FILTER_COLUMNS if c in present]
        columns = ", ".join(c for _, c in fields)
        cur.execute(
            f"SELECT DISTINCT {columns} FROM {TICKETS_STG} WHERE source = ANY(%s)", (list(scope.ticket_sources),)
        )
        rows = cur.fetchall()
        for index, (field_name, column) in enumerate(fields):
            for row in rows:
                value = row[index]
                if value:
                    ticket_values.setdefault(field_name, {}).setdefault(value.lower(), (column, value))
        for canonical in ("urgent", "high", "normal", "low"):
            ticket_values.setdefault("priority", {}).setdefault(canonical, ("priority", canonical))
        # The usual long names of canonical channels ("Social media" in the Kaggle export is
        # stored as "social"): read as the channel, never left over.
        channels = ticket_values.get("channel", {})
        for spelling, canonical in CHANNEL_SPELLINGS.items():
            if canonical in channels:
                channels.setdefault(spelling, channels[canonical])
        # A ticket source named in the question ("helpdesk tickets") filters by it, never is read as
        # filler: the word "helpdesk" alone must not count every source's tickets.
        for source in scope.ticket_sources:
            for spelling in (
                source.lower(),
                source.lower().replace("_", " "),
                source.lower().replace("helpdesk", "help desk"),
            ):
                ticket_values.setdefault("source", {}).setdefault(spelling, ("source", source))
    return Catalog(
        named=tuple(n for n in named if n.name),
        platforms=tuple(sorted({a.platform for a in accounts})),
        ticket_values=ticket_values,
        ticket_sources=tuple(scope.ticket_sources),
    )


def _today(accounts: list[Account], as_of: date | None) -> tuple[date, str]:
    zones = sorted({a.time_zone for a in accounts}) or ["UTC"]
    zone = zones[0] if len(zones) == 1 else "UTC"
    return (as_of or datetime.now(ZoneInfo(zone)).date()), zone


# --- entry point --------------------------------------------------------------------------------


def answer(cur, scope: Scope, question: str, as_of: date | None = None, previous: dict | None = None) -> Answer:
    """The grounded answer to `question`, reading only what `scope` allows.

    `previous` is the `intent` of the conversation's last answer (follow-ups reuse its metric,
    entities and period). Never raises for a question it cannot answer: it declines in words.
    """
    if as_of is not None and not MIN_AS_OF <= as_of <= MAX_AS_OF:
        return Answer(f"as_of must be between {MIN_AS_OF} and {MAX_AS_OF}.", route="bad_period")
    accounts = load_accounts(cur, scope)
    if not accounts and not scope.ticket_sources:
        return Answer(
            f"Workspace {scope.workspace_name!r} has no ad accounts or ticket sources yet, so there is nothing I can answer from.",
            route="no_data",
        )
    # The ticket vocabulary is read only for a question that speaks of tickets (or follows one).
    about_tickets = bool(re.search(TICKET_WORDS, question.lower())) or bool(
        previous and previous.get("domain") != "ads"
    )
    catalog = load_catalog(cur, scope, accounts, with_tickets=about_tickets)
    today, zone = _today(accounts, as_of)
    intent_today = today
    try:
        intent = understand(question, catalog, today, previous)
    except NotUnderstood as exc:
        text = str(exc)
        if exc.route == "unsupported_metric":
            text = f"{text} {_available(catalog, accounts, scope)}".strip()
        return Answer(text, route=exc.route, freshness=_freshness(cur, accounts, scope, "both"))
    if as_of is None:
        # "Today" is the asked accounts' own: the one account a question names keeps its zone even
        # in a workspace of several zones; ticket days are UTC dates (the marts' ticket_time_zone).
        zones = sorted({a.time_zone for a in _asked_accounts(accounts, intent)})
        own = "UTC" if intent.domain == "tickets" or len(zones) != 1 else zones[0]
        if own != zone:
            today, zone = _today([], None) if own == "UTC" else (datetime.now(ZoneInfo(own)).date(), own)
            if today != intent_today:
                try:
                    intent = understand(question, catalog, today, previous)
                except NotUnderstood as exc:
                    return Answer(str(exc), route=exc.route, freshness=_freshness(cur, accounts, scope, "both"))
    freshness = _freshness(cur, accounts, scope, intent.domain)
    try:
        if intent.domain == "tickets":
            result = TicketAnswerer(cur, scope, intent, today).run()
        elif intent.domain == "both":
            result = JoinAnswerer(cur, scope, accounts, intent, today).run()
        else:
            result = AdAnswerer(cur, accounts, intent, today).run()
    except NotUnderstood as exc:
        return Answer(str(exc), route=exc.route, freshness=freshness, intent=intent.to_json())
    text, route, facts = result
    notes = [n for n in intent.notes if ":" in n]
    if notes:
        text += " (Read as " + "; ".join(notes) + ".)"
    if intent.domain in ("tickets", "both"):
        text += held_tickets_note(cur, scope.ticket_sources)
    if intent.domain in ("ads", "both"):
        text += held_ad_rows_note(cur, [(a.platform, a.account_id) for a in _asked_accounts(accounts, intent)])
    return Answer(text, route=route, facts=facts, freshness=freshness, intent=intent.to_json())


def _asked_accounts(accounts: list[Account], intent: Intent) -> list[Account]:
    """The accounts a question reads: those its names belong to, else all, narrowed to its platforms."""
    asked = {(e.platform, e.account_id) for e in intent.entities}
    return [
        a
        for a in accounts
        if (not asked or (a.platform, a.account_id) in asked)
        and (not intent.platforms or a.platform in intent.platforms)
    ]


def _available(catalog: Catalog, accounts: list[Account], scope: Scope) -> str:
    metrics = ", ".join(m.label for m in METRICS.values())
    parts = []
    if accounts:
        parts.append(f"{metrics} for {', '.join(a.name for a in accounts)}")
    if scope.ticket_sources:
        parts.append(
            "tickets created, resolved and open, first-response and resolution times and SLA attainment "
            f"for {', '.join(scope.ticket_sources)}"
        )
    return f'I can only access {" and ".join(parts)}. Try, for example: "What was total spend last 7 days?"'


def _freshness(cur, accounts: list[Account], scope: Scope, domain: str) -> dict:
    """The data's span per account (ads questions) and per ticket source (ticket questions)."""
    out: dict = {"accounts": [], "ticket_sources": []}
    if domain != "tickets" and accounts and _relation_exists(cur, FACT):
        # Per account, min and max are two lookups at the ends of the fact's (platform, account_id,
        # date_day) index: the same few ms at 2 years of history as at 2 weeks (a GROUP BY would
        # read every row the accounts have).
        cur.execute(
            f"SELECT k.platform, k.account_id, "
            f"(SELECT min(date_day) FROM {FACT} f WHERE f.platform = k.platform AND f.account_id = k.account_id), "
            f"(SELECT max(date_day) FROM {FACT} f WHERE f.platform = k.platform AND f.account_id = k.account_id) "
            "FROM unnest(%s::text[], %s::text[]) AS k (platform, account_id)",
            ([a.platform for a in accounts], [a.account_id for a in accounts]),
        )
        spans = {(p, a): (s, e) for p, a, s, e in cur.fetchall()}
        for account in accounts:
            start, end = spans.get((account.platform, account.account_id), (None, None))
            out["accounts"].append(
                {
                    "platform": account.platform,
                    "account_id": account.account_id,
                    "data_start": start.isoformat() if start else None,
                    "data_end": end.isoformat() if end else None,
                    "last_refreshed_at": account.last_refreshed_at.isoformat() if account.last_refreshed_at else None,
                }
            )
    if domain != "ads" and scope.ticket_sources and _relation_exists(cur, TICKETS):
        cur.execute(
            f"SELECT source, min(least(created_day, first_response_day, resolved_day)), "
            f"max(greatest(created_day, first_response_day, resolved_day)) FROM {TICKETS} WHERE source = ANY(%s) GROUP BY 1",
            (list(scope.ticket_sources),),
        )
        for source, start, end in cur.fetchall():
            out["ticket_sources"].append(
                {
                    "source": source,
                    "data_start": start.isoformat() if start else None,
                    "data_end": end.isoformat() if end else None,
                }
            )
    if len(out["accounts"]) == 1:  # the single-account shape earlier clients read
        out.update(
            {k: v for k, v in out["accounts"][0].items() if k in ("data_start", "data_end", "last_refreshed_at")}
        )
    return out


def _sql_literal(value) -> str:
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


# --- ads ----------------------------------------------------------------------------------------


@dataclass
class Query:
    """One aggregate over a daily mart, kept as text + params so `facts` can show it verbatim."""

    mart: str
    where: list[str]
    params: list

    def where_sql(self) -> str:
        return " AND ".join(self.where) or "true"

    def readable(self, extra: str = "") -> str:
        clause = self.where_sql()
        for param in self.params:
            clause = clause.replace(
                "%s",
                _sql_literal(param)
                if not isinstance(param, list)
                else "ARRAY[" + ", ".join(_sql_literal(p) for p in param) + "]",
                1,
            )
        return f"{self.mart} WHERE {clause}{extra}"

    def key(self) -> str:
        """Equal for two queries over the same rows."""
        return f"{self.mart} WHERE {self.where_sql()} {self.params!r}"


class AdAnswerer:
    def __init__(self, cur, accounts: list[Account], intent: Intent, today: date):
        self.cur = cur
        self.intent = intent
        self.today = today
        self.metrics = [METRICS[m] for m in intent.metrics]
        self.all_accounts = accounts
        self.accounts = self._accounts_in_play(accounts)
        self.by_key = {(a.platform, a.account_id): a for a in self.accounts}
        # A base query (its text and parameters) -> (days with data, first, last), from sums()' total row
        self.coverage: dict[str, tuple[int, date | None, date | None]] = {}
        self.uneven: dict[
            tuple, list[tuple[Account, date | None, date]]
        ] = {}  # uneven_coverage()'s, by period and accounts
        self.current_period: Period | None = None

    def _accounts_in_play(self, accounts: list[Account]) -> list[Account]:
        chosen = accounts
        if self.intent.platforms:
            chosen = [a for a in chosen if a.platform in self.intent.platforms]
        entity_accounts = {(e.platform, e.account_id) for e in self.intent.entities}
        if entity_accounts:
            chosen = [a for a in chosen if (a.platform, a.account_id) in entity_accounts]
        if not chosen:
            raise NotUnderstood("No ad account in this workspace matches the question.", "unknown_entity")
        return chosen

    @property
    def level(self) -> str:
        kinds = [e.kind for e in self.intent.entities] + (
            [self.intent.group_by] if self.intent.group_by in LEVELS else []
        )
        return max(kinds, key=LEVELS.index) if kinds else "account"

    def base_query(self, period: Period | None) -> Query:
        where = [IN_ACCOUNTS]
        params: list = in_accounts_params(self.accounts)
        by_kind: dict[str, list[Named]] = defaultdict(list)
        for entity in self.intent.entities:
            if entity.kind != "account":
                by_kind[entity.kind].append(entity)
        for kind, entities in by_kind.items():
            clauses = []
            for entity in entities:
                clauses.append(f"(platform = %s AND account_id = %s AND {ID_COLUMNS[kind]} = %s)")
                params += [entity.platform, entity.account_id, entity.id]
            where.append("(" + " OR ".join(clauses) + ")")
        if period is not None:
            where.append("date_day BETWEEN %s AND %s")
            params += [period.start, period.end]
        return Query(MARTS[self.level], where, params)

    def data_span(self) -> tuple[date | None, date | None]:
        query = self.base_query(None)
        self.cur.execute(
            f"SELECT min(date_day), max(date_day) FROM {query.mart} WHERE {query.where_sql()}", query.params
        )
        return self.cur.fetchone()

    def part_of_accounts(self) -> bool:
        """Whether the question reads campaigns, ad groups or ads, not whole accounts: a day the
        accounts have data and the campaign has no row is a day it had none (zero, not unknown)."""
        return any(e.kind != "account" for e in self.intent.entities)

    def empty_time_buckets(self, rows: list[dict], period: Period) -> list[dict]:
        """Zero rows for the days, weeks or months of `period` on which the named campaign (ad
        group, ad) has no row while its accounts have data: it had none then. Without them "the
        month with the lowest spend for camp 2" was its only month with any."""
        keys = {(e.platform, e.account_id) for e in self.intent.entities if e.kind != "account"}
        accounts = [a for a in self.accounts if (a.platform, a.account_id) in keys]
        currency = "currency_code" if self.needs_currency() else "''"
        self.cur.execute(
            f"SELECT DISTINCT {currency}, {self.group_sql()} FROM {MARTS['account']} "
            f"WHERE {IN_ACCOUNTS} AND date_day BETWEEN %s AND %s",
            [*in_accounts_params(accounts), period.start, period.end],
        )
        present = {(r["currency"], r["group"]) for r in rows}
        query = self.base_query(period)
        return [
            {
                "currency": currency_code or "",
                "group": group,
                "sums": dict.fromkeys(ADDITIVE, Decimal(0)),
                "days": 0,
                "provisional": 0,
                "first": None,
                "last": None,
                "query": query,
            }
            for currency_code, group in self.cur.fetchall()
            if (currency_code or "", group) not in present
        ]

    def accounts_span(self) -> tuple[date | None, date | None]:
        """The days the accounts have data: a named campaign with no row on one of them had none of
        it (a day without clicks counts; an average per day is over the data's days, not the campaign's)."""
        self.cur.execute(
            f"SELECT min(date_day), max(date_day) FROM {MARTS['account']} WHERE {IN_ACCOUNTS}",
            in_accounts_params(self.accounts),
        )
        return self.cur.fetchone()

    def periods(self) -> list[Period]:
        if self.intent.periods:
            return self.intent.periods
        first, last = self.data_span()
        if first is None or last is None:
            raise NotUnderstood(f"I don't have any data for {self.subject()} yet.", "no_data")
        if self.part_of_accounts():
            # A campaign's "all the data" is its accounts' days (once only the campaign's own: "0 of
            # the 30 days had no clicks" for one that stopped two months before the data ends).
            accounts_first, accounts_last = self.accounts_span()
            first, last = min(first, accounts_first or first), max(last, accounts_last or last)
        label = "all time" if self.intent.all_time else "all the data there is"
        return [all_data(first, last, self.today, label, f"data for {self.subject()}")]

    def subject(self) -> str:
        parts = []
        for entity in self.intent.entities:
            account = self.by_key.get((entity.platform, entity.account_id))
            if entity.kind == "account":
                parts.append(f"{entity.name} ({entity.account_id})")
            else:
                where = f" in {account.name}" if account and len(self.accounts) > 1 else ""
                parts.append(f"{KIND[entity.kind]} {entity.name!r}{where}")
        if not parts:
            if len(self.accounts) == 1:
                parts.append(f"{self.accounts[0].name} ({self.accounts[0].account_id})")
            elif self.intent.platforms:
                parts.append(f"your {', '.join(self.intent.platforms)} accounts")
            else:
                parts.append(f"all {len(self.accounts)} accounts")
        elif self.intent.platforms and not any(e.kind == "account" for e in self.intent.entities):
            parts.append(f"on {', '.join(self.intent.platforms)}")
        return " and ".join(parts)

    def needs_currency(self) -> bool:
        return any(m.kind == "money" or "cost" in (m.name, m.numerator, m.denominator) for m in self.metrics)

    def currencies(self) -> list[str]:
        return sorted({a.currency_code for a in self.accounts})

    def sums(self, period: Period, group_sql: str | None = None) -> list[dict]:
        """Sums of the additive metrics (per currency, per group), with day coverage."""
        query = self.base_query(period)
        keys = ["currency_code"] if self.needs_currency() else []
        if group_sql:
            keys.append(group_sql)
        select_keys = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
        # Grouped, the same statement also returns the whole scope's row (grouping set ()), marked
        # by GROUPING(): the day coverage the caveats state, without a second statement.
        sql = (
            f"SELECT {select_keys + ', ' if keys else ''}"
            + (f"GROUPING({', '.join(keys)}) <> 0, " if keys else "false, ")
            + ", ".join(f"coalesce(sum({c}), 0)" for c in ADDITIVE)
            + ", count(DISTINCT date_day), count(DISTINCT date_day) FILTER (WHERE is_provisional), min(date_day), max(date_day) "
            + f"FROM {query.mart} WHERE {query.where_sql()}"
            + (f" GROUP BY GROUPING SETS (({', '.join(keys)}), ())" if keys else "")
        )
        self.cur.execute(sql, query.params)
        rows = []
        for row in self.cur.fetchall():
            key_values = row[: len(keys)]
            is_total, *rest = row[len(keys) :]
            sums = {c: Decimal(rest[i]) for i, c in enumerate(ADDITIVE)}
            days, provisional, first, last = rest[len(ADDITIVE) :]
            if is_total or not keys:
                self.coverage[query.key()] = (days, first, last)
            if is_total:
                continue
            currency = key_values[0] if self.needs_currency() else ""
            group = key_values[-1] if group_sql else None
            rows.append(
                {
                    "currency": currency or "",
                    "group": group,
                    "sums": sums,
                    "days": days,
                    "provisional": provisional,
                    "first": first,
                    "last": last,
                    "query": query,  # each row's own statement: a fact shows the query behind its value
                }
            )
        self.last_query = query
        return [r for r in rows if r["days"]]

    def fact(self, metric: Metric, value: Decimal | None, row: dict, period: Period, extra: dict | None = None) -> dict:
        fact = {
            "metric": metric.name,
            "value": plain(value),
            "unit": row["currency"] if metric.kind == "money" else metric.kind,
            "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(),
            "days_with_data": row["days"],
            "provisional_days": row["provisional"],
            "sums": {k: plain(v) for k, v in row["sums"].items()},
            "source": row["query"].readable(f" AND currency_code = '{row['currency']}'" if row["currency"] else ""),
        }
        fact.update(extra or {})
        return fact

    def uneven_coverage(self, period: Period) -> list[tuple[Account, date | None, date]]:
        """The accounts in play whose data stops (or starts) inside `period` or just before it while
        the others' goes on (one platform's extract runs a day behind): (account, its first day in
        the period or None, its last day overall). A sum over all of them is a sum over different
        days. An account whose data ended more than a week before the period is not running, not late."""
        if len(self.accounts) < 2:
            return []
        # share() reads a whole over other accounts than its part: the accounts are in the key
        key = (period.start, period.end, tuple((a.platform, a.account_id) for a in self.accounts))
        if key not in self.uneven:
            self.uneven[key] = self._uneven_coverage(period)
        return self.uneven[key]

    def _uneven_coverage(self, period: Period) -> list[tuple[Account, date | None, date]]:
        # Four index probes per account on the fact (min/max over the account_daily view would
        # aggregate every account's whole history: 180 ms instead of 5 at 20 accounts x 2 years).
        one = f"FROM {FACT} f WHERE f.platform = a.platform AND f.account_id = a.account_id"
        within = "AND f.date_day BETWEEN %s AND %s"
        self.cur.execute(
            f"SELECT a.platform, a.account_id, (SELECT min(date_day) {one}), (SELECT max(date_day) {one}), "
            f"(SELECT min(date_day) {one} {within}), (SELECT max(date_day) {one} {within}) "
            "FROM unnest(%s::text[], %s::text[]) AS a (platform, account_id)",
            [period.start, period.end, period.start, period.end]
            + [[a.platform for a in self.accounts], [a.account_id for a in self.accounts]],
        )
        spans = {(p, a): rest for p, a, *rest in self.cur.fetchall() if rest[0] is not None}
        inside = [(f, e) for _, _, f, e in spans.values() if f is not None]
        if not inside:
            return []
        first_in, last_in = min(f for f, _ in inside), max(e for _, e in inside)
        uneven: list[tuple[Account, date | None, date]] = []
        for account in self.accounts:
            found = spans.get((account.platform, account.account_id))
            if found is None:
                continue
            first_ever, last_ever, first, _ = found
            lagging = last_ever < last_in and last_ever >= period.start - timedelta(days=7)
            late = first is not None and first > first_in and first_ever > period.start
            if lagging or late:
                uneven.append((account, first, last_ever))
        return uneven

    def check_even_coverage(self, period: Period, consequence: str) -> None:
        """Declines when the accounts' data covers different days of `period`: `consequence` says why."""
        if uneven := self.uneven_coverage(period):
            names = ", ".join(account.name or account.account_id for account, _, _ in uneven)
            raise NotUnderstood(
                f"Not every account has data for all of {when(period)} ({names} does not), so {consequence}: "
                "ask for each account or platform.",
                "unsupported_shape",
            )

    def coverage_note(self, period: Period) -> str:
        notes = []
        for account, first, last in self.uneven_coverage(period):
            name = f"{account.name or account.account_id} ({PLATFORM_LABELS.get(account.platform, account.platform)})"
            if first is None:
                notes.append(f" {name} has no data in this period: its data ends on {last:%b %-d, %Y}.")
            else:
                notes.append(f" {name} has data only for {format_range(first, min(last, period.end))} of it.")
        return "".join(notes)

    def caveats(self, rows: list[dict], period: Period) -> str:
        notes = [self.coverage_note(period)]
        if self.part_of_accounts():  # a campaign's days without rows are days it had none
            self.cur.execute(
                f"SELECT count(DISTINCT date_day), min(date_day), max(date_day) FROM {MARTS['account']} "
                f"WHERE {IN_ACCOUNTS} AND date_day BETWEEN %s AND %s",
                [*in_accounts_params(self.accounts), period.start, period.end],
            )
            days, first, last = self.cur.fetchone()
        elif len(rows) == 1 and rows[0]["group"] is None:  # one ungrouped row already counts its days
            days, first, last = rows[0]["days"], rows[0]["first"], rows[0]["last"]
        elif (query := self.base_query(period)).key() in self.coverage:  # counted by sums(), same statement
            days, first, last = self.coverage[query.key()]
        else:
            self.cur.execute(
                f"SELECT count(DISTINCT date_day), min(date_day), max(date_day) FROM {query.mart} WHERE {query.where_sql()}",
                query.params,
            )
            days, first, last = self.cur.fetchone()
        if days and days < period.days:
            notes.append(f" Data covers only {days} of the {period.days} days ({format_range(first, last)}).")
        provisional = max((r["provisional"] for r in rows), default=0)
        if provisional and any(m.uses_conversions for m in self.metrics):
            notes.append(f" {provisional} of these days are provisional: conversions can still change.")
        return "".join(notes)

    def no_data(self, metric_label: str, period: Period) -> NotUnderstood:
        first, last = self.data_span()
        refreshed = max((a.last_refreshed_at for a in self.accounts if a.last_refreshed_at), default=None)
        stamp = f"{refreshed.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if refreshed else "never"
        if (first is None or last is None) and self.level == "ad" and None not in (span := self.accounts_span()):
            # An ad-set export (ad-group grain) has no ad rows: the data is there, not per ad.
            return NotUnderstood(
                f"I don't have {metric_label} per ad for {when(period)}: the data for {self.subject()} "
                f"({span[0]} to {span[1]}) has no ads, only ad groups (ad sets). Ask per ad group or campaign instead.",
                "no_data",
            )
        if first is None or last is None:
            coverage = f"There is no data for {self.subject()} yet (last refreshed {stamp})."
        elif (
            period.start > last
            and self.level != "account"
            and (span := self.accounts_span())[1]
            and span[1] >= period.start
        ):
            # Not stale: the accounts have newer days, this campaign / ad group / ad has no rows in them.
            return NotUnderstood(
                f"I don't have {metric_label} for {when(period)}: {self.subject()} has no data in it (its last day "
                f"with data is {last}, while the account data runs to {span[1]}).",
                "no_data",
            )
        elif period.start > last:
            return NotUnderstood(
                f"This data wasn't in our latest refresh ({stamp}): {metric_label} for {self.subject()} runs to {last}, "
                f"before {when(period)}. `burry refresh all` fetches newer days.",
                "stale_data",
            )
        else:
            coverage = f"Data for {self.subject()} runs from {first} to {last} (last refreshed {stamp})."
        return NotUnderstood(
            f"I don't have {metric_label} for {when(period)}. {coverage}",
            "no_data",
        )

    def run(self) -> tuple[str, str, list[dict]]:
        kinds = [e.kind for e in self.intent.entities]
        repeated = [k for k in LEVELS if kinds.count(k) > 1]
        if repeated and self.intent.shape in ("compare", "average", "count_days", "trend"):
            # Several names in one of these shapes would be summed into one figure: ask for one.
            raise NotUnderstood(
                f"Ask about one {KIND[repeated[0]]} at a time here, or compare several {KIND_PLURAL[repeated[0]]} "
                f'over one period (e.g. "spend for A and B last month").',
                "unsupported_shape",
            )
        if repeated and self.intent.shape in ("total", "breakdown", "top", "share"):
            if self.intent.group_by not in (None, repeated[0]) or len(self.metrics) > 1:
                raise NotUnderstood(
                    f'Ask about several {KIND_PLURAL[repeated[0]]} one metric at a time, e.g. "spend for A and B last month".',
                    "unsupported_shape",
                )
            # "spend for camp 1 and camp 2": one figure each, never their sum passed off as one.
            if self.intent.shape == "total":
                self.intent.shape = "breakdown"
            self.intent.group_by = repeated[0]
        handler = {
            "total": self.total,
            "compare": self.compare,
            "breakdown": self.breakdown,
            "top": self.breakdown,
            "trend": self.breakdown,
            "average": self.average,
            "count_days": self.count_days,
            "share": self.share,
        }[self.intent.shape]
        return handler()

    # shapes

    def total(self) -> tuple[str, str, list[dict]]:
        period = self.periods()[0]
        rows = self.sums(period)
        labels = " and ".join(m.label for m in self.metrics)
        if not rows:
            raise self.no_data(labels, period)
        facts, sentences = [], []
        for row in rows:
            values = []
            for metric in self.metrics:
                value = metric_value(metric, row["sums"])
                facts.append(self.fact(metric, value, row, period))
                values.append(self.statement(metric, value, row["currency"]))
            prefix = f"In {row['currency']}: " if len(rows) > 1 else ""
            sentences.append(prefix + "; ".join(values))
        head = f"For {self.subject()} over {when(period)}: "
        if len(rows) > 1:
            head += "amounts are per currency, never summed across currencies. "
        return head + ". ".join(sentences) + "." + self.caveats(rows, period), "metric_sql", facts

    def statement(self, metric: Metric, value: Decimal | None, currency: str) -> str:
        if value is None:
            return f"{metric.label} is undefined (no {(metric.denominator or '').replace('_', ' ')})"
        total = "total " if metric.numerator is None else ""
        return f"{total}{metric.label} was {format_value(metric, value, currency)}"

    def compare(self) -> tuple[str, str, list[dict]]:
        first_period, second_period = self.periods()
        # The question names them in either order; report the later one against the earlier one.
        earlier, later = sorted([first_period, second_period], key=lambda p: p.start)
        for period in (earlier, later):
            # A change between periods that different accounts fill (one platform a day behind) is a
            # change in coverage, not in the numbers.
            self.check_even_coverage(period, "a change would compare different accounts")
        rows_a, rows_b = self.sums(earlier), self.sums(later)
        if not rows_a and not rows_b:
            raise self.no_data(" and ".join(m.label for m in self.metrics), earlier)
        facts, sentences = [], []
        currencies = sorted({r["currency"] for r in rows_a + rows_b})
        for currency in currencies:
            a = next((r for r in rows_a if r["currency"] == currency), None)
            b = next((r for r in rows_b if r["currency"] == currency), None)
            for metric in self.metrics:
                va = metric_value(metric, a["sums"]) if a else None
                vb = metric_value(metric, b["sums"]) if b else None
                if a is None or b is None:
                    missing = earlier if a is None else later
                    raise self.no_data(metric.label, missing)
                facts.append(self.fact(metric, va, a, earlier))
                facts.append(self.fact(metric, vb, b, later))
                sentences.append(
                    f"{metric.label}{' (' + currency + ')' if len(currencies) > 1 else ''} was "
                    f"{format_value(metric, vb, currency)} in {when(later)} against "
                    f"{format_value(metric, va, currency)} in {when(earlier)}: "
                    f"{format_change(va, vb, metric, currency)}"
                )
        text = f"For {self.subject()}: " + "; ".join(sentences) + "."
        return text + self.caveats(rows_a, earlier) + self.caveats(rows_b, later), "metric_sql", facts

    def group_sql(self) -> str:
        group = self.intent.group_by
        if group in LEVELS:
            return (
                f"{ID_COLUMNS[group]} || chr(31) || {NAME_SQL[group]} || chr(31) || platform || chr(31) || account_id"
            )
        if group == "platform":
            return "platform"
        if group == "day":
            return "date_day::text"
        if group in ("week", "month"):
            return f"date_trunc('{group}', date_day)::date::text"
        raise NotUnderstood(f"I can't break ad numbers down by {group}.", "unsupported_shape")

    def group_label(self, key: str) -> str:
        group = self.intent.group_by
        if group in LEVELS:
            _, name, platform, account_id = key.split(chr(31))
            account = self.by_key.get((platform, account_id))
            suffix = f" ({account.name})" if account and len(self.accounts) > 1 and group != "account" else ""
            return f"{name}{suffix}"
        if group == "week":
            start = date.fromisoformat(key)
            return self._clipped(start, start + timedelta(days=6), f"week of {start:%b %-d, %Y}")
        if group == "month":
            start = date.fromisoformat(key)
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            return self._clipped(start, end, f"{start:%B %Y}")
        if group == "day":
            return f"{date.fromisoformat(key):%a %b %-d, %Y}"
        return key

    def _clipped(self, start: date, end: date, label: str) -> str:
        period = self.current_period
        if period is None or (start >= period.start and end <= period.end):
            return label
        return f"{label} (only {format_range(max(start, period.start), min(end, period.end))} in the period)"

    def breakdown(self) -> tuple[str, str, list[dict]]:
        if self.intent.shape == "trend" and not self.intent.group_by:
            period = self.periods()[0]
            self.intent.group_by = "week" if period.days <= 92 else "month"
            self.intent.notes.append(f"trend: by {self.intent.group_by}")
        metric = self.metrics[0]
        period = self.periods()[0]
        self.current_period = period
        rows = self.sums(period, self.group_sql())
        if not rows:
            raise self.no_data(metric.label, period)
        facts, parts = [], []
        time_group = self.intent.group_by in ("day", "week", "month")
        if time_group and self.part_of_accounts():
            rows += self.empty_time_buckets(rows, period)
        elif not time_group:
            # "camp 1 vs camp 2 spend in May": camp 2, which stopped in April, is $0, not left out
            rows += self.named_without_rows(rows, self.base_query(period))
        bottom = self.intent.shape == "top" and self.intent.order == "asc" and not time_group
        absent_groups = self.groups_without_rows(rows, period) if bottom else {}
        listed = {r["group"] for r in rows}
        absent_groups = {c: [g for g in gs if g not in listed] for c, gs in absent_groups.items()}
        for currency in sorted({r["currency"] for r in rows}):
            in_currency = [r for r in rows if r["currency"] == currency]
            valued: list[tuple[dict, Decimal | None]] = [(r, metric_value(metric, r["sums"])) for r in in_currency]
            chosen: list[tuple[dict, Decimal | None]]
            if self.intent.shape == "top":
                defined = [(r, v) for r, v in valued if v is not None]
                if self.intent.order == "desc":  # ties: names in order
                    defined.sort(key=lambda rv: rv[0]["group"])
                    defined.sort(key=lambda rv: rv[1] or 0, reverse=True)
                else:
                    defined.sort(key=lambda rv: (rv[1] or 0, rv[0]["group"]))
                n = self.intent.top_n or 1
                chosen = list(defined[:n])
                ties = [rv for rv in defined[n:] if chosen and rv[1] == chosen[-1][1]]
            else:
                chosen = (
                    sorted(valued, key=lambda rv: rv[0]["group"])
                    if time_group
                    else sorted(valued, key=lambda rv: (rv[1] is None, -(rv[1] or 0), rv[0]["group"]))
                )
                ties = []
            lines = []
            previous_value: Decimal | None = None
            previous_partial = False
            for index, (row, value) in enumerate(chosen, 1):
                label = self.group_label(row["group"])
                partial = "(only " in label  # a week or month the period cuts
                line = (
                    f"{index}. {label}: {format_value(metric, value, currency)}"
                    if self.intent.shape == "top"
                    else f"{label}: {format_value(metric, value, currency)}"
                )
                if self.intent.shape == "trend" and index > 1:
                    # a 3-day week against a whole one is no change (once "+133.2%" from May 1-3)
                    line += (
                        " (a partial period: no change shown)"
                        if (partial or previous_partial) and not metric.numerator
                        else f" ({format_change(previous_value, value, metric, currency)})"
                    )
                previous_value, previous_partial = value, partial
                facts.append(self.fact(metric, value, row, period, {"group_by": self.intent.group_by, "group": label}))
                others = []
                for other in self.metrics[1:]:  # "spend and clicks by campaign": every metric on the line
                    other_value = metric_value(other, row["sums"])
                    others.append(f"{other.label} {format_value(other, other_value, currency)}")
                    facts.append(
                        self.fact(other, other_value, row, period, {"group_by": self.intent.group_by, "group": label})
                    )
                if others:
                    line += " (" + ", ".join(others) + ")"
                lines.append(line)
            if ties:
                tied = ", ".join(self.group_label(r["group"]) for r, _ in ties[:10])
                more = f" and {len(ties) - 10} more" if len(ties) > 10 else ""
                lines.append(f"(tied with {tied}{more})")
            unranked = [r for r, v in valued if v is None] if self.intent.shape == "top" else []
            absent = absent_groups.get(currency, []) if currency else [g for gs in absent_groups.values() for g in gs]
            if absent:
                # "which campaign spent the least in May": one with no rows in May (it stopped in
                # April) is not ranked, and is named rather than passed over in silence.
                names = ", ".join(self.group_label(g) for g in absent[:5])
                more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
                lines.append(f"(not ranked, no data in this period: {names}{more})")
            if unranked:
                # "worst campaign by CPA": one that spent with no conversions has no CPA to rank, yet
                # is not to be passed over in silence.
                denominator = (metric.denominator or "").replace("_", " ")
                unranked.sort(key=lambda r: (-r["sums"]["cost"], r["group"]))
                names = (
                    ", ".join(
                        self.group_label(r["group"])
                        + (
                            f" ({format_value(METRICS['cost'], r['sums']['cost'], currency)} spend)"
                            if currency and r["sums"]["cost"]  # one currency's rows only: never summed across
                            else ""
                        )
                        for r in unranked[:5]
                    )
                    + (f" and {len(unranked) - 5} more" if len(unranked) > 5 else "")
                )
                lines.append(f"(not ranked, no {denominator} so no {metric.label}: {names})")
            header = f"In {currency}:\n" if len({r["currency"] for r in rows}) > 1 else ""
            parts.append(header + "\n".join(lines))
        what = {
            "top": (
                f"{'Top' if self.intent.order == 'desc' else 'Bottom'} {self.intent.top_n} "
                f"{KIND_PLURAL.get(self.intent.group_by or '', self.intent.group_by)} by {metric.label}"
                if (self.intent.top_n or 1) > 1
                else f"The {KIND.get(self.intent.group_by or '', self.intent.group_by)} with the "
                f"{'highest' if self.intent.order == 'desc' else 'lowest'} {metric.label}"
            ),
            "breakdown": f"{' and '.join(m.label for m in self.metrics).capitalize() if metric.label.islower() else ' and '.join(m.label for m in self.metrics)} by {KIND.get(self.intent.group_by or '', self.intent.group_by)}",
            "trend": f"{metric.label.capitalize() if metric.label.islower() else metric.label} by {self.intent.group_by}",
        }[self.intent.shape]
        head = f"{what} for {self.subject()}, {when(period)}:\n"
        if self.intent.group_by == "ad":
            head = head.replace(":\n", " (ad rows only; campaign totals can include spend not attributed to ads):\n")
        elif self.intent.group_by == "ad_group":
            head = head.replace(":\n", " (campaign totals can include spend not attributed to ad groups):\n")
        return head + "\n".join(parts) + self.caveats(rows, period), "metric_sql", facts

    def groups_without_rows(self, rows: list[dict], period: Period) -> dict[str, list[str]]:
        """{currency: groups} the question's scope has data for, but not in the period asked: a
        ranking of the rest must name them (the lowest spender "in May" is not the one that spent
        nothing in May)."""
        # Within a year either side of the period: what stopped long ago is not "in this ranking",
        # and the lookup stays the same size whatever the history.
        first, last = period.start - timedelta(days=365), min(period.end + timedelta(days=365), self.today)
        present = {r["group"] for r in rows}
        absent: dict[str, list[str]] = defaultdict(list)
        for row in self.sums(Period(first, last, "a year either side"), self.group_sql()):
            if row["group"] not in present:
                absent[row["currency"]].append(row["group"])
        return {currency: sorted(groups) for currency, groups in absent.items()}

    def average(self) -> tuple[str, str, list[dict]]:
        metric = self.metrics[0]
        if metric.numerator is not None:
            raise NotUnderstood(
                f'{metric.label} is already a ratio; ask for it over the period (e.g. "{metric.label} last month").',
                "unsupported_shape",
            )
        period = self.periods()[0]
        # Averaged over the days of the accounts together, an account missing some of them is
        # diluted (€157 over Meta's 2 days read as €52 a day over 3).
        self.check_even_coverage(period, "one average would mix them")
        rows = self.sums(period)
        if not rows:
            raise self.no_data(metric.label, period)
        unit = self.intent.average_unit or "day"
        first, last = self.accounts_span()
        assert first is not None and last is not None
        start, end = max(period.start, first), min(period.end, last)
        whole_months(unit, start, end)
        days = (end - start).days + 1
        divisor = {"day": Decimal(days), "week": Decimal(days) / 7, "month": None}[unit]
        facts, parts = [], []
        for row in rows:
            total = row["sums"][metric.name]
            if unit == "month":
                months = (end.year - start.year) * 12 + end.month - start.month + 1
                divisor = Decimal(months)
            assert divisor is not None
            value = total / divisor
            facts.append(
                self.fact(metric, value, row, period, {"total": plain(total), "divisor": plain(divisor), "per": unit})
            )
            prefix = f"In {row['currency']}: " if len(rows) > 1 else ""
            parts.append(
                f"{prefix}{format_value(metric, value, row['currency'])} per {unit} "
                f"(total {format_value(metric, total, row['currency'])} over {days} days"
                + (
                    f", {format_number(divisor.quantize(Decimal('0.01')))} weeks"
                    if unit == "week"
                    else f", {divisor} months"
                    if unit == "month"
                    else ""
                )
                + ")"
            )
        clipped = (
            ""
            if (start, end) == (period.start, period.end)
            else f" Data covers {format_range(start, end)} of that period; the average is over the covered days."
        )
        text = (
            f"Average {unit}ly {metric.label} for {self.subject()} over {when(period)}: "
            + "; ".join(parts)
            + "."
            + clipped
        )
        return text.replace("dayly", "daily"), "metric_sql", facts

    def count_days(self) -> tuple[str, str, list[dict]]:
        assert self.intent.condition is not None
        name, op, threshold = self.intent.condition
        metric = METRICS[name]
        period = self.periods()[0]
        if metric.kind == "money" and len(self.currencies()) > 1:
            raise NotUnderstood(
                "These accounts use different currencies: name one account or platform to count days by an amount.",
                "unsupported_shape",
            )
        symbol = next((n.split("=", 1)[1] for n in self.intent.notes if n.startswith("threshold-symbol=")), None)
        symbol_currencies = {"$": ("USD", "AUD", "CAD", "NZD", "SGD", "HKD", "MXN"), "€": ("EUR",), "£": ("GBP",)}
        if metric.kind == "money" and symbol and not set(self.currencies()) <= set(symbol_currencies[symbol]):
            # "days with spend over $50 on Meta" once counted days over €50: the number was kept,
            # the currency it was said in dropped.
            raise NotUnderstood(
                f"The threshold is in {symbol}, but these accounts spend in {', '.join(self.currencies())}: "
                "say the amount in their currency, or without a symbol.",
                "unsupported_shape",
            )
        self.intent.group_by = "day"
        rows = self.sums(period, "date_day::text")
        first, last = self.accounts_span()
        if not rows or first is None or last is None:
            raise self.no_data(metric.label, period)
        start, end = max(period.start, first), min(period.end, last)
        by_day = {r["group"]: metric_value(metric, r["sums"]) for r in rows}
        limit = Decimal(str(threshold))  # a ratio's threshold arrives as a fraction ("1%" -> 0.01)
        checks = {
            "gt": lambda v: v > limit,
            "ge": lambda v: v >= limit,
            "lt": lambda v: v < limit,
            "le": lambda v: v <= limit,
            "eq": lambda v: v == limit,
        }
        matched = []
        day = start
        while day <= end:
            value = by_day.get(day.isoformat(), Decimal(0) if metric.numerator is None else None)
            if value is not None and checks[op](value):
                matched.append(day)
            day += timedelta(days=1)
        words = {"gt": "over", "ge": "at least", "lt": "under", "le": "at most", "eq": "equal to"}
        currency = self.currencies()[0] if self.currencies() else ""
        shown = format_value(metric, limit, currency) if metric.kind != "count" else format_number(limit)
        condition = f"no {metric.label}" if op == "eq" and limit == 0 else f"{metric.label} {words[op]} {shown}"
        covered = (end - start).days + 1
        text = (
            f"{len(matched)} of the {covered} days in {when(Period(start, end, period.label))} had {condition} "
            f"for {self.subject()}"
        )
        if matched and len(matched) <= 10:
            text += ": " + ", ".join(f"{d:%b %-d}" for d in matched)
        fact = {
            "metric": metric.name,
            "condition": [op, plain(limit)],
            "days_matched": [d.isoformat() for d in matched],
            "days_checked": covered,
            "daily_values": {k: plain(v) for k, v in sorted(by_day.items())},
            "source": self.last_query.readable(" GROUP BY date_day"),
        }
        return (
            text
            + "."
            + ("" if covered == period.days else f" (Data covers {covered} of the period's {period.days} days.)"),
            "metric_sql",
            [fact],
        )

    def named_parents(self) -> list[Named]:
        """The campaign (or ad group) a share's part is named within: in "what share of camp 1 spend
        came from the High engagement ad group" the whole is camp 1, not the account. A part that
        does not lie in the parent named with it has no share of it to give: declined, not guessed."""
        kinds = [e.kind for e in self.intent.entities if e.kind != "account"]
        if not kinds:
            return []
        deepest = max(kinds, key=LEVELS.index)
        parts = [e for e in self.intent.entities if e.kind == deepest]
        parents = [e for e in self.intent.entities if e.kind not in ("account", deepest)]
        for part in parts:
            self.check_inside(part, parents)
        return parents

    def check_inside(self, part: Named, parents: list[Named]) -> None:
        """Raises unless `part` has rows in each of `parents` (any day): its share of a whole it is not
        in would be a 0% that only says the question was misread."""
        for parent in parents:
            inside = False
            if (part.platform, part.account_id) == (parent.platform, parent.account_id):
                self.cur.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {MARTS[part.kind]} WHERE platform = %s AND account_id = %s "
                    f"AND {ID_COLUMNS[part.kind]} = %s AND {ID_COLUMNS[parent.kind]} = %s)",
                    (part.platform, part.account_id, part.id, parent.id),
                )
                inside = bool(self.cur.fetchone()[0])
            if not inside:
                raise NotUnderstood(
                    f"I can't tell that {KIND[part.kind]} {part.name!r} is part of {KIND[parent.kind]} "
                    f"{parent.name!r} (it has no data there), so I won't give a share of one in the other.",
                    "unsupported_shape",
                )

    def share_of_every_account(self) -> bool:
        """Whether a share's whole is every account the question reads: asked so ("of total
        clicks"), for named accounts, or when it names no account or platform (a campaign's share
        of clicks beside another account's: once 100% of its own account's), unless money in
        several currencies, where the whole is the part's own account and the answer says so."""
        entities = self.intent.entities
        if "share-of-all" in self.intent.notes or all(e.kind == "account" for e in entities):
            return True
        if self.intent.platforms or any(e.kind == "account" for e in entities):
            return False
        saved, self.accounts = self.accounts, list(self.all_accounts)
        mixed = self.needs_currency() and len(self.currencies()) > 1
        self.accounts = saved
        return not mixed

    def named_without_rows(self, rows: list[dict], query: Query) -> list[dict]:
        """Zero rows for the names a share or a breakdown by them asked for that have no rows in the
        period ("camp 1 and camp 2 in June", camp 2 stopped in April): 0, said so, never left out."""
        group = self.intent.group_by
        if group not in LEVELS or group == "account":
            return []
        present = {tuple(r["group"].split(chr(31))[i] for i in (0, 2, 3)) for r in rows}
        parents = [
            e for e in self.intent.entities if e.kind != "account" and LEVELS.index(e.kind) < LEVELS.index(group)
        ]
        missing = []
        for entity in self.intent.entities:
            if entity.kind != group or (entity.id, entity.platform, entity.account_id) in present:
                continue
            self.check_inside(entity, parents)
            self.cur.execute(
                f"SELECT {NAME_SQL[group]} FROM {MARTS[group]} WHERE platform = %s AND account_id = %s "
                f"AND {ID_COLUMNS[group]} = %s LIMIT 1",
                (entity.platform, entity.account_id, entity.id),
            )
            found = self.cur.fetchone()
            name = found[0] if found else entity.name
            account = self.by_key.get((entity.platform, entity.account_id))
            currency = account.currency_code if account and self.needs_currency() else ""
            key = chr(31).join([entity.id, name, entity.platform, entity.account_id])
            missing.append(empty_row(currency, key, query))
        return missing

    def share(self) -> tuple[str, str, list[dict]]:
        metric = self.metrics[0]
        if metric.numerator is not None:
            raise NotUnderstood(
                f"A share of {metric.label} (a ratio) means nothing; ask for a share of spend, clicks, conversions…",
                "unsupported_shape",
            )
        if self.intent.periods:
            period = self.periods()[0]
        else:  # all the data of the whole, not the part's own days ("what % of spend was camp 2")
            saved = (self.intent.entities, self.intent.platforms, self.accounts)
            self.intent.entities = [e for e in self.intent.entities if e.kind == "account"]
            if self.share_of_every_account():
                self.intent.entities, self.intent.platforms, self.accounts = [], [], list(self.all_accounts)
            period = self.periods()[0]
            self.intent.entities, self.intent.platforms, self.accounts = saved
        if self.intent.group_by in ("day", "week", "month"):
            raise NotUnderstood(
                f"I can't split a share by {self.intent.group_by}; ask for one period at a time.", "unsupported_shape"
            )
        whole_subject = ""
        part_query = self.base_query(period)
        if self.intent.group_by:
            part_rows = self.sums(period, self.group_sql())
            part_rows += self.named_without_rows(part_rows, part_query)
            # the whole: without the names being shared out ("camp 1 and camp 2" are parts of their
            # account's total, not of their own sum); a parent named too ("in camp 1") stays
            saved_entities = self.intent.entities
            self.intent.entities = [e for e in saved_entities if e.kind != self.intent.group_by]
            whole_rows = self.sums(period)
            whole_subject = self.subject()
            self.intent.entities = saved_entities
        elif "share-of-all" not in self.intent.notes and (parents := self.named_parents()):
            # "what share of camp 1 spend came from the High engagement ad group": of camp 1's spend,
            # not of its account's (the campaign named is the whole, the ad group the part)
            part_rows = self.sums(period)
            saved_entities = self.intent.entities
            self.intent.entities = [e for e in saved_entities if e.kind == "account"] + parents
            whole_rows = self.sums(period)
            whole_subject = self.subject()
            self.intent.entities = saved_entities
        else:
            part_rows = self.sums(period)
            saved = (self.intent.entities, self.intent.platforms, self.accounts)
            # the whole: the accounts the named things belong to; for named accounts (or a platform),
            # every account in the scope
            # "what % of (total) clicks came from Autumn Sale": of every account read, not its own
            # account (once 100% of a Meta account's clicks beside a Google account's), unless money
            # in several currencies, where the whole is its account and says so
            accounts_only = self.share_of_every_account()
            self.intent.entities = [e for e in self.intent.entities if e.kind == "account"]
            if accounts_only:
                self.intent.entities = []
                self.intent.platforms = []
                self.accounts = list(self.all_accounts)
                if self.needs_currency() and len(self.currencies()) > 1:
                    self.intent.entities, self.intent.platforms, self.accounts = saved
                    raise NotUnderstood(
                        f"These accounts use different currencies, so a share of {metric.label} across them means nothing.",
                        "unsupported_shape",
                    )
            whole_rows = self.sums(period)
            if "share-of-all" in self.intent.notes or (accounts_only and len(self.all_accounts) > 1):
                whole_subject = self.subject()
            self.intent.entities, self.intent.platforms, self.accounts = saved
        if not whole_rows:
            raise self.no_data(metric.label, period)
        facts, lines = [], []
        for whole in whole_rows:
            total = whole["sums"][metric.name]
            parts = [r for r in part_rows if r["currency"] == whole["currency"]]
            if not parts and not self.intent.group_by:
                # The part had no rows in the period ("camp 2 in June"): its share is 0, said so,
                # never a heading with nothing under it.
                parts = [empty_row(whole["currency"], None, part_query)]
            for part in sorted(parts, key=lambda r: (-r["sums"][metric.name], str(r["group"]))):
                value = part["sums"][metric.name]
                share = None if not total else value / total
                label = self.group_label(part["group"]) if part["group"] is not None else self.subject()
                lines.append(
                    f"{label}: {format_value(metric, value, whole['currency'])} of {format_value(metric, total, whole['currency'])}"
                    f" = {'undefined' if share is None else f'{(share * 100).quantize(CENT, ROUND_HALF_UP)}%'}"
                    + ("" if part["days"] else f" (no {metric.label} in that period)")
                )
                extra = {"share": plain(share), "total": plain(total)}
                if part["group"] is not None:
                    extra.update({"group_by": self.intent.group_by, "group": label})
                facts.append(self.fact(metric, value, part, period, extra))
        scope_text = (
            f"the total of {whole_subject}"
            if whole_subject
            else f"the total of all {len(self.all_accounts)} accounts"
            if all(e.kind == "account" for e in self.intent.entities) and len(self.all_accounts) > 1
            else "the total of its account"
            if len(self.accounts) == 1
            else "the total of its accounts"
        )
        head = f"Share of {metric.label} in {scope_text}, {when(period)}:\n"
        return head + "\n".join(lines), "metric_sql", facts


def empty_row(currency: str, group: str | None, query: Query) -> dict:
    """A part with no rows in the period: every sum is 0 over 0 days, from `query` (the part's own)."""
    return {
        "currency": currency,
        "group": group,
        "sums": {c: Decimal(0) for c in ADDITIVE},
        "days": 0,
        "provisional": 0,
        "first": None,
        "last": None,
        "query": query,
    }


KIND = {
    "campaign": "campaign",
    "ad_group": "ad group",
    "ad": "ad",
    "account": "account",
    "platform": "platform",
    "day": "day",
    "week": "week",
    "month": "month",
}
KIND_PLURAL = {
    "campaign": "campaigns",
    "ad_group": "ad groups",
    "ad": "ads",
    "account": "accounts",
    "platform": "platforms",
    "day": "days",
    "week": "weeks",
    "month": "months",
}


# --- tickets ------------------------------------------------------------------------------------


class TicketAnswerer:
    def __init__(self, cur, scope: Scope, intent: Intent, today: date):
        self.cur = cur
        self.scope = scope
        self.intent = intent
        self.today = today
        self.current_period: Period | None = None
        self._stats: tuple[date | None, date | None, int] | None = None
        self._dated = 0  # matching tickets with a creation time (set by stats())
        searching = intent.ticket_measure in ("mentions", "similar")  # reads vectors, not the marts
        if not scope.ticket_sources or not (searching or _relation_exists(cur, TICKETS)):
            raise NotUnderstood("This workspace has no ticket sources, so I have no ticket numbers.", "no_data")

    def where(self) -> tuple[list[str], list]:
        where = ["t.source = ANY(%s)"]
        params: list = [list(self.scope.ticket_sources)]
        by_field: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for field_name, column, value in self.intent.ticket_filters:
            by_field[field_name].append((column, value))
        for values in by_field.values():
            where.append("(" + " OR ".join(f"s.{column} = %s" for column, _ in values) + ")")
            params += [value for _, value in values]
        return where, params

    def filters_text(self) -> str:
        if not self.intent.ticket_filters:
            return ""
        return " (" + ", ".join(f"{f} {v}" for f, _, v in self.intent.ticket_filters) + ")"

    def period(self) -> Period:
        if self.intent.periods:
            return self.intent.periods[0]
        if self.intent.ticket_measure == "backlog":
            return Period(self.today, self.today, "today")
        first, last = self.coverage()
        if first is None or last is None:
            raise NotUnderstood("There are no tickets matching that yet.", "no_data")
        return all_data(first, last, self.today, "all the data there is", "tickets matching that")

    def readable(self, sql: str, params: list) -> str:
        for param in params:
            literal = (
                "ARRAY[" + ", ".join(_sql_literal(p) for p in param) + "]"
                if isinstance(param, list)
                else _sql_literal(param)
            )
            sql = sql.replace("%s", literal, 1)
        return sql

    def run(self) -> tuple[str, str, list[dict]]:
        shape = self.intent.shape
        if shape == "compare":
            return self.compare()
        if self.intent.ticket_measure in ("mentions", "similar"):
            return self.search()
        if shape == "average":
            return self.average()
        if shape == "share" and self.intent.ticket_measure == "sla" and not self.intent.group_by:
            shape = self.intent.shape = "total"  # "what share met the SLA" is SLA attainment itself
        elif shape == "share" and not self.intent.group_by:
            return self.share()
        if shape in ("breakdown", "trend", "top", "share") or self.intent.group_by:
            return self.breakdown()
        if shape not in ("total",):
            raise NotUnderstood(f"I can't answer that shape ({shape}) for tickets yet.", "unsupported_shape")
        if self.undated():
            value_text, fact = self.count_all(None)
            return f"{value_text} in all, whatever their date{self.filters_text()}.", "ticket_sql", [fact]
        period = self.period()
        self.check_covered(period)
        if self.intent.ticket_measure in (None, "created", "backlog"):
            self.check_placeable(period)
        value_text, fact = self.measure(period, None)
        return (
            f"{value_text} for {when(period)}{self.filters_text()}.",
            "ticket_sql",
            [fact],
        )

    def event_column(self) -> str:
        measure = self.intent.ticket_measure
        if measure == "resolved":
            return "t.resolved_day"
        return "t.created_day"

    def measure(self, period: Period, group_sql: str | None) -> tuple[str, dict]:
        """The measure's value over `period` (grouped when group_sql), as a sentence and a fact."""
        measure = self.intent.ticket_measure or "created"
        where, params = self.where()
        base = f"FROM {TICKETS} t JOIN {TICKETS_STG} s USING (source, ticket_id) WHERE {' AND '.join(where)}"
        group_select = f"{group_sql} AS g, " if group_sql else ""
        group_by = " GROUP BY g ORDER BY g" if group_sql else ""
        if measure in ("created", "resolved"):
            column = self.event_column()
            sql = f"SELECT {group_select}count(*) {base} AND {column} BETWEEN %s AND %s{group_by}"
            args = params + [period.start, period.end]
            self.cur.execute(sql, args)
            rows = self.cur.fetchall()
            missing = self.missing_created(where, params) if measure == "created" else 0
            if group_sql:
                unplaced = (
                    f"\n(another {missing:,} matching tickets come from sources without creation times and can't be placed in a period)"
                    if missing
                    else ""
                )
                return self.grouped_text(rows, TICKET_LABELS[measure]) + unplaced, {
                    "measure": measure,
                    "values": {str(g): v for g, v in rows},
                    "sql": self.readable(sql, args),
                }
            count = rows[0][0]
            text = f"{count:,} {TICKET_LABELS[measure].replace('tickets', 'ticket') if count == 1 else TICKET_LABELS[measure]}"
            if missing:
                text += f" (another {missing:,} matching tickets come from sources without creation times and can't be placed in a period)"
            return text, {
                "measure": measure,
                "value": count,
                "sql": self.readable(sql, args),
                "without_created_at": missing,
            }
        if measure == "backlog":
            unit = self.intent.group_by if group_sql and self.intent.group_by in ("day", "week", "month") else None
            if unit:
                # The backlog is a stock: by day (week, month) it is the count open at the end of each
                # one in the period (once the tickets open at the period's end, by their creation day).
                sql = (
                    f"WITH ends AS (SELECT date_trunc('{unit}', d)::date AS bucket, "
                    f"least(%s::date, (date_trunc('{unit}', d) + interval '1 {unit}' - interval '1 day')::date) AS day "
                    "FROM generate_series(%s::date, %s::date, interval '1 day') d GROUP BY 1, 2) "
                    f"SELECT ends.bucket::text, (SELECT count(*) {base} AND t.created_day <= ends.day "
                    "AND (t.resolved_day IS NULL OR t.resolved_day > ends.day)) FROM ends ORDER BY 1"
                )
                args = [period.end, period.start, period.end] + params
            else:
                sql = f"SELECT {group_select}count(*) {base} AND t.created_day <= %s AND (t.resolved_day IS NULL OR t.resolved_day > %s){group_by}"
                args = params + [period.end, period.end]
            self.cur.execute(sql, args)
            rows = self.cur.fetchall()
            missing = self.missing_created(where, params)
            note = f" ({missing:,} tickets without a creation time are not counted)" if missing else ""
            # A ticket marked solved or closed without a resolution time has no day it stopped being
            # open: it is counted as open, and the answer says how many such tickets it counted.
            self.cur.execute(
                f"SELECT count(*) {base} AND t.created_day <= %s AND t.resolved_at IS NULL AND t.status IN ('solved', 'closed')",
                params + [period.end],
            )
            unstamped = self.cur.fetchone()[0]
            if unstamped:
                note += f" ({unstamped:,} of them are marked solved or closed but have no resolution time, so they count as open)"
            if group_sql:
                return self.grouped_text(rows, "open at the end") + note, {
                    "measure": measure,
                    "as_of": period.end.isoformat(),
                    "values": {str(g): v for g, v in rows},
                    "sql": self.readable(sql, args),
                }
            return f"{rows[0][0]:,} tickets were open at the end of {period.end:%b %-d, %Y}{note}", {
                "measure": measure,
                "value": rows[0][0],
                "solved_or_closed_without_resolution_time": unstamped,
                "as_of": period.end.isoformat(),
                "sql": self.readable(sql, args),
            }
        if measure in ("first_response_hours", "resolution_hours"):
            stats = [self.intent.stat] if self.intent.stat else ["avg", "median", "p90"]
            exprs = {
                "avg": f"avg(t.{measure})",
                "median": f"percentile_cont(0.5) WITHIN GROUP (ORDER BY t.{measure})",
                "p90": f"percentile_cont(0.9) WITHIN GROUP (ORDER BY t.{measure})",
            }
            sql = (
                f"SELECT {group_select}{', '.join(exprs[s] for s in stats)}, count(t.{measure}), count(*) "
                f"{base} AND t.created_day BETWEEN %s AND %s{group_by}"
            )
            args = params + [period.start, period.end]
            self.cur.execute(sql, args)
            rows = self.cur.fetchall()
            label = TICKET_LABELS[measure]

            def describe(values, measured, total) -> str:
                if not measured:
                    return "no measured tickets"
                shown = ", ".join(
                    f"{STAT_LABELS[s]} {Decimal(str(v)).quantize(Decimal('0.1'), ROUND_HALF_UP)} h"
                    for s, v in zip(stats, values, strict=True)
                )
                return f"{shown} (over {measured:,} of {total:,} tickets created in the period that have one)"

            if group_sql:
                if not any(r[-2] for r in rows):  # once an empty list under its heading
                    raise NotUnderstood(
                        f"I don't have {label} for {period.label}: no ticket created then has one (sources without "
                        "creation times can't measure it).",
                        "no_data",
                    )
                lines = [f"{g}: {describe(r[: len(stats)], r[-2], r[-1])}" for g, *r in rows]
                return f"{label.capitalize()} by {self.intent.group_by}:\n" + "\n".join(lines), {
                    "measure": measure,
                    "values": {
                        str(g): [plain(Decimal(str(v))) if v is not None else None for v in r] for g, *r in rows
                    },
                    "sql": self.readable(sql, args),
                }
            row = rows[0]
            if not row[-2]:
                raise NotUnderstood(
                    f"I don't have {label} for {period.label}: no ticket created then has one (sources without creation times can't measure it).",
                    "no_data",
                )
            return f"{label.capitalize()}: {describe(row[: len(stats)], row[-2], row[-1])}", {
                "measure": measure,
                "stats": dict(zip(stats, [plain(Decimal(str(v))) for v in row[: len(stats)]], strict=True)),
                "tickets_measured": row[-2],
                "sql": self.readable(sql, args),
            }
        if measure == "sla":
            # A ticket still waiting past its target has missed it already: it counts, as missed
            # (once only answered tickets counted, and an unanswered one overdue for 40 h read as 100%).
            # "Now" is the end of the as-of day (UTC, as the marts date tickets), or now if earlier.
            cutoff = "least(now(), (%s::date + 1)::timestamp AT TIME ZONE 'UTC')"
            overdue_first = (
                "t.first_response_at IS NULL AND t.resolved_at IS NULL "
                f"AND t.created_at + t.first_response_target_hours * interval '1 hour' < {cutoff} "
                # only where the source records first responses at all (a Jira export has none)
                f"AND EXISTS (SELECT FROM {TICKETS} r WHERE r.source = t.source AND r.first_response_at IS NOT NULL)"
            )
            overdue_resolution = f"t.resolved_at IS NULL AND t.resolution_due_at < {cutoff}"
            sql = (
                f"SELECT {group_select}count(*) FILTER (WHERE t.met_first_response_target), "
                f"count(*) FILTER (WHERE t.met_first_response_target IS NOT NULL OR ({overdue_first})), "
                f"count(*) FILTER (WHERE t.met_resolution_target), "
                f"count(*) FILTER (WHERE t.met_resolution_target IS NOT NULL OR ({overdue_resolution})) "
                f"{base} AND t.created_day BETWEEN %s AND %s{group_by}"
            )
            args = [self.today, self.today] + params + [period.start, period.end]
            self.cur.execute(sql, args)
            rows = self.cur.fetchall()

            def share(met, known) -> str:
                return (
                    "no measured tickets"
                    if not known
                    else f"{(Decimal(met) / known * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}% ({met:,} of {known:,})"
                )

            if group_sql:
                lines = [f"{g}: first response {share(a, b)}; resolution {share(c, d)}" for g, a, b, c, d in rows]
                return "SLA attainment by " + str(self.intent.group_by) + ":\n" + "\n".join(lines), {
                    "measure": "sla",
                    "values": {str(g): [a, b, c, d] for g, a, b, c, d in rows},
                    "sql": self.readable(sql, args),
                }
            a, b, c, d = rows[0]
            if not b and not d:
                raise NotUnderstood(
                    f"I don't have SLA outcomes for {period.label}: no ticket created then has measured times.",
                    "no_data",
                )
            return (
                f"SLA attainment for tickets created in the period: first response within target {share(a, b)}, "
                f"resolution within target {share(c, d)} (a ticket still open past its target counts as missed)",
                {
                    "measure": "sla",
                    "first_response_met": a,
                    "first_response_known": b,
                    "resolution_met": c,
                    "resolution_known": d,
                    "sql": self.readable(sql, args),
                },
            )
        raise NotUnderstood("I can't answer that about tickets.", "unsupported_metric")

    def missing_created(self, where: list[str], params: list) -> int:
        return self.stats()[2]

    def grouped_text(self, rows, label: str) -> str:
        if self.intent.group_by not in ("day", "week", "month"):  # "rank channels by tickets": largest first
            rows = sorted(rows, key=lambda gv: (-gv[1], str(gv[0])))
        if not rows:
            return f"{label.capitalize()} by {self.intent.group_by}: none."
        return f"{label.capitalize()} by {self.intent.group_by}:\n" + "\n".join(
            f"{self.group_label(g)}: {v:,}" for g, v in rows
        )

    def group_label(self, key) -> str:
        group, period = self.intent.group_by, self.current_period
        if group not in ("week", "month", "day") or key is None:
            return str(key)
        start = date.fromisoformat(str(key))
        if group == "day":
            return f"{start:%a %b %-d, %Y}"
        end = (
            start + timedelta(days=6)
            if group == "week"
            else (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        )
        label = f"week of {start:%b %-d, %Y}" if group == "week" else f"{start:%B %Y}"
        if period is not None and (start < period.start or end > period.end):
            label += f" (only {format_range(max(start, period.start), min(end, period.end))} in the period)"
        return label

    def group_sql(self) -> str:
        group = self.intent.group_by
        column = self.event_column()
        if group in ("priority", "status", "channel", "category", "source"):
            return f"coalesce(t.{group}, '(not set)')"
        if group == "resolution":
            self.cur.execute(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'analytics' "
                "AND table_name = 'stg_tickets__tickets' AND column_name = 'resolution'"
            )
            if not self.cur.fetchone()[0]:
                raise NotUnderstood("These ticket sources don't record a resolution.", "unsupported_shape")
            return "coalesce(s.resolution, '(not set)')"
        if group == "day":
            return f"{column}::text"
        if group in ("week", "month"):
            return f"date_trunc('{group}', {column})::date::text"
        raise NotUnderstood(f"Tickets can't be broken down by {group}.", "unsupported_shape")

    def stats(self) -> tuple[date | None, date | None, int]:
        """First and last event day of the matching tickets, and how many have no creation time (one scan)."""
        if self._stats is None:
            where, params = self.where()
            self.cur.execute(
                f"SELECT min(least(t.created_day, t.resolved_day, t.first_response_day)), "
                f"max(greatest(t.created_day, t.resolved_day, t.first_response_day)), count(*) FILTER (WHERE t.created_at IS NULL), "
                f"count(t.created_at) FROM {TICKETS} t JOIN {TICKETS_STG} s USING (source, ticket_id) WHERE {' AND '.join(where)}",
                params,
            )
            first, last, missing, dated = self.cur.fetchone()
            self._stats = (first, last, int(missing))
            self._dated = int(dated)
        return self._stats

    def check_placeable(self, period: Period) -> None:
        """Counting tickets created (or open) in a period needs creation times: where none of the
        matching tickets has one, the count is unknown, not zero."""
        _, _, missing = self.stats()
        if missing and not self._dated:
            label = TICKET_LABELS.get(self.intent.ticket_measure or "created", TICKET_LABELS["created"])
            raise NotUnderstood(
                f"I don't have {label} for {when(period)}: the {missing:,} matching tickets come from sources without "
                "creation times, so they can't be placed in a period. "
                + (
                    'Ask about a status instead ("how many tickets have status open").'
                    if self.intent.ticket_measure == "backlog"
                    else 'Ask without a period ("how many tickets") or about tickets resolved.'
                ),
                "no_data",
            )

    def undated(self) -> bool:
        """'How many tickets', 'tickets by status': no period named, so every matching ticket counts,
        dated or not."""
        return (
            not self.intent.periods
            and (self.intent.ticket_measure or "created") == "created"
            and self.intent.group_by not in ("day", "week", "month")
        )

    def count_all(self, group_sql: str | None) -> tuple[str, dict]:
        where, params = self.where()
        note = ""
        if (last := self.stats()[1]) is not None and last > self.today:
            # Asked as of an earlier day: a ticket created after it did not exist yet (one without a
            # creation time can't be placed, and counts).
            self.cur.execute(
                f"SELECT count(*) FROM {TICKETS} t JOIN {TICKETS_STG} s USING (source, ticket_id) "
                f"WHERE {' AND '.join(where)} AND t.created_day > %s",
                params + [self.today],
            )
            if later := self.cur.fetchone()[0]:
                where.append("(t.created_day IS NULL OR t.created_day <= %s)")
                params.append(self.today)
                note = f" (leaving out {later:,} created after today, {self.today:%b %-d, %Y})"
        group_select = f"{group_sql} AS g, " if group_sql else ""
        group_by = " GROUP BY g ORDER BY g" if group_sql else ""
        sql = f"SELECT {group_select}count(*) FROM {TICKETS} t JOIN {TICKETS_STG} s USING (source, ticket_id) WHERE {' AND '.join(where)}{group_by}"
        self.cur.execute(sql, params)
        rows = self.cur.fetchall()
        if group_sql:
            return self.grouped_text(rows, "tickets") + (f"\n{note.strip()}" if note else ""), {
                "measure": "all",
                "values": {str(g): v for g, v in rows},
                "sql": self.readable(sql, params),
            }
        count = rows[0][0]
        return f"{count:,} {'ticket' if count == 1 else 'tickets'}{note}", {
            "measure": "all",
            "value": count,
            "sql": self.readable(sql, params),
        }

    def coverage(self) -> tuple[date | None, date | None]:
        first, last, _ = self.stats()
        return first, last

    def check_covered(self, period: Period) -> None:
        """A period wholly outside the tickets' days is 'no data', not zero tickets. The days are the
        sources' (every ticket), not the filtered tickets': no solved ticket in August is zero."""
        self.cur.execute(
            f"SELECT min(least(t.created_day, t.resolved_day, t.first_response_day)), "
            f"max(greatest(t.created_day, t.resolved_day, t.first_response_day)) FROM {TICKETS} t WHERE t.source = ANY(%s)",
            (list(self.scope.ticket_sources),),
        )
        first, last = self.cur.fetchone()
        if self.intent.ticket_measure == "backlog" and first is not None and period.end >= first:
            return
        if first is None or last is None or period.end < first or period.start > last:
            span = f"Ticket data runs from {first} to {last}." if first else "There are no matching tickets."
            label = TICKET_LABELS[self.intent.ticket_measure or "created"]
            raise NotUnderstood(f"I don't have {label} for {when(period)}. {span}", "no_data")

    def breakdown(self) -> tuple[str, str, list[dict]]:
        if not self.intent.group_by:
            if self.intent.shape == "trend":
                self.intent.group_by = "week"
            else:
                raise NotUnderstood(
                    "Break tickets down by priority, status, channel, category, source, day, week or month.",
                    "unsupported_shape",
                )
        if self.intent.shape == "top" and self.intent.group_by not in (
            "priority",
            "status",
            "channel",
            "category",
            "source",
        ):
            raise NotUnderstood(
                "I can rank tickets by priority, status, channel, category or source.", "unsupported_shape"
            )
        if self.undated():
            period = None
            text, fact = self.count_all(self.group_sql())
        else:
            period = self.period()
            self.check_covered(period)
            if self.intent.ticket_measure in (None, "created", "backlog"):
                self.check_placeable(period)
            self.current_period = period
            text, fact = self.measure(period, self.group_sql())
        if self.intent.shape == "top" and "values" in fact and all(isinstance(v, int) for v in fact["values"].values()):
            if self.intent.order == "asc":
                # "which channel had the fewest critical tickets yesterday": a channel with none is the
                # fewest (once the one with 1, the others having no row to rank).
                for value in self.field_values():
                    fact["values"].setdefault(value, 0)
            ordered = sorted(
                fact["values"].items(),
                key=lambda kv: (-kv[1], kv[0]) if self.intent.order == "desc" else (kv[1], kv[0]),
            )
            ranked = ordered[: self.intent.top_n or 1]
            # "which priority has the most tickets": low 2 and urgent 2 once read as low alone
            ties = [g for g, v in ordered[len(ranked) :] if ranked and v == ranked[-1][1]]
            measure_label = "tickets" if period is None else TICKET_LABELS[self.intent.ticket_measure or "created"]
            if (self.intent.top_n or 1) == 1:
                head = f"The {self.intent.group_by} with the {'most' if self.intent.order == 'desc' else 'fewest'} {measure_label}:\n"
            else:
                head = f"{'Top' if self.intent.order == 'desc' else 'Bottom'} {self.intent.top_n} by {measure_label} ({self.intent.group_by}):\n"
            text = head + "\n".join(f"{i}. {g}: {v:,}" for i, (g, v) in enumerate(ranked, 1))
            if ties:
                text += f"\n(tied with {', '.join(str(g) for g in ties)})"
        elif (
            self.intent.shape == "share"
            and "values" in fact
            and all(isinstance(v, int) for v in fact["values"].values())
        ):
            # "share of tickets by priority": each group's count of the groups' whole, not the counts alone.
            whole = sum(fact["values"].values())
            if not whole:
                raise NotUnderstood("There are no matching tickets, so there are no shares to give.", "no_data")
            fact["total"] = whole
            fact["shares"] = {g: plain(Decimal(v) / whole) for g, v in fact["values"].items()}
            measure_label = "tickets" if period is None else TICKET_LABELS[self.intent.ticket_measure or "created"]
            text = f"Share of {measure_label} by {self.intent.group_by}:\n" + "\n".join(
                f"{self.group_label(g)}: {v:,} of {whole:,} = {(Decimal(v) * 100 / whole).quantize(CENT, ROUND_HALF_UP)}%"
                for g, v in fact["values"].items()
            )
        return (
            f"{text}\n({when(period) if period else 'all tickets, whatever their date'}{self.filters_text()})",
            "ticket_sql",
            [fact],
        )

    def field_values(self) -> list[str]:
        """The values the grouped field takes among the scope's tickets (of any day), within the
        question's own filters of that field."""
        where: list[str] = ["t.source = ANY(%s)"]
        params: list = [list(self.scope.ticket_sources)]
        same = [(c, v) for f, c, v in self.intent.ticket_filters if f == self.intent.group_by]
        if same:
            where.append("(" + " OR ".join(f"s.{c} = %s" for c, _ in same) + ")")
            params += [v for _, v in same]
        self.cur.execute(
            f"SELECT DISTINCT {self.group_sql()} FROM {TICKETS} t JOIN {TICKETS_STG} s USING (source, ticket_id) "
            f"WHERE {' AND '.join(where)}",
            params,
        )
        return [r[0] for r in self.cur.fetchall()]

    def search(self) -> tuple[str, str, list[dict]]:
        """Tickets whose text is about the question's words: a count over a period, or the closest few."""
        from resources.embeddings.providers import get_embedder
        from resources.embeddings.search import NotEmbedded, count_ticket_mentions, similar_tickets

        text = self.intent.search_text or ""
        if self.intent.ticket_filters or self.intent.shape not in ("total",):
            raise NotUnderstood(
                "Matching tickets by their text works on its own: no filters or breakdowns with it yet.",
                "unsupported_shape",
            )
        if re.search(r"\b(?:resolved|solved|closed|fixed|open|opened|pending|unresolved|created|submitted)\b", text):
            # "tickets about refunds were resolved yesterday" once looked for the text "refunds were
            # resolved" among the tickets created yesterday.
            raise NotUnderstood(
                f"{text!r} mixes what the tickets are about with their status: matching by text counts the "
                'tickets created, e.g. "how many tickets about refunds last month".',
                "unsupported_shape",
            )
        period = self.intent.periods[0] if self.intent.periods else None
        if period is not None:
            self.check_placeable(period)  # tickets without creation times are not "0 in a period"
        since = datetime.combine(period.start, datetime.min.time(), UTC) if period else None
        until = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), UTC) if period else None
        sources = list(self.scope.ticket_sources)
        try:
            if self.intent.ticket_measure == "mentions":
                found = count_ticket_mentions(self.cur, get_embedder(), text, sources=sources, since=since, until=until)
                where = f" created in {when(period)}" if period else ""
                examples = "; ".join(
                    f"{m.source} {m.ticket_id} “{m.subject}” ({m.similarity:.2f})" for m in found.examples
                )
                fact = {
                    "measure": "mentions",
                    "text": text,
                    "value": found.count,
                    "threshold": found.threshold,
                    "examples": [m.as_dict() for m in found.examples],
                }
                return (
                    f"{found.count:,} tickets{where} are about {text!r} (cosine similarity ≥ {found.threshold} "
                    f"between the ticket's text and yours; a semantic match, not a keyword count)."
                    + (f" Closest: {examples}." if examples else ""),
                    "ticket_search",
                    [fact],
                )
            matches = similar_tickets(
                self.cur, get_embedder(), text=text, k=5, sources=sources, since=since, until=until
            )
        except NotEmbedded as exc:
            raise NotUnderstood(
                f"Ticket texts aren't embedded yet ({exc}); run `burry search embed`.", "no_data"
            ) from exc
        if not matches:
            raise NotUnderstood(f"No tickets match {text!r}.", "no_data")
        lines = "\n".join(
            f"{i}. {m.source} {m.ticket_id}: {m.subject} (similarity {m.similarity:.2f})"
            for i, m in enumerate(matches, 1)
        )
        return (
            f"The tickets closest to {text!r}" + (f" created in {when(period)}" if period else "") + f":\n{lines}",
            "ticket_search",
            [{"measure": "similar", "text": text, "matches": [m.as_dict() for m in matches]}],
        )

    def average(self) -> tuple[str, str, list[dict]]:
        """'Average daily tickets': the period's count over its covered days (weeks, months)."""
        if self.intent.ticket_measure not in ("created", "resolved"):
            raise NotUnderstood(
                "I can average ticket counts per day, week or month (created or resolved).", "unsupported_shape"
            )
        period = self.period()
        self.check_covered(period)
        if self.intent.ticket_measure in (None, "created"):
            self.check_placeable(period)
        first, last = self.coverage()
        assert first is not None and last is not None
        start, end = max(period.start, first), min(period.end, last)
        days = (end - start).days + 1
        unit = self.intent.average_unit or "day"
        whole_months(unit, start, end)
        divisor = {
            "day": Decimal(days),
            "week": Decimal(days) / 7,
            "month": Decimal((end.year - start.year) * 12 + end.month - start.month + 1),
        }[unit]
        text, fact = self.measure(Period(start, end, period.label), None)
        value = Decimal(fact["value"]) / divisor
        fact.update({"average": plain(value), "per": unit, "divisor": plain(divisor)})
        label = TICKET_LABELS[self.intent.ticket_measure or "created"]
        clipped = "" if (start, end) == (period.start, period.end) else f" (the data covers {format_range(start, end)})"
        return (
            f"{format_number(value)} {label} per {unit} on average over {when(period)}{clipped}: "
            f"{fact['value']:,} over {days} days{self.filters_text()}.",
            "ticket_sql",
            [fact],
        )

    def share(self) -> tuple[str, str, list[dict]]:
        """'What share of tickets were urgent?': the filtered count over the unfiltered one."""
        if not self.intent.ticket_filters or self.intent.ticket_measure not in ("created", "resolved", "backlog"):
            raise NotUnderstood(
                'Share of which tickets? e.g. "what share of tickets were urgent last month".', "unsupported_shape"
            )
        undated = self.undated()
        period = None if undated else self.period()
        if period is not None:
            self.check_covered(period)
            if self.intent.ticket_measure in (None, "created", "backlog"):
                self.check_placeable(period)
        _, part = self.count_all(None) if period is None else self.measure(period, None)
        # The whole: every ticket, or the filtered group the share is taken within.
        filters, self.intent.ticket_filters = self.intent.ticket_filters, list(self.intent.share_within)
        within = self.filters_text()
        _, whole = self.count_all(None) if period is None else self.measure(period, None)
        self.intent.ticket_filters = filters
        span = when(period) if period else "all the data"
        label = "tickets" if period is None else TICKET_LABELS[self.intent.ticket_measure or "created"]
        if not whole["value"]:
            raise NotUnderstood(f"There were no {label}{within} in {span}.", "no_data")
        share = Decimal(part["value"]) / Decimal(whole["value"])
        part["share"] = plain(share)
        part["total"] = whole["value"]
        picked = self.filters_text()
        if self.intent.share_within:
            within_set = {tuple(f) for f in self.intent.share_within}
            picked = " (" + ", ".join(f"{f} {v}" for f, c, v in filters if (f, c, v) not in within_set) + ")"
        return (
            f"{(share * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}% of {label}{within} in {span} matched{picked}: "
            f"{part['value']:,} of {whole['value']:,}.",
            "ticket_sql",
            [part, whole],
        )

    def compare(self) -> tuple[str, str, list[dict]]:
        earlier, later = sorted(self.intent.periods, key=lambda p: p.start)
        self.check_covered(earlier)
        self.check_covered(later)
        if self.intent.ticket_measure in (None, "created", "backlog"):
            self.check_placeable(earlier)
        text_a, fact_a = self.measure(earlier, None)
        text_b, fact_b = self.measure(later, None)
        change = ""
        if isinstance(fact_a.get("value"), int) and isinstance(fact_b.get("value"), int):
            a, b = fact_a["value"], fact_b["value"]
            pct = f" ({'+' if b >= a else ''}{((b - a) / a * 100):.1f}%)" if a else ""
            change = f": {'+' if b >= a else '−'}{abs(b - a):,}{pct}"
        return (
            f"{when(later)}: {text_b}; {when(earlier)}: {text_a}{change}{self.filters_text()}.",
            "ticket_sql",
            [fact_a, fact_b],
        )


# --- both halves --------------------------------------------------------------------------------


class JoinAnswerer:
    def __init__(self, cur, scope: Scope, accounts: list[Account], intent: Intent, today: date):
        self.cur = cur
        self.scope = scope
        self.intent = intent
        self.today = today
        self.ads = AdAnswerer(cur, accounts, intent, today)
        self.tickets = TicketAnswerer(cur, scope, intent, today)

    def run(self) -> tuple[str, str, list[dict]]:
        if self.intent.ticket_measure not in ("created", "resolved", None):
            raise NotUnderstood(
                "I can relate ad numbers to ticket counts (created or resolved), not to ticket times.",
                "unsupported_shape",
            )
        if self.intent.shape == "join_ratio":
            return self.ratio()
        return self.weekly()

    def ratio(self) -> tuple[str, str, list[dict]]:
        metric = self.ads.metrics[0]
        if len(self.ads.metrics) != 1 or metric.numerator is not None:
            raise NotUnderstood(
                "Relate one additive ad number (spend, clicks, conversions…) to tickets.", "unsupported_shape"
            )
        if metric.kind == "money" and len(self.ads.currencies()) > 1:
            # tickets belong to no account: each currency's spend over all the tickets is no answer
            raise NotUnderstood(
                f"{metric.label.capitalize()} is in several currencies here: name one account or platform.",
                "unsupported_shape",
            )
        period = self.ads.periods()[0]
        rows = self.ads.sums(period)
        if not rows:
            raise self.ads.no_data(metric.label, period)
        if self.intent.ticket_measure in (None, "created"):
            self.tickets.check_placeable(period)
        ticket_text, ticket_fact = self.tickets.measure(period, None)
        count = ticket_fact["value"]
        facts = [self.ads.fact(metric, row["sums"][metric.name], row, period) for row in rows] + [ticket_fact]
        if not count:
            raise NotUnderstood(
                f"There were no matching tickets in {period.label}, so {metric.label} per ticket is undefined.",
                "no_data",
            )
        parts = []
        for row in rows:
            total = row["sums"][metric.name]
            parts.append(
                f"{format_value(metric, total / count, row['currency'])} {metric.label} per ticket "
                f"({format_value(metric, total, row['currency'])} over {count:,} tickets)"
            )
        what = TICKET_LABELS[self.intent.ticket_measure or "created"]
        text = (
            f"For {self.ads.subject()} and {what}{self.tickets.filters_text()} over {when(period)}: "
            + "; ".join(parts)
            + "."
        )
        if ticket_fact.get("without_created_at"):
            text += (
                f" Another {ticket_fact['without_created_at']:,} matching tickets come from sources without creation "
                "times and are not counted."
            )
        return text, "metric_sql", facts

    def weekly(self) -> tuple[str, str, list[dict]]:
        metric = self.ads.metrics[0]
        if metric.kind == "money" and len(self.ads.currencies()) > 1:
            raise NotUnderstood(
                "Spend is in several currencies here: name one account or platform.", "unsupported_shape"
            )
        period = self.ads.periods()[0] if self.intent.periods else None
        if period is None:
            end = self.today - timedelta(days=self.today.weekday() + 1)
            period = Period(end - timedelta(days=8 * 7 - 1), end, "the last 8 full weeks")
        self.intent.group_by = "week"
        if self.intent.ticket_measure in (None, "created"):
            self.tickets.check_placeable(period)
        ad_rows = self.ads.sums(period, "date_trunc('week', date_day)::date::text")
        ad_weeks = {r["group"]: metric_value(metric, r["sums"]) for r in ad_rows}
        _, ticket_fact = self.tickets.measure(period, f"date_trunc('week', {self.tickets.event_column()})::date::text")
        ticket_weeks = ticket_fact["values"]
        weeks = sorted(set(ad_weeks) | set(ticket_weeks))
        if len(weeks) < 2:
            raise NotUnderstood(
                f"{period.label} has fewer than two weeks of data; ask over a longer period.", "no_data"
            )
        lines, rose_both, rose_spend = [], 0, 0
        for prev, week in zip(weeks, weeks[1:], strict=False):
            a0, a1 = ad_weeks.get(prev), ad_weeks.get(week)
            t0, t1 = ticket_weeks.get(prev, 0), ticket_weeks.get(week, 0)
            if a0 is not None and a1 is not None and a1 > a0:
                rose_spend += 1
                if t1 > t0:
                    rose_both += 1
            lines.append(
                f"week of {date.fromisoformat(week):%b %-d}: {metric.label} {format_value(metric, a1, self.ads.currencies()[0] if self.ads.currencies() else '') if a1 is not None else 'no data'}, tickets {t1:,}"
            )
        what = TICKET_LABELS[self.intent.ticket_measure or "created"]
        summary = f"In {rose_both} of the {rose_spend} weeks when {metric.label} rose, {what} rose too."
        fact = {
            "metric": metric.name,
            "weekly_ads": {k: plain(v) for k, v in ad_weeks.items()},
            "weekly_tickets": ticket_weeks,
            "source": self.ads.last_query.readable(),
            "tickets_sql": ticket_fact["sql"],
        }
        return (
            f"{summary} Week by week over {when(period)}:\n" + "\n".join(lines),
            "metric_sql",
            [fact],
        )
