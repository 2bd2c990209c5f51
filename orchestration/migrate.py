"""Versioned schema migrations (Alembic) for the `raw`, `app` and `analytics` schemas."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from resources.database_url import DatabaseUrl
from resources.settings import MIGRATIONS_DIR


def alembic_config(url: DatabaseUrl) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in the URL (escaped socket path) must be doubled.
    config.set_main_option("sqlalchemy.url", url.sqlalchemy.replace("%", "%%"))
    return config


def upgrade(url: DatabaseUrl, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def current_revision(url: DatabaseUrl) -> str | None:
    engine = create_engine(url.sqlalchemy, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn, opts={"version_table_schema": "app"}).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: DatabaseUrl) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()
