"""Importing a file: parse it, quarantine what cannot be read, write the rest into `raw`.

Nothing is silently dropped: a row that cannot be read goes to `raw.quarantine` with its file,
record number and reason; exact duplicate rows are counted and loaded once; re-importing a file
with the same mapping (and encoding) changes nothing. Only file-level problems refuse the whole
file (`ImportRefused`, nothing written): a mapping that does not fit, an unreadable file, another
import of the same file running, ad accounts another source owns (unless `merge`).

An ad account belongs to the source that registered it (`app.ad_accounts.source`). A file never
changes a registered account's name, currency or time zone; rows into an account another source
owns need `merge`, and a row in a currency other than the account's is quarantined.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg2
from psycopg2.extras import Json, execute_values

from assets.imports import changes
from assets.imports.mapping import AccountOwned, ImportRefused, ImportRunning, Mapping
from assets.imports.parse import Account, ParsedFile, detect_encoding, parse_file
from resources.raw_schema import METRICS


@dataclass
class ImportSummary:
    file: str
    kind: str
    rows_read: int = 0
    rows_loaded: int = 0
    exact_duplicates: int = 0
    quarantined: Counter = field(default_factory=Counter)  # reason's field -> rows
    examples: dict[str, str] = field(default_factory=dict)  # reason's field -> one full reason
    already_imported: bool = False
    nothing_to_import: bool = False
    import_id: int | None = None
    encoding: str | None = None
    merged_into: list[str] = field(default_factory=list)  # accounts of other sources written with merge

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())

    @property
    def recorded(self) -> bool:
        """This call recorded a new import in app.file_imports."""
        return self.import_id is not None and not self.already_imported

    def lines(self) -> list[str]:
        if self.already_imported:
            return [
                f"{self.file}: already imported with this mapping (import #{self.import_id}, "
                f"{self.rows_loaded} rows loaded then): nothing changed"
            ]
        if self.nothing_to_import:
            return [f"{self.file}: nothing to import: the file has no data rows (nothing was recorded)"]
        lines = [
            f"{self.file}: {self.rows_read} rows read, {self.rows_loaded} loaded, "
            f"{self.rows_quarantined} quarantined, {self.exact_duplicates} exact duplicates loaded once"
        ]
        if self.encoding and not self.encoding.startswith("utf-8"):
            lines.append(f"  read as {self.encoding}; if names look wrong, pass --encoding")
        if self.merged_into:
            lines.append(f"  merged into accounts of other sources (details unchanged): {', '.join(self.merged_into)}")
        lines += [
            f"  quarantined {n}: {group}" + (f" (e.g. {self.examples[group]})" if self.examples[group] != group else "")
            for group, n in self.quarantined.most_common()
        ]
        return lines


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    connect: Callable,
    path: str | Path,
    mapping: Mapping,
    encoding: str | None = None,
    merge: bool = False,
    now: datetime | None = None,
) -> ImportSummary:
    """Import one file in one transaction, holding the file's lock. `encoding`: the user's
    --encoding (None: detect); `merge`: allow rows into ad accounts another source owns; `now`:
    when the validity rules are applied (None: now). Raises ImportRefused (nothing imported)."""
    path = Path(path)
    summary = ImportSummary(file=path.name, kind=mapping.kind)
    digest = file_sha256(path)
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", changes.import_lock_key(digest))
        if not cur.fetchone()[0]:
            raise ImportRunning(
                f"{path.name}: another import of this file is running; wait for it to finish, then run this "
                "again (it says 'already imported' if that one loaded the file)"
            )
        text = detect_encoding(path, encoding)
        summary.encoding = text.describe()
        cur.execute(
            "SELECT id, rows_loaded FROM app.file_imports "
            "WHERE file_sha256 = %s AND mapping_sha256 = %s AND encoding = %s AND undone_at IS NULL",
            (digest, mapping.sha256, text.name),
        )
        existing = cur.fetchone()
        if existing:
            summary.already_imported = True
            summary.import_id, summary.rows_loaded = existing
            return summary
        accounts = registered_accounts(cur) if mapping.kind == "ads" else {}
        parsed = parse_file(path, mapping, accounts, text, now)
        if not parsed.rows_read:
            summary.nothing_to_import = True
            return summary
        if mapping.kind == "ads":
            summary.merged_into = check_ownership(path, parsed, accounts, mapping, merge)
        summary.rows_read, summary.exact_duplicates = parsed.rows_read, parsed.exact_duplicates
        for _, reason, _ in parsed.rejected:
            group = reason.split(":")[0]
            summary.quarantined[group] += 1
            summary.examples.setdefault(group, reason)
        cur.execute(
            "INSERT INTO app.file_imports (kind, file_name, file_sha256, mapping_name, mapping_sha256, encoding, "
            "source, rows_read, rows_loaded, rows_quarantined, exact_duplicates, changes_tracked) "
            "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,true) RETURNING id",
            (
                mapping.kind,
                path.name,
                digest,
                mapping.name,
                mapping.sha256,
                parsed.encoding.name,
                mapping.source,
                parsed.rows_read,
                len(parsed.rows),
                len(parsed.rejected),
                parsed.exact_duplicates,
            ),
        )
        import_id = summary.import_id = cur.fetchone()[0]
        # A corrected mapping replaces what an earlier import of the same file quarantined.
        changes.replace_quarantine(cur, import_id, digest)
        quarantine(cur, import_id, digest, path.name, mapping, parsed.rejected)
        rows = [row for _, row in parsed.rows]
        if mapping.kind == "ads":
            summary.rows_loaded = write_ads(cur, import_id, rows, mapping, accounts, path)
        else:
            summary.rows_loaded = write_tickets(cur, import_id, rows, mapping)
    return summary


def registered_accounts(cur) -> dict[tuple[str, str], Account]:
    """Every registered ad account (app.ad_accounts, raw.customers): what rules its rows and who owns it."""
    cur.execute(
        "SELECT coalesce(a.platform, c.platform), coalesce(a.account_id, c.account_id), coalesce(c.name, a.name), "
        "coalesce(c.currency_code, a.currency_code), coalesce(c.time_zone, a.time_zone), coalesce(a.source, c.source) "
        "FROM app.ad_accounts AS a FULL JOIN raw.customers AS c "
        "ON c.platform = a.platform AND c.account_id = a.account_id"
    )
    return {(row[0], row[1]): Account(*row) for row in cur.fetchall()}


def check_ownership(
    path: Path, parsed: ParsedFile, accounts: dict[tuple[str, str], Account], mapping: Mapping, merge: bool
) -> list[str]:
    """The accounts of other sources the file writes into; refused (AccountOwned) unless `merge`."""
    foreign = [
        accounts[key]
        for key in sorted(parsed.accounts)
        if key in accounts and accounts[key].owner not in (None, mapping.source)
    ]
    if foreign and not merge:
        owned = "; ".join(
            f"{a.platform}:{a.account_id} ({a.name or 'no name'}, {a.currency_code}) is owned by source {a.owner!r}"
            for a in foreign
        )
        raise AccountOwned(
            f"{path.name}: the file names ad accounts another source owns: {owned}. Nothing was imported. "
            f"If the rows belong to those accounts, import again with --merge: they are added to the "
            f"accounts, whose name, currency and time zone stay as {foreign[0].owner!r} says (rows in another "
            f"currency are quarantined). If not, correct the account column of the file (mapping "
            f"{mapping.name!r}: {', '.join(mapping.columns.get('account', ('-',)))})."
        )
    return [f"{a.platform}:{a.account_id} (owned by {a.owner!r})" for a in foreign]


def storable(value):
    """`value` as jsonb can hold it: NUL bytes and lone surrogates written out as escapes."""
    if isinstance(value, str):
        value = value.replace("\x00", "\\x00")
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {storable(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def quarantine(cur, import_id: int, digest: str, file_name: str, mapping: Mapping, rejected: list) -> None:
    execute_values(
        cur,
        "INSERT INTO raw.quarantine (source, entity, file, row_number, reason, payload, import_id, file_sha256) "
        "VALUES %s",
        [
            (mapping.source, mapping.kind, file_name, n, storable(reason), Json(storable(payload)), import_id, digest)
            for n, reason, payload in rejected
        ],
    )


def write_tickets(cur, import_id: int, rows: list[dict], mapping: Mapping) -> int:
    constants = {"source": mapping.source}
    tickets = [{k: v for k, v in r.items() if k != "comments"} for r in rows]
    loaded = changes.write_rows(cur, import_id, "tickets", tickets, constants)
    comments = [{"ticket_id": r["ticket_id"], **c} for r in rows for c in r["comments"]]
    changes.write_rows(cur, import_id, "ticket_comments", comments, constants)
    return loaded


def write_ads(
    cur, import_id: int, rows: list[dict], mapping: Mapping, accounts: dict[tuple[str, str], Account], path: Path
) -> int:
    if not rows:
        return 0
    constants = {"source": mapping.source}
    for platform, account_id in sorted({(r["platform"], r["account_id"]) for r in rows}):
        known = accounts.get((platform, account_id))
        # Every row of an account has its currency (parse_file quarantined the others).
        currency = next(r["currency_code"] for r in rows if (r["platform"], r["account_id"]) == (platform, account_id))
        account = {
            "account_id": account_id,
            "name": (known and known.name) or account_id,
            "currency_code": (known and known.currency_code) or currency,
            "time_zone": (known and known.time_zone) or mapping.time_zone,
        }
        changes.register_accounts(cur, import_id, platform, [account], mapping.source)
        changes.write_rows(cur, import_id, "customers", [account], {**constants, "platform": platform}, update=False)
    metrics = METRICS
    # Campaigns, ad groups and ads a file names are added; ones already there keep their names.
    changes.write_rows(
        cur,
        import_id,
        "campaigns",
        unique({k: r[k] for k in ("platform", "account_id", "campaign_id")} | {"name": r["campaign_id"]} for r in rows),
        constants,
        update=False,
    )
    if mapping.grain == "campaign":
        return changes.write_rows(
            cur,
            import_id,
            "campaign_daily_metrics",
            [{k: r[k] for k in ("platform", "account_id", "campaign_id", "date", *metrics)} for r in rows],
            constants,
        )
    changes.write_rows(
        cur,
        import_id,
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
        update=False,
    )
    changes.write_rows(
        cur,
        import_id,
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
        update=False,
    )
    loaded = changes.write_rows(
        cur,
        import_id,
        "ad_daily_metrics",
        [
            {k: r[k] for k in ("platform", "account_id", "campaign_id", "ad_group_id", "ad_id", "date", *metrics)}
            for r in rows
        ],
        constants,
    )
    try:
        rollup_campaign_days(cur, import_id, rows, mapping.source)
    except psycopg2.errors.NumericValueOutOfRange:
        raise ImportRefused(
            f"{path.name}: with the ad rows already in raw.ad_daily_metrics, a campaign's daily total would "
            "exceed what PostgreSQL's bigint holds; nothing was imported. Check the file's numbers (and the "
            "earlier imports of the same campaigns)"
        ) from None
    return loaded


def unique(rows) -> list[dict]:
    return list({json.dumps(r, sort_keys=True, default=str): r for r in rows}.values())


def rollup_campaign_days(cur, import_id: int, rows: list[dict], source: str) -> None:
    """Campaign-grain totals are the sum of every ad row for the campaign-days this file touched
    (files may split a campaign's ads across several imports)."""
    for platform, account_id in sorted({(r["platform"], r["account_id"]) for r in rows}):
        days = sorted(
            {(r["campaign_id"], r["date"]) for r in rows if (r["platform"], r["account_id"]) == (platform, account_id)}
        )
        changes.write_query(
            cur,
            import_id,
            "campaign_daily_metrics",
            ["platform", "account_id", "campaign_id", "date", *METRICS, "source"],
            "SELECT m.platform, m.account_id, m.campaign_id, m.date, "
            + ", ".join(f"sum(m.{c})" for c in METRICS)
            + ", %s::text FROM raw.ad_daily_metrics AS m "
            "JOIN unnest(%s::text[], %s::date[]) AS d (campaign_id, date) "
            "ON d.campaign_id = m.campaign_id AND d.date = m.date "
            "WHERE m.platform = %s AND m.account_id = %s GROUP BY m.platform, m.account_id, m.campaign_id, m.date",
            (source, [c for c, _ in days], [d for _, d in days], platform, account_id),
        )
