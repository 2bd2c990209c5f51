"""Dagster's handle on the database (resources/database.py holds the plain functions, so the ask
service and the CLI use the database without loading Dagster)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg2.extensions
from dagster import ConfigurableResource
from pydantic import Field

from resources.database import connect, resolve_database_url
from resources.database_url import DatabaseUrl


class PostgresResource(ConfigurableResource):
    """Dagster's handle on the database. Bound without a URL in definitions.py: it resolves
    DATABASE_URL or the embedded server when used, so no secret sits in the resource's config."""

    url: str | None = Field(
        default=None,
        description="A fixed libpq URL, for tools such as benchmarks; unset: DATABASE_URL or the embedded server.",
    )

    def database_url(self) -> DatabaseUrl:
        return DatabaseUrl.parse(self.url) if self.url else resolve_database_url()

    @contextlib.contextmanager
    def connect(self) -> Iterator[psycopg2.extensions.connection]:
        with connect(self.database_url()) as conn:
            yield conn
