"""Reading an export (CSV or JSONL) and parsing its records into canonical `raw` rows.

Pure functions over a file and a mapping (assets/imports/mapping.py): no database. A row that
cannot be read raises `RowError` with the reason it is quarantined under.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from assets.imports.mapping import PRIORITIES, REQUIRED, TICKET_TIMES, Mapping, MappingError
from resources.ids import normalize_account_id


class RowError(ValueError):
    """One row cannot be read; it goes to quarantine with this reason."""


# -- reading -------------------------------------------------------------------------------------
def read_records(path: Path, mapping: Mapping) -> Iterator[tuple[int, dict]]:
    """(record number, {column: text}) for each data record; numbers start at 1 after the header."""
    if is_jsonl(path):
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate((text for text in f if text.strip()), start=1):
                # Nested values (a ticket's comments) stay structured; scalars become text like CSV cells.
                yield (
                    number,
                    {
                        k: v if isinstance(v, (list, dict)) else "" if v is None else str(v)
                        for k, v in json.loads(line).items()
                    },
                )
        return
    with path.open(encoding="utf-8-sig", newline="") as f:
        for _ in range(mapping.skip_rows):
            next(f, None)
        for number, row in enumerate(csv.DictReader(f, delimiter=mapping.delimiter), start=1):
            yield number, {k: v for k, v in row.items() if k}  # trailing empty columns have no name


def is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


def file_columns(path: Path, mapping: Mapping) -> list[str]:
    """The header of a CSV file (after skip_rows), or the keys of a JSONL file's first record."""
    if is_jsonl(path):
        first = next(read_records(path, mapping), (0, {}))[1]
        return list(first)
    with path.open(encoding="utf-8-sig", newline="") as f:
        for _ in range(mapping.skip_rows):
            next(f, None)
        return [c for c in next(csv.reader(f, delimiter=mapping.delimiter), []) if c]


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


def canonical_values(record: dict, mapping: Mapping) -> dict[str, str | list | dict | None]:
    """Text per canonical field (None when empty); nested JSONL values (a ticket's comments) stay as is."""
    values: dict[str, str | list | dict | None] = {}
    for name in mapping.provides:
        nested = record.get(mapping.columns.get(name, ("",))[0])
        if isinstance(nested, (list, dict)):
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
    return value


def parse_count(name: str, text: str | None) -> int:
    value = parse_number(name, text)
    if value != value.to_integral_value():
        raise RowError(f"{name}: not a whole number ({text})")
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
    require(values, REQUIRED["ads"] + (("ad_group", "ad") if mapping.grain == "ad" else ()))
    # One spelling of each platform's ids, so UI exports and API extracts meet.
    account_id = normalize_account_id(values["platform"], values["account"])
    row = {
        "platform": values["platform"],
        "account_id": account_id,
        "currency_code": values.get("currency") or "USD",
        "campaign_id": values["campaign"],
        "date": parse_date("date", values["date"], mapping),
        "impressions": parse_count("impressions", values.get("impressions") or "0"),
        "clicks": parse_count("clicks", values.get("clicks") or "0"),
        "cost_micros": int((parse_number("cost", values.get("cost") or "0") * 1_000_000).to_integral_value()),
        "conversions": parse_number("conversions", values.get("conversions") or "0"),
        "conversions_value": parse_number("conversion_value", values.get("conversion_value") or "0"),
    }
    if mapping.grain == "ad":
        # Files name things instead of numbering them: ids are the names, made unique by their parents.
        row["ad_group_id"] = f"{values['campaign']} / {values['ad_group']}"
        row["ad_id"] = f"{row['ad_group_id']} / {values['ad']}"
        row["ad_group_name"], row["ad_name"] = values["ad_group"], values["ad"]
    return row


def parse_ticket_row(values: dict, mapping: Mapping) -> dict:
    require(values, REQUIRED["tickets"])
    times = {name: parse_datetime(name, values.get(name), mapping) for name in TICKET_TIMES}
    for a, b in (
        ("created_at", "first_response_at"),
        ("created_at", "resolved_at"),
        ("first_response_at", "resolved_at"),
    ):
        earlier, later = times[a], times[b]
        if earlier and later and later < earlier:
            raise RowError(
                f"timestamps out of order: {b} ({later:%Y-%m-%d %H.%M}) before {a} ({earlier:%Y-%m-%d %H.%M})"
            )
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
    """A ticket's comments from a JSONL array of {id?, author?, body, created_at}."""
    if comments is None:
        return []
    if not isinstance(comments, list):
        raise RowError("comments: expected a list of {author, body, created_at}")
    parsed = []
    for index, comment in enumerate(comments, start=1):
        if not isinstance(comment, dict):
            raise RowError(f"comments: item {index} is not an object")
        created = parse_datetime(f"comments[{index}].created_at", str(comment.get("created_at") or "") or None, mapping)
        if created is None:
            raise RowError(f"comments: item {index} has no created_at")
        parsed.append(
            {
                "comment_id": str(comment.get("id", index)),
                "author": comment.get("author"),
                "body": comment.get("body"),
                "created_at": created,
            }
        )
    return parsed


@dataclass
class ParsedFile:
    rows: list[tuple[int, dict]]
    rejected: list[tuple[int, str, dict]]
    exact_duplicates: int
    rows_read: int


def parse_file(path: Path, mapping: Mapping) -> ParsedFile:
    mapping = fit_to_file(mapping, file_columns(path, mapping), path)
    parse_row = parse_ad_row if mapping.kind == "ads" else parse_ticket_row
    seen_records: set[str] = set()
    first_by_key: dict[tuple, tuple[int, dict]] = {}
    rows, rejected, duplicates, read = [], [], 0, 0
    for number, record in read_records(path, mapping):
        read += 1
        fingerprint = json.dumps(record, sort_keys=True)
        if fingerprint in seen_records:
            duplicates += 1
            continue
        seen_records.add(fingerprint)
        try:
            row = parse_row(canonical_values(record, mapping), mapping)
        except (RowError, KeyError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, RowError) else f"template: {exc}"
            rejected.append((number, reason, record))
            continue
        key = natural_key(row, mapping)
        if key in first_by_key:
            rejected.append(
                (number, f"duplicate key: same key as record {first_by_key[key][0]}, different values", record)
            )
            continue
        first_by_key[key] = (number, row)
        rows.append((number, row))
    return ParsedFile(rows, rejected, duplicates, read)


def natural_key(row: dict, mapping: Mapping) -> tuple:
    if mapping.kind == "tickets":
        return (row["ticket_id"],)
    grain_id = row["ad_id"] if mapping.grain == "ad" else row["campaign_id"]
    return (row["platform"], row["account_id"], grain_id, row["date"])
