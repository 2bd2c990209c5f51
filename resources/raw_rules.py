"""What a valid raw row is: one rule set for the importer and the blocking checks.

The file importer (assets/imports/parse.py) quarantines a row that breaks one of these rules; the
blocking Great Expectations suites (assets/ads/quality.py, assets/tickets/quality.py) stop the
marts on one. Both read the limits from here, so a row the importer accepts cannot fail a
blocking check. Every rule is monotone in time (a date allowed "up to the account's local
tomorrow" stays allowed as the clock moves on), so a check run after the import sees the same
verdict.

Plain values and functions (no database); `tests/unit/test_raw_rules.py` pins each boundary and
`tests/integration/test_file_import.py` imports boundary rows and runs the suites on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from resources.raw_schema import BIGINT, METRIC_TYPES, NUMERIC

# -- ad metrics ------------------------------------------------------------------------------------
# Dates before this are a parsing or source error, not history.
EARLIEST_METRIC_DATE = date(2000, 1, 1)
# A metrics day may be the account's local today (partial) or, with a day of slack for clock and
# API edges, tomorrow; anything later is in the future.
MAX_DAYS_AFTER_LOCAL_TODAY = 1
# Every metric is a non-negative amount; the column type (raw contract) bounds it above.
METRIC_MIN = 0
BIGINT_MAX = 2**63 - 1
# PostgreSQL's numeric: at most 131072 digits before the decimal point and 16383 after.
NUMERIC_MAX_DIGITS_BEFORE_POINT = 131072
NUMERIC_MAX_DIGITS_AFTER_POINT = 16383

# -- accounts --------------------------------------------------------------------------------------
CURRENCY_CODE_PATTERN = "^[A-Z]{3}$"  # ISO 4217: EUR, USD, ...

# -- tickets ---------------------------------------------------------------------------------------
# Canonical ticket priorities (a source's own wording is kept in `priority_raw`).
CANONICAL_PRIORITIES = ("urgent", "high", "normal", "low")
# A ticket cannot be created in the future: an hour of slack for clocks.
MAX_HOURS_CREATED_AFTER_NOW = 1
# (earlier, later): each pair, when both are known, in this order (equal allowed).
TICKET_TIME_ORDER = (
    ("created_at", "first_response_at"),
    ("created_at", "resolved_at"),
    ("first_response_at", "resolved_at"),
)


def local_today(time_zone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(time_zone)).date()


def latest_metric_date(time_zone: str, now: datetime) -> date:
    """The last day a metrics row may have in an account of this time zone, at `now`."""
    return local_today(time_zone, now) + timedelta(days=MAX_DAYS_AFTER_LOCAL_TODAY)


def metric_date_problem(day: date, time_zone: str, now: datetime) -> str | None:
    if day < EARLIEST_METRIC_DATE:
        return f"date: {day} is before {EARLIEST_METRIC_DATE} (the earliest date a metrics row may have)"
    latest = latest_metric_date(time_zone, now)
    if day > latest:
        return f"date: {day} is in the future (after {latest}, the account's local tomorrow in {time_zone})"
    return None


def metric_value_problem(name: str, column: str, value: int | Decimal) -> str | None:
    """`value` for the metric column `column` (read from the file's field `name`) fits its rules and type."""
    if value < METRIC_MIN:
        return f"{name}: negative ({value})"
    kind = METRIC_TYPES[column]
    if kind == BIGINT and value > BIGINT_MAX:
        return f"{name}: {value} is over the largest {column} PostgreSQL can hold ({BIGINT_MAX})"
    if kind == NUMERIC and isinstance(value, Decimal) and value:
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)  # finite: parse_number rejects NaN and infinity
        if value.adjusted() >= NUMERIC_MAX_DIGITS_BEFORE_POINT or -exponent > NUMERIC_MAX_DIGITS_AFTER_POINT:
            return f"{name}: {value} has more digits than PostgreSQL's numeric holds"
    return None


def currency_problem(code: str) -> str | None:
    if not re.fullmatch(CURRENCY_CODE_PATTERN, code):
        return f"currency: {code!r} is not a three-letter currency code such as USD or EUR"
    return None


def created_at_problem(created_at: datetime | None, now: datetime) -> str | None:
    if created_at is not None and created_at > now + timedelta(hours=MAX_HOURS_CREATED_AFTER_NOW):
        return (
            f"created_at: {created_at.isoformat(timespec='minutes')} is in the future "
            f"(more than {MAX_HOURS_CREATED_AFTER_NOW} hour after now)"
        )
    return None


def time_order_problem(times: Mapping[str, datetime | None]) -> str | None:
    for a, b in TICKET_TIME_ORDER:
        earlier, later = times.get(a), times.get(b)
        if earlier and later and later < earlier:
            return f"timestamps out of order: {b} ({later:%Y-%m-%d %H.%M}) before {a} ({earlier:%Y-%m-%d %H.%M})"
    return None
