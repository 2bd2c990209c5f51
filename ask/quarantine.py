"""What imports set aside: a count an answer must not pass over in silence.

A ticket file's rows that break a rule (resolved before its first response, a date out of range,
...) wait in `raw.quarantine` with their reason instead of being loaded. A ticket answer counts
only loaded tickets, so it says how many rows of the asked sources are held there (once 1,365 of
a file's 8,469 tickets were missing from every count without a word).
"""

from __future__ import annotations

from collections.abc import Sequence


def held_tickets_note(cur, ticket_sources: Sequence[str]) -> str:
    """' (Not counted: ...)' for the ticket sources' rows in quarantine, or '' when there are none."""
    if not ticket_sources:
        return ""
    cur.execute(
        "SELECT source, count(*), mode() WITHIN GROUP (ORDER BY split_part(reason, ':', 1)) "
        "FROM raw.quarantine WHERE entity = 'tickets' AND source = ANY(%s) GROUP BY source ORDER BY source",
        (list(ticket_sources),),
    )
    held = cur.fetchall()
    if not held:
        return ""
    parts = [f"{count:,} rows of {source} (mostly: {reason})" for source, count, reason in held]
    return (
        " (Not counted: "
        + "; ".join(parts)
        + ", held in quarantine by their import: `burry import list` names the imports.)"
    )


def held_ad_rows_note(cur, accounts: Sequence[tuple[str, str]]) -> str:
    """' (Not counted: ...)' for the rows in quarantine of the ad files imported into `accounts`
    ((platform, account id) pairs), or ''. A quarantined row names no account Burry can trust (its
    account cell may be what was wrong), so it is counted for each file that wrote rows into one of
    them: "N rows of the files imported into these accounts"."""
    if not accounts:
        return ""
    platforms = sorted({platform for platform, _ in accounts})
    ids = sorted({account_id for _, account_id in accounts})
    cur.execute(
        "SELECT count(*), mode() WITHIN GROUP (ORDER BY split_part(q.reason, ':', 1)), "
        "string_agg(DISTINCT i.file_name, ', ') "
        "FROM app.file_imports i JOIN raw.quarantine q ON q.import_id = i.id "
        "WHERE i.kind = 'ads' AND i.rows_quarantined > 0 AND i.undone_at IS NULL AND EXISTS ("
        "  SELECT FROM app.import_changes c "
        "  WHERE c.import_id = i.id AND c.table_name IN ('raw.ad_daily_metrics', 'raw.campaign_daily_metrics') "
        "    AND c.keys -> 'platform' ?| %s::text[] AND c.keys -> 'account_id' ?| %s::text[])",
        (platforms, ids),
    )
    count, reason, files = cur.fetchone()
    if not count:
        return ""
    return (
        f" (Not counted: {count:,} rows of {files}, imported into these accounts, held in quarantine by their "
        f"import (mostly: {reason}): `burry import list` names the imports.)"
    )
