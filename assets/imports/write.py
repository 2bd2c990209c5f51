"""Importing a file: parse it, quarantine what cannot be read, write the rest into `raw`.

Nothing is silently dropped: a row that cannot be read goes to `raw.quarantine` with its file,
record number and reason; exact duplicate rows are counted and loaded once; re-importing a file
with the same mapping changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from psycopg2.extras import Json, execute_values

from assets.ads.load import register_accounts
from assets.imports.mapping import Mapping
from assets.imports.parse import parse_file
from resources.raw_schema import METRICS, upsert


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
        lines = [
            f"{self.file}: {self.rows_read} rows read, {self.rows_loaded} loaded, "
            f"{self.rows_quarantined} quarantined, {self.exact_duplicates} exact duplicates loaded once"
        ]
        lines += [f"  quarantined {n}: {reason}" for reason, n in self.quarantined.most_common()]
        return lines


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
        cur.execute(
            "SELECT id FROM app.file_imports WHERE file_sha256 = %s AND mapping_sha256 = %s", (digest, mapping.sha256)
        )
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
            (
                mapping.kind,
                path.name,
                digest,
                mapping.name,
                mapping.sha256,
                mapping.source,
                parsed.rows_read,
                len(parsed.rows),
                len(parsed.rejected),
                parsed.exact_duplicates,
            ),
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
        "INSERT INTO raw.quarantine (source, entity, file, row_number, reason, payload, import_id, file_sha256) "
        "VALUES %s",
        [
            (mapping.source, mapping.kind, file_name, number, reason, Json(record), import_id, digest)
            for number, reason, record in rejected
        ],
    )


def write_tickets(cur, rows: list[dict], mapping: Mapping) -> int:
    constants = {"source": mapping.source}
    loaded = upsert(cur, "tickets", [{k: v for k, v in r.items() if k != "comments"} for r in rows], constants)
    upsert(cur, "ticket_comments", [{"ticket_id": r["ticket_id"], **c} for r in rows for c in r["comments"]], constants)
    return loaded


def write_ads(cur, rows: list[dict], mapping: Mapping) -> int:
    if not rows:
        return 0
    constants = {"source": mapping.source}
    accounts = {(r["platform"], r["account_id"]): r["currency_code"] for r in rows}
    for (platform, account_id), currency in accounts.items():
        account = {
            "account_id": account_id,
            "name": account_id,
            "currency_code": currency,
            "time_zone": mapping.time_zone,
        }
        register_accounts(cur, platform, [account])
        upsert(cur, "customers", [account], {**constants, "platform": platform})
    metrics = METRICS
    upsert(
        cur,
        "campaigns",
        unique({k: r[k] for k in ("platform", "account_id", "campaign_id")} | {"name": r["campaign_id"]} for r in rows),
        constants,
    )
    if mapping.grain == "campaign":
        return upsert(
            cur,
            "campaign_daily_metrics",
            [{k: r[k] for k in ("platform", "account_id", "campaign_id", "date", *metrics)} for r in rows],
            constants,
        )
    upsert(
        cur,
        "ad_groups",
        unique(
            {
                "platform": r["platform"],
                "account_id": r["account_id"],
                "campaign_id": r["campaign_id"],
                "ad_group_id": r["ad_group_id"],
                "name": r["ad_group_name"],
            }
            for r in rows
        ),
        constants,
    )
    upsert(
        cur,
        "ads",
        unique(
            {
                "platform": r["platform"],
                "account_id": r["account_id"],
                "ad_group_id": r["ad_group_id"],
                "ad_id": r["ad_id"],
                "headlines": [r["ad_name"]],
            }
            for r in rows
        ),
        constants,
    )
    loaded = upsert(
        cur,
        "ad_daily_metrics",
        [
            {k: r[k] for k in ("platform", "account_id", "campaign_id", "ad_group_id", "ad_id", "date", *metrics)}
            for r in rows
        ],
        constants,
    )
    rollup_campaign_days(cur, rows, mapping.source)
    return loaded


def unique(rows) -> list[dict]:
    return list({json.dumps(r, sort_keys=True, default=str): r for r in rows}.values())


def rollup_campaign_days(cur, rows: list[dict], source: str) -> None:
    """Campaign-grain totals are the sum of every ad row for the days this file touched (files may
    split a campaign's ads across several imports)."""
    for platform, account_id in {(r["platform"], r["account_id"]) for r in rows}:
        days = [r["date"] for r in rows if (r["platform"], r["account_id"]) == (platform, account_id)]
        campaigns = sorted(
            {r["campaign_id"] for r in rows if (r["platform"], r["account_id"]) == (platform, account_id)}
        )
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
