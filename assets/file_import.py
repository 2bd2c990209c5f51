"""File imports (CSV, JSONL) into the canonical `raw` tables, driven by a mapping YAML.

A mapping names, for each canonical field, the file column it comes from, or a template over
columns (`"{day} {month} 2020"` for a file without a year), plus date formats, value maps
(priority `Critical` -> `urgent`), defaults for blank values and rows to skip above the header.
Mappings for common exports ship in `mappings/`.

Nothing is silently dropped: a row that cannot be read goes to `raw.quarantine` with its file,
record number and reason; exact duplicate rows are counted and loaded once; re-importing a file
with the same mapping changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

import yaml
from psycopg2.extras import Json, execute_values

from assets.raw_load import register_accounts, upsert
from resources.google_ads import PLATFORM as GOOGLE_ADS_PLATFORM
from resources.google_ads import normalize_customer_id

FIELDS = {
    "ads": ("date", "platform", "account", "campaign", "ad_group", "ad", "impressions", "clicks", "cost",
            "conversions", "conversion_value", "currency"),
    "tickets": ("id", "subject", "description", "priority", "status", "channel", "category", "created_at",
                "first_response_at", "resolved_at", "comments"),
}
REQUIRED = {"ads": ("date", "platform", "account", "campaign"), "tickets": ("id",)}
COUNTS = ("impressions", "clicks")
AMOUNTS = ("cost", "conversions", "conversion_value")
TICKET_TIMES = ("created_at", "first_response_at", "resolved_at")
PRIORITIES = ("urgent", "high", "normal", "low")


class MappingError(ValueError):
    """The mapping or the file's header is unusable: nothing was imported."""


class RowError(ValueError):
    """One row cannot be read; it goes to quarantine with this reason."""


# -- mappings ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mapping:
    name: str
    kind: str
    source: str
    columns: dict[str, tuple[str, ...]]  # field -> alternatives (column name or template); first that fits wins
    sha256: str
    date_formats: tuple[str, ...] = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S")
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    null_values: tuple[str, ...] = ("", "--", "N/A")
    skip_rows: int = 0
    delimiter: str = ","
    time_zone: str = "UTC"

    @property
    def grain(self) -> str:
        return "ad" if {"ad_group", "ad"} <= self.provides else "campaign"

    @property
    def provides(self) -> set[str]:
        return set(self.columns) | set(self.defaults)


def load_mapping(path: str | Path) -> Mapping:
    path = Path(path)
    text = path.read_text()
    spec = yaml.safe_load(text) or {}
    kind = spec.get("kind")
    if kind not in FIELDS:
        raise MappingError(f"{path}: `kind` must be one of {', '.join(FIELDS)}")
    columns = {k: tuple(str(a) for a in (v if isinstance(v, list) else [v])) for k, v in (spec.get("columns") or {}).items()}
    defaults = {k: str(v) for k, v in (spec.get("defaults") or {}).items()}
    unknown = (set(columns) | set(defaults)) - set(FIELDS[kind])
    if unknown:
        raise MappingError(f"{path}: unknown fields {sorted(unknown)}; {kind} fields are {', '.join(FIELDS[kind])}")
    missing = [f for f in REQUIRED[kind] if f not in columns and f not in defaults]
    if missing:
        raise MappingError(f"{path}: map a column or give a default for {', '.join(missing)}")
    options = {k: spec[k] for k in ("skip_rows", "delimiter", "time_zone") if k in spec}
    if "date_formats" in spec:
        options["date_formats"] = tuple(spec["date_formats"])
    if "null_values" in spec:
        options["null_values"] = tuple(str(v) for v in spec["null_values"])
    value_maps = {f: {str(k).casefold(): str(v) for k, v in m.items()} for f, m in (spec.get("value_maps") or {}).items()}
    return Mapping(name=spec.get("name", path.stem), kind=kind, source=spec.get("source", path.stem), columns=columns,
                   sha256=hashlib.sha256(text.encode()).hexdigest(), value_maps=value_maps, defaults=defaults,
                   **options)


# -- reading -------------------------------------------------------------------------------------
def read_records(path: Path, mapping: Mapping) -> Iterator[tuple[int, dict]]:
    """(record number, {column: text}) for each data record; numbers start at 1 after the header."""
    if is_jsonl(path):
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate((l for l in f if l.strip()), start=1):
                # Nested values (a ticket's comments) stay structured; scalars become text like CSV cells.
                yield number, {k: v if isinstance(v, (list, dict)) else "" if v is None else str(v)
                               for k, v in json.loads(line).items()}
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
    chosen, unmet = {}, []
    for name, alternatives in mapping.columns.items():
        fits = [a for a in alternatives if set(referenced_columns(a)) <= set(columns)]
        if fits:
            chosen[name] = (fits[0],)
        else:
            unmet.append(" or ".join(repr(a) for a in alternatives))
    if unmet:
        raise MappingError(f"{path.name}: mapping {mapping.name!r} needs columns {', '.join(unmet)} the file lacks; "
                           f"the file has {columns}")
    return replace(mapping, columns=chosen)


def field_text(record: dict, spec: str) -> str:
    if "{" in spec:
        return spec.format_map(record)
    return record.get(spec, "")


def canonical_values(record: dict, mapping: Mapping) -> dict[str, str | None]:
    values = {}
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
            raise RowError(f"{name}: unparseable date {text!r} (formats tried: {', '.join(mapping.date_formats)})") from None
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
    account_id = values["account"]
    if values["platform"] == GOOGLE_ADS_PLATFORM:
        account_id = normalize_customer_id(account_id)  # so UI exports and API extracts meet
    row = {
        "platform": values["platform"], "account_id": account_id, "currency_code": values.get("currency") or "USD",
        "campaign_id": values["campaign"], "date": parse_date("date", values["date"], mapping),
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
    order = [(a, b) for a, b in (("created_at", "first_response_at"), ("created_at", "resolved_at"),
                                 ("first_response_at", "resolved_at")) if times[a] and times[b] and times[b] < times[a]]
    if order:
        a, b = order[0]
        raise RowError(f"timestamps out of order: {b} ({times[b]:%Y-%m-%d %H.%M}) before {a} ({times[a]:%Y-%m-%d %H.%M})")
    priority_raw = values.get("priority")
    priority = mapping.value_maps.get("priority", {}).get((priority_raw or "").casefold(), priority_raw)
    if priority is not None and priority not in PRIORITIES:
        raise RowError(f"priority: {priority_raw!r} maps to none of {', '.join(PRIORITIES)} (add it to value_maps)")
    return {
        "ticket_id": values["id"], "subject": values.get("subject"), "description": values.get("description"),
        "priority": priority, "priority_raw": priority_raw, "status": values.get("status"),
        "channel": values.get("channel"), "category": values.get("category"), **times,
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
        parsed.append({"comment_id": str(comment.get("id", index)), "author": comment.get("author"),
                       "body": comment.get("body"), "created_at": created})
    return parsed


# -- importing -----------------------------------------------------------------------------------
@dataclass
class ImportSummary:
    file: str
    kind: str
    rows_read: int = 0
    rows_loaded: int = 0
    exact_duplicates: int = 0
    quarantined: Counter = field(default_factory=Counter)
    already_imported: bool = False
    import_id: int | None = None

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())

    def lines(self) -> list[str]:
        if self.already_imported:
            return [f"{self.file}: already imported with this mapping (import #{self.import_id}): nothing changed"]
        lines = [f"{self.file}: {self.rows_read} rows read, {self.rows_loaded} loaded, "
                 f"{self.rows_quarantined} quarantined, {self.exact_duplicates} exact duplicates loaded once"]
        lines += [f"  quarantined {n}: {reason}" for reason, n in self.quarantined.most_common()]
        return lines


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
            rejected.append((number, f"duplicate key: same key as record {first_by_key[key][0]}, different values", record))
            continue
        first_by_key[key] = (number, row)
        rows.append((number, row))
    return ParsedFile(rows, rejected, duplicates, read)


def natural_key(row: dict, mapping: Mapping) -> tuple:
    if mapping.kind == "tickets":
        return (row["ticket_id"],)
    grain_id = row["ad_id"] if mapping.grain == "ad" else row["campaign_id"]
    return (row["platform"], row["account_id"], grain_id, row["date"])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(connect: Callable, path: str | Path, mapping: Mapping) -> ImportSummary:
    """Import one file in one transaction; raises MappingError (nothing imported) for a bad mapping."""
    path = Path(path)
    summary = ImportSummary(file=path.name, kind=mapping.kind)
    digest = file_sha256(path)
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM app.file_imports WHERE file_sha256 = %s AND mapping_sha256 = %s",
                    (digest, mapping.sha256))
        existing = cur.fetchone()
    if existing:
        summary.already_imported, summary.import_id = True, existing[0]
        return summary
    parsed = parse_file(path, mapping)
    summary.rows_read, summary.exact_duplicates = parsed.rows_read, parsed.exact_duplicates
    summary.quarantined = Counter(reason.split(":")[0] if ":" in reason else reason for _, reason, _ in parsed.rejected)
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO app.file_imports (kind, file_name, file_sha256, mapping_name, mapping_sha256, source, "
            "rows_read, rows_loaded, rows_quarantined, exact_duplicates) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
            "RETURNING id",
            (mapping.kind, path.name, digest, mapping.name, mapping.sha256, mapping.source, parsed.rows_read,
             len(parsed.rows), len(parsed.rejected), parsed.exact_duplicates),
        )
        summary.import_id = cur.fetchone()[0]
        # A corrected mapping replaces what an earlier import of the same file quarantined.
        cur.execute("DELETE FROM raw.quarantine WHERE file_sha256 = %s", (digest,))
        quarantine(cur, summary.import_id, digest, path.name, mapping, parsed.rejected)
        rows = [row for _, row in parsed.rows]
        summary.rows_loaded = (write_ads if mapping.kind == "ads" else write_tickets)(cur, rows, mapping)
    return summary


def quarantine(cur, import_id: int, digest: str, file_name: str, mapping: Mapping, rejected: list) -> None:
    execute_values(
        cur,
        "INSERT INTO raw.quarantine (source, entity, file, row_number, reason, payload, import_id, file_sha256) VALUES %s",
        [(mapping.source, mapping.kind, file_name, number, reason, Json(record), import_id, digest)
         for number, reason, record in rejected],
    )


def write_tickets(cur, rows: list[dict], mapping: Mapping) -> int:
    constants = {"source": mapping.source}
    loaded = upsert(cur, "raw.tickets", [{k: v for k, v in r.items() if k != "comments"} for r in rows], constants)
    upsert(cur, "raw.ticket_comments",
           [{"ticket_id": r["ticket_id"], **c} for r in rows for c in r["comments"]], constants)
    return loaded


def write_ads(cur, rows: list[dict], mapping: Mapping) -> int:
    if not rows:
        return 0
    constants = {"source": mapping.source}
    accounts = {(r["platform"], r["account_id"]): r["currency_code"] for r in rows}
    for (platform, account_id), currency in accounts.items():
        account = {"account_id": account_id, "name": account_id, "currency_code": currency, "time_zone": mapping.time_zone}
        register_accounts(cur, platform, [account])
        upsert(cur, "raw.customers", [account], {**constants, "platform": platform})
    metrics = ("impressions", "clicks", "cost_micros", "conversions", "conversions_value")
    upsert(cur, "raw.campaigns", unique({k: r[k] for k in ("platform", "account_id", "campaign_id")} | {"name": r["campaign_id"]}
                                        for r in rows), constants)
    if mapping.grain == "campaign":
        return upsert(cur, "raw.campaign_daily_metrics",
                      [{k: r[k] for k in ("platform", "account_id", "campaign_id", "date", *metrics)} for r in rows], constants)
    upsert(cur, "raw.ad_groups", unique({"platform": r["platform"], "account_id": r["account_id"], "campaign_id": r["campaign_id"],
                                         "ad_group_id": r["ad_group_id"], "name": r["ad_group_name"]} for r in rows), constants)
    upsert(cur, "raw.ads", unique({"platform": r["platform"], "account_id": r["account_id"], "ad_group_id": r["ad_group_id"],
                                   "ad_id": r["ad_id"], "headlines": [r["ad_name"]]} for r in rows), constants)
    loaded = upsert(cur, "raw.ad_daily_metrics",
                    [{k: r[k] for k in ("platform", "account_id", "campaign_id", "ad_group_id", "ad_id", "date", *metrics)}
                     for r in rows], constants)
    rollup_campaign_days(cur, rows, mapping.source)
    return loaded


def unique(rows) -> list[dict]:
    return list({json.dumps(r, sort_keys=True, default=str): r for r in rows}.values())


def rollup_campaign_days(cur, rows: list[dict], source: str) -> None:
    """Campaign-grain totals are the sum of every ad row for the days this file touched (files may
    split a campaign's ads across several imports)."""
    for platform, account_id in {(r["platform"], r["account_id"]) for r in rows}:
        days = [r["date"] for r in rows if (r["platform"], r["account_id"]) == (platform, account_id)]
        campaigns = sorted({r["campaign_id"] for r in rows if (r["platform"], r["account_id"]) == (platform, account_id)})
        cur.execute(
            "INSERT INTO raw.campaign_daily_metrics (platform, account_id, campaign_id, date, impressions, clicks, "
            "cost_micros, conversions, conversions_value, source) "
            "SELECT platform, account_id, campaign_id, date, sum(impressions), sum(clicks), sum(cost_micros), "
            "sum(conversions), sum(conversions_value), %s FROM raw.ad_daily_metrics "
            "WHERE platform = %s AND account_id = %s AND campaign_id = ANY(%s) AND date BETWEEN %s AND %s "
            "GROUP BY platform, account_id, campaign_id, date "
            "ON CONFLICT (platform, account_id, campaign_id, date) DO UPDATE SET impressions = EXCLUDED.impressions, "
            "clicks = EXCLUDED.clicks, cost_micros = EXCLUDED.cost_micros, conversions = EXCLUDED.conversions, "
            "conversions_value = EXCLUDED.conversions_value, source = EXCLUDED.source, _extracted_at = now()",
            (source, platform, account_id, campaigns, min(days), max(days)),
        )
