"""The template registry in `app.prompt_templates` / `app.prompt_template_versions` (seed 003).

A sync registers the files of prompts/: a new slug makes a template at version 1; a body that
differs from the template's latest version makes a new version, which becomes active; a body equal
to the latest version changes nothing (so a version made active again by hand stays active until
the file changes). Versions are never edited (a trigger refuses it); `activate` points a template
at any of its versions. Plain functions over a cursor: the `prompts/templates` asset and
`burry prompts` use them.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime

from resources.prompts.files import TemplateFile, body_sha256

# One sync at a time (two runs syncing at once must not both make version N+1).
SYNC_LOCK = "burry:prompt_templates:sync"


class UnknownTemplate(LookupError):
    pass


@dataclass(frozen=True)
class SyncChange:
    slug: str
    version: int
    status: str  # created | new_version | unchanged


@dataclass(frozen=True)
class TemplateVersion:
    id: int
    template_id: int
    slug: str
    name: str
    output_format: str
    version: int
    body: str
    body_sha256: str
    variables: tuple[str, ...]
    created_at: datetime
    is_active: bool


@dataclass(frozen=True)
class TemplateSummary:
    slug: str
    name: str
    description: str
    tags: tuple[str, ...]
    output_format: str
    active_version: int | None
    latest_version: int
    updated_at: datetime


def sync_templates(cur, templates: list[TemplateFile]) -> list[SyncChange]:
    """Register `templates` (parsed files); returns what happened to each, by slug."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (SYNC_LOCK,))
    changes = []
    for template in templates:
        cur.execute(
            "INSERT INTO app.prompt_templates (slug, name, description, tags, output_format, source_path) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, "
            "tags = EXCLUDED.tags, output_format = EXCLUDED.output_format, source_path = EXCLUDED.source_path, "
            "updated_at = CASE WHEN (app.prompt_templates.name, app.prompt_templates.description, "
            "app.prompt_templates.tags, app.prompt_templates.output_format) IS DISTINCT FROM "
            "(EXCLUDED.name, EXCLUDED.description, EXCLUDED.tags, EXCLUDED.output_format) "
            "THEN now() ELSE app.prompt_templates.updated_at END "
            "RETURNING id",
            (
                template.slug,
                template.name,
                template.description,
                list(template.tags),
                template.output_format,
                template.path,
            ),
        )
        template_id = cur.fetchone()[0]
        cur.execute(
            "SELECT version, body_sha256 FROM app.prompt_template_versions WHERE template_id = %s "
            "ORDER BY version DESC LIMIT 1",
            (template_id,),
        )
        latest = cur.fetchone()
        sha = body_sha256(template.body)
        if latest is not None and latest[1] == sha:
            changes.append(SyncChange(template.slug, latest[0], "unchanged"))
            continue
        version = 1 if latest is None else latest[0] + 1
        cur.execute(
            "INSERT INTO app.prompt_template_versions (template_id, version, body, body_sha256, front_matter, "
            "variables) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (
                template_id,
                version,
                template.body,
                sha,
                json.dumps(template.front_matter()),
                list(template.variables),
            ),
        )
        version_id = cur.fetchone()[0]
        cur.execute(
            "UPDATE app.prompt_templates SET active_version_id = %s, updated_at = now() WHERE id = %s",
            (version_id, template_id),
        )
        changes.append(SyncChange(template.slug, version, "created" if latest is None else "new_version"))
    return changes


def list_templates(cur) -> list[TemplateSummary]:
    cur.execute(
        "SELECT t.slug, t.name, t.description, t.tags, t.output_format, active.version, "
        "(SELECT max(v.version) FROM app.prompt_template_versions AS v WHERE v.template_id = t.id), t.updated_at "
        "FROM app.prompt_templates AS t "
        "LEFT JOIN app.prompt_template_versions AS active ON active.id = t.active_version_id "
        "ORDER BY t.slug"
    )
    return [
        TemplateSummary(slug, name, description, tuple(tags), fmt, active, latest or 0, updated)
        for slug, name, description, tags, fmt, active, latest, updated in cur.fetchall()
    ]


VERSION_COLUMNS = (
    "v.id, v.template_id, t.slug, t.name, t.output_format, v.version, v.body, v.body_sha256, v.variables, "
    "v.created_at, v.id = t.active_version_id"
)


def _version(row) -> TemplateVersion:
    id_, template_id, slug, name, output_format, version, body, sha, names, created_at, is_active = row
    return TemplateVersion(
        id_, template_id, slug, name, output_format, version, body, sha, tuple(names), created_at, bool(is_active)
    )


def versions(cur, slug: str) -> list[TemplateVersion]:
    """Every version of `slug`, oldest first; UnknownTemplate when there is no such template."""
    cur.execute(
        f"SELECT {VERSION_COLUMNS} FROM app.prompt_templates AS t "
        "JOIN app.prompt_template_versions AS v ON v.template_id = t.id WHERE t.slug = %s ORDER BY v.version",
        (slug,),
    )
    found = [_version(row) for row in cur.fetchall()]
    if not found:
        raise UnknownTemplate(f"no prompt template {slug!r} (`burry prompts list` shows them)")
    return found


def get_version(cur, slug: str, version: int | None = None) -> TemplateVersion:
    """`version` of `slug`, or its active version."""
    condition = "v.version = %s" if version is not None else "v.id = t.active_version_id"
    cur.execute(
        f"SELECT {VERSION_COLUMNS} FROM app.prompt_templates AS t "
        f"JOIN app.prompt_template_versions AS v ON v.template_id = t.id WHERE t.slug = %s AND {condition}",
        (slug, version) if version is not None else (slug,),
    )
    row = cur.fetchone()
    if row is None:
        known = versions(cur, slug)  # raises UnknownTemplate for an unknown slug
        numbers = ", ".join(str(v.version) for v in known)
        raise UnknownTemplate(
            f"{slug} has no version {version} (versions: {numbers})"
            if version is not None
            else f"{slug} has no active version"
        )
    return _version(row)


def diff(cur, slug: str, old: int, new: int) -> str:
    """A unified diff of two versions' bodies ('' when they are equal)."""
    before, after = get_version(cur, slug, old), get_version(cur, slug, new)
    return "".join(
        difflib.unified_diff(
            before.body.splitlines(keepends=True),
            after.body.splitlines(keepends=True),
            fromfile=f"{slug} v{old}",
            tofile=f"{slug} v{new}",
        )
    )


def activate(cur, slug: str, version: int) -> TemplateVersion:
    """Make `version` the active one (the next snapshots render it)."""
    chosen = get_version(cur, slug, version)
    cur.execute(
        "UPDATE app.prompt_templates SET active_version_id = %s, updated_at = now() WHERE id = %s",
        (chosen.id, chosen.template_id),
    )
    return get_version(cur, slug, version)
