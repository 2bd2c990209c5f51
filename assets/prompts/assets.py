"""Prompts as assets: templates -> snapshots (one partition per subject) -> served prompts.

    prompts/templates   the files of prompts/ synced into the registry (assets/prompts/registry.py)
    prompts/snapshots   per subject (an ad account `google_ads:<id>`, a ticket source `tickets:<source>`):
                        the active template rendered over the prompt marts; check `numbers_in_context`
                        (blocking) fails a snapshot naming a number its context lacks
    prompts/served      per subject: app.served_prompts points the ask service at the new snapshot

Thin functions over assets/prompts/{registry,context,snapshots}.py and resources/prompts/.
"""

from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    DynamicPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from assets.prompts.context import subject_for
from assets.prompts.registry import list_templates, sync_templates
from assets.prompts.snapshots import active_snapshot_id, build_snapshot, serve, store_snapshot
from resources.postgres import PostgresResource
from resources.prompts.files import TemplateFileError, read_templates
from resources.prompts.render import TemplateError
from resources.settings import REPO_ROOT

PROMPTS_DIR = REPO_ROOT / "prompts"
PROMPT_SUBJECTS_NAME = "prompt_subjects"
PROMPT_SUBJECTS = DynamicPartitionsDefinition(name=PROMPT_SUBJECTS_NAME)
TEMPLATES = AssetKey(["prompts", "templates"])
SNAPSHOTS = AssetKey(["prompts", "snapshots"])
SERVED = AssetKey(["prompts", "served"])
# The marts a snapshot reads (assets/prompts/context.py).
PROMPT_MARTS = [
    AssetKey(["analytics", name])
    for name in ("account_overview", "top_campaigns", "top_ad_groups", "top_ads", "tickets_daily")
]
NUMBERS_CHECK = "numbers_in_context"
PREVIEW_CHARS = 3000


class PromptTemplatesConfig(Config):
    directory: str | None = Field(default=None, description="Folder of template files; default: prompts/ in the repo.")


@asset(
    key=TEMPLATES,
    group_name="prompts",
    kinds={"python", "postgres"},
    description="The template files of prompts/ in app.prompt_templates: a changed body makes a new active version.",
)
def prompt_templates(
    context: AssetExecutionContext, config: PromptTemplatesConfig, database: PostgresResource
) -> MaterializeResult:
    directory = Path(config.directory) if config.directory else PROMPTS_DIR
    try:
        templates = read_templates(directory)
    except TemplateFileError as exc:
        raise Failure(str(exc)) from None
    with database.connect() as conn, conn.cursor() as cur:
        changes = sync_templates(cur, templates)
        summaries = list_templates(cur)
    for change in changes:
        if change.status != "unchanged":
            context.log.info(f"{change.slug}: {change.status} v{change.version}")
    return MaterializeResult(
        metadata={
            "templates": len(summaries),
            "changed": MetadataValue.json(
                {c.slug: f"{c.status} v{c.version}" for c in changes if c.status != "unchanged"}
            ),
            "active_versions": MetadataValue.json({s.slug: s.active_version for s in summaries}),
        }
    )


@asset(
    key=SNAPSHOTS,
    partitions_def=PROMPT_SUBJECTS,
    deps=[TEMPLATES, *PROMPT_MARTS],
    group_name="prompts",
    kinds={"python", "postgres"},
    description="Per ad account / ticket source: the active template rendered over the prompt marts "
    "(app.prompt_snapshots, expires after 6 hours).",
    check_specs=[
        AssetCheckSpec(
            NUMBERS_CHECK,
            asset=SNAPSHOTS,
            blocking=True,
            description="Every number the snapshot names is in its context (or the template's own words).",
        )
    ],
)
def prompt_snapshots(context: AssetExecutionContext, database: PostgresResource):
    subject = subject_for(context.partition_key)
    with database.connect() as conn, conn.cursor() as cur:
        try:
            snapshot = build_snapshot(cur, subject)
        except (TemplateError, LookupError) as exc:
            raise Failure(f"{subject.key}: {exc}") from None
        stored = store_snapshot(cur, snapshot, context.run_id)
    unknown = snapshot.unsupported_numbers()
    text = snapshot.text
    shown = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + f"\n... ({len(text) - PREVIEW_CHARS} more)"
    yield MaterializeResult(
        metadata={
            "snapshot_id": MetadataValue.int(stored.id),
            "show": MetadataValue.text(f"burry prompts snapshot {stored.id}"),
            "template": MetadataValue.text(f"{snapshot.template.slug} v{snapshot.template.version}"),
            "token_estimate": MetadataValue.int(snapshot.token_estimate),
            "text_sha256": MetadataValue.text(snapshot.sha256),
            "expires_at": MetadataValue.timestamp(stored.expires_at),
            "rows_used": MetadataValue.json({table: len(keys) for table, keys in snapshot.row_keys.items()}),
            "rendered": MetadataValue.md(f"```\n{shown}\n```"),
        }
    )
    yield AssetCheckResult(
        check_name=NUMBERS_CHECK,
        asset_key=SNAPSHOTS,
        passed=not unknown,
        severity=AssetCheckSeverity.ERROR,
        metadata={"snapshot_id": stored.id, "unsupported_numbers": MetadataValue.json(unknown[:50])},
    )


@asset(
    key=SERVED,
    partitions_def=PROMPT_SUBJECTS,
    deps=[SNAPSHOTS],
    group_name="prompts",
    kinds={"python", "postgres"},
    description="The snapshot the ask service serves per subject (app.served_prompts, a new version each time).",
)
def served_prompts(context: AssetExecutionContext, database: PostgresResource) -> MaterializeResult:
    subject = subject_for(context.partition_key)
    with database.connect() as conn, conn.cursor() as cur:
        snapshot_id = active_snapshot_id(cur, subject)
        if snapshot_id is None:
            raise Failure(f"{subject.key}: no active snapshot to serve")
        version = serve(cur, subject, snapshot_id)
    return MaterializeResult(
        metadata={"snapshot_id": MetadataValue.int(snapshot_id), "served_version": MetadataValue.int(version)}
    )
