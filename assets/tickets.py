"""Support-ticket extracts into `raw`."""

from dagster import AssetExecutionContext, AssetSpec, Config, MaterializeResult, multi_asset
from pydantic import Field

from assets.raw_load import DEFAULT_LOOKBACK_DAYS, latest_ticket_load, load_tickets, refresh_window
from resources.ad_sources import TicketSourceResource
from resources.database import PostgresResource


class TicketRefreshConfig(Config):
    days_lookback: int = Field(
        default=DEFAULT_LOOKBACK_DAYS,
        description="Days of tickets re-read on each refresh (statuses change); the first load reads all.",
    )


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
    config: TicketRefreshConfig,
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
