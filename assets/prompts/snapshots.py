"""Rendering, storing and serving prompt snapshots (seed 000 §3.2), as plain functions over a cursor.

`build_snapshot` renders a subject's active template with its context; `store_snapshot` writes it
as the subject's one active snapshot (the previous one deactivated in the same transaction, under
a per-subject advisory lock); `serve` points `app.served_prompts` at it with a new version number,
which is what the ask service's cache watches. Old snapshots stay readable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from assets.prompts.context import REFRESH_FORMAT, Subject, context_for
from assets.prompts.registry import TemplateVersion, get_version
from resources.prompts.numbers import count_tokens, unsupported_numbers
from resources.prompts.render import render

# Seed 000: a rendered prompt is good for 6 hours, one refresh cycle.
SNAPSHOT_LIFETIME = timedelta(hours=6)


@dataclass(frozen=True)
class Snapshot:
    subject: Subject
    template: TemplateVersion
    text: str
    context: dict
    row_keys: dict

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def token_estimate(self) -> int:
        return count_tokens(self.text)

    def unsupported_numbers(self) -> list[str]:
        """Numbers the text names that neither its context nor the template's own words hold."""
        return unsupported_numbers(self.text, self.context, self.template.body)


@dataclass(frozen=True)
class StoredSnapshot:
    id: int
    generated_at: object
    expires_at: object
    deactivated: list[int]


def build_snapshot(cur, subject: Subject) -> Snapshot:
    """Render `subject`'s active template over its context (MissingVariables names what is missing)."""
    slug, context, row_keys = context_for(cur, subject)
    template = get_version(cur, slug)
    return Snapshot(subject, template, render(template.body, context), context, row_keys)


def _workspace_id(cur, subject: Subject) -> int | None:
    if subject.kind == "ad_account":
        cur.execute(
            "SELECT workspace_id FROM app.ad_accounts WHERE platform = %s AND account_id = %s",
            (subject.platform, subject.account_id),
        )
    else:
        cur.execute("SELECT workspace_id FROM app.ticket_sources WHERE source = %s", (subject.source,))
    row = cur.fetchone()
    return row[0] if row else None


def _refreshed_at(text: str | None) -> datetime | None:
    """The data's refresh time back from the context's spelling (context.instant)."""
    try:
        return datetime.strptime(text or "", REFRESH_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def store_snapshot(cur, snapshot: Snapshot, run_id: str | None = None) -> StoredSnapshot:
    """Insert `snapshot` as its subject's active one; the previous active one is deactivated."""
    subject = snapshot.subject
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"burry:prompt_snapshot:{subject.key}",))
    cur.execute(
        "UPDATE app.prompt_snapshots SET is_active = false, deactivated_at = now() "
        "WHERE subject_kind = %s AND subject_key = %s AND is_active RETURNING id",
        (subject.kind, subject.key),
    )
    deactivated = sorted(row[0] for row in cur.fetchall())
    refreshed = _refreshed_at(snapshot.context.get("last_refreshed_at"))
    cur.execute(
        "INSERT INTO app.prompt_snapshots (subject_kind, subject_key, platform, account_id, workspace_id, "
        "template_version_id, template_slug, template_version, rendered_text, text_sha256, context, row_keys, "
        "token_estimate, data_refreshed_at, generated_at, expires_at, is_active, dagster_run_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, now(), now() + %s, true, %s) RETURNING id, generated_at, expires_at",
        (
            subject.kind,
            subject.key,
            subject.platform,
            subject.account_id,
            _workspace_id(cur, subject),
            snapshot.template.id,
            snapshot.template.slug,
            snapshot.template.version,
            snapshot.text,
            snapshot.sha256,
            json.dumps(snapshot.context, sort_keys=True),
            json.dumps(snapshot.row_keys, sort_keys=True),
            snapshot.token_estimate,
            refreshed,
            SNAPSHOT_LIFETIME,
            run_id,
        ),
    )
    snapshot_id, generated_at, expires_at = cur.fetchone()
    return StoredSnapshot(snapshot_id, generated_at, expires_at, deactivated)


def active_snapshot_id(cur, subject: Subject) -> int | None:
    cur.execute(
        "SELECT id FROM app.prompt_snapshots WHERE subject_kind = %s AND subject_key = %s AND is_active",
        (subject.kind, subject.key),
    )
    row = cur.fetchone()
    return row[0] if row else None


def serve(cur, subject: Subject, snapshot_id: int) -> int:
    """Point the ask service at `snapshot_id` for `subject`; returns the new served version."""
    cur.execute(
        "INSERT INTO app.served_prompts (subject_kind, subject_key, snapshot_id) VALUES (%s, %s, %s) "
        "ON CONFLICT (subject_kind, subject_key) DO UPDATE SET snapshot_id = EXCLUDED.snapshot_id, "
        "version = EXCLUDED.version, served_at = now() RETURNING version",
        (subject.kind, subject.key, snapshot_id),
    )
    return cur.fetchone()[0]
