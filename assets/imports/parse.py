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
import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, NamedTuple
from zoneinfo import ZoneInfo

from assets.imports.mapping import (
    NO_AD,
    PRIORITIES,
    REQUIRED,
    TICKET_TIMES,
    Lookup,
    Mapping,
    MappingError,
    UnreadableFile,
)
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
from resources.raw_schema import BIGINT, DATE, JSONB, METRIC_TYPES, TABLES, TEXT

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
# The mapping `cached_date` parses with (its formats and time zone replaced).
DATE_ONLY = Mapping(name="date", kind="ads", source="", columns={}, sha256="")


class RowError(ValueError):
    """One row cannot be read; it goes to quarantine with this reason."""


@dataclass(frozen=True)
class Encoding:
    name: str  # a Python codec name
    how: str  # given | byte order mark | valid UTF-8 | detected

    def describe(self) -> str:
        return f"{self.name} ({self.how})"


class Record(NamedTuple):
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
    rows = CsvRows(f, mapping)
    for number, cells, record in rows:
        yield record or Record(number, rows.named(cells))


class CsvRows:
    """A CSV file's data records after its header: (number, cells, None) for a record with as many
    cells as the header, else (number, None, the Record: unreadable, ragged, or with blank extra
    cells). Blank lines are not records."""

    def __init__(self, f: IO[str], mapping: Mapping):
        self.mapping = mapping
        self.reader, header = csv_header(f, mapping)
        self.header = header or []
        self.width = len(self.header)
        # Trailing header cells without a name (a trailing delimiter) may be missing from rows.
        self.needed = max((i + 1 for i, name in enumerate(self.header) if name), default=0)

    def named(self, cells: list[str]) -> dict:
        """{column: cell} of a record, as every record's values are (unnamed columns left out)."""
        return {name: value for name, value in zip(self.header, cells, strict=False) if name}

    def __iter__(self) -> Iterator[tuple[int, Any, Record | None]]:
        if not self.header:
            return
        reader, width = self.reader, self.width
        number = 0
        while True:
            try:
                for row in reader:
                    if not row:
                        continue
                    number += 1
                    if len(row) == width:
                        yield number, row, None
                    else:
                        yield number, None, self.record(number, row)
                return
            except csv.Error as exc:  # the reader resumes at the next line
                number += 1
                yield number, None, self.unreadable(number, exc)

    def record(self, number: int, row: list[str]) -> Record:
        """The record of a line's cells: ragged (fewer cells than the header names, or more that are
        not blank) with its problem."""
        values = self.named(row)
        width = self.width
        if len(row) == width:
            return Record(number, values)
        extra = row[width:]
        if len(row) < self.needed or any(v.strip() for v in extra):
            payload = {**values, "_extra_fields": extra} if extra else values
            return Record(number, payload, f"row has {len(row)} fields, header has {width}")
        return Record(number, values)

    def unreadable(self, number: int, exc: csv.Error) -> Record:
        reason = (
            f"cell over the size limit: more than {MAX_CELL_CHARS:,} characters (10 MiB) in one cell"
            if "field larger than field limit" in str(exc)
            else f"unreadable CSV: {exc}"
        )
        line = self.mapping.skip_rows + self.reader.line_num  # the file's own line number
        return Record(number, {"_line": line}, f"{reason}, near line {line}")


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
        elif name not in mapping.optional:  # an optional field without its column takes its default
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
    nulls = mapping.null_values
    for plan in mapping.plan:
        if plan.spec is None:
            text = ""
        elif plan.template:
            text = plan.spec.format_map(record).strip()
        else:
            cell = record.get(plan.spec, "")
            if not isinstance(cell, str):
                if plan.name != "comments":
                    kind = "an array" if isinstance(cell, list) else "an object"
                    raise RowError(f"{plan.name}: expected a value, found {kind}")
                values[plan.name] = cell
                continue
            text = cell.strip()
        if text in nulls:
            text = plan.default
        if text and plan.value_map:
            text = plan.value_map.get(text.casefold(), text)
        values[plan.name] = text or None
    return values


# -- parsing -------------------------------------------------------------------------------------
THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+")


def parse_number(name: str, text: str | None) -> Decimal:
    """A number as exports write it: currency signs and spaces dropped, commas only as thousands
    separators ("1,234.50"). A decimal comma ("12,50", "1.234,50") or a percentage is quarantined,
    never read as another number (12,50 is not 1,250)."""
    if text is None:
        raise RowError(f"{name}: missing")
    cleaned = re.sub(r"[\s$€£]", "", text)
    if "%" in cleaned:
        raise RowError(f"{name}: {text!r} is a percentage, not a {name} figure")
    if "," in cleaned:
        whole, _, fraction = cleaned.partition(".")
        if "," in fraction or not THOUSANDS.fullmatch(whole):
            raise RowError(
                f"{name}: {text!r} has a comma that is not a thousands separator (a decimal comma?): "
                "export the file with '.' as the decimal point"
            )
        cleaned = cleaned.replace(",", "")
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
    if text is not None and text.isascii():
        # Fast paths, exactly what the general path returns: plain digits (a count, or a cost with at
        # most 6 decimals: micros without rounding), short enough that no limit can be reached.
        whole, point, fraction = text.partition(".")
        if whole.isdigit() and len(whole) <= 12 and (not point or (fraction.isdigit() and len(fraction) <= 6)):
            if column == "cost_micros":
                return int(whole) * 1_000_000 + (int(fraction.ljust(6, "0")) if point else 0)
            if METRIC_TYPES[column] != BIGINT:
                return Decimal(text)
            if not point:
                return int(whole)
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
    elif re.search(r"\.\d{3}$", (text or "").strip()):
        # "1.000" impressions: 1, or 1,000 with a dot as thousands separator (a German export)?
        raise RowError(
            f"{name}: {text!r} could be {value:,.0f} or {value * 1000:,.0f} (a dot as thousands separator): "
            "export counts as whole numbers"
        )
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


# Per row, the same few values again and again (dates, accounts, currencies): bounded caches.
CACHED_VALUES = 4096
cached_account_id = lru_cache(maxsize=CACHED_VALUES)(normalize_account_id)
cached_currency_problem = lru_cache(maxsize=256)(currency_problem)
cached_metric_date_problem = lru_cache(maxsize=CACHED_VALUES)(metric_date_problem)


@lru_cache(maxsize=CACHED_VALUES)
def _cached_date(text: str, formats: tuple[str, ...], time_zone: str) -> date:
    return parse_date("date", text, replace(DATE_ONLY, date_formats=formats, time_zone=time_zone))


def cached_date(text: str | None, formats: tuple[str, ...], time_zone: str) -> date:
    """`parse_date("date", text, mapping)` for a mapping with these formats and time zone."""
    if text is None:
        raise RowError("date: missing")
    return _cached_date(text, formats, time_zone)


def require(values: dict, names: tuple[str, ...]) -> None:
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise RowError(f"missing {', '.join(missing)}")


def parse_ad_row(values: dict, mapping: Mapping) -> dict:
    """One ad row, each field checked against the rules a row needs no account for; the account's
    rules (its local today, its currency) are checked by `check_account_rules`."""
    require(values, REQUIRED["ads"] + GRAIN_FIELDS[mapping.grain])
    # One spelling of each platform's ids, so UI exports and API extracts meet.
    account_id = cached_account_id(values["platform"], values["account"])
    currency = (values.get("currency") or "USD").upper()
    problem = cached_currency_problem(currency)
    if problem:
        raise RowError(problem)
    row = {
        "platform": values["platform"],
        "account_id": account_id,
        "currency_code": currency,
        "campaign_id": values["campaign"],
        "date": cached_date(values["date"], mapping.date_formats, mapping.time_zone),
        "impressions": parse_metric("impressions", "impressions", values.get("impressions") or "0"),
        "clicks": parse_metric("clicks", "clicks", values.get("clicks") or "0"),
        "cost_micros": parse_metric("cost", "cost_micros", values.get("cost") or "0"),
        "conversions": parse_metric("conversions", "conversions", values.get("conversions") or "0"),
        "conversions_value": parse_metric(
            "conversion_value", "conversions_value", values.get("conversion_value") or "0"
        ),
    }
    if values.get("account_name"):
        row["account_name"] = values["account_name"]
    if mapping.grain != "campaign":
        # Files name things instead of numbering them: ids are the names, made unique by their parents.
        row["ad_group_id"] = f"{values['campaign']} / {values['ad_group']}"
        row["ad_group_name"] = values["ad_group"]
        # At ad-group grain (an export without ads) the row is the ad group's own: no ad.
        row["ad_id"] = f"{row['ad_group_id']} / {values['ad']}" if mapping.grain == "ad" else NO_AD
        row["ad_name"] = values.get("ad")
    return row


GRAIN_FIELDS = {"ad": ("ad_group", "ad"), "ad_group": ("ad_group",), "campaign": ()}


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
    status_raw = values.get("status")
    return {
        "ticket_id": values["id"],
        "subject": values.get("subject"),
        "description": values.get("description"),
        "priority": priority,
        "priority_raw": priority_raw,
        "status": mapping.value_maps.get("status", {}).get((status_raw or "").casefold(), status_raw),
        "status_raw": status_raw,
        "resolution": values.get("resolution"),
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
    problem = cached_metric_date_problem(row["date"], zone, now)
    if problem:
        raise RowError(problem)
    currency = (account and account.currency_code) or currencies.setdefault(key, row["currency_code"])
    if row["currency_code"] != currency:
        raise RowError(f"currency {row['currency_code']} differs from account {row['account_id']}'s {currency}")


# -- staged rows ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """The staged columns of a mapping's rows (after `number` and `fingerprint`) and their key."""

    columns: dict[str, str]
    key: tuple[str, ...]


def layout(mapping: Mapping) -> Layout:
    if mapping.kind == "tickets":
        columns = {c: t for c, t in TABLES["tickets"].columns.items() if c != "source"}
        return Layout({**columns, "comments": JSONB}, ("ticket_id",))
    ids = ("platform", "account_id", "currency_code", "account_name", "campaign_id")
    names: tuple[str, ...] = ids
    if mapping.grain == "campaign":
        key: tuple[str, ...] = ("platform", "account_id", "campaign_id", "date")
    else:
        names = (*ids, "ad_group_id", "ad_id", "ad_group_name", "ad_name")
        key = ("platform", "account_id", "ad_group_id", "ad_id", "date")
    return Layout({**dict.fromkeys(names, TEXT), "date": DATE, **METRIC_TYPES}, key)


# -- reading a file in chunks ----------------------------------------------------------------------
# Rows per chunk: what the importer holds in memory at once, whatever the file's size.
CHUNK_ROWS = 10_000


class Candidate(NamedTuple):
    """A record that parsed into a row; whether it loads depends on the records around it (an
    earlier exact duplicate, an earlier row with the same key, a campaign-day total)."""

    number: int
    fingerprint: int  # of the whole record as read: equal records, equal fingerprints
    row: dict
    values: dict  # the record as read, its quarantine payload should it lose


class Rejected(NamedTuple):
    number: int
    reason: str
    payload: dict
    fingerprint: int | None  # None: unreadable, never an exact duplicate of another record


@dataclass
class Chunk:
    rows: list[Candidate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # Rows read by the compiled path (`AdRowCompiler`): (number, fingerprint, *staged columns).
    staged: list[tuple] = field(default_factory=list)


class FileReader:
    """Reads a file's records in chunks of `chunk_rows` and parses each into a row (`Candidate`)
    or a rejection with its reason, in constant memory whatever the file's size. What it keeps
    across chunks is per account (currency, named accounts) or bounded (caches), and the file's
    running metric sums, which tell whether any campaign-day total could exceed its column type.

    Exact duplicates, rows with the key of an earlier row and campaign-day totals are decided
    over the whole file afterwards: `resolve` in memory, or the importer's staging table (SQL)."""

    def __init__(
        self,
        path: Path,
        mapping: Mapping,
        accounts: dict[tuple[str, str], Account] | None = None,
        encoding: Encoding | None = None,
        now: datetime | None = None,
        chunk_rows: int | None = None,
        staged: bool = False,
    ):
        """`staged`: an ads CSV's ordinary rows are read by a converter compiled for the mapping
        (`AdRowCompiler`) straight into `Chunk.staged` tuples (the staging table's columns,
        `layout`), and only the others go through the general functions (`Chunk.rows`)."""
        self.path = path
        self.registered = accounts or {}
        self.now = now or datetime.now(UTC)
        self.encoding = encoding or detect_encoding(path)
        self.chunk_rows = chunk_rows or CHUNK_ROWS
        columns = file_columns(path, mapping, self.encoding)
        self.lookups = [(lookup, read_lookup(path, lookup, columns)) for lookup in mapping.lookups]
        if columns is not None:
            columns = columns + [c for lookup in mapping.lookups for c in lookup.columns if c not in columns]
        # None: no record the mapping could read (all, if any, are quarantined).
        self.mapping = mapping if columns is None else fit_to_file(mapping, columns, path)
        self.staged = tuple(layout(self.mapping).columns) if staged else None
        self.used = {column for specs in self.mapping.columns.values() for column in referenced_columns(specs[0])}
        self.rows_read = 0
        self.accounts: set[tuple[str, str]] = set()  # (platform, account id) of every row that named one
        self.currencies: dict[tuple[str, str], str] = {}
        self.totals = dict.fromkeys(ROLLED_UP, 0)  # of every candidate row: no campaign-day exceeds these

    @property
    def may_overflow(self) -> bool:
        """Whether some campaign-day's total of candidate rows might exceed its column type."""
        return any(total > BIGINT_MAX for total in self.totals.values())

    def chunks(self) -> Iterator[Chunk]:
        """Every record, in file order, as chunks of parsed rows and rejections."""
        if self.staged and self.mapping.kind == "ads" and not self.lookups and not is_jsonl(self.path):
            try:
                yield from self.compiled_chunks()
            except UnicodeDecodeError as exc:
                raise not_in_encoding(self.path, self.encoding, exc) from None
            return
        fingerprint = record_fingerprint(self.path)
        chunk = Chunk()
        pending: list[Record] = []
        try:
            for record in read_records(self.path, self.mapping, self.encoding):
                self.rows_read += 1
                if record.problem:
                    chunk.rejected.append(Rejected(record.number, record.problem, record.values, None))
                else:
                    pending.append(record)
                if len(pending) + len(chunk.rejected) >= self.chunk_rows:  # unreadable records count too
                    self.parse(pending, fingerprint, chunk)
                    yield chunk
                    chunk, pending = Chunk(), []
            self.parse(pending, fingerprint, chunk)
        except UnicodeDecodeError as exc:
            raise not_in_encoding(self.path, self.encoding, exc) from None
        if chunk.rows or chunk.rejected:
            yield chunk

    def compiled_chunks(self) -> Iterator[Chunk]:
        """`chunks` of an ads CSV file with the compiled converter: a record it does not take (it
        takes only rows the general functions would load, and loads them the same) is parsed by the
        general functions right away, so the file's order rules what they keep (an account's first
        currency). The loop is `CsvRows`' own, inlined: it runs once per record."""
        fingerprint = record_fingerprint(self.path)
        with open_text(self.path, self.encoding) as f:
            rows = CsvRows(f, self.mapping)
            if not rows.header:
                return
            convert = AdRowCompiler(self, rows.header).compile()
            reader, width, size = rows.reader, rows.width, self.chunk_rows
            chunk, count, number = Chunk(), 0, 0
            staged = chunk.staged
            while True:
                try:
                    for cells in reader:
                        if not cells:
                            continue
                        number += 1
                        row = convert(number, cells) if convert and len(cells) == width else None
                        if row is not None:
                            staged.append(row)
                        else:
                            self.take(rows.record(number, cells), fingerprint, chunk)
                        count += 1
                        if count >= size:
                            self.rows_read = number
                            yield chunk
                            chunk, count = Chunk(), 0
                            staged = chunk.staged
                    break
                except csv.Error as exc:  # the reader resumes at the next line
                    number += 1
                    self.take(rows.unreadable(number, exc), fingerprint, chunk)
                    count += 1
                    if count >= size:
                        self.rows_read = number
                        yield chunk
                        chunk, count = Chunk(), 0
                        staged = chunk.staged
            self.rows_read = number
        if count:
            yield chunk

    def take(self, record: Record, fingerprint: Callable[[dict], int], chunk: Chunk) -> None:
        """One record through the general functions, into `chunk`."""
        if record.problem:
            chunk.rejected.append(Rejected(record.number, record.problem, record.values, None))
        else:
            self.parse([record], fingerprint, chunk)

    def parse(self, records: list[Record], fingerprint: Callable[[dict], int], chunk: Chunk) -> None:
        mapping, ads = self.mapping, self.mapping.kind == "ads"
        # What PostgreSQL cannot hold is rare: the whole chunk is checked at once, row by row only if needed.
        suspect = chunk_may_hold_bad_text([r.values for r in records], self.used)
        totals = self.totals
        for number, values, _ in records:
            try:
                if suspect:
                    problem = cell_problem(values, self.used)
                    if problem:
                        raise RowError(problem)
                canonical = canonical_values(self.joined(values) if self.lookups else values, mapping)
                if ads:
                    row = parse_ad_row(canonical, mapping)
                    self.accounts.add((row["platform"], row["account_id"]))
                    check_account_rules(row, mapping, self.registered, self.currencies, self.now)
                else:
                    row = parse_ticket_row(canonical, mapping, self.now)
            except (RowError, KeyError, ValueError) as exc:
                reason = str(exc) if isinstance(exc, RowError) else f"template: {exc}"
                chunk.rejected.append(Rejected(number, reason, values, fingerprint(values)))
                continue
            if ads:
                for column in ROLLED_UP:
                    totals[column] += row[column]
            chunk.rows.append(Candidate(number, fingerprint(values), row, values))

    def joined(self, values: dict) -> dict:
        """The record with the columns its lookups find for it (the record as read stays its payload)."""
        joined = dict(values)
        for lookup, table in self.lookups:
            key = values.get(lookup.key)
            found = table.get(key.strip()) if isinstance(key, str) else None
            if found is None:
                raise RowError(
                    f"lookup: {lookup.key} {key!r} is not in {lookup.file} (its {lookup.lookup_key!r} column)"
                )
            joined.update(found)
        return joined


class AdRowCompiler:
    """Compiles, for one mapping and one CSV header, a converter from a record's cells to its
    staged row: the work of `canonical_values`, `parse_ad_row` and `check_account_rules` written
    out as straight-line Python for this mapping (cells by index, templates as positional formats,
    no per-field calls), about a quarter of their cost a row. It takes only the ordinary case and
    returns None for anything else (a blank or unusual value, a number it cannot read at a glance,
    a date or currency the rules refuse, a NUL byte...): the general functions then parse the
    record and give the reason. What it returns is what they would stage; the unit tests compare
    the two on rows of every kind (tests/unit/test_import_parsing.py)."""

    def __init__(self, reader: FileReader, header: list[str]):
        self.reader, self.mapping, self.header = reader, reader.mapping, header
        self.index: dict[str, int] = {}
        for i, name in enumerate(header):
            if name:
                self.index[name] = i  # a repeated column: its last cell, as the record's dict has it
        self.env: dict[str, Any] = {}
        self.lines: list[str] = []

    def constant(self, value) -> str:
        name = f"K{len(self.env)}"
        self.env[name] = value
        return name

    def cell(self, column: str) -> str | None:
        return f"row[{self.index[column]}]" if column in self.index else None

    def text(self, spec: str, template: bool) -> str | None:
        """An expression for a field's raw text (before stripping), or None if not compilable."""
        if not template:
            return self.cell(spec)
        fmt: list[str] = []
        cells: list[str] = []
        for literal, name, format_spec, conversion in string.Formatter().parse(spec):
            fmt.append(literal.replace("{", "{{").replace("}", "}}"))
            if name is None:
                continue
            cell = self.cell(name)
            if cell is None or "{" in (format_spec or ""):
                return None
            fmt.append(
                "{"
                + str(len(cells))
                + (f"!{conversion}" if conversion else "")
                + (f":{format_spec}" if format_spec else "")
                + "}"
            )
            cells.append(cell)
        return f"{self.constant(''.join(fmt))}.format({', '.join(cells)})"

    def compile(self) -> Callable[[int, list[str]], tuple | None] | None:
        mapping, reader = self.mapping, self.reader
        emit = self.lines.append
        nulls = self.constant(frozenset(mapping.null_values))
        fields: dict[str, str] = {}
        for plan in mapping.plan:
            var = f"v_{plan.name}"
            fields[plan.name] = var
            if plan.spec is None:  # the default only: the same value every row
                text = plan.default if "" in mapping.null_values else ""
                if text and plan.value_map:
                    text = plan.value_map.get(text.casefold(), text)
                emit(f"{var} = {self.constant(text or None)}")
                continue
            expression = self.text(plan.spec, plan.template)
            if expression is None:
                return None
            emit(f"t = {expression}.strip()")
            emit(f"if t in {nulls}: t = {self.constant(plan.default)}")
            if plan.value_map:
                emit(f"if t: t = {self.constant(plan.value_map)}.get(t.casefold(), t)")
            emit(f"{var} = t or None")

        def value(name: str) -> str:
            return fields.get(name, "None")

        required = [value(n) for n in REQUIRED["ads"] + GRAIN_FIELDS[mapping.grain]]
        emit(f"if not ({' and '.join(required)}): return None")
        # Per account as the file names it: its id, time zone and registered currency.
        emit(f"a = accounts_get(({value('platform')}, {value('account')}))")
        emit(f"if a is None: a = account({value('platform')}, {value('account')})")
        emit("key, zone, registered = a")
        emit(f"currency = ({value('currency')} or 'USD').upper()")
        emit("if currency_problem(currency): return None")
        emit("expected = registered or currencies_get(key, currency)")
        emit("if currency != expected: return None")
        emit(f"day = days_get(({value('date')}, zone))")
        emit(f"if day is None: day = date_of({value('date')}, zone)")
        emit("if not day: return None")
        metrics = {
            "impressions": "impressions",
            "clicks": "clicks",
            "cost_micros": "cost",
            "conversions": "conversions",
            "conversions_value": "conversion_value",
        }
        for column, name in metrics.items():
            emit(f"t = {value(name)} or '0'")
            if METRIC_TYPES[column] == BIGINT and column != "cost_micros":
                emit("if not (t.isascii() and t.isdigit() and len(t) <= 12): return None")
                emit(f"m_{column} = int(t)")
                continue
            emit("w, p, f = t.partition('.')")
            emit(
                "if not (t.isascii() and w.isdigit() and len(w) <= 12 and (not p or (f.isdigit() and len(f) <= 6))): "
                "return None"
            )
            if column == "cost_micros":
                emit(f"m_{column} = int(w) * 1000000 + (int(f.ljust(6, '0')) if p else 0)")
            else:
                emit(f"m_{column} = t")  # numeric: the text PostgreSQL reads as Decimal(t)
        campaign = value("campaign")
        staged = {
            "platform": value("platform"),
            "account_id": "key[1]",
            "currency_code": "currency",
            "account_name": value("account_name"),
            "campaign_id": campaign,
            "date": "day",
            **{column: f"m_{column}" for column in metrics},
        }
        if mapping.grain != "campaign":
            emit(f"group_id = {campaign} + ' / ' + {value('ad_group')}")
            ad_id = f"group_id + ' / ' + {value('ad')}" if mapping.grain == "ad" else repr(NO_AD)
            staged.update(ad_group_id="group_id", ad_id=ad_id, ad_group_name=value("ad_group"), ad_name=value("ad"))
        missing = set(reader.staged or ()) - set(staged)
        if missing:
            return None
        emit("text = ''.join(row)")
        emit("if '\\x00' in text: return None")
        emit("if not text.isascii() and not encodable(text): return None")
        # Accepted: what the general path records for a loaded row.
        emit("named_add(key)")
        emit("if not registered: currencies_setdefault(key, currency)")
        for column in ROLLED_UP:
            emit(f"totals[{column!r}] += m_{column}")
        values = ", ".join(staged[c] for c in reader.staged or ())
        emit(f"return (number, hash(cells(row)), {values})")
        body = "\n".join("    " + line for line in ["if len(row) != width: return None", *self.lines])
        source = f"def convert(number, row):\n{body}\n"
        named = list(self.index.values())
        env = {
            **self.env,
            "width": len(self.header),
            "cells": (lambda row, i=named[0]: (row[i],)) if len(named) == 1 else itemgetter(*named),
            "accounts_get": {}.get,
            "account": None,
            "currency_problem": cached_currency_problem,
            "currencies_get": reader.currencies.get,
            "currencies_setdefault": reader.currencies.setdefault,
            "days_get": None,
            "date_of": None,
            "encodable": encodable,
            "named_add": reader.accounts.add,
            "totals": reader.totals,
        }
        accounts: dict[tuple, tuple] = {}
        days: dict[tuple, str | bool] = {}

        # Bounded like the other caches of per-row values (a file of garbage dates stays flat).
        def account(platform: str, account_text: str) -> tuple:
            if len(accounts) >= CACHED_VALUES:
                accounts.clear()
            key = (platform, cached_account_id(platform, account_text))
            known = reader.registered.get(key)
            found = accounts[(platform, account_text)] = (
                key,
                (known and known.time_zone) or mapping.time_zone,
                (known and known.currency_code) or None,
            )
            return found

        def date_of(text: str, zone: str) -> str | bool:
            if len(days) >= CACHED_VALUES:
                days.clear()
            try:
                day = cached_date(text, mapping.date_formats, mapping.time_zone)
            except RowError:
                day = None
            found = days[(text, zone)] = (
                False if day is None or cached_metric_date_problem(day, zone, reader.now) else day.isoformat()
            )
            return found

        env.update(accounts_get=accounts.get, account=account, days_get=days.get, date_of=date_of)
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<compiled ad rows: {mapping.name}>", "exec"), env, namespace)
        return namespace["convert"]


def encodable(text: str) -> bool:
    """Whether PostgreSQL's text can hold it (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_lookup(path: Path, lookup: Lookup, columns: list[str] | None) -> dict[str, dict[str, str]]:
    """A lookup file as {key: {column: value}} (a names file: small beside the metrics, held in memory).
    Refuses the import (MappingError) when it is missing, lacks its columns or gives a key two values."""
    if columns is not None and lookup.key not in columns:
        raise MappingError(f"{path.name}: a lookup joins on column {lookup.key!r}, which the file lacks")
    lookup_path = lookup.path(path)
    if not lookup_path.is_file():
        raise MappingError(f"{path.name}: the lookup file {lookup.file!r} is not there ({lookup_path})")
    encoding = detect_encoding(lookup_path)
    table: dict[str, dict[str, str]] = {}
    with open_text(lookup_path, encoding) as f:
        try:
            for row in csv.DictReader(f):
                missing = [c for c in (lookup.lookup_key, *lookup.columns) if c not in row]
                if missing:
                    raise MappingError(f"{lookup.file}: the lookup file lacks columns {missing}")
                key = (row[lookup.lookup_key] or "").strip()
                values = {c: row[c] or "" for c in lookup.columns}
                if table.setdefault(key, values) != values:
                    raise MappingError(
                        f"{lookup.file}: {lookup.lookup_key} {key!r} appears twice with different values; "
                        "a lookup file gives each key one line"
                    )
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnreadableFile(f"{lookup.file}: cannot read the lookup file ({exc})") from None
    return table


def record_fingerprint(path: Path) -> Callable[[dict], int]:
    """A record's fingerprint. Every CSV record that is not ragged has the header's named columns
    as its keys, so its values decide; a JSONL object's keys are part of it."""
    if not is_jsonl(path):
        return lambda values: hash(tuple(values.values()))

    def jsonl(values: dict) -> int:
        try:
            return hash(tuple(values.items()))
        except TypeError:  # nested values (comments)
            return hash(json.dumps(values, sort_keys=True, default=str))

    return jsonl


def chunk_may_hold_bad_text(records: list[dict], columns: set[str]) -> bool:
    """False when no cell the mapping reads, in any of these records, can hold a NUL byte, a lone
    surrogate or more than MAX_CELL_CHARS characters (`cell_problem` need not run row by row)."""
    cells = [record.get(column, "") for record in records for column in columns]
    try:
        text = "".join(cells)
    except TypeError:
        return True  # nested values (JSONL): row by row
    if "\x00" in text or max(map(len, cells), default=0) > MAX_CELL_CHARS:
        return True
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


@dataclass
class Resolved:
    """Which candidates load, over a set of records in file order."""

    rows: list[Candidate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)  # lost to an earlier key or a campaign-day total
    exact_duplicates: int = 0


def resolve(candidates: Iterable[Candidate], mapping: Mapping, rejected: Iterable[Rejected] = ()) -> Resolved:
    """The rules across records, applied in file order (the reference the importer's SQL follows):
    a record equal to an earlier one is an exact duplicate (counted, loaded once, whatever became of
    the first); a row with the key of an earlier loaded row is quarantined; an ad row that would take
    its campaign-day's total past its column type is quarantined."""
    resolved = Resolved()
    seen: dict[int, list[dict]] = defaultdict(list)
    first_by_key: dict[tuple, int] = {}
    totals: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ROLLED_UP, 0))
    rolled_up = rolls_up(mapping)
    records: list[Candidate | Rejected] = sorted([*candidates, *rejected], key=lambda r: r.number)
    for record in records:
        values = record.values if isinstance(record, Candidate) else record.payload
        if record.fingerprint is not None:
            if any(values == other for other in seen[record.fingerprint]):
                resolved.exact_duplicates += 1
                continue
            seen[record.fingerprint].append(values)
        if isinstance(record, Rejected):
            resolved.rejected.append(record)
            continue
        key = natural_key(record.row, mapping)
        if key in first_by_key:
            reason = duplicate_key_reason(first_by_key[key])
            resolved.rejected.append(Rejected(record.number, reason, values, record.fingerprint))
            continue
        if rolled_up:
            over = add_to_total(totals[campaign_day(record.row)], record.row)
            if over:
                resolved.rejected.append(Rejected(record.number, over, values, record.fingerprint))
                continue
        first_by_key[key] = record.number
        resolved.rows.append(record)
    return resolved


def rolls_up(mapping: Mapping) -> bool:
    """Whether the rows are below campaign grain, so raw.campaign_daily_metrics holds their sums."""
    return mapping.kind == "ads" and mapping.grain != "campaign"


def duplicate_key_reason(first: int | str) -> str:
    return f"duplicate key: same key as record {first}, different values"


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
    """The whole file in memory, parsed and resolved (for tests and small files; the importer
    streams it through `FileReader` and resolves in SQL). `accounts`: the registered ad accounts
    (their time zone and currency rule the rows); `encoding`: the file's (None: detect it);
    `now`: when the rules are applied (None: now). Raises UnreadableFile / MappingError when the
    file as a whole cannot be read."""
    reader = FileReader(path, mapping, accounts, encoding, now)
    candidates: list[Candidate] = []
    rejected: list[Rejected] = []
    for chunk in reader.chunks():
        candidates += chunk.rows
        rejected += chunk.rejected
    resolved = resolve(candidates, reader.mapping, rejected)
    return ParsedFile(
        rows=[(c.number, c.row) for c in resolved.rows],
        rejected=sorted(((r.number, r.reason, r.payload) for r in resolved.rejected), key=lambda r: r[0]),
        exact_duplicates=resolved.exact_duplicates,
        rows_read=reader.rows_read,
        encoding=reader.encoding,
        accounts=reader.accounts,
    )


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
    grain_id = {"ad": row.get("ad_id"), "ad_group": row.get("ad_group_id")}.get(mapping.grain, row["campaign_id"])
    return (row["platform"], row["account_id"], grain_id, row["date"])
