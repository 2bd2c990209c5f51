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
