"""File imports as assets: `imports/ad_files` and `imports/ticket_files` feed the raw tables.

Files in the drop folder, <drop>/<ads|tickets>/<mapping name>/<file>.csv|.jsonl, are imported
when the asset materializes (the `drop_folder` sensor requests it when files appear). Each file
is imported once per mapping (app.file_imports), so materializing again only picks up new or
changed files. `burry import` runs the same engine and records a runless materialization of the
same asset (`import_materialization`), so the UI shows every import and the marts as stale.
"""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetSpec,
    Failure,
    MaterializeResult,
    multi_asset,
)

from assets.ads.extract import AD_FILE_IMPORTS
from assets.imports.changes import UndoSummary
from assets.imports.mapping import ImportRefused, load_mapping
from assets.imports.write import ImportSummary, import_file
from assets.tickets.extract import TICKET_FILE_IMPORTS
from resources import settings
from resources.postgres import PostgresResource

IMPORTABLE = (".csv", ".jsonl", ".ndjson")
IMPORT_ASSETS = {"ads": AD_FILE_IMPORTS, "tickets": TICKET_FILE_IMPORTS}


def dropped_files(root: Path, kinds=tuple(IMPORT_ASSETS)) -> list[tuple[Path, Path]]:
    """(file, mapping) pairs, in a stable order; a folder without a shipped mapping is an error."""
    pairs = []
    for kind in kinds:
        for folder in sorted(p for p in (root / kind).glob("*") if p.is_dir()):
            mapping = settings.MAPPINGS_DIR / f"{folder.name}.yml"
            for file in sorted(f for f in folder.iterdir() if f.suffix.lower() in IMPORTABLE):
                pairs.append((file, mapping))
    return pairs


def summary_metadata(summaries: list[ImportSummary]) -> dict:
    """Counts of what a set of imports loaded (files already imported, or without data rows, count as files only)."""
    new = [s for s in summaries if s.recorded]
    return {
        "files": len(summaries),
        "new_files": len(new),
        "rows_loaded": sum(s.rows_loaded for s in new),
        "rows_quarantined": sum(s.rows_quarantined for s in new),
        "import_ids": [s.import_id for s in new],
    }


def import_materialization(summary: ImportSummary, mapping_name: str) -> AssetMaterialization:
    """A CLI import, as an event on the import asset of its kind (no run: `burry import`)."""
    return AssetMaterialization(
        asset_key=IMPORT_ASSETS[summary.kind],
        description=f"burry import {summary.kind} {summary.file} --mapping {mapping_name}",
        metadata={
            **summary_metadata([summary]),
            "file": summary.file,
            "mapping": mapping_name,
            "import_id": summary.import_id,
            "via": "burry import",
        },
    )


def undo_materialization(summary: UndoSummary) -> AssetMaterialization:
    """`burry import undo ID`, as an event on the import asset of its kind (no run), so the UI shows
    it beside the import it took back and the marts downstream as stale."""
    return AssetMaterialization(
        asset_key=IMPORT_ASSETS[summary.kind],
        description=f"burry import undo {summary.import_id} ({summary.file})",
        metadata={
            "undone_import_id": summary.import_id,
            "file": summary.file,
            "mapping": summary.mapping_name,
            "rows_removed": sum(summary.removed.values()),
            "rows_restored": sum(summary.restored.values()),
            "via": "burry import undo",
        },
    )


@multi_asset(
    name="dropped_file_imports",
    can_subset=True,
    specs=[
        AssetSpec(
            key,
            group_name="imports",
            kinds={"python", "postgres"},
            description=f"{kind.capitalize()} files dropped in BURRY_DROP_DIR/{kind}/<mapping>/, imported "
            "into raw with their mapping; `burry import` records here too.",
        )
        for kind, key in IMPORT_ASSETS.items()
    ],
)
def import_dropped_files(context: AssetExecutionContext, database: PostgresResource):
    root = settings.drop_dir()
    problems = []
    for kind, key in IMPORT_ASSETS.items():
        if key not in context.selected_asset_keys:
            continue
        summaries = []
        for file, mapping_path in dropped_files(root, kinds=(kind,)):
            try:
                summary = import_file(database.connect, file, load_mapping(mapping_path), progress=context.log.info)
            except (ImportRefused, OSError) as exc:
                problems.append(f"{file.relative_to(root)}: {exc}")
                continue
            for line in summary.lines():
                context.log.info(line)
            summaries.append(summary)
        yield MaterializeResult(asset_key=key, metadata={**summary_metadata(summaries), "drop_dir": str(root / kind)})
    if problems:
        raise Failure("Some dropped files could not be imported (others were):\n" + "\n".join(problems))
