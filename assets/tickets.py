"""Support-ticket extracts into `raw`."""

from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, multi_asset

from assets.raw_load import latest_ticket_load, load_tickets, refresh_window
from assets.refresh_config import RefreshConfig
from resources.ad_sources import TicketSourceResource
from resources.database import PostgresResource


@multi_asset(
    name="extract_tickets",
    specs=[
        AssetSpec(["raw", "tickets"], description="Support tickets, priority canonicalised.", group_name="tickets",
                  kinds={"python", "postgres"}),
        AssetSpec(["raw", "ticket_comments"], description="Ticket comments.", group_name="tickets",
                  kinds={"python", "postgres"}),
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
        window = refresh_window(source.date_range(), latest_ticket_load(cur, source.source), config.days_lookback)
        counts = load_tickets(cur, source, window)
    context.log.info(f"tickets from {source.source}: {window.start}..{window.end} {counts}")
    for table, rows in counts.items():
        yield MaterializeResult(asset_key=["raw", table], metadata={"rows_written": rows})
