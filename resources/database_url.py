"""One URL, every client's form of it.

The same server is reached by SQLAlchemy (Alembic, Dagster storage), psycopg2 (loaders, the ask
service) and dbt (which wants host/port/user/... fields, with a socket directory as `host`).
`DatabaseUrl` derives all of them from one URL so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url


@dataclass(frozen=True)
class DatabaseUrl:
    url: URL

    @classmethod
    def parse(cls, raw: str) -> DatabaseUrl:
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

    def with_database(self, name: str) -> DatabaseUrl:
        return DatabaseUrl(self.url.set(database=name))
