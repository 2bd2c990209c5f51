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
    ("app", "import_changes"),
    ("app", "workspaces"),
    ("app", "users"),
    ("app", "api_keys"),
    ("app", "ticket_sources"),
    ("app", "feedback"),
    ("app", "prompt_templates"),
    ("app", "prompt_template_versions"),
    ("app", "prompt_snapshots"),
    ("app", "served_prompts"),
    ("app", "embedding_spaces"),
    ("app", "ai_usage"),
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


def test_0004_gives_accounts_the_owner_their_customer_row_names(empty_db):
    import psycopg2

    migrate.upgrade(empty_db, "0003")
    with psycopg2.connect(empty_db.libpq) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO app.ad_accounts (platform, account_id) VALUES ('google_ads', '1'), ('google_ads', '2');"
            "INSERT INTO raw.customers (platform, account_id, currency_code, time_zone, source) "
            "VALUES ('google_ads', '1', 'USD', 'UTC', 'demo')"
        )

    migrate.upgrade(empty_db)

    conn = psycopg2.connect(empty_db.libpq)
    conn.autocommit = True  # no open transaction to hold the downgrade's ALTER TABLE back
    with conn.cursor() as cur:
        cur.execute("SELECT account_id, source FROM app.ad_accounts ORDER BY 1")
        assert cur.fetchall() == [("1", "demo"), ("2", None)]  # unknown owner: the next registrar's
        command.downgrade(migrate.alembic_config(empty_db), "0003")
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'ad_accounts'")
        assert "source" not in {c for (c,) in cur.fetchall()}
    conn.close()


def test_0006_keeps_old_interactions_and_its_downgrade_drops_workspace_wide_ones(empty_db):
    import psycopg2

    migrate.upgrade(empty_db, "0005")
    with psycopg2.connect(empty_db.libpq) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO app.interactions (platform, account_id, question, answer, route) "
            "VALUES ('google_ads', '1', 'q', 'a', 'metric_sql')"
        )
    conn.close()
    migrate.upgrade(empty_db, "0006")
    conn = psycopg2.connect(empty_db.libpq)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT account_id, source, workspace_id FROM app.interactions")
        assert cur.fetchall() == [("1", "http", None)]
        cur.execute("INSERT INTO app.interactions (question, answer, route) VALUES ('whole workspace', 'a', 'r')")
        command.downgrade(migrate.alembic_config(empty_db), "0005")
        cur.execute("SELECT question FROM app.interactions")
        assert cur.fetchall() == [("q",)]
    conn.close()
