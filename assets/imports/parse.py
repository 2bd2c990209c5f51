"""Reading an export (CSV or JSONL) and parsing its records into canonical `raw` rows.

Pure functions over a file and a mapping (assets/imports/mapping.py): no database. A row that
cannot be read raises `RowError` (or comes as a `Record` with a `problem`) with the reason it is
quarantined under; a file that cannot be read at all raises `UnreadableFile` or `MappingError`.
What a valid row is (dates, ranges, currencies, priorities, time order) comes from
resources/raw_rules.py, the rule set the blocking checks apply too.

Encodings: `--encoding` if given; else a byte order mark (UTF-8/16/32); else UTF-8 if the whole
file is valid UTF-8; else charset-normalizer's guess, preferring cp1252 (what Excel on Windows
writes) when that reads the file as well as the guess does.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from assets.imports.mapping import PRIORITIES, REQUIRED, TICKET_TIMES, Mapping, MappingError, UnreadableFile
from resources.ids import normalize_account_id
from resources.raw_rules import (
    BIGINT_MAX,
    NUMERIC_MAX_DIGITS_BEFORE_POINT,
    created_at_problem,
    currency_problem,
    metric_date_problem,
    metric_value_problem,
    time_order_problem,
)
from resources.raw_schema import BIGINT, METRIC_TYPES

# The largest cell read: csv's own limit is 128 KiB, and a cell beyond this is a broken file (an
# unclosed quote swallows the rest of it) or not an export at all. Such a row is quarantined.
MAX_CELL_CHARS = 10 * 1024 * 1024
# Byte order marks, longest first (UTF-32 LE starts like UTF-16 LE).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Without a BOM and not UTF-8: what Excel on Windows writes, when it reads the file as well as
# the detector's best guess (within this much of its "chaos" score; short files tie often).
PREFERRED_SINGLE_BYTE = "cp1252"
CHAOS_MARGIN = 0.1


class RowError(ValueError):
    """One row cannot be read; it goes to quarantine with this reason."""


@dataclass(frozen=True)
class Encoding:
    name: str  # a Python codec name
    how: str  # given | byte order mark | valid UTF-8 | detected

    def describe(self) -> str:
        return f"{self.name} ({self.how})"


@dataclass(frozen=True)
class Record:
    """One data record: its number (from 1, after the header) and {column: text}; JSONL's nested
    values (a ticket's comments) stay structured. `problem` set: unreadable, quarantined as is."""

    number: int
    values: dict
    problem: str | None = None


@dataclass(frozen=True)
class Account:
    """A registered ad account, as the importer needs it: its rules (time zone, currency) and owner."""

    platform: str
    account_id: str
    name: str | None
    currency_code: str | None
    time_zone: str | None
    owner: str | None  # the source that registered it; None: not known (registered before 0004)


# -- encodings -----------------------------------------------------------------------------------
def detect_encoding(path: Path, given: str | None = None) -> Encoding:
    if given:
        try:
            return Encoding(codecs.lookup(given).name, "given")
        except LookupError:
            raise UnreadableFile(
                f"--encoding {given!r} is not an encoding Python knows: use e.g. utf-8, cp1252, latin-1, utf-16"
            ) from None
    with path.open("rb") as f:
        head = f.read(4)
    for bom, name in BOMS:
        if head.startswith(bom):
            return Encoding(name, "byte order mark")
    if is_utf8(path):
        return Encoding("utf-8", "valid UTF-8")
    import charset_normalizer  # only for files that are not UTF-8

    matches = list(charset_normalizer.from_path(path))
    if not matches:
        raise UnreadableFile(
            f"{path.name}: cannot tell its text encoding (is it a CSV or JSONL file?); if it is text, pass "
            "--encoding with its encoding, e.g. --encoding cp1252"
        )
    best = matches[0]
    for match in matches:
        if PREFERRED_SINGLE_BYTE in match.could_be_from_charset and match.chaos <= best.chaos + CHAOS_MARGIN:
            return Encoding(PREFERRED_SINGLE_BYTE, "detected")
    return Encoding(codecs.lookup(best.encoding).name, "detected")


def is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def open_text(path: Path, encoding: Encoding) -> IO[str]:
    # newline="": csv handles line ends itself (and quoted newlines); JSON lines split the same.
    return path.open(encoding=encoding.name, newline="")


# -- reading -------------------------------------------------------------------------------------
def read_records(path: Path, mapping: Mapping, encoding: Encoding) -> Iterator[Record]:
    """Every data record of the file, readable or not, numbered from 1 after the header (blank
    lines are not records). Raises UnicodeDecodeError when the file is not in `encoding`."""
    with open_text(path, encoding) as f:
        yield from (jsonl_records(f) if is_jsonl(path) else csv_records(f, mapping))


def jsonl_records(f: IO[str]) -> Iterator[Record]:
    number = 0
    for line in f:
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            yield Record(number, {"_line": line.rstrip("\r\n")}, f"not valid JSON: {reason}")
            continue
        if not isinstance(value, dict):
            kind = "an array" if isinstance(value, list) else f"a {type(value).__name__}"
            yield Record(
                number,
                {"_line": line.rstrip("\r\n")},
                f"not a JSON object: the line is {kind}; each line must be one object",
            )
            continue
        # Nested values (a ticket's comments) stay structured; scalars become text like CSV cells.
        yield Record(
            number, {k: v if isinstance(v, (list, dict)) else "" if v is None else str(v) for k, v in value.items()}
        )


def csv_header(f: IO[str], mapping: Mapping) -> tuple[Any, list[str] | None]:
    csv.field_size_limit(MAX_CELL_CHARS)
    for _ in range(mapping.skip_rows):
        next(f, None)
    reader = csv.reader(f, delimiter=mapping.delimiter)
    try:
        return reader, next(reader, None)
    except csv.Error as exc:
        raise UnreadableFile(
            f"cannot read the header line ({exc}): check `skip_rows` and `delimiter` in the mapping"
        ) from None


def csv_records(f: IO[str], mapping: Mapping) -> Iterator[Record]:
    reader, header = csv_header(f, mapping)
    if header is None:
        return
    width = len(header)
    # Trailing header cells without a name (a trailing delimiter) may be missing from rows.
    needed = max((i + 1 for i, name in enumerate(header) if name), default=0)
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader resumes at the next line
            number += 1
            reason = (
                f"cell over the size limit: more than {MAX_CELL_CHARS:,} characters (10 MiB) in one cell"
                if "field larger than field limit" in str(exc)
                else f"unreadable CSV: {exc}"
            )
            line = mapping.skip_rows + reader.line_num  # the file's own line number
            yield Record(number, {"_line": line}, f"{reason}, near line {line}")
            continue
        if not row:
            continue
        number += 1
        values = {name: value for name, value in zip(header, row, strict=False) if name}
        extra = row[width:]
        if len(row) < needed or any(v.strip() for v in extra):
            payload = {**values, "_extra_fields": extra} if extra else values
            yield Record(number, payload, f"row has {len(row)} fields, header has {width}")
            continue
        yield Record(number, values)


def is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


def file_columns(path: Path, mapping: Mapping, encoding: Encoding) -> list[str] | None:
    """The header of a CSV file (after skip_rows), or the keys of a JSONL file's first object;
    None when there is none (an empty file, or no line of a JSONL file is an object)."""
    try:
        if is_jsonl(path):
            first = next((r for r in read_records(path, mapping, encoding) if r.problem is None), None)
            return list(first.values) if first else None
        with open_text(path, encoding) as f:
            header = csv_header(f, mapping)[1]
            return None if header is None else [c for c in header if c]
    except UnicodeDecodeError as exc:
        raise not_in_encoding(path, encoding, exc) from None


def not_in_encoding(path: Path, encoding: Encoding, exc: UnicodeDecodeError) -> UnreadableFile:
    byte = exc.object[exc.start : exc.start + 1]
    return UnreadableFile(
        f"{path.name} is not {encoding.describe()} text ({exc.reason}: byte {byte!r}); "
        "pass the file's encoding, e.g. --encoding cp1252, --encoding latin-1 or --encoding utf-16"
    )


def referenced_columns(spec: str) -> list[str]:
    return re.findall(r"{([^{}]+)}", spec) if "{" in spec else [spec]


def fit_to_file(mapping: Mapping, columns: list[str], path: Path) -> Mapping:
    """Pick, for each field, the first alternative whose columns the file has (exports name some
    columns after the account currency: "Amount spent (EUR)")."""
    chosen: dict[str, tuple[str, ...]] = {}
    unmet: list[str] = []
    for name, alternatives in mapping.columns.items():
        fits = [a for a in alternatives if set(referenced_columns(a)) <= set(columns)]
        if fits:
            chosen[name] = (fits[0],)
        else:
            unmet.append(" or ".join(repr(a) for a in alternatives))
    if unmet:
        raise MappingError(
            f"{path.name}: mapping {mapping.name!r} needs columns {', '.join(unmet)} the file lacks; "
            f"the file has {columns}"
        )
    return replace(mapping, columns=chosen)


def field_text(record: dict, spec: str) -> str:
    if "{" in spec:
        return spec.format_map(record)
    return record.get(spec, "")


def cell_problem(record: dict, columns: set[str]) -> str | None:
    """What PostgreSQL's text cannot hold, in the columns the mapping reads (nested values too)."""
    for column in columns:
        for value in strings(record.get(column)):
            if "\x00" in value:
                return f"NUL byte in {column!r}: PostgreSQL text cannot hold one (remove it from the file)"
            if len(value) > MAX_CELL_CHARS:
                return f"cell over the size limit: more than {MAX_CELL_CHARS:,} characters (10 MiB) in {column!r}"
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return f"invalid text in {column!r}: a lone UTF-16 surrogate (fix the file's escapes)"
    return None


def strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def canonical_values(record: dict, mapping: Mapping) -> dict[str, str | list | dict | None]:
    """Text per canonical field (None when empty); a ticket's nested comments (JSONL) stay as they are."""
    values: dict[str, str | list | dict | None] = {}
    for name in mapping.provides:
        nested = record.get(mapping.columns.get(name, ("",))[0])
        if isinstance(nested, (list, dict)):
            if name != "comments":
                kind = "an array" if isinstance(nested, list) else "an object"
                raise RowError(f"{name}: expected a value, found {kind}")
            values[name] = nested
            continue
        text = field_text(record, mapping.columns[name][0]).strip() if name in mapping.columns else ""
        if text in mapping.null_values:
            text = mapping.defaults.get(name, "")
        # priority keeps the source's own value: parse_ticket_row maps it and stores both.
        if text and name in mapping.value_maps and name != "priority":
            text = mapping.value_maps[name].get(text.casefold(), text)
        values[name] = text or None
    return values


# -- parsing -------------------------------------------------------------------------------------
def parse_number(name: str, text: str | None) -> Decimal:
    if text is None:
        raise RowError(f"{name}: missing")
    cleaned = re.sub(r"[\s,$€£%]", "", text)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise RowError(f"{name}: not a number: {text!r}") from None
    if not value.is_finite():
        raise RowError(f"{name}: not a number: {text!r}")
    if value < 0:
        raise RowError(f"{name}: negative ({text})")
    if value and value.adjusted() >= NUMERIC_MAX_DIGITS_BEFORE_POINT:
        raise RowError(f"{name}: {text[:40]!r} is larger than any number PostgreSQL holds")
    return value


def parse_metric(name: str, column: str, text: str | None) -> int | Decimal:
    """A metric for raw column `column` (impressions, cost_micros, ...), read from the file's field
    `name`, checked against its rules and column type before anything is written."""
    value = parse_number(name, text)
    if METRIC_TYPES[column] != BIGINT:
        problem = metric_value_problem(name, column, value)
        if problem:
            raise RowError(problem)
        return value
    if column == "cost_micros":
        value = (value * 1_000_000).to_integral_value()
    elif value != value.to_integral_value():
        raise RowError(f"{name}: not a whole number ({text})")
    problem = metric_value_problem(name, column, value)
    if problem:
        raise RowError(problem)
    return int(value)


def parse_datetime(name: str, text: str | None, mapping: Mapping) -> datetime | None:
    if text is None:
        return None
    for fmt in mapping.date_formats:
        try:
            moment = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise RowError(
                f"{name}: unparseable date {text!r} (formats tried: {', '.join(mapping.date_formats)})"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(mapping.time_zone))


def parse_date(name: str, text: str | None, mapping: Mapping) -> date:
    moment = parse_datetime(name, text, mapping)
    if moment is None:
        raise RowError(f"{name}: missing")
    return moment.date()


def require(values: dict, names: tuple[str, ...]) -> None:
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise RowError(f"missing {', '.join(missing)}")


def parse_ad_row(values: dict, mapping: Mapping) -> dict:
    """One ad row, each field checked against the rules a row needs no account for; the account's
    rules (its local today, its currency) are checked by `check_account_rules`."""
    require(values, REQUIRED["ads"] + (("ad_group", "ad") if mapping.grain == "ad" else ()))
    # One spelling of each platform's ids, so UI exports and API extracts meet.
    account_id = normalize_account_id(values["platform"], values["account"])
    currency = (values.get("currency") or "USD").upper()
    problem = currency_problem(currency)
    if problem:
        raise RowError(problem)
    row = {
        "platform": values["platform"],
        "account_id": account_id,
        "currency_code": currency,
        "campaign_id": values["campaign"],
        "date": parse_date("date", values["date"], mapping),
        "impressions": parse_metric("impressions", "impressions", values.get("impressions") or "0"),
        "clicks": parse_metric("clicks", "clicks", values.get("clicks") or "0"),
        "cost_micros": parse_metric("cost", "cost_micros", values.get("cost") or "0"),
        "conversions": parse_metric("conversions", "conversions", values.get("conversions") or "0"),
        "conversions_value": parse_metric(
            "conversion_value", "conversions_value", values.get("conversion_value") or "0"
        ),
    }
    if mapping.grain == "ad":
        # Files name things instead of numbering them: ids are the names, made unique by their parents.
        row["ad_group_id"] = f"{values['campaign']} / {values['ad_group']}"
        row["ad_id"] = f"{row['ad_group_id']} / {values['ad']}"
        row["ad_group_name"], row["ad_name"] = values["ad_group"], values["ad"]
    return row


def parse_ticket_row(values: dict, mapping: Mapping, now: datetime) -> dict:
    require(values, REQUIRED["tickets"])
    times = {name: parse_datetime(name, values.get(name), mapping) for name in TICKET_TIMES}
    problem = time_order_problem(times) or created_at_problem(times["created_at"], now)
    if problem:
        raise RowError(problem)
    priority_raw = values.get("priority")
    priority = mapping.value_maps.get("priority", {}).get((priority_raw or "").casefold(), priority_raw)
    if priority is not None and priority not in PRIORITIES:
        raise RowError(f"priority: {priority_raw!r} maps to none of {', '.join(PRIORITIES)} (add it to value_maps)")
    return {
        "ticket_id": values["id"],
        "subject": values.get("subject"),
        "description": values.get("description"),
        "priority": priority,
        "priority_raw": priority_raw,
        "status": values.get("status"),
        "channel": values.get("channel"),
        "category": values.get("category"),
        **times,
        "comments": parse_comments(values.get("comments"), mapping),
    }


def parse_comments(comments, mapping: Mapping) -> list[dict]:
    """A ticket's comments from a JSONL array of {id?, author?, body, created_at}; ids unique per ticket."""
    if comments is None:
        return []
    if not isinstance(comments, list):
        raise RowError("comments: expected a list of {author, body, created_at}")
    parsed: dict[str, dict] = {}
    for index, comment in enumerate(comments, start=1):
        if not isinstance(comment, dict):
            raise RowError(f"comments: item {index} is not an object")
        created = parse_datetime(f"comments[{index}].created_at", str(comment.get("created_at") or "") or None, mapping)
        if created is None:
            raise RowError(f"comments: item {index} has no created_at")
        comment_id = str(comment.get("id", index))
        if comment_id in parsed:
            raise RowError(f"comments: id {comment_id!r} appears more than once in the ticket (ids must be unique)")
        parsed[comment_id] = {
            "comment_id": comment_id,
            "author": comment_text(comment, "author", index),
            "body": comment_text(comment, "body", index),
            "created_at": created,
        }
    return list(parsed.values())


def comment_text(comment: dict, name: str, index: int) -> str | None:
    value = comment.get(name)
    if isinstance(value, (list, dict)):
        raise RowError(f"comments: item {index}'s {name} is not text")
    return None if value is None else str(value)


def check_account_rules(
    row: dict, mapping: Mapping, accounts: dict[tuple[str, str], Account], currencies: dict, now: datetime
) -> None:
    """The rules that depend on the account: a metrics day up to its local tomorrow (its time zone
    if registered, else the mapping's), and its currency (if registered; else the first row's)."""
    key = (row["platform"], row["account_id"])
    account = accounts.get(key)
    zone = (account and account.time_zone) or mapping.time_zone
    problem = metric_date_problem(row["date"], zone, now)
    if problem:
        raise RowError(problem)
    currency = (account and account.currency_code) or currencies.setdefault(key, row["currency_code"])
    if row["currency_code"] != currency:
        raise RowError(f"currency {row['currency_code']} differs from account {row['account_id']}'s {currency}")


@dataclass
class ParsedFile:
    rows: list[tuple[int, dict]]
    rejected: list[tuple[int, str, dict]]
    exact_duplicates: int
    rows_read: int
    encoding: Encoding
    accounts: set[tuple[str, str]] = field(default_factory=set)  # (platform, account id) of every row that named one


def parse_file(
    path: Path,
    mapping: Mapping,
    accounts: dict[tuple[str, str], Account] | None = None,
    encoding: Encoding | None = None,
    now: datetime | None = None,
) -> ParsedFile:
    """Every record of the file, parsed into a row or rejected with a reason. `accounts`: the
    registered ad accounts (their time zone and currency rule the rows); `encoding`: the file's
    (`detect_encoding`; None: detect it here); `now`: when the rules are applied (None: now).
    Raises UnreadableFile / MappingError when the file as a whole cannot be read."""
    accounts = accounts or {}
    now = now or datetime.now(UTC)
    text = encoding or detect_encoding(path)
    columns = file_columns(path, mapping, text)
    if columns is not None:  # None: no record the mapping could read (all, if any, are quarantined)
        mapping = fit_to_file(mapping, columns, path)
    used = {column for specs in mapping.columns.values() for column in referenced_columns(specs[0])}
    parsed = ParsedFile([], [], 0, 0, text)
    seen_records: set[str] = set()
    first_by_key: dict[tuple, tuple[int, dict]] = {}
    currencies: dict[tuple[str, str], str] = {}
    # Campaign-day totals of this file's ad rows: raw.campaign_daily_metrics holds their sum.
    totals: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ROLLED_UP, 0))
    try:
        for record in read_records(path, mapping, text):
            parsed.rows_read += 1
            if record.problem:
                parsed.rejected.append((record.number, record.problem, record.values))
                continue
            fingerprint = json.dumps(record.values, sort_keys=True)
            if fingerprint in seen_records:
                parsed.exact_duplicates += 1
                continue
            seen_records.add(fingerprint)
            try:
                problem = cell_problem(record.values, used)
                if problem:
                    raise RowError(problem)
                values = canonical_values(record.values, mapping)
                if mapping.kind == "ads":
                    row = parse_ad_row(values, mapping)
                    parsed.accounts.add((row["platform"], row["account_id"]))
                    check_account_rules(row, mapping, accounts, currencies, now)
                else:
                    row = parse_ticket_row(values, mapping, now)
            except (RowError, KeyError, ValueError) as exc:
                reason = str(exc) if isinstance(exc, RowError) else f"template: {exc}"
                parsed.rejected.append((record.number, reason, record.values))
                continue
            key = natural_key(row, mapping)
            if key in first_by_key:
                reason = f"duplicate key: same key as record {first_by_key[key][0]}, different values"
                parsed.rejected.append((record.number, reason, record.values))
                continue
            if mapping.kind == "ads" and mapping.grain == "ad":
                over = add_to_total(totals[campaign_day(row)], row)
                if over:
                    parsed.rejected.append((record.number, over, record.values))
                    continue
            first_by_key[key] = (record.number, row)
            parsed.rows.append((record.number, row))
    except UnicodeDecodeError as exc:
        raise not_in_encoding(path, text, exc) from None
    return parsed


# Counts a campaign-day sums over its ads (numeric columns cannot overflow).
ROLLED_UP = tuple(c for c, kind in METRIC_TYPES.items() if kind == BIGINT)


def campaign_day(row: dict) -> tuple:
    return (row["platform"], row["account_id"], row["campaign_id"], row["date"])


def add_to_total(total: dict[str, int], row: dict) -> str | None:
    """Add the row to its campaign-day's total, unless that would overflow the column."""
    over = [c for c in ROLLED_UP if total[c] + row[c] > BIGINT_MAX]
    if over:
        return (
            f"{over[0]}: the campaign's total for {row['date']} would exceed the largest {over[0]} "
            f"PostgreSQL can hold ({BIGINT_MAX})"
        )
    for c in ROLLED_UP:
        total[c] += row[c]
    return None


def natural_key(row: dict, mapping: Mapping) -> tuple:
    if mapping.kind == "tickets":
        return (row["ticket_id"],)
    grain_id = row["ad_id"] if mapping.grain == "ad" else row["campaign_id"]
    return (row["platform"], row["account_id"], grain_id, row["date"])
