"""Landing an ad account in `raw`: registration, per-account refreshes with job records.

Plain Python over a psycopg2 connection, so it is tested directly; the Dagster asset in
`assets/ads/extract.py` is a thin wrapper around it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from psycopg2.extras import execute_values

from assets.refresh import LOOKBACK_DAYS, Window, refresh_window
from resources.ads.source import AdSource
from resources.raw_schema import upsert

log = logging.getLogger(__name__)


@dataclass
class AccountResult:
    account_id: str
    status: str
    rows: dict[str, int] = field(default_factory=dict)
    window: Window | None = None
    error: str | None = None


def register_accounts(cur, platform: str, accounts: list[dict], source: str | None = None) -> None:
    """Upsert accounts; details a source does not know yet (None) keep their stored values.

    `source` (the source that reads these accounts: demo, google_ads_api) becomes the owner of
    an account that has none; an account keeps the owner that registered it first (None: not
    known yet, e.g. a partition added before its first extract)."""
    execute_values(
        cur,
        "INSERT INTO app.ad_accounts AS a (platform, account_id, name, currency_code, time_zone, source) VALUES %s "
        "ON CONFLICT (platform, account_id) DO UPDATE SET "
        "name = coalesce(EXCLUDED.name, a.name), currency_code = coalesce(EXCLUDED.currency_code, a.currency_code), "
        "time_zone = coalesce(EXCLUDED.time_zone, a.time_zone), source = coalesce(a.source, EXCLUDED.source)",
        [
            (platform, a["account_id"], a.get("name"), a.get("currency_code"), a.get("time_zone"), source)
            for a in accounts
        ],
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
        "customers": [source.customer(account_id)],
        "campaigns": source.campaigns(account_id),
        "ad_groups": source.ad_groups(account_id),
        "ads": source.ads(account_id),
        "ad_daily_metrics": source.ad_daily_metrics(account_id, window.start, window.end),
        "campaign_daily_metrics": source.campaign_daily_metrics(account_id, window.start, window.end),
    }


def write_account(cur, source: AdSource, account_id: str, tables: dict[str, list[dict]]) -> dict[str, int]:
    constants = {"platform": source.platform, "source": source.source}
    written = {table: upsert(cur, table, rows, constants) for table, rows in tables.items()}
    register_accounts(cur, source.platform, tables["customers"], source.source)
    cur.execute(
        "UPDATE app.ad_accounts SET last_refreshed_at = now() WHERE platform = %s AND account_id = %s",
        (source.platform, account_id),
    )
    return written


def _create_job(connect: Callable, platform: str, account_id: str, days: int, run_id: str | None) -> int:
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO app.refresh_jobs (platform, account_id, status, lookback_days, dagster_run_id) "
            "VALUES (%s, %s, 'pending', %s, %s) RETURNING id",
            (platform, account_id, days, run_id),
        )
        return cur.fetchone()[0]


def _job_update(connect: Callable, job_id: int, status: str, error: str | None = None, days: int | None = None) -> None:
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE app.refresh_jobs SET status = %s, error_message = %s, "
            "lookback_days = coalesce(%s, lookback_days), "
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
        register_accounts(cur, source.platform, accounts, source.source)
        return [account_id for account_id, _ in active_accounts(cur, source.platform) if account_id in readable]


def refresh_ad_accounts(
    connect: Callable, source: AdSource, lookback_days: int = LOOKBACK_DAYS, run_id: str | None = None
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


def refresh_account(
    connect: Callable,
    source: AdSource,
    account_id: str,
    last_refreshed_at: datetime | None,
    lookback_days: int,
    run_id: str | None = None,
) -> AccountResult:
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
