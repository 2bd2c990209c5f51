"""Landing source rows in `raw`: idempotent upserts and per-account refreshes with job records.

Plain Python over a psycopg2 connection, so it is tested directly; the Dagster assets in
`assets/ads.py` and `assets/tickets.py` are thin wrappers around it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable

from psycopg2.extras import Json, execute_values

from resources.ad_sources import AdSource, TicketSource

log = logging.getLogger(__name__)

# Natural keys: the conflict target of every upsert, so reruns update instead of duplicating.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "raw.customers": ("platform", "account_id"),
    "raw.campaigns": ("platform", "account_id", "campaign_id"),
    "raw.ad_groups": ("platform", "account_id", "ad_group_id"),
    "raw.ads": ("platform", "account_id", "ad_group_id", "ad_id"),
    "raw.ad_daily_metrics": ("platform", "account_id", "ad_group_id", "ad_id", "date"),
    "raw.campaign_daily_metrics": ("platform", "account_id", "campaign_id", "date"),
    "raw.tickets": ("source", "ticket_id"),
    "raw.ticket_comments": ("source", "ticket_id", "comment_id"),
}
# Columns the database stamps on every write.
WRITE_STAMPS = {
    "raw.ad_daily_metrics": "_extracted_at",
    "raw.campaign_daily_metrics": "_extracted_at",
}

DEFAULT_LOOKBACK_DAYS = 30


def _adapt(value):
    return Json(value) if isinstance(value, (list, dict)) else value


def upsert(cur, table: str, rows: Iterable[dict], constants: dict | None = None) -> int:
    """Insert rows, updating those whose natural key exists. Returns the number of rows written."""
    rows = [{**row, **(constants or {})} for row in rows]
    if not rows:
        return 0
    key = NATURAL_KEYS[table]
    columns = list(rows[0])
    stamp = WRITE_STAMPS.get(table, "_loaded_at")
    updates = [f"{c} = EXCLUDED.{c}" for c in columns if c not in key] + [f"{stamp} = now()"]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES %s "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(updates)}"
    )
    values = [tuple(_adapt(row[c]) for c in columns) for row in rows]
    execute_values(cur, sql, values, page_size=1000)
    return len(values)


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def refresh_window(available: tuple[date, date], last_refreshed_at: datetime | None, lookback_days: int) -> Window:
    """A first extract backfills everything the source has; later ones re-read the lookback."""
    first, last = available
    if last_refreshed_at is None:
        return Window(first, last)
    return Window(max(first, last - timedelta(days=lookback_days - 1)), last)


@dataclass
class AccountResult:
    account_id: str
    status: str
    rows: dict[str, int] = field(default_factory=dict)
    window: Window | None = None
    error: str | None = None


def register_accounts(cur, platform: str, accounts: list[dict]) -> None:
    execute_values(
        cur,
        "INSERT INTO app.ad_accounts (platform, account_id, name, currency_code, time_zone) VALUES %s "
        "ON CONFLICT (platform, account_id) DO UPDATE SET name = EXCLUDED.name, "
        "currency_code = EXCLUDED.currency_code, time_zone = EXCLUDED.time_zone",
        [(platform, a["account_id"], a["name"], a["currency_code"], a["time_zone"]) for a in accounts],
    )


def active_accounts(cur, platform: str) -> list[tuple[str, datetime | None]]:
    cur.execute(
        "SELECT account_id, last_refreshed_at FROM app.ad_accounts "
        "WHERE platform = %s AND is_active ORDER BY account_id",
        (platform,),
    )
    return cur.fetchall()


def extract_account(cur, source: AdSource, account_id: str, window: Window) -> dict[str, int]:
    """Land one account's dimensions and its metrics inside the window."""
    constants = {"platform": source.platform, "source": source.source}
    return {
        "customers": upsert(cur, "raw.customers", [source.customer(account_id)], constants),
        "campaigns": upsert(cur, "raw.campaigns", source.campaigns(account_id), constants),
        "ad_groups": upsert(cur, "raw.ad_groups", source.ad_groups(account_id), constants),
        "ads": upsert(cur, "raw.ads", source.ads(account_id), constants),
        "ad_daily_metrics": upsert(
            cur, "raw.ad_daily_metrics", source.ad_daily_metrics(account_id, window.start, window.end), constants
        ),
        "campaign_daily_metrics": upsert(
            cur,
            "raw.campaign_daily_metrics",
            source.campaign_daily_metrics(account_id, window.start, window.end),
            constants,
        ),
    }


def _job_update(connect: Callable, job_id: int, status: str, error: str | None = None) -> None:
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE app.refresh_jobs SET status = %s, error_message = %s, "
            "started_at = CASE WHEN %s = 'processing' THEN now() ELSE started_at END, "
            "completed_at = CASE WHEN %s IN ('completed', 'failed') THEN now() ELSE completed_at END "
            "WHERE id = %s",
            (status, error, status, status, job_id),
        )


def refresh_ad_accounts(
    connect: Callable, source: AdSource, lookback_days: int = DEFAULT_LOOKBACK_DAYS, run_id: str | None = None
) -> list[AccountResult]:
    """Refresh every active account of the source's platform, each in its own transaction.

    `connect` opens a transaction (resources.database.connect). A failing account is recorded as
    a failed refresh job and never stops the others; its partial rows are rolled back.
    """
    with connect() as conn, conn.cursor() as cur:
        register_accounts(cur, source.platform, source.accounts())
        accounts = active_accounts(cur, source.platform)
    return [
        _refresh_one(connect, source, account_id, last_refreshed_at, lookback_days, run_id)
        for account_id, last_refreshed_at in accounts
    ]


def _refresh_one(connect, source, account_id, last_refreshed_at, lookback_days, run_id) -> AccountResult:
    window = refresh_window(source.date_range(), last_refreshed_at, lookback_days)
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO app.refresh_jobs (platform, account_id, status, days_lookback, dagster_run_id) "
            "VALUES (%s, %s, 'pending', %s, %s) RETURNING id",
            (source.platform, account_id, window.days, run_id),
        )
        job_id = cur.fetchone()[0]
    _job_update(connect, job_id, "processing")
    try:
        with connect() as conn, conn.cursor() as cur:
            rows = extract_account(cur, source, account_id, window)
            cur.execute(
                "UPDATE app.ad_accounts SET last_refreshed_at = now() WHERE platform = %s AND account_id = %s",
                (source.platform, account_id),
            )
    except Exception as exc:  # one account's failure is recorded, never fatal to the others
        log.exception("refresh of %s account %s failed", source.platform, account_id)
        _job_update(connect, job_id, "failed", f"{type(exc).__name__}: {exc}")
        return AccountResult(account_id, "failed", window=window, error=str(exc))
    _job_update(connect, job_id, "completed")
    return AccountResult(account_id, "completed", rows=rows, window=window)


def load_tickets(cur, source: TicketSource, window: Window) -> dict[str, int]:
    constants = {"source": source.source}
    return {
        "tickets": upsert(cur, "raw.tickets", source.tickets(window.start, window.end), constants),
        "ticket_comments": upsert(
            cur, "raw.ticket_comments", source.comments(window.start, window.end), constants
        ),
    }


def latest_ticket_load(cur, source_name: str) -> datetime | None:
    cur.execute("SELECT max(_loaded_at) FROM raw.tickets WHERE source = %s", (source_name,))
    return cur.fetchone()[0]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
