"""The one PostgreSQL every part of Burry uses, and the URL forms each client needs.

The same server is reached by SQLAlchemy (Alembic, Dagster storage), psycopg2 (loaders, the ask
service) and dbt (which wants host/port/user/... fields, with a socket directory as `host`).
`DatabaseUrl` derives all of them from one URL so they can never disagree.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import psycopg2
import psycopg2.extensions
from dagster import ConfigurableResource
from sqlalchemy.engine import URL, make_url

from orchestration import settings


class DatabaseNotConfigured(RuntimeError):
    pass


@dataclass(frozen=True)
class DatabaseUrl:
    url: URL

    @classmethod
    def parse(cls, raw: str) -> "DatabaseUrl":
        url = make_url(raw)
        if url.get_backend_name() != "postgresql":
            raise ValueError(f"Burry needs PostgreSQL, got a {url.get_backend_name()!r} URL")
        return cls(url)

    @property
    def sqlalchemy(self) -> str:
        # psycopg2, not psycopg 3: dagster-postgres's NOTIFY-based watchers break on psycopg 3.
        return self.url.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)

    @property
    def libpq(self) -> str:
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def host(self) -> str:
        # A Unix-socket URL carries the socket directory as ?host=/dir.
        return str(self.url.query.get("host") or self.url.host or "localhost")

    def dbt_env(self) -> dict[str, str]:
        """Fields for dbt_project/profiles.yml (dbt takes the socket directory as `host`)."""
        return {
            "BURRY_DB_HOST": self.host,
            "BURRY_DB_PORT": str(self.url.port or 5432),
            "BURRY_DB_USER": self.url.username or "postgres",
            "BURRY_DB_PASSWORD": self.url.password or "",
            "BURRY_DB_NAME": self.url.database or "postgres",
        }

    def redacted(self) -> str:
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    def with_database(self, name: str) -> "DatabaseUrl":
        return DatabaseUrl(self.url.set(database=name))


def resolve_database_url() -> DatabaseUrl:
    """DATABASE_URL when set, else the running embedded server; never starts anything itself."""
    external = settings.external_database_url()
    if external:
        return DatabaseUrl.parse(external)
    from resources.embedded_postgres import EmbeddedPostgres

    server = EmbeddedPostgres(settings.pg_data_dir())
    url = server.url()
    if url is None:
        raise DatabaseNotConfigured(
            f"The embedded PostgreSQL ({server.pgdata}) is not running. "
            "Start it with `burry db start`, or set DATABASE_URL to an external PostgreSQL."
        )
    return url


@contextlib.contextmanager
def connect(url: DatabaseUrl) -> Iterator[psycopg2.extensions.connection]:
    """A transaction: committed when the block succeeds, rolled back when it raises."""
    conn = psycopg2.connect(url.libpq, application_name="burry")
    try:
        with conn:
            yield conn
    finally:
        conn.close()


class PostgresResource(ConfigurableResource):
    """Dagster's handle on the database. No URL in run config: secrets stay in the environment."""

    def database_url(self) -> DatabaseUrl:
        return resolve_database_url()

    @contextlib.contextmanager
    def connect(self) -> Iterator[psycopg2.extensions.connection]:
        with connect(self.database_url()) as conn:
            yield conn
