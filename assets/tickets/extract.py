"""Support-ticket extracts into `raw`."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from assets.refresh import RefreshConfig, refresh_window
from assets.tickets.load import latest_ticket_load, load_tickets
from resources.postgres import PostgresResource
from resources.raw_schema import tables
from resources.tickets.source import TicketSourceResource

RAW_TICKET_TABLES = tables("tickets")
# Files dropped for import feed the same raw tables (assets/imports/drop_folder.py).
TICKET_FILE_IMPORTS = AssetKey(["imports", "ticket_files"])


@multi_asset(
    name="extract_tickets",
    specs=[
        AssetSpec(
            ["raw", t.name],
            description=t.description,
            group_name="tickets_raw",
            kinds={"python", "postgres"},
            deps=[TICKET_FILE_IMPORTS],
        )
        for t in RAW_TICKET_TABLES
    ],
)
def extract_tickets(
    context: AssetExecutionContext,
    config: RefreshConfig,
    database: PostgresResource,
    ticket_source: TicketSourceResource,
):
    source = ticket_source.get_source()
    with database.connect() as conn, conn.cursor() as cur:
        window = refresh_window(source.date_range(), latest_ticket_load(cur, source.source), config.lookback_days)
        counts = load_tickets(cur, source, window)
    context.log.info(f"tickets from {source.source}: {window.start}..{window.end} {counts}")
    for table, rows in counts.items():
        yield MaterializeResult(asset_key=["raw", table], metadata={"rows_written": rows})
