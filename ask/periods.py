"""Time phrases in a question, read relative to `today` (in the data's time zone). Plain functions.

Conventions (each answer states the dates it used):
- "last N days" / "past N days" end yesterday, as in Google Ads (today is still incomplete);
  "last N weeks" is 7·N days ending yesterday; "last N months" is the N previous calendar months.
- "this week" (Monday start), "this month", "this quarter", "this year", "so far this year" run
  from the period's first day to today, today included.
- "last week" / "last month" / "last quarter" / "last year" are the previous calendar period.
- A named month or date without a year is its latest occurrence that is not in the future.
- "all time" is everything there is.
- "The previous period" follows how a period was asked for: "the last 30 days" -> the 30 days
  before, even when those are a whole month; a calendar month, quarter or year -> the one before;
  a week -> the week before; a week, month, quarter or year to date -> the same days of the one before.

`find_periods` returns what it understood and the character spans it read, so the caller can
tell whether every word of the question was understood.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
WORD_NUMBERS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
}
NUMBER_RE = r"\d+|" + "|".join(sorted(WORD_NUMBERS, key=len, reverse=True))
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
MAX_DAYS = 366 * 30  # a period longer than 30 years is a typo, not a question


class PeriodError(ValueError):
    """A time phrase that was recognised but cannot be a period (zero days, impossible date…)."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str
    note: str = ""  # the interpretation, when the phrase could mean something else
    # How the period was asked for: "day" (N days, a date, a range), "week", "month", "quarter" or
    # "year". The period before it follows that ("previous 30 days" are 30 days even when the last
    # 30 happen to be a whole month); "" (a period stored before units were kept) goes by its dates.
    unit: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def shifted(self, kind: str) -> Period:
        """The period before this one: the same length ('period'), a week, a month or a year earlier.

        Raises PeriodError where the phrase does not fit ("the week before" a whole year)."""
        if kind == "year":
            start, end = _minus_years(self.start, 1), _minus_years(self.end, 1)
            return Period(start, end, "the same period a year earlier", unit=self.unit)
        if kind == "month":
            if self.start.day == 1 and _is_month_end(self.end) and self.unit in ("month", "quarter", "year", ""):
                start = _add_months(self.start, -_months_between(self.start, self.end))
                return _month_span_period(start, self.start - timedelta(days=1), self.unit or "month")
            if self.days <= 31:
                start, end = _add_months(self.start, -1), _add_months(self.end, -1)
                return Period(start, end, "the same days a month earlier", unit=self.unit)
            raise PeriodError(f'"The month before" fits a month, not {self.label}: name the other period.')
        if kind == "week":
            if self.days > 7:
                raise PeriodError(f'"The week before" fits a week or a day, not {self.label}: name the other period.')
            start, end = self.start - timedelta(days=7), self.end - timedelta(days=7)
            label = (
                "the week before"
                if self.days == 7
                else "the same day a week earlier"
                if self.days == 1
                else "the same days a week earlier"
            )
            return Period(start, end, label, unit=self.unit)
        return self._previous()

    def _previous(self) -> Period:
        """'The previous period' as the question expressed this one: N days -> the N days before;
        a calendar month, quarter or year (or several whole months) -> the calendar months before
        ("did clicks rise last month?": against the month before, not the 31 days before); a week
        -> the week before; a week, month, quarter or year to date -> the same days one unit earlier
        (Monday to Wednesday against the Monday to Wednesday before, not Friday to Sunday)."""
        whole_months = self.start.day == 1 and _is_month_end(self.end)
        if whole_months and self.unit in ("month", "quarter", "year", ""):
            start = _add_months(self.start, -_months_between(self.start, self.end))
            return _month_span_period(start, self.start - timedelta(days=1), self.unit)
        months = {"month": 1, "quarter": 3, "year": 12}.get(self.unit)
        if months and self.start == _unit_start(self.start, self.unit) and self.days < 366:
            start, end = _add_months(self.start, -months), _add_months(self.end, -months)
            return Period(start, end, f"the same days a {self.unit} earlier", unit=self.unit)
        if self.unit == "week" and self.start.weekday() == 0 and self.days <= 7:
            start, end = self.start - timedelta(days=7), self.end - timedelta(days=7)
            label = "the week before" if self.days == 7 else "the same days a week earlier"
            return Period(start, end, label, unit="week")
        length = self.days
        start, end = self.start - timedelta(days=length), self.start - timedelta(days=1)
        return Period(
            start, end, "the day before" if length == 1 else f"the previous {length} days", unit=self.unit or "day"
        )

    def before(self, other: Period) -> Period:
        """A period of this one's length that ends the day before `other` starts: "and the previous
        30 days?" asked after another period is the 30 days before that one, not before today.
        Whole months stay whole months (the previous 2 months of May-June are March-April).

        Raises PeriodError where whole months would have to end inside a month."""
        if self.unit in ("month", "quarter", "year") and self.start.day == 1 and _is_month_end(self.end):
            if other.start.day != 1:
                raise PeriodError(f'"{self.label}" before {other.label} would not be whole months: name the period.')
            start = _add_months(other.start, -_months_between(self.start, self.end))
            return _month_span_period(start, other.start - timedelta(days=1), self.unit)
        start, end = other.start - timedelta(days=self.days), other.start - timedelta(days=1)
        label = "the day before" if self.days == 1 else f"the previous {self.days} days"
        return Period(start, end, label, unit=self.unit or "day")

    def to_json(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label, "unit": self.unit}

    @classmethod
    def from_json(cls, data: dict) -> Period:
        return cls(
            date.fromisoformat(data["start"]), date.fromisoformat(data["end"]), data["label"], unit=data.get("unit", "")
        )


@dataclass(frozen=True)
class FoundPeriod:
    period: Period | None  # None: "all time" (the caller fills in the data's first and last day)
    span: tuple[int, int]
    relative: str | None = None  # "the week before" etc.: a shift of another period


def format_range(start: date, end: date) -> str:
    if start == end:
        return f"{start:%b %-d, %Y}"
    if start.year == end.year:
        return f"{start:%b %-d} – {end:%b %-d, %Y}"
    return f"{start:%b %-d, %Y} – {end:%b %-d, %Y}"


def _number(raw: str) -> int:
    return int(raw) if raw.isdigit() else WORD_NUMBERS[raw]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _minus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # Feb 29
        return day.replace(year=day.year - years, day=28)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _is_month_end(day: date) -> bool:
    return day == _month_end(day.year, day.month)


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _month_span_period(start: date, end: date, unit: str = "month") -> Period:
    if start.year == end.year and start.month == end.month:
        return Period(start, end, f"{start:%B %Y}", unit=unit)
    return Period(start, end, f"{start:%B %Y} – {end:%B %Y}", unit=unit)


def _unit_start(day: date, unit: str) -> date:
    """The first day of the month, quarter or year `day` is in."""
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def _month_period(year: int, month: int, today: date, note: str = "") -> Period:
    start, end = date(year, month, 1), _month_end(year, month)
    if start <= today < end:
        return Period(start, today, f"{start:%B %Y} to date", note, "month")
    return Period(start, end, f"{start:%B %Y}", note, "month")


def _latest(month: int, day: int | None, today: date) -> int:
    """The latest year in which month (and day) is not after today."""
    year = today.year
    if (month, day or 1) > (today.month, today.day):
        year -= 1
    return year


def _valid_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise PeriodError(f"{year}-{month:02d}-{day:02d} is not a date.") from exc


# A single day written in a way we read unambiguously. Groups: iso | month-name day [year] | day month-name [year]
DAY_RE = (
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})"
    rf"|(?P<m1>{MONTH_RE})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y1>\d{{4}}))?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<m2>{MONTH_RE})\.?(?:,?\s+(?P<y2>\d{{4}}))?"
)


def _day_from(match: re.Match, prefix: str, today: date) -> tuple[date, bool]:
    """The date a DAY_RE match names, and whether its year was implied."""
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    if groups.get(f"{prefix}iso"):
        y, m, d = (int(x) for x in groups[f"{prefix}iso"].split("-"))
        return _valid_date(y, m, d), False
    for month_key, day_key, year_key in (("m1", "d1", "y1"), ("m2", "d2", "y2")):
        if groups.get(prefix + month_key):
            month = MONTHS[groups[prefix + month_key]]
            day = int(groups[prefix + day_key])
            raw_year = groups.get(prefix + year_key)
            year = int(raw_year) if raw_year else _latest(month, day, today)
            return _valid_date(year, month, day), raw_year is None
    raise AssertionError("DAY_RE matched without a date")  # pragma: no cover


def _prefixed(prefix: str) -> str:
    return DAY_RE.replace("(?P<", f"(?P<{prefix}")


def find_periods(text: str, today: date) -> list[FoundPeriod]:
    """Every period `text` (lower case) names, in order of appearance. Raises PeriodError for a
    time phrase that cannot be a period ("last 0 days", "February 30")."""
    found: list[FoundPeriod] = []
    taken = [False] * len(text)

    def claim(match: re.Match, period: Period | None, relative: str | None = None) -> None:
        start, end = match.span()
        if any(taken[start:end]):
            return
        for i in range(start, end):
            taken[i] = True
        found.append(FoundPeriod(period, (start, end), relative))

    # "what may our CTR be": the verb, not the month (once read as May).
    for match in re.finditer(
        r"\b(?:what|how|which|who|where|when|it|we|you|they|i|this|that|there)\s+(may)\s+"
        r"(?:be|have|not|also|our|we|the|it|i|you|they|need|get|look|go|reach)\b",
        text,
    ):
        for i in range(*match.span(1)):
            taken[i] = True

    yesterday = today - timedelta(days=1)

    # Ranges first: "from X to Y", "between X and Y", "X to Y", "X – Y".
    range_re = (
        r"(?P<lead>from\s+|between\s+)?(?:"
        + _prefixed("a")
        + r")\s*(?P<joint>to|until|through|thru|and|-|–)\s*(?:"
        + _prefixed("b")
        + r")"
    )
    for match in re.finditer(range_re, text):
        if match.group("joint") == "and" and not (match.group("lead") or "").startswith("between"):
            continue  # "on May 5 and May 10" is two days, not the six between them
        start_day, start_implied = _day_from(match, "a", today)
        end_day, end_implied = _day_from(match, "b", today)
        if start_implied and not end_implied:
            start_day = start_day.replace(year=end_day.year)
        if end_day < start_day:
            raise PeriodError(f"The range {match.group(0)!r} ends before it starts.")
        claim(match, Period(start_day, end_day, format_range(start_day, end_day), unit="day"))
    # "the week of <day>": the Monday-to-Sunday week containing that day.
    for match in re.finditer(r"(?:the\s+)?week\s+(?:of|starting|beginning|commencing)\s+(?:" + DAY_RE + ")", text):
        day, _ = _day_from(match, "", today)
        monday = day - timedelta(days=day.weekday())
        note = "" if day == monday else f"the Monday-to-Sunday week containing {day:%b %-d}"
        claim(match, Period(monday, monday + timedelta(days=6), f"the week of {monday:%b %-d, %Y}", note, "week"))
    # "since <day>": to today.
    for match in re.finditer(r"since\s+(?:" + DAY_RE + ")", text):
        day, _ = _day_from(match, "", today)
        claim(match, Period(day, today, f"since {day:%b %-d, %Y}", unit="day"))
    for match in re.finditer(
        r"since\s+(?:the\s+(?:start|beginning)\s+of\s+)?(" + MONTH_RE + r")(?:\s+(\d{4}))?\b", text
    ):
        month = MONTHS[match.group(1)]
        year = int(match.group(2)) if match.group(2) else _latest(month, None, today)
        claim(match, Period(date(year, month, 1), today, f"since {date(year, month, 1):%B %Y}", unit="day"))

    # Relative to another period: "the week before", "the previous period", "the same period last year".
    for match in re.finditer(
        r"\b(?:and\s+|vs\.?\s+|versus\s+|compared\s+(?:to|with)\s+)?(?:the\s+)?(?:(week|month|year|period|day)\s+before(?!\s+yesterday)|previous\s+(week|month|year|period)|prior\s+(week|month|year|period)|preceding\s+(week|month|period)|same\s+period\s+(?:last|a|the\s+previous)\s+year|year\s+before)\b",
        text,
    ):
        unit = next((g for g in match.groups() if g), None) or "year"
        if "same period" in match.group(0) or "year before" in match.group(0):
            unit = "year"
        claim(match, None, relative="period" if unit == "day" else unit)

    # Rolling windows.
    for match in re.finditer(
        rf"\b(?:in\s+|over\s+|during\s+|for\s+)?(?:the\s+)?(?:last|past|previous|prior|preceding|trailing)\s+({NUMBER_RE})\s+(days?|weeks?|months?)\b",
        text,
    ):
        n, unit = _number(match.group(1)), match.group(2).rstrip("s")
        if n < 1:
            raise PeriodError(f"{match.group(0).strip()!r} is an empty period: ask for at least one {unit}.")
        if n * {"day": 1, "week": 7, "month": 31}[unit] > MAX_DAYS:
            raise PeriodError(f"{match.group(0).strip()!r} is longer than 30 years: nothing is kept that long.")
        if unit == "day":
            period = Period(today - timedelta(days=n), yesterday, f"the last {n} days", unit="day")
        elif unit == "week":
            period = Period(
                today - timedelta(days=7 * n),
                yesterday,
                f"the last {n} weeks",
                f"{7 * n} days ending yesterday",
                "week",
            )
        else:
            first = _add_months(today.replace(day=1), -n)
            end = today.replace(day=1) - timedelta(days=1)
            period = Period(
                first, end, f"the last {n} months", f"the {n} full calendar months before this one", "month"
            )
        if period.days > MAX_DAYS:
            raise PeriodError(f"{match.group(0).strip()!r} is longer than 30 years: nothing is kept that long.")
        claim(match, period)

    # Calendar periods relative to today.
    monday = today - timedelta(days=today.weekday())
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    relative_calendar = [
        (
            r"\bthe day before yesterday\b",
            Period(today - timedelta(days=2), today - timedelta(days=2), "the day before yesterday", unit="day"),
        ),
        (r"\btoday\b", Period(today, today, "today", unit="day")),
        (r"\byesterday\b", Period(yesterday, yesterday, "yesterday", unit="day")),
        (
            r"\b(?:this|current)\s+week\b|\bweek[\s-]to[\s-]date\b|\bwtd\b",
            Period(monday, today, "this week (Monday to today)", unit="week"),
        ),
        (
            r"\b(?:last|previous|prior)\s+week\b",
            Period(monday - timedelta(days=7), monday - timedelta(days=1), "last week (Monday to Sunday)", unit="week"),
        ),
        (
            r"\b(?:so\s+far\s+)?(?:this|current)\s+month(?:\s+so\s+far)?\b|\bmonth[\s-]to[\s-]date\b|\bmtd\b",
            Period(today.replace(day=1), today, f"{today:%B %Y} to date", unit="month"),
        ),
        (
            r"\b(?:last|previous|prior)\s+month\b",
            _month_span_period(_add_months(today.replace(day=1), -1), today.replace(day=1) - timedelta(days=1)),
        ),
        (
            r"\b(?:so\s+far\s+)?(?:this|current)\s+quarter(?:\s+so\s+far)?\b|\bquarter[\s-]to[\s-]date\b|\bqtd\b",
            Period(quarter_start, today, f"Q{(today.month - 1) // 3 + 1} {today.year} to date", unit="quarter"),
        ),
        (
            r"\b(?:last|previous|prior)\s+quarter\b",
            Period(
                _add_months(quarter_start, -3),
                quarter_start - timedelta(days=1),
                f"Q{(_add_months(quarter_start, -3).month - 1) // 3 + 1} {_add_months(quarter_start, -3).year}",
                unit="quarter",
            ),
        ),
        (
            r"\b(?:so\s+far\s+)?(?:this|current)\s+year(?:\s+so\s+far)?\b|\byear[\s-]to[\s-]date\b|\bytd\b",
            Period(date(today.year, 1, 1), today, f"{today.year} to date", unit="year"),
        ),
        (
            r"\b(?:last|previous|prior)\s+year\b",
            Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), f"{today.year - 1}", unit="year"),
        ),
    ]
    for pattern, period in relative_calendar:
        for match in re.finditer(r"(?:\b(?:in|over|during|for|on)\s+)?(?:\bthe\s+)?(?:" + pattern + ")", text):
            claim(match, period)
    for match in re.finditer(
        r"(?:\b(?:for|over|in)\s+)?\b(?:all[\s-]time|ever|since\s+(?:the\s+)?(?:beginning|start)(?!\s+of\b)|all\s+(?:the\s+)?data|in\s+total\s+ever)\b",
        text,
    ):
        claim(match, None)

    # Named calendar periods: quarters, months, years, single days.
    for match in re.finditer(
        r"\b(?:in\s+|during\s+|for\s+)?(?:the\s+)?(?:q([1-4])|(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter)(?:\s+(?:of\s+)?(\d{4}))?\b",
        text,
    ):
        quarter = int(match.group(1)) if match.group(1) else ORDINALS[match.group(2)]
        first_month = 3 * (quarter - 1) + 1
        year = int(match.group(3)) if match.group(3) else _latest(first_month, 1, today)
        start, end = date(year, first_month, 1), _month_end(year, first_month + 2)
        label = f"Q{quarter} {year}"
        if start <= today < end:
            end, label = today, f"Q{quarter} {year} to date"
        claim(match, Period(start, end, label, unit="quarter"))
    for match in re.finditer(r"(?:\b(?:on|for)\s+)?\b(?:" + DAY_RE + r")\b", text):
        day, implied = _day_from(match, "", today)
        claim(
            match,
            Period(
                day,
                day,
                f"{day:%b %-d, %Y}",
                f"{day.year}, the latest {day:%B %-d} up to today" if implied else "",
                "day",
            ),
        )
    for match in re.finditer(
        r"\b(?:in\s+|during\s+|for\s+)?(?:the\s+month\s+of\s+)?(" + MONTH_RE + r")\.?(?:,?\s+(\d{4}))?\b", text
    ):
        if (
            match.group(1) == "may"
            and not match.group(2)
            and re.match(r"\s+(?:i|we|you|they|it|be|have|see|show|get|ask)\b", text[match.end() :])
        ):
            continue  # "may" the verb
        month = MONTHS[match.group(1)]
        year = int(match.group(2)) if match.group(2) else _latest(month, None, today)
        note = "" if match.group(2) else f"{year}, the latest {calendar.month_name[month]} up to today"
        claim(match, _month_period(year, month, today, note))
    for match in re.finditer(r"\b(?:in\s+|during\s+|for\s+)?(?:the\s+year\s+)?((?:19|20)\d{2})\b", text):
        year = int(match.group(1))
        start, end = date(year, 1, 1), date(year, 12, 31)
        claim(
            match,
            Period(start, today, f"{year} to date", unit="year")
            if start <= today < end
            else Period(start, end, str(year), unit="year"),
        )

    found.sort(key=lambda f: f.span)
    return found
