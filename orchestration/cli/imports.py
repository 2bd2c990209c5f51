"""`burry import ads|tickets FILE --mapping M`: import a CSV/JSONL export into raw.

Exit 0 when rows were loaded (bad rows are kept in quarantine: partial success is success) or the
file was already imported with this mapping; 1 when nothing was loaded; 2 when the mapping or the
file is unusable (not found, wrong kind, header that does not fit: nothing was imported)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import database_url, fail, finish, say, spinner, warn

app = typer.Typer(help="Import an ads or tickets file (CSV, JSONL) with a mapping.", no_args_is_help=True)

File = Annotated[Path, typer.Argument(help="The CSV or JSONL file.", show_default=False)]
MappingName = Annotated[
    str,
    typer.Option(
        "--mapping", help="A mapping YAML file, or the name of a shipped one (see mappings/).", show_default=False
    ),
]


@app.command()
def ads(file: File, mapping: MappingName) -> None:
    """Import ad metrics (e.g. a Google Ads UI or Meta Ads Manager export)."""
    finish(import_one("ads", file, mapping))


@app.command()
def tickets(file: File, mapping: MappingName) -> None:
    """Import support tickets (e.g. a Jira export)."""
    finish(import_one("tickets", file, mapping))


def import_one(kind: str, file: Path, mapping_name: str) -> int:
    from assets.imports.mapping import MappingError, resolve_mapping

    # Everything that needs no database first: a wrong mapping or file fails fast, even with no server.
    try:
        mapping = resolve_mapping(mapping_name)
        if mapping.kind != kind:
            raise MappingError(f"mapping {mapping.name!r} is for {mapping.kind}, not {kind}")
        if not file.is_file():
            raise FileNotFoundError(f"no file {str(file)!r}")
    except (MappingError, FileNotFoundError) as exc:
        fail(f"error: {exc}", 2)

    from assets.imports.write import import_file
    from resources.database import connect

    url = database_url()
    try:
        with spinner(f"importing {file.name} with mapping {mapping.name}"):
            summary = import_file(lambda: connect(url), file, mapping)
    except (MappingError, FileNotFoundError) as exc:
        fail(f"error: {exc}", 2)
    say("\n".join(summary.lines()))
    if summary.rows_quarantined:
        say(f"  see: SELECT row_number, reason, payload FROM raw.quarantine WHERE import_id = {summary.import_id}")
    if summary.already_imported:
        return 0
    if not summary.rows_loaded:
        return 1
    record_in_dagster(url, summary, mapping.name)
    say("  rebuild the marts with: burry refresh marts")
    return 0


def record_in_dagster(url, summary, mapping_name: str) -> None:
    """The import as an event on its asset, so the Dagster UI shows it beside the drop folder's."""
    from assets.imports.drop_folder import import_materialization
    from orchestration.instance import open_instance

    try:
        with open_instance(url) as instance:
            instance.report_runless_asset_event(import_materialization(summary, mapping_name))
    except Exception as exc:  # the rows are committed: a missing event must not turn this into a failure
        warn(f"warning: imported, but not recorded in Dagster ({type(exc).__name__}: {exc})")
