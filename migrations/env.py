"""Alembic environment: migrations are plain SQL, run against the URL Burry resolves."""

from alembic import context
from sqlalchemy import create_engine, pool, text

VERSION_SCHEMA = "app"

config = context.config
url = config.get_main_option("sqlalchemy.url")


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # The version table lives in `app`, which must exist before Alembic creates it.
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}"))
        connection.commit()
        context.configure(connection=connection, version_table_schema=VERSION_SCHEMA)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=url, version_table_schema=VERSION_SCHEMA, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
