"""Grounded answers to metric questions, straight from the marts: every number stated is a sum
(or a ratio of sums) of `analytics.account_daily` rows, and the facts used come back with it.
When the data is not there, the answer says so instead of guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from ask.questions import METRICS, Metric, Period, find_metric, find_period
from resources.ids import normalize_account_id

MART = "analytics.account_daily"
DEFAULT_PERIOD_DAYS = 30
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
ADDITIVE = ["impressions", "clicks", "cost", "conversions", "conversion_value"]


class AccountNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Account:
    platform: str
    account_id: str
    name: str
    currency_code: str
    time_zone: str
    last_refreshed_at: datetime | None


@dataclass
class Answer:
    text: str
    route: str
    facts: list[dict] = field(default_factory=list)
    freshness: dict = field(default_factory=dict)
    provider: str = "none"  # no language model was used for this answer
    cost_usd: Decimal = Decimal("0")


def load_account(cur, platform: str, account_id: str) -> Account:
    """The registered account; the id in any spelling the platform uses (123-456-7890 or 1234567890)."""
    account_id = normalize_account_id(platform, account_id)
    cur.execute(
        "SELECT platform, account_id, coalesce(name, account_id), coalesce(currency_code, ''), "
        "coalesce(time_zone, 'UTC'), last_refreshed_at FROM app.ad_accounts "
        "WHERE platform = %s AND account_id = %s",
        (platform, account_id),
    )
    row = cur.fetchone()
    if row is None:
        raise AccountNotFound(f"No {platform} account {account_id!r} is registered.")
    return Account(*row)


def format_value(metric: Metric, value: Decimal, currency: str) -> str:
    if metric.kind == "money":
        amount = f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
        symbol = CURRENCY_SYMBOLS.get(currency)
        return f"{symbol}{amount}" if symbol else f"{amount} {currency}".strip()
    if metric.kind == "ratio":
        return f"{(value * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"
    if metric.kind == "multiple":
        return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP)}x"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


def format_range(period: Period) -> str:
    if period.start == period.end:
        return f"{period.start:%b %-d, %Y}"
    return f"{period.start:%b %-d} – {period.end:%b %-d, %Y}"


def plain(value: Decimal) -> str:
    """An exact decimal without scale noise: 6644.2500000000 -> '6644.25', 100 -> '100'."""
    return format(value.normalize(), "f")


def metric_value(metric: Metric, sums: dict[str, Decimal]) -> Decimal | None:
    """Additive metrics are sums; ratios are ratios of sums, None when the denominator is 0."""
    if metric.numerator is None:
        return sums[metric.name]
    assert metric.denominator is not None  # every ratio metric in METRICS names both sides
    denominator = sums[metric.denominator]
    return None if not denominator else sums[metric.numerator] / denominator


def period_sums(cur, account: Account, period: Period) -> dict:
    cur.execute(
        f"SELECT {', '.join(f'coalesce(sum({c}), 0)' for c in ADDITIVE)}, count(*), "
        f"count(*) FILTER (WHERE is_provisional), min(date_day), max(date_day) "
        f"FROM {MART} WHERE platform = %s AND account_id = %s AND date_day BETWEEN %s AND %s",
        (account.platform, account.account_id, period.start, period.end),
    )
    row = cur.fetchone()
    sums = {c: Decimal(row[i]) for i, c in enumerate(ADDITIVE)}
    days, provisional, first, last = row[len(ADDITIVE) :]
    return {"sums": sums, "days_with_data": days, "provisional_days": provisional, "first": first, "last": last}


def data_coverage(cur, account: Account) -> dict:
    cur.execute(
        f"SELECT min(date_day), max(date_day) FROM {MART} WHERE platform = %s AND account_id = %s",
        (account.platform, account.account_id),
    )
    first, last = cur.fetchone()
    return {
        "data_start": first.isoformat() if first else None,
        "data_end": last.isoformat() if last else None,
        "last_refreshed_at": account.last_refreshed_at.isoformat() if account.last_refreshed_at else None,
    }


def answer_question(cur, platform: str, account_id: str, question: str, as_of: date | None = None) -> Answer:
    account = load_account(cur, platform, account_id)
    freshness = data_coverage(cur, account)
    today = as_of or datetime.now(ZoneInfo(account.time_zone)).date()
    metric = find_metric(question)
    if metric is None:
        labels = ", ".join(m.label for m in METRICS.values())
        return Answer(
            f"I can only access {labels} for {account.name}'s campaigns. "
            'Try, for example: "What was total spend last 7 days?"',
            route="unsupported_metric",
            freshness=freshness,
        )
    period = find_period(question, today) or Period(
        today - timedelta(days=DEFAULT_PERIOD_DAYS), today - timedelta(days=1), f"the last {DEFAULT_PERIOD_DAYS} days"
    )
    found = period_sums(cur, account, period)
    if found["days_with_data"] == 0:
        return Answer(
            f"I don't have {metric.label} for {period.label} ({format_range(period)}). "
            f"{_coverage_sentence(account, freshness)}",
            route="no_data",
            freshness=freshness,
        )
    value = metric_value(metric, found["sums"])
    fact = {
        "metric": metric.name,
        "value": None if value is None else plain(value),
        "unit": account.currency_code if metric.kind == "money" else metric.kind,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "days_with_data": found["days_with_data"],
        "provisional_days": found["provisional_days"],
        "sums": {k: plain(v) for k, v in found["sums"].items()},
        "source": f"{MART} WHERE platform = '{account.platform}' AND account_id = '{account.account_id}' "
        f"AND date_day BETWEEN '{period.start}' AND '{period.end}'",
    }
    return Answer(
        _sentence(metric, value, account, period, found) + _caveats(metric, found, period, freshness, account),
        route="metric_sql",
        facts=[fact],
        freshness=freshness,
    )


def _sentence(metric: Metric, value: Decimal | None, account: Account, period: Period, found: dict) -> str:
    where = f"{account.name} ({account.account_id})"
    when = f"{period.label} ({format_range(period)})"
    if value is None:
        assert metric.denominator is not None  # only a ratio's zero denominator makes the value None
        denominator = metric.denominator.replace("_", " ")
        return f"{metric.label} for {where} over {when} is undefined: there were no {denominator}."
    total = "Total " if metric.kind in ("money", "count") and metric.numerator is None else ""
    return f"{total}{metric.label} for {where} over {when} was {format_value(metric, value, account.currency_code)}."


def _caveats(metric: Metric, found: dict, period: Period, freshness: dict, account: Account) -> str:
    notes = []
    if found["days_with_data"] < period.days:
        notes.append(
            f" Data covers only {found['days_with_data']} of the {period.days} days "
            f"({found['first']:%b %-d} – {found['last']:%b %-d}); {_coverage_sentence(account, freshness)}"
        )
    if found["provisional_days"] and metric.uses_conversions:
        notes.append(
            f" {found['provisional_days']} of these days are provisional: conversions inside the "
            "conversion window can still change."
        )
    return "".join(notes)


def _coverage_sentence(account: Account, freshness: dict) -> str:
    if not freshness["data_end"]:
        return f"There is no data for {account.name} yet."
    refreshed = account.last_refreshed_at
    when = f"{refreshed.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if refreshed else "never"
    span = f"{freshness['data_start']} to {freshness['data_end']}"
    return f"Data for {account.name} runs from {span} (last refreshed {when})."


def record_interaction(cur, platform: str, account_id: str, question: str, answer: Answer) -> int:
    cur.execute(
        "INSERT INTO app.interactions (platform, account_id, question, answer, route, facts, data_freshness, "
        "provider, cost_usd) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            platform,
            normalize_account_id(platform, account_id),
            question,
            answer.text,
            answer.route,
            json.dumps(answer.facts),
            json.dumps(answer.freshness),
            answer.provider,
            answer.cost_usd,
        ),
    )
    return cur.fetchone()[0]
