"""Support-ticket sources behind one interface, swapped by configuration (`demo` today; helpdesk
exports come in through file imports, assets/imports/)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from dagster import ConfigurableResource
from pydantic import Field

from resources import settings


class TicketSource(Protocol):
    source: str

    def date_range(self) -> tuple[date, date]: ...
    def tickets(self, start: date, end: date) -> list[dict]: ...
    def comments(self, start: date, end: date) -> list[dict]: ...


class TicketSourceResource(ConfigurableResource):
    """Which support-ticket source the ticket assets read (BURRY_TICKET_SOURCE)."""

    kind: str = Field(default="demo", description="demo (deterministic synthetic tickets).")
    demo_end_date: str | None = Field(
        default=None, description="Last demo day (YYYY-MM-DD); default BURRY_DEMO_END_DATE, else yesterday."
    )
    demo_days: int = Field(default=90, description="Days of demo history.")

    def get_source(self) -> TicketSource:
        if self.kind == "demo":
            from resources.tickets.demo import DemoTicketSource

            end = date.fromisoformat(self.demo_end_date) if self.demo_end_date else settings.demo_end_date()
            return DemoTicketSource(end_date=end, days=self.demo_days)
        raise ValueError(f"Unknown ticket source {self.kind!r}: BURRY_TICKET_SOURCE is demo.")
