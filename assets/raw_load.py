"""Landing source rows in `raw`: idempotent upserts and per-account refreshes with job records.

Plain Python over a psycopg2 connection, so it is tested directly; the Dagster assets in
`assets/ads.py` and `assets/tickets.py` are thin wrappers around it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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
    """A first extract backfills everything the source has; later ones re-read the lookback, and
    reach back to the last refresh when that was longer ago, so a paused schedule leaves no gap.
    (The day before the last refresh's UTC date: whatever the account's zone, it was covered.)"""
    first, last = available
    if last_refreshed_at is None:
        return Window(first, last)
    since_last_refresh = last_refreshed_at.date() - timedelta(days=1)
    return Window(max(first, min(last - timedelta(days=lookback_days - 1), since_last_refresh)), last)


@dataclass
class AccountResult:
    account_id: str
    status: str
    rows: dict[str, int] = field(default_factory=dict)
    window: Window | None = None
    error: str | None = None


def register_accounts(cur, platform: str, accounts: list[dict]) -> None:
    """Upsert accounts; details a source does not know yet (None) keep their stored values."""
    execute_values(
        cur,
        "INSERT INTO app.ad_accounts AS a (platform, account_id, name, currency_code, time_zone) VALUES %s "
        "ON CONFLICT (platform, account_id) DO UPDATE SET "
        "name = coalesce(EXCLUDED.name, a.name), currency_code = coalesce(EXCLUDED.currency_code, a.currency_code), "
        "time_zone = coalesce(EXCLUDED.time_zone, a.time_zone)",
        [(platform, a["account_id"], a.get("name"), a.get("currency_code"), a.get("time_zone")) for a in accounts],
    )


def active_accounts(cur, platform: str) -> list[tuple[str, datetime | None]]:
    cur.execute(
        "SELECT account_id, last_refreshed_at FROM app.ad_accounts "
        "WHERE platform = %s AND is_active ORDER BY account_id",
        (platform,),
    )
    return cur.fetchall()


def fetch_account(source: AdSource, account_id: str, window: Window) -> dict[str, list[dict]]:
    """Everything one account refresh writes, read before any database transaction opens."""
    return {
        "raw.customers": [source.customer(account_id)],
        "raw.campaigns": source.campaigns(account_id),
        "raw.ad_groups": source.ad_groups(account_id),
        "raw.ads": source.ads(account_id),
        "raw.ad_daily_metrics": source.ad_daily_metrics(account_id, window.start, window.end),
        "raw.campaign_daily_metrics": source.campaign_daily_metrics(account_id, window.start, window.end),
    }


def write_account(cur, source: AdSource, account_id: str, tables: dict[str, list[dict]]) -> dict[str, int]:
    constants = {"platform": source.platform, "source": source.source}
    written = {table.split(".", 1)[1]: upsert(cur, table, rows, constants) for table, rows in tables.items()}
    register_accounts(cur, source.platform, tables["raw.customers"])
    cur.execute(
        "UPDATE app.ad_accounts SET last_refreshed_at = now() WHERE platform = %s AND account_id = %s",
        (source.platform, account_id),
    )
    return written


def _create_job(connect: Callable, platform: str, account_id: str, days: int, run_id: str | None) -> int:
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO app.refresh_jobs (platform, account_id, status, days_lookback, dagster_run_id) "
            "VALUES (%s, %s, 'pending', %s, %s) RETURNING id",
            (platform, account_id, days, run_id),
        )
        return cur.fetchone()[0]


def _job_update(connect: Callable, job_id: int, status: str, error: str | None = None,
                days: int | None = None) -> None:
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE app.refresh_jobs SET status = %s, error_message = %s, "
            "days_lookback = coalesce(%s, days_lookback), "
            "started_at = CASE WHEN %s = 'processing' THEN now() ELSE started_at END, "
            "completed_at = CASE WHEN %s IN ('completed', 'failed') THEN now() ELSE completed_at END "
            "WHERE id = %s",
            (status, error, days, status, status, job_id),
        )


def last_refreshed_at(cur, platform: str, account_id: str) -> datetime | None:
    cur.execute(
        "SELECT last_refreshed_at FROM app.ad_accounts WHERE platform = %s AND account_id = %s",
        (platform, account_id),
    )
    row = cur.fetchone()
    return row[0] if row else None


def sync_source_accounts(connect: Callable, source: AdSource) -> list[str]:
    """Register the source's accounts; returns the ids of its active ones. Accounts of the same
    platform known only from file imports are not the source's to extract."""
    accounts = source.accounts()
    readable = {a["account_id"] for a in accounts}
    with connect() as conn, conn.cursor() as cur:
        register_accounts(cur, source.platform, accounts)
        return [account_id for account_id, _ in active_accounts(cur, source.platform) if account_id in readable]


def refresh_ad_accounts(
    connect: Callable, source: AdSource, lookback_days: int = DEFAULT_LOOKBACK_DAYS, run_id: str | None = None
) -> list[AccountResult]:
    """Refresh every active account of the source's platform, each on its own.

    `connect` opens a transaction (resources.database.connect). A failing account is recorded as
    a failed refresh job and never stops the others; nothing of it is written.
    """
    results = []
    for account_id in sync_source_accounts(connect, source):
        with connect() as conn, conn.cursor() as cur:
            previous = last_refreshed_at(cur, source.platform, account_id)
        results.append(refresh_account(connect, source, account_id, previous, lookback_days, run_id))
    return results


def refresh_account(connect: Callable, source: AdSource, account_id: str, last_refreshed_at: datetime | None,
                    lookback_days: int, run_id: str | None = None) -> AccountResult:
    job_id = _create_job(connect, source.platform, account_id, lookback_days, run_id)
    _job_update(connect, job_id, "processing")
    window = None
    try:
        window = refresh_window(source.date_range(account_id), last_refreshed_at, lookback_days)
        tables = fetch_account(source, account_id, window)
        with connect() as conn, conn.cursor() as cur:
            rows = write_account(cur, source, account_id, tables)
    except Exception as exc:  # one account's failure is recorded, never fatal to the others
        log.exception("refresh of %s account %s failed", source.platform, account_id)
        _job_update(connect, job_id, "failed", f"{type(exc).__name__}: {exc}")
        return AccountResult(account_id, "failed", window=window, error=str(exc))
    _job_update(connect, job_id, "completed", days=window.days)
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
