"""The one PostgreSQL every part of Burry uses: which server, and connections to it.

DATABASE_URL when set, else the embedded server (resources/embedded_postgres.py). The URL forms
each client needs come from `resources.database_url.DatabaseUrl`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg2
import psycopg2.extensions

from resources import settings
from resources.database_url import DatabaseUrl
from resources.embedded_postgres import EmbeddedPostgres


class DatabaseNotConfigured(RuntimeError):
    pass


def resolve_database_url() -> DatabaseUrl:
    """DATABASE_URL when set, else the running embedded server; never starts anything itself."""
    external = settings.external_database_url()
    if external:
        return DatabaseUrl.parse(external)
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
