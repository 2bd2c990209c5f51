import pytest

from resources.database import DatabaseNotConfigured, resolve_database_url
from resources.database_url import DatabaseUrl


def test_socket_url_forms():
    url = DatabaseUrl.parse("postgresql://postgres:@/burry?host=/var/tmp/x/pg")
    assert url.sqlalchemy.startswith("postgresql+psycopg2://")
    assert url.libpq.startswith("postgresql://")
    env = url.dbt_env()
    assert env["BURRY_DB_HOST"] == "/var/tmp/x/pg"
    assert env["BURRY_DB_PORT"] == "5432"
    assert env["BURRY_DB_NAME"] == "burry"


def test_tcp_url_forms_keep_the_password_out_of_the_redacted_form():
    url = DatabaseUrl.parse("postgresql+psycopg://alice:s3cret@db.internal:6543/analytics")
    assert url.sqlalchemy == "postgresql+psycopg2://alice:s3cret@db.internal:6543/analytics"
    assert "s3cret" not in url.redacted()
    assert url.dbt_env() == {
        "BURRY_DB_HOST": "db.internal",
        "BURRY_DB_PORT": "6543",
        "BURRY_DB_USER": "alice",
        "BURRY_DB_PASSWORD": "s3cret",
        "BURRY_DB_NAME": "analytics",
    }


def test_rejects_other_databases():
    with pytest.raises(ValueError, match="PostgreSQL"):
        DatabaseUrl.parse("mysql://root@localhost/db")


def test_database_url_wins(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@example.invalid:5432/x")
    assert resolve_database_url().url.host == "example.invalid"


def test_without_database_url_a_stopped_embedded_server_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("BURRY_PG_DATA", str(tmp_path / "pg"))
    with pytest.raises(DatabaseNotConfigured, match="burry db start"):
        resolve_database_url()
