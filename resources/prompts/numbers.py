"""The number finder: every number and date a text names, so a text can be held to its sources.

Used by the snapshot check (a rendered prompt names no number its context lacks) and, later, by
the response validator of the ask service (an answer names no number its prompt lacks). Plain
Python, no Dagster, no database.

Numbers are compared as canonical decimals without sign or thousands separators: "1,491,368",
"1491368" and "1491368.00" are one number; "-17.4%" is 17.4. Dates (2026-09-30, optionally with a
time) are one token each, not three numbers. A number glued to letters before it ("p90", "Q1") is
a name, not a number; one followed by letters ("30-Day", "12k") counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation

TOKEN = re.compile(
    r"(?P<date>(?<![\w.])\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)"
    r"|(?P<number>(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)"
)


def canonical(number: str | int | float | Decimal) -> str | None:
    """`1,234.50` -> `1234.5`; None for what is not a finite number."""
    try:
        value = Decimal(str(number).replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    value = abs(value)
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def numbers_in(text: str) -> list[str]:
    """The numbers and dates in `text`, canonical, in order of appearance (repeats kept)."""
    found = []
    for match in TOKEN.finditer(text):
        if match.group("date"):
            found.append(match.group("date").replace("T", " "))
        else:
            number = canonical(match.group("number"))
            if number is not None:
                found.append(number)
    return found


def _leaves(value: object) -> Iterator[object]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def known_numbers(*sources: object) -> set[str]:
    """Every number and date in `sources`: texts, numbers, and JSON-like structures of them."""
    known: set[str] = set()
    for source in sources:
        for leaf in _leaves(source):
            if isinstance(leaf, bool) or leaf is None:
                continue
            if isinstance(leaf, int | float | Decimal):
                number = canonical(leaf)
                if number is not None:
                    known.add(number)
            else:
                known.update(numbers_in(str(leaf)))
    return known


def unsupported_numbers(text: str, *sources: object) -> list[str]:
    """The numbers of `text` that none of `sources` names, sorted, each once."""
    known = known_numbers(*sources)
    return sorted({number for number in numbers_in(text) if number not in known}, key=_sort_key)


def _sort_key(token: str) -> tuple[int, Decimal | str]:
    try:
        return (0, Decimal(token))
    except InvalidOperation:
        return (1, token)


def count_tokens(text: str) -> int:
    """A rough LLM token estimate (about four characters a token, as OpenAI's guidance puts it)."""
    return (len(text) + 3) // 4


def all_numbers_known(text: str, sources: Iterable[object]) -> bool:
    return not unsupported_numbers(text, *sources)
