"""The raw contract: every `raw` table, its natural key, columns and meaning, in one place.

Loaders (upserts), the Great Expectations suites, the file-import writer and the demo sources
derive what they need from here; `tests/integration/test_raw_schema.py` checks it against the
migrated database and dbt's sources, so the migration (history) and this module cannot drift.

Every table carries `source` (google_ads_api, demo, a mapping's source, ...) so file imports and
API extracts share the same tables; the natural key is the primary key, so every write is an
upsert and reruns never duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from psycopg2.extras import Json, execute_values

# Column types as PostgreSQL (and Great Expectations, which reports them the same way) names them.
TEXT, DATE, BIGINT, NUMERIC, JSONB = "TEXT", "DATE", "BIGINT", "NUMERIC", "JSONB"
TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"

# Additive daily metrics, as every ad platform's raw rows carry them.
METRICS = ("impressions", "clicks", "cost_micros", "conversions", "conversions_value")
METRIC_TYPES = {
    "impressions": BIGINT,
    "clicks": BIGINT,
    "cost_micros": BIGINT,
    "conversions": NUMERIC,
    "conversions_value": NUMERIC,
}


@dataclass(frozen=True)
class RawTable:
    name: str
    domain: str  # ads | tickets: which assets write it and which dbt sources file declares it
    description: str
    key: tuple[str, ...]  # the natural key: primary key and upsert conflict target
    columns: Mapping[str, str]  # every column but the write stamp, in table order, with its type
    stamp: str = "_loaded_at"  # set to now() by every write

    @property
    def qualified(self) -> str:
        return f"raw.{self.name}"

    @property
    def column_types(self) -> dict[str, str]:
        """Every column with its type, the write stamp included."""
        return {**self.columns, self.stamp: TIMESTAMPTZ}


def _ids(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, TEXT)


TABLES: dict[str, RawTable] = {
    t.name: t
    for t in (
        RawTable(
            "customers",
            "ads",
            "Ad accounts as the platform describes them (name, currency, time zone).",
            ("platform", "account_id"),
            {**_ids("platform", "account_id", "name", "currency_code", "time_zone"), "source": TEXT},
        ),
        RawTable(
            "campaigns",
            "ads",
            "Campaigns: status, channel type, start/end dates.",
            ("platform", "account_id", "campaign_id"),
            {
                **_ids("platform", "account_id", "campaign_id", "name", "status", "channel_type"),
                "start_date": DATE,
                "end_date": DATE,
                "source": TEXT,
            },
        ),
        RawTable(
            "ad_groups",
            "ads",
            "Ad groups per campaign.",
            ("platform", "account_id", "ad_group_id"),
            {**_ids("platform", "account_id", "campaign_id", "ad_group_id", "name", "status"), "source": TEXT},
        ),
        RawTable(
            "ads",
            "ads",
            "Ads per ad group: headlines, descriptions, final URL, status.",
            ("platform", "account_id", "ad_group_id", "ad_id"),
            {
                **_ids("platform", "account_id", "ad_group_id", "ad_id", "ad_type"),
                "headlines": JSONB,
                "descriptions": JSONB,
                "final_url": TEXT,
                "status": TEXT,
                "source": TEXT,
            },
        ),
        RawTable(
            "ad_daily_metrics",
            "ads",
            "Daily metrics at ad grain (impressions, clicks, cost_micros, conversions, value).",
            ("platform", "account_id", "ad_group_id", "ad_id", "date"),
            {
                **_ids("platform", "account_id", "campaign_id", "ad_group_id", "ad_id"),
                "date": DATE,
                **METRIC_TYPES,
                "source": TEXT,
            },
            stamp="_extracted_at",
        ),
        RawTable(
            "campaign_daily_metrics",
            "ads",
            "Daily metrics at campaign grain, including campaigns without ads.",
            ("platform", "account_id", "campaign_id", "date"),
            {**_ids("platform", "account_id", "campaign_id"), "date": DATE, **METRIC_TYPES, "source": TEXT},
            stamp="_extracted_at",
        ),
        RawTable(
            "tickets",
            "tickets",
            "Support tickets, priority and status canonicalised (the source's own kept), resolution as said.",
            ("source", "ticket_id"),
            {
                **_ids(
                    "source",
                    "ticket_id",
                    "subject",
                    "description",
                    "priority",
                    "priority_raw",
                    "status",
                    "channel",
                    "category",
                ),
                "created_at": TIMESTAMPTZ,
                "first_response_at": TIMESTAMPTZ,
                "resolved_at": TIMESTAMPTZ,
                # Added by migration 0007, so after the timestamps.
                "status_raw": TEXT,
                "resolution": TEXT,
            },
        ),
        RawTable(
            "ticket_comments",
            "tickets",
            "Ticket comments.",
            ("source", "ticket_id", "comment_id"),
            {**_ids("source", "ticket_id", "comment_id", "author", "body"), "created_at": TIMESTAMPTZ},
        ),
    )
}


def tables(domain: str) -> list[RawTable]:
    return [t for t in TABLES.values() if t.domain == domain]


def _adapt(value):
    return Json(value) if isinstance(value, (list, dict)) else value


def row_values(table: str, rows: Iterable[dict], constants: dict | None = None) -> tuple[list[str], list[tuple]]:
    """The columns (the first row's, with `constants`) and each row's values, adapted for psycopg2,
    for a write into raw.<table>; a column the contract does not have is an error."""
    spec = TABLES[table]
    merged = [{**row, **(constants or {})} for row in rows]
    if not merged:
        return [], []
    columns = list(merged[0])
    unknown = set(columns) - set(spec.columns)
    if unknown:
        raise ValueError(f"{spec.qualified} has no columns {sorted(unknown)}")
    return columns, [tuple(_adapt(row[c]) for c in columns) for row in merged]


def upsert(cur, table: str, rows: Iterable[dict], constants: dict | None = None) -> int:
    """Insert rows into raw.<table>, updating those whose natural key exists. Returns rows written."""
    spec = TABLES[table]
    columns, values = row_values(table, rows, constants)
    if not values:
        return 0
    updates = [f"{c} = EXCLUDED.{c}" for c in columns if c not in spec.key] + [f"{spec.stamp} = now()"]
    sql = (
        f"INSERT INTO {spec.qualified} ({', '.join(columns)}) VALUES %s "
        f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {', '.join(updates)}"
    )
    execute_values(cur, sql, values, page_size=1000)
    return len(values)
