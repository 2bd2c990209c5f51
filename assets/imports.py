"""File imports over a drop folder: <drop>/<ads|tickets>/<mapping name>/<file>.csv|.jsonl.

Each file is imported once per mapping (app.file_imports), so materializing again only picks up
new or changed files. The same engine serves `burry import`.
"""

from pathlib import Path

from dagster import AssetExecutionContext, Failure, MaterializeResult, asset

from assets.file_import import MappingError, import_file, load_mapping
from orchestration import settings
from resources.database import PostgresResource

IMPORTABLE = (".csv", ".jsonl", ".ndjson")


def dropped_files(root: Path) -> list[tuple[Path, Path]]:
    """(file, mapping) pairs, in a stable order; a folder without a shipped mapping is an error."""
    pairs = []
    for kind in ("ads", "tickets"):
        for folder in sorted(p for p in (root / kind).glob("*") if p.is_dir()):
            mapping = settings.MAPPINGS_DIR / f"{folder.name}.yml"
            for file in sorted(f for f in folder.iterdir() if f.suffix.lower() in IMPORTABLE):
                pairs.append((file, mapping))
    return pairs


@asset(key=["raw", "file_imports"], group_name="imports", kinds={"python", "postgres"},
       description="Ad and ticket files dropped in BURRY_DROP_DIR, imported into raw with their mapping.")
def import_dropped_files(context: AssetExecutionContext, database: PostgresResource) -> MaterializeResult:
    root = settings.drop_dir()
    totals = {"files": 0, "new_files": 0, "rows_loaded": 0, "rows_quarantined": 0}
    problems = []
    for file, mapping_path in dropped_files(root):
        totals["files"] += 1
        try:
            summary = import_file(database.connect, file, load_mapping(mapping_path))
        except (MappingError, FileNotFoundError) as exc:
            problems.append(f"{file.relative_to(root)}: {exc}")
            continue
        for line in summary.lines():
            context.log.info(line)
        if not summary.already_imported:
            totals["new_files"] += 1
            totals["rows_loaded"] += summary.rows_loaded
            totals["rows_quarantined"] += summary.rows_quarantined
    if problems:
        raise Failure("Some dropped files could not be imported (others were):\n" + "\n".join(problems))
    return MaterializeResult(metadata={**totals, "drop_dir": str(root)})
