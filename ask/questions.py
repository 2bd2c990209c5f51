"""Reading a metric question: which metric, over which days. Plain functions, no I/O.

Periods follow Google Ads' conventions: "last N days" ends yesterday (today is incomplete),
"last month" is the previous calendar month, "this month" is month to date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Metric:
    name: str  # column in the marts
    label: str
    kind: str  # money | count | ratio | multiple
    numerator: str | None = None  # ratios are re-derived from sums, never averaged
    denominator: str | None = None

    @property
    def uses_conversions(self) -> bool:
        """Conversions keep arriving inside the conversion window: these figures are provisional."""
        return "conversion" in f"{self.name} {self.numerator} {self.denominator}"


METRICS = {
    m.name: m
    for m in [
        Metric("cost", "spend", "money"),
        Metric("impressions", "impressions", "count"),
        Metric("clicks", "clicks", "count"),
        Metric("conversions", "conversions", "count"),
        Metric("conversion_value", "conversion value", "money"),
        Metric("ctr", "CTR", "ratio", "clicks", "impressions"),
        Metric("cpc", "CPC", "money", "cost", "clicks"),
        Metric("cpa", "CPA", "money", "cost", "conversions"),
        Metric("roas", "ROAS", "multiple", "conversion_value", "cost"),
    ]
}

# Most specific first: "conversion value" must win over "conversions", "cost per click" over "cost".
METRIC_PATTERNS: list[tuple[str, str]] = [
    (r"\bconversion[s]?[ _]value\b|\brevenue\b", "conversion_value"),
    (r"\broas\b|return on ad spend", "roas"),
    (r"\bcpa\b|cost per (acquisition|conversion)", "cpa"),
    (r"\bcpc\b|cost per click", "cpc"),
    (r"\bctr\b|click[- ]through", "ctr"),
    (r"\bspend\b|\bspent\b|\bcost\b|\bcosts\b", "cost"),
    (r"\bimpressions?\b", "impressions"),
    (r"\bclicks?\b", "clicks"),
    (r"\bconversions?\b", "conversions"),
]

WORD_NUMBERS = {"seven": 7, "fourteen": 14, "thirty": 30, "ninety": 90, "two": 2, "three": 3}


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def find_metric(question: str) -> Metric | None:
    text = question.lower()
    for pattern, name in METRIC_PATTERNS:
        if re.search(pattern, text):
            return METRICS[name]
    return None


def find_period(question: str, today: date) -> Period | None:
    """The period the question names, relative to `today` (in the account's time zone)."""
    text = question.lower()
    yesterday = today - timedelta(days=1)
    match = re.search(r"(?:last|past|previous)\s+(\d+|" + "|".join(WORD_NUMBERS) + r")\s+days?", text)
    if match:
        raw = match.group(1)
        n = int(raw) if raw.isdigit() else WORD_NUMBERS[raw]
        if n < 1:
            return None
        return Period(today - timedelta(days=n), yesterday, f"the last {n} days")
    if re.search(r"\b(last|past|previous) week\b", text):
        return Period(today - timedelta(days=7), yesterday, "the last 7 days")
    if "yesterday" in text:
        return Period(yesterday, yesterday, "yesterday")
    if re.search(r"\b(last|previous) month\b", text):
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end, f"{end:%B %Y}")
    if re.search(r"\bthis month\b|month to date", text):
        if today.day == 1:
            return None
        return Period(today.replace(day=1), yesterday, f"{today:%B %Y} to date")
    return None
