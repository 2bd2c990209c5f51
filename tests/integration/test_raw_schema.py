"""The raw contract (resources/raw_schema.py) is what the migrations build and what dbt declares."""

import yaml

from resources.raw_schema import TABLES
from resources.settings import DBT_PROJECT_DIR


def test_the_contract_is_the_migrated_schema(cursor):
    cursor.execute(
        "SELECT table_name, column_name, upper(data_type) FROM information_schema.columns "
        "WHERE table_schema = 'raw' AND table_name <> 'quarantine' ORDER BY table_name, ordinal_position"
    )
    found: dict[str, dict[str, str]] = {}
    for table, column, kind in cursor.fetchall():
        found.setdefault(table, {})[column] = kind
    assert found == {name: table.column_types for name, table in TABLES.items()}

    cursor.execute(
        "SELECT c.conrelid::regclass::text, array_agg(a.attname ORDER BY k.ord) FROM pg_constraint c "
        "CROSS JOIN unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
        "WHERE c.contype = 'p' AND c.connamespace = 'raw'::regnamespace GROUP BY 1"
    )
    keys = {table.removeprefix("raw."): tuple(columns) for table, columns in cursor.fetchall()}
    keys.pop("quarantine")
    assert keys == {name: table.key for name, table in TABLES.items()}


def test_dbt_declares_each_raw_table_once_in_its_domains_sources_file():
    declared = {}
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")):
        for source in (yaml.safe_load(path.read_text()) or {}).get("sources", []):
            if source.get("schema", source["name"]) != "raw":
                continue
            for table in source["tables"]:
                assert table["name"] not in declared, f"raw.{table['name']} declared twice"
                declared[table["name"]] = (
                    path.relative_to(DBT_PROJECT_DIR / "models").parts[0],
                    {c["name"] for c in table.get("columns", [])},
                )
    assert set(declared) == set(TABLES)
    for name, (domain, columns) in declared.items():
        assert domain == TABLES[name].domain, f"raw.{name} is declared under models/{domain}"
        assert columns <= set(TABLES[name].column_types), f"dbt documents columns raw.{name} lacks"
