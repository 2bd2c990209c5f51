from alembic import command

from orchestration import migrate

EXPECTED_TABLES = {
    ("app", "ad_accounts"),
    ("app", "refresh_jobs"),
    ("app", "interactions"),
    ("raw", "customers"),
    ("raw", "campaigns"),
    ("raw", "ad_groups"),
    ("raw", "ads"),
    ("raw", "ad_daily_metrics"),
    ("raw", "campaign_daily_metrics"),
    ("raw", "tickets"),
    ("raw", "ticket_comments"),
    ("raw", "quarantine"),
    ("app", "file_imports"),
}


def tables(cur) -> set[tuple[str, str]]:
    cur.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('raw', 'app') AND table_name <> 'alembic_version'"
    )
    return set(cur.fetchall())


def test_migrates_an_empty_database_to_head(empty_db):
    assert migrate.current_revision(empty_db) is None

    migrate.upgrade(empty_db)

    assert migrate.current_revision(empty_db) == migrate.head_revision(empty_db)
    import psycopg2

    with psycopg2.connect(empty_db.libpq) as conn, conn.cursor() as cur:
        assert tables(cur) == EXPECTED_TABLES
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert cur.fetchone() is not None, "pgvector must be enabled by the migrations"


def test_upgrade_is_idempotent_and_downgrade_round_trips(db, cursor):
    migrate.upgrade(db)  # already at head: a no-op, not an error
    assert migrate.current_revision(db) == migrate.head_revision(db)

    command.downgrade(migrate.alembic_config(db), "base")
    assert tables(cursor) == set()

    migrate.upgrade(db)
    assert tables(cursor) == EXPECTED_TABLES
