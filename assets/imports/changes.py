"""What a file import wrote, recorded as it writes (`app.import_changes`), and how to take it back.

Every write of an import is one statement that writes the rows and, from the same snapshot, logs
each row it wrote with the row as it was before (NULL: the import inserted it). Raw tables carry a
write stamp (`_loaded_at` / `_extracted_at`, set to the writing transaction's `now()`), so a row
still holds what import X wrote exactly when its stamp equals X's `imported_at`: any later write
(another import, an extract) moves the stamp.

`undo_import` takes an import back in one transaction, or not at all: rows it inserted are deleted
(dimension rows and accounts only when no other row still uses them), rows it updated get their
previous values back, its quarantine goes and the quarantine it replaced comes back. When a later
write changed any row it wrote, nothing is undone and the refusal names the rows: undo the later
imports first, newest first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from psycopg2.extras import execute_values

from assets.imports.mapping import ImportRefused, ImportRunning
from resources.raw_schema import TABLES, RawTable, row_values

# pg_try_advisory_xact_lock(class, key): imports (and undos) of one file, by content, run one at a time.
IMPORT_LOCK_CLASS = 0x42757272  # "Burr"
ACCOUNTS = "app.ad_accounts"
QUARANTINE = "raw.quarantine"
ACCOUNT_DETAILS = ("name", "currency_code", "time_zone", "source")
# Undo order: rows that use others first, so a dimension row is removed once nothing uses it.
UNDO_ORDER = (
    "ticket_comments",
    "tickets",
    "ad_daily_metrics",
    "campaign_daily_metrics",
    "ads",
    "ad_groups",
    "campaigns",
    "customers",
)
# Raw rows that keep a dimension row in use: (table, the columns that point at the dimension row).
USED_BY = {
    "ads": (("ad_daily_metrics", ("platform", "account_id", "ad_group_id", "ad_id")),),
    "ad_groups": (
        ("ads", ("platform", "account_id", "ad_group_id")),
        ("ad_daily_metrics", ("platform", "account_id", "ad_group_id")),
    ),
    "campaigns": tuple(
        (t, ("platform", "account_id", "campaign_id"))
        for t in ("ad_groups", "ad_daily_metrics", "campaign_daily_metrics")
    ),
    "customers": tuple(
        (t, ("platform", "account_id"))
        for t in ("campaigns", "ad_groups", "ads", "ad_daily_metrics", "campaign_daily_metrics")
    ),
}


class UndoRefused(ImportRefused):
    """Nothing was undone: a later write changed the import's rows, or it cannot be undone (exit 1)."""

    exit_code = 1


class NoSuchImport(ImportRefused):
    """No import has this id (exit 2)."""


def import_lock_key(digest: str) -> tuple[int, int]:
    """The advisory lock of a file's imports: (class, 32 bits of its content hash)."""
    return IMPORT_LOCK_CLASS, int.from_bytes(bytes.fromhex(digest[:8]), "big", signed=True)


# -- recording -------------------------------------------------------------------------------------
def _match(a: str, b: str, key: tuple[str, ...]) -> str:
    return " AND ".join(f"{a}.{k} = {b}.{k}" for k in key)


def _key_json(alias: str, key: tuple[str, ...]) -> str:
    return "jsonb_build_object(" + ", ".join(f"'{k}', {alias}.{k}" for k in key) + ")"


# Keys of inserted rows logged per app.import_changes row (migration 0010): one row per chunk.
KEYS_PER_ROW = 10_000


# From PostgreSQL 18 an upsert returns the rows as they were (RETURNING old): no lookup before the write.
RETURNING_OLD_FROM = 180000


def _returns_old(cur) -> bool:
    return cur.connection.server_version >= RETURNING_OLD_FROM


def _logged_write(
    import_id: int,
    spec: RawTable,
    columns: list[str],
    incoming: str,
    update: bool,
    once: bool = False,
    returning_old: bool = False,
    insert_only: bool = False,
) -> str:
    """SQL: write `incoming` (a VALUES list or a query with `columns`) into the raw table, and log
    what it wrote: a row it updated with its previous values (one log row each), the keys of rows
    it inserted in batches (`keys`, KEYS_PER_ROW to a log row). `update`: upsert; else insert the
    missing rows only. `once`: a row this transaction wrote already (an earlier statement of the
    same import) is neither updated nor returned. `returning_old`: the server has RETURNING old
    (PostgreSQL 18), else the previous rows are looked up before the write. `insert_only`: no row
    has any of these keys (a plain INSERT, which fails with UniqueViolation if one does). Returns
    one row: the number of rows written."""
    names = ", ".join(columns)
    key = spec.key
    returned = ""
    if update:
        sets = [f"{c} = EXCLUDED.{c}" for c in columns if c not in key] + [f"{spec.stamp} = now()"]
        conflict = "DO UPDATE SET " + ", ".join(sets)
        if once:
            # xmin: the transaction that wrote the row version; this one's own id for its own writes.
            conflict += " WHERE t.xmin <> pg_current_xact_id()::xid"
        # A data-modifying CTE sees the snapshot before the write: the rows as they were. Looked up
        # by key, one index probe per incoming row (OFFSET 0 keeps the planner from hashing the
        # whole table instead, whose statistics may predate rows this import just wrote).
        previous = f"""
previous AS (
    SELECT p.* FROM incoming AS i CROSS JOIN LATERAL (
        SELECT {", ".join(f"t.{k}" for k in key)}, to_jsonb(t) AS row
        FROM {spec.qualified} AS t WHERE {_match("t", "i", key)} OFFSET 0) AS p),"""
        logged: str | None = f"SELECT w.*, p.row FROM written AS w LEFT JOIN previous AS p ON {_match('p', 'w', key)}"
        if returning_old:
            previous, returned, logged = "", ", to_jsonb(old) AS row", None  # the write's rows are the log's
    else:
        conflict = "DO NOTHING"
        previous = ""
        logged = "SELECT w.*, NULL::jsonb AS row FROM written AS w"
    on_conflict = f"\n    ON CONFLICT ({', '.join(key)}) {conflict}"
    if insert_only:
        on_conflict, previous, returned, logged = "", "", ", NULL::jsonb AS row", None
    arrays = ", ".join(f"'{k}', array_agg(l.{k})" for k in key)
    write_name, log_cte = ("logged", "") if logged is None else ("written", f"\nlogged AS ({logged}),")
    if once:  # one chunk of a file (CHUNK_ROWS): one log row
        batches = "\n    FROM logged AS l WHERE l.row IS NULL HAVING count(*) > 0"
    else:
        batches = (
            f"\n    FROM (SELECT n.*, (row_number() OVER () - 1) / {KEYS_PER_ROW} AS batch FROM logged AS n "
            "WHERE n.row IS NULL) AS l GROUP BY l.batch"
        )
    return f"""
WITH incoming ({names}) AS ({incoming}),{previous}
{write_name} AS (
    INSERT INTO {spec.qualified} AS t ({names}) SELECT {names} FROM incoming{on_conflict}
    RETURNING {", ".join(f"t.{k}" for k in key)}{returned}),{log_cte}
updated AS (
    INSERT INTO app.import_changes (import_id, table_name, key, previous)
    SELECT {int(import_id)}, '{spec.qualified}', {_key_json("l", key)}, l.row FROM logged AS l WHERE l.row IS NOT NULL),
inserted AS (
    -- The arrays are aggregated side by side over the same rows: the i-th elements are one key.
    INSERT INTO app.import_changes (import_id, table_name, keys)
    SELECT {int(import_id)}, '{spec.qualified}', jsonb_build_object({arrays}){batches})
SELECT count(*) FROM logged"""


def write_rows(cur, import_id: int, table: str, rows: list[dict], constants: dict, update: bool = True) -> int:
    """Upsert (`update`) or insert-if-missing `rows` into raw.<table>, logging what was written.
    Returns the rows offered."""
    spec = TABLES[table]
    columns, values = row_values(table, rows, constants)
    if not values:
        return 0
    # Typed placeholders: a VALUES list does not take its types from the table it feeds.
    template = "(" + ", ".join(f"%s::{spec.columns[c]}" for c in columns) + ")"
    sql = _logged_write(import_id, spec, columns, "VALUES %s", update, returning_old=_returns_old(cur))
    execute_values(cur, sql, values, template, 1000)
    return len(values)


def write_query(
    cur,
    import_id: int,
    table: str,
    columns: list[str],
    query: str,
    params: tuple,
    update: bool = True,
    once: bool = False,
) -> int:
    """Upsert (`update`) or insert-if-missing the rows `query` returns (with `columns`) into
    raw.<table>, logging what was written. `once`: rows this transaction wrote already are left
    as they are (and not counted). Returns the number of rows written."""
    cur.execute(*write_query_sql(cur, import_id, table, columns, query, params, update, once))
    return cur.fetchone()[0]


def write_query_sql(
    cur,
    import_id: int,
    table: str,
    columns: list[str],
    query: str,
    params: tuple,
    update: bool = True,
    once: bool = False,
    insert_only: bool = False,
) -> tuple[str, tuple]:
    """`write_query`'s statement and parameters, to send along with others in one round trip
    (`insert_only`: see `_logged_write`)."""
    sql = _logged_write(import_id, TABLES[table], columns, query, update, once, _returns_old(cur), insert_only)
    return sql, params


def register_accounts(
    cur, import_id: int, platform: str, accounts: list[dict], source: str, rename: bool = False
) -> None:
    """Accounts a file names, logged: new ones are registered, owned by `source`; a registered one
    only gains what it lacks (an owner, a currency, ...) and never changes its currency or time
    zone (a file is not the platform's word on them), nor its name unless `rename` (the file names
    an account its source owns)."""
    details = ", ".join(ACCOUNT_DETAILS)
    keep_stored = ", ".join(
        f"{c} = EXCLUDED.{c}" if rename and c == "name" else f"{c} = coalesce(a.{c}, EXCLUDED.{c})"
        for c in ACCOUNT_DETAILS
    )
    key = ("platform", "account_id")
    execute_values(
        cur,
        f"""
WITH incoming (platform, account_id, {details}) AS (VALUES %s),
previous AS (
    SELECT a.platform, a.account_id, to_jsonb(a) AS row
    FROM {ACCOUNTS} AS a JOIN incoming AS i ON {_match("a", "i", key)}),
written AS (
    INSERT INTO {ACCOUNTS} AS a (platform, account_id, {details}) SELECT * FROM incoming
    ON CONFLICT (platform, account_id) DO UPDATE SET {keep_stored}
    RETURNING a.platform, a.account_id, {", ".join(f"a.{c}" for c in ACCOUNT_DETAILS)})
INSERT INTO app.import_changes (import_id, table_name, key, previous, written)
SELECT {int(import_id)}, '{ACCOUNTS}', {_key_json("w", key)}, p.row, {_key_json("w", ACCOUNT_DETAILS)}
FROM written AS w LEFT JOIN previous AS p ON {_match("p", "w", key)}""",
        [(platform, a["account_id"], *(a["name"], a["currency_code"], a["time_zone"]), source) for a in accounts],
        "(%s::text, %s::text, %s::text, %s::text, %s::text, %s::text)",
    )


def replace_quarantine(cur, import_id: int, digest: str) -> None:
    """Remove what earlier imports of the same file quarantined, logged so that undo restores it."""
    cur.execute(
        f"""
WITH gone AS (DELETE FROM {QUARANTINE} AS q WHERE q.file_sha256 = %s RETURNING q.*)
INSERT INTO app.import_changes (import_id, table_name, key, previous)
SELECT %s, '{QUARANTINE}', jsonb_build_object('id', gone.id), to_jsonb(gone) FROM gone""",
        (digest, import_id),
    )


# -- listing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportRecord:
    id: int
    imported_at: datetime
    kind: str
    file_name: str
    mapping_name: str
    rows_loaded: int
    rows_quarantined: int
    undone_at: datetime | None


def list_imports(connect: Callable, limit: int) -> list[ImportRecord]:
    """The latest `limit` imports, newest first."""
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, imported_at, kind, file_name, mapping_name, rows_loaded, rows_quarantined, undone_at "
            "FROM app.file_imports ORDER BY id DESC LIMIT %s",
            (limit,),
        )
        return [ImportRecord(*row) for row in cur.fetchall()]


# -- undoing -------------------------------------------------------------------------------------
@dataclass
class UndoSummary:
    import_id: int
    kind: str
    file: str
    mapping_name: str
    removed: Counter = field(default_factory=Counter)  # table -> rows deleted
    restored: Counter = field(default_factory=Counter)  # table -> rows given their previous values
    kept: Counter = field(default_factory=Counter)  # table -> rows it inserted that later rows use

    def lines(self) -> list[str]:
        def listing(counts: Counter) -> str:
            return ", ".join(f"{n} {table}" for table, n in sorted(counts.items()) if n) or "none"

        return [
            f"import #{self.import_id} ({self.kind} {self.file}, mapping {self.mapping_name}) undone",
            f"  removed: {listing(self.removed)}",
            f"  restored to their previous values: {listing(self.restored)}",
        ] + ([f"  kept (used by rows of other imports or sources): {listing(self.kept)}"] if +self.kept else [])


def _logged(spec: RawTable) -> str:
    """SQL: every logged row of raw table `spec` (import_id, table_name, key, previous), the batches
    of inserted keys (`keys`) expanded to one row per key."""
    arrays = ", ".join(f"jsonb_array_elements_text(b.keys->'{k}')" for k in spec.key)
    names = ", ".join(spec.key)
    return (
        "(SELECT import_id, table_name, key, previous FROM app.import_changes WHERE keys IS NULL "
        f"UNION ALL SELECT b.import_id, b.table_name, {_key_json('k', spec.key)}, NULL::jsonb "
        f"FROM app.import_changes AS b, ROWS FROM ({arrays}) AS k ({names}) WHERE b.keys IS NOT NULL)"
    )


def _key_of(spec: RawTable, alias: str, change: str = "c") -> str:
    """`alias`'s natural key equals the one logged in `change`.key."""
    return " AND ".join(f"{alias}.{k} = ({change}.key->>'{k}')::{spec.columns[k]}" for k in spec.key)


def _changed_later(cur, import_id: int, imported_at: datetime) -> list[str]:
    """Rows the import wrote that a later write changed (or deleted, where it had updated them)."""
    found: list[str] = []
    for name in UNDO_ORDER:
        spec = TABLES[name]
        cur.execute(
            f"SELECT c.key, t.{spec.stamp} FROM {_logged(spec)} AS c "
            f"LEFT JOIN {spec.qualified} AS t ON {_key_of(spec, 't')} "
            "WHERE c.import_id = %s AND c.table_name = %s "
            f"AND t.{spec.stamp} IS DISTINCT FROM %s AND NOT (c.previous IS NULL AND t.{spec.key[0]} IS NULL)",
            (import_id, spec.qualified, imported_at),
        )
        for key, stamp in cur.fetchall():
            when = f"written again at {stamp:%Y-%m-%d %H:%M:%S}" if stamp else "deleted"
            found.append(f"{spec.qualified} ({', '.join(f'{k}={key[k]}' for k in spec.key)}) {when}")
    return found


def undo_import(connect: Callable, import_id: int) -> UndoSummary:
    """Take import `import_id` back, all of it or nothing, holding its file's lock (so the same file
    is not imported meanwhile). Raises NoSuchImport, UndoRefused (a later write changed its rows),
    ImportRunning."""
    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT kind, file_name, file_sha256, mapping_name, imported_at, undone_at, changes_tracked, "
            "rows_quarantined FROM app.file_imports WHERE id = %s FOR UPDATE",
            (import_id,),
        )
        found = cur.fetchone()
        if not found:
            raise NoSuchImport(f"there is no import #{import_id}: `burry import list` shows the imports and their ids")
        kind, file_name, digest, mapping_name, imported_at, undone_at, tracked, quarantined = found
        summary = UndoSummary(import_id, kind, file_name, mapping_name)
        if undone_at:
            raise UndoRefused(f"import #{import_id} ({file_name}) was undone already, at {undone_at:%Y-%m-%d %H:%M}")
        if not tracked:
            raise UndoRefused(
                f"import #{import_id} ({file_name}) was made before imports recorded what they wrote "
                "(migration 0005), so it cannot be undone; delete its rows by hand (they carry its mapping's source)"
            )
        cur.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", import_lock_key(digest))
        if not cur.fetchone()[0]:
            raise ImportRunning(f"an import of {file_name} is running; undo it once that one has finished")
        # No other writer may change these tables between the check and the undo.
        raw_tables = ", ".join(TABLES[name].qualified for name in UNDO_ORDER)
        cur.execute(f"LOCK TABLE {raw_tables}, {QUARANTINE}, {ACCOUNTS} IN EXCLUSIVE MODE")
        later = _changed_later(cur, import_id, imported_at)
        cur.execute(f"SELECT count(*) FROM {QUARANTINE} WHERE import_id = %s", (import_id,))
        if cur.fetchone()[0] != quarantined:
            later.append(f"{QUARANTINE}: a later import of the same file replaced this import's quarantine")
        if later:
            shown = "; ".join(later[:5]) + (f"; and {len(later) - 5} more" if len(later) > 5 else "")
            raise UndoRefused(
                f"cannot undo import #{import_id} ({file_name}): later writes changed {len(later)} of the rows it "
                f"wrote: {shown}. Nothing was undone. Undo the later imports first, newest first (`burry import "
                "list`), or correct those rows by hand."
            )
        for name in UNDO_ORDER:
            _undo_table(cur, import_id, imported_at, TABLES[name], summary)
        _undo_accounts(cur, import_id, summary)
        cur.execute(f"DELETE FROM {QUARANTINE} WHERE import_id = %s", (import_id,))
        summary.removed[QUARANTINE] += cur.rowcount
        # What this import replaced of an earlier import's quarantine comes back (if that one stands).
        cur.execute(
            f"INSERT INTO {QUARANTINE} SELECT (jsonb_populate_record(null::{QUARANTINE}, c.previous)).* "
            "FROM app.import_changes AS c JOIN app.file_imports AS f ON f.id = (c.previous->>'import_id')::bigint "
            "WHERE c.import_id = %s AND c.table_name = %s AND f.undone_at IS NULL",
            (import_id, QUARANTINE),
        )
        summary.restored[QUARANTINE] += cur.rowcount
        cur.execute("UPDATE app.file_imports SET undone_at = now() WHERE id = %s", (import_id,))
    return summary


def _undo_table(cur, import_id: int, imported_at: datetime, spec: RawTable, summary: UndoSummary) -> None:
    name = spec.qualified
    columns = list(spec.column_types)
    restore = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in spec.key)
    cur.execute(
        f"INSERT INTO {name} SELECT (jsonb_populate_record(null::{name}, c.previous)).* "
        "FROM app.import_changes AS c WHERE c.import_id = %s AND c.table_name = %s AND c.previous IS NOT NULL "
        f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {restore}",
        (import_id, name),
    )
    summary.restored[name] += cur.rowcount
    unused = "".join(
        f" AND NOT EXISTS (SELECT 1 FROM {TABLES[user].qualified} AS u WHERE {_match('u', 't', columns_)})"
        for user, columns_ in USED_BY.get(spec.name, ())
    )
    cur.execute(
        f"DELETE FROM {name} AS t USING {_logged(spec)} AS c "
        f"WHERE c.import_id = %s AND c.table_name = %s AND c.previous IS NULL AND {_key_of(spec, 't')} "
        f"AND t.{spec.stamp} = %s{unused}",
        (import_id, name, imported_at),
    )
    summary.removed[name] += cur.rowcount
    if unused:
        cur.execute(
            f"SELECT count(*) FROM {name} AS t JOIN {_logged(spec)} AS c ON {_key_of(spec, 't')} "
            "WHERE c.import_id = %s AND c.table_name = %s AND c.previous IS NULL",
            (import_id, name),
        )
        summary.kept[name] += cur.fetchone()[0]


def _undo_accounts(cur, import_id: int, summary: UndoSummary) -> None:
    # Details this import set (filled in where unknown, or a name it gave its own account) get their
    # previous value back, unless changed since.
    unfill = ", ".join(
        f"{c} = CASE WHEN c.previous->>'{c}' IS DISTINCT FROM c.written->>'{c}' "
        f"AND a.{c} IS NOT DISTINCT FROM c.written->>'{c}' THEN c.previous->>'{c}' ELSE a.{c} END"
        for c in ACCOUNT_DETAILS
    )
    filled = " OR ".join(
        f"(c.previous->>'{c}' IS DISTINCT FROM c.written->>'{c}' AND a.{c} IS NOT DISTINCT FROM c.written->>'{c}')"
        for c in ACCOUNT_DETAILS
    )
    match = "a.platform = c.key->>'platform' AND a.account_id = c.key->>'account_id'"
    cur.execute(
        f"UPDATE {ACCOUNTS} AS a SET {unfill} FROM app.import_changes AS c "
        f"WHERE c.import_id = %s AND c.table_name = %s AND c.previous IS NOT NULL AND {match} AND ({filled})",
        (import_id, ACCOUNTS),
    )
    summary.restored[ACCOUNTS] += cur.rowcount
    # Accounts it registered go, unless rows or refresh jobs still name them.
    in_use = " OR ".join(
        f"EXISTS (SELECT 1 FROM {t} AS u WHERE u.platform = a.platform AND u.account_id = a.account_id)"
        for t in [*(TABLES[user].qualified for user, _ in USED_BY["customers"]), "raw.customers", "app.refresh_jobs"]
    )
    cur.execute(
        f"DELETE FROM {ACCOUNTS} AS a USING app.import_changes AS c "
        f"WHERE c.import_id = %s AND c.table_name = %s AND c.previous IS NULL AND {match} AND NOT ({in_use})",
        (import_id, ACCOUNTS),
    )
    summary.removed[ACCOUNTS] += cur.rowcount
    cur.execute(
        f"SELECT count(*) FROM {ACCOUNTS} AS a JOIN app.import_changes AS c ON {match} "
        "WHERE c.import_id = %s AND c.table_name = %s AND c.previous IS NULL",
        (import_id, ACCOUNTS),
    )
    summary.kept[ACCOUNTS] += cur.fetchone()[0]
