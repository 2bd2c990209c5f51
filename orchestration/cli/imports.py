"""`burry import ads|tickets FILE --mapping M`: import a CSV/JSONL export into raw;
`burry import list` shows the imports, `burry import undo ID` takes one back.

Exit codes of `burry import ads|tickets` (also in their --help and the README):
  0  rows were loaded (bad rows are kept in raw.quarantine: partial success is success), or the
     file was already imported with this mapping and encoding and rows were loaded then
  1  nothing was loaded: every row was quarantined (now, or when the file was imported before), or
     the file has no data rows (nothing is recorded then, so the same bytes can be imported later)
  2  the mapping or the file is unusable: mapping not found or of the other kind, a header that
     does not fit, a file that cannot be read in any encoding (nothing was imported)
  3  another import of the same file is running (nothing was imported)
  4  the file names ad accounts another source owns; `--merge` adds the rows to them anyway
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import database_url, fail, finish, print_rows, say, spinner, warn

# One line each: the help renders them as written.
EXIT_CODES = (
    "Exit codes: 0 loaded (bad rows quarantined) or already imported; 1 nothing loaded (every row "
    "quarantined, now or before; or no data rows: nothing recorded); 2 mapping or file unusable (not found, "
    "wrong kind, header does not fit, unreadable encoding); 3 another import of this file is running; 4 the "
    "file names ad accounts another source owns (see --merge)."
)
UNDO_EXIT_CODES = (
    "Exit codes: 0 undone; 1 not undone: later writes changed rows it wrote (undo the later imports first, "
    "newest first), it was undone already, or it was made before imports recorded their changes; 2 no import "
    "with this id; 3 an import of the same file is running."
)

app = typer.Typer(
    help="Import an ads or tickets file (CSV, JSONL) with a mapping; list imports; undo one.\n\n" + EXIT_CODES,
    no_args_is_help=True,
)

File = Annotated[Path, typer.Argument(help="The CSV or JSONL file.", show_default=False)]
MappingName = Annotated[
    str,
    typer.Option(
        "--mapping", help="A mapping YAML file, or the name of a shipped one (see mappings/).", show_default=False
    ),
]
Encoding = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="The file's text encoding (utf-8, cp1252, latin-1, utf-16, ...). Default: a byte order mark, "
        "else UTF-8 if the file is valid UTF-8, else detected.",
        show_default=False,
    ),
]
Merge = Annotated[
    bool,
    typer.Option(
        "--merge",
        help="Add the rows to ad accounts another source (the API, the demo, another export) owns. Their "
        "name, currency and time zone never change; rows in another currency are quarantined.",
    ),
]

Workspace = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        help="The workspace that gets the file's new ad accounts (or its ticket source), so its keys can ask "
        "about them. Default: the only workspace, if there is exactly one.",
        show_default=False,
    ),
]


@app.command(epilog=EXIT_CODES)
def ads(
    file: File, mapping: MappingName, encoding: Encoding = None, merge: Merge = False, workspace: Workspace = None
) -> None:
    """Import ad metrics (e.g. a Google Ads UI or Meta Ads Manager export)."""
    finish(import_one("ads", file, mapping, encoding, merge, workspace))


@app.command(epilog=EXIT_CODES)
def tickets(file: File, mapping: MappingName, encoding: Encoding = None, workspace: Workspace = None) -> None:
    """Import support tickets (e.g. a Jira export)."""
    finish(import_one("tickets", file, mapping, encoding, False, workspace))


def import_one(
    kind: str, file: Path, mapping_name: str, encoding: str | None, merge: bool, workspace: str | None = None
) -> int:
    from assets.imports.mapping import ImportRefused, MappingError, resolve_mapping

    # Everything that needs no database first: a wrong mapping or file fails fast, even with no server.
    try:
        mapping = resolve_mapping(mapping_name)
        if mapping.kind != kind:
            raise MappingError(f"mapping {mapping.name!r} is for {mapping.kind}, not {kind}")
        if not file.is_file():
            raise FileNotFoundError(f"no file {str(file)!r}")
    except (ImportRefused, FileNotFoundError) as exc:
        fail(f"error: {exc}", 2)

    from assets.imports.write import import_file
    from resources.database import connect

    url = database_url()
    if workspace is not None:
        check_workspace(url, workspace)
    try:
        with spinner(f"importing {file.name} with mapping {mapping.name}"):
            summary = import_file(lambda: connect(url), file, mapping, encoding, merge, progress=warn)
    except ImportRefused as exc:
        fail(f"error: {exc}", exc.exit_code)
    except OSError as exc:  # the file went away or is not readable
        fail(f"error: cannot read {str(file)!r}: {exc.strerror or exc}; check the path and its permissions", 2)
    say("\n".join(summary.lines()))
    if summary.rows_quarantined:
        say(f"  see: SELECT row_number, reason, payload FROM raw.quarantine WHERE import_id = {summary.import_id}")
    if summary.rows_loaded:
        grant_imported(url, kind, mapping.source, workspace)
    if summary.already_imported:
        return 0 if summary.rows_loaded else 1
    if not summary.rows_loaded:
        return 1
    from assets.imports.drop_folder import import_materialization

    record_in_dagster(url, import_materialization(summary, mapping.name), "imported")
    say("  rebuild the marts with: burry refresh marts")
    return 0


def check_workspace(url, workspace: str) -> None:
    """Before importing anything: a --workspace that does not exist is a usage error (exit 2)."""
    from ask.auth import NotFound
    from ask.workspaces import workspace_id
    from resources.database import connect

    with connect(url) as conn, conn.cursor() as cur:
        try:
            workspace_id(cur, workspace)
        except NotFound as exc:
            fail(f"error: {exc}", 2)


def grant_imported(url, kind: str, source: str, workspace: str | None) -> None:
    """Give the workspace what the import brought that no workspace owns: the ad accounts `source`
    registered, or the ticket source. Never moves what another workspace owns, never fails the import."""
    from ask.auth import only_workspace
    from ask.workspaces import grant
    from resources.database import connect

    try:
        with connect(url) as conn, conn.cursor() as cur:
            if kind == "ads":
                cur.execute(
                    "SELECT platform, account_id FROM app.ad_accounts WHERE source = %s AND workspace_id IS NULL "
                    "ORDER BY 1, 2",
                    (source,),
                )
                accounts = [(platform, account_id) for platform, account_id in cur.fetchall()]
                sources: list[str] = []
            else:
                cur.execute(
                    "SELECT 1 FROM app.ticket_sources WHERE source = %s AND workspace_id IS NOT NULL", (source,)
                )
                accounts, sources = [], ([] if cur.fetchone() else [source])
            if not accounts and not sources:
                return
            named = ", ".join([f"{p}:{a}" for p, a in accounts] + [f"tickets:{s}" for s in sources])
            target = workspace or only_workspace(cur)
            if target is None:
                say(
                    f"  no workspace owns {named} yet: grant with `burry workspaces grant NAME --all-unowned` "
                    "(or import with --workspace NAME)"
                )
                return
            grant(cur, target, accounts, sources)
        say(f"  granted to workspace {target}" + ("" if workspace else " (the only workspace)") + f": {named}")
    except Exception as exc:  # the rows are committed: ownership can be granted later
        warn(f"warning: imported, but not granted to a workspace ({type(exc).__name__}: {exc})")


@app.command("list")
def list_imports(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many imports to show, newest first.")] = 50,
) -> None:
    """List file imports, newest first: id, when, kind, file, mapping, rows loaded and quarantined, undone."""
    from assets.imports.changes import list_imports as latest_imports
    from resources.database import connect

    url = database_url()
    records = latest_imports(lambda: connect(url), limit)
    if not records:
        say("no imports yet: burry import ads|tickets FILE --mapping M")
        return
    columns = ("id", "when (UTC)", "kind", "file", "mapping", "loaded", "quarantined", "undone")
    rows = [
        (
            r.id,
            f"{r.imported_at.astimezone(UTC):%Y-%m-%d %H:%M}",
            r.kind,
            r.file_name,
            r.mapping_name,
            r.rows_loaded,
            r.rows_quarantined,
            f"{r.undone_at.astimezone(UTC):%Y-%m-%d %H:%M}" if r.undone_at else None,
        )
        for r in records
    ]
    print_rows(
        "File imports (newest first)",
        columns,
        rows,
        lambda row: (
            f"#{row[0]}  {row[1]}  {row[2]}  {row[3]}  mapping {row[4]}  {row[5]} loaded  {row[6]} quarantined"
            + (f"  undone {row[7]}" if row[7] else "")
        ),
    )


@app.command(
    epilog=UNDO_EXIT_CODES,
    help="Take back what one import wrote: rows it inserted are removed, rows it updated get their previous "
    "values back, its quarantine goes. All or nothing: if a later write changed any of its rows, nothing is "
    "undone and the command names them.",
)
def undo(
    import_id: Annotated[int, typer.Argument(help="The import's id (see burry import list).", show_default=False)],
) -> None:
    from assets.imports.changes import undo_import
    from assets.imports.drop_folder import undo_materialization
    from assets.imports.mapping import ImportRefused
    from resources.database import connect

    url = database_url()
    try:
        summary = undo_import(lambda: connect(url), import_id)
    except ImportRefused as exc:
        fail(f"error: {exc}", exc.exit_code)
    say("\n".join(summary.lines()))
    record_in_dagster(url, undo_materialization(summary), "undone")
    say("  rebuild the marts with: burry refresh marts")


def record_in_dagster(url, event, done: str) -> None:
    """An import or undo as an event on its asset, so the Dagster UI shows it beside the drop folder's."""
    from orchestration.instance import open_instance

    try:
        with open_instance(url) as instance:
            instance.report_runless_asset_event(event)
    except Exception as exc:  # the rows are committed: a missing event must not turn this into a failure
        warn(f"warning: {done}, but not recorded in Dagster ({type(exc).__name__}: {exc})")
