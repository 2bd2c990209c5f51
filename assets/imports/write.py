"""Importing a file: parse it, quarantine what cannot be read, write the rest into `raw`.

Nothing is silently dropped: a row that cannot be read goes to `raw.quarantine` with its file,
record number and reason; exact duplicate rows are counted and loaded once; re-importing a file
with the same mapping (and encoding) changes nothing. Only file-level problems refuse the whole
file (`ImportRefused`, nothing written): a mapping that does not fit, an unreadable file, another
import of the same file running, ad accounts another source owns (unless `merge`).

An ad account belongs to the source that registered it (`app.ad_accounts.source`). A file never
changes a registered account's currency or time zone, nor its name unless the account is its own
source's and the mapping maps `account_name`; rows into an account another source owns need
`merge`, and a row in a currency other than the account's is quarantined.

The file streams through (assets/imports/stage.py): memory stays flat whatever the file's size.
While one chunk is parsed, the previous one is written by a second thread on the same connection
(`Writer`): an ads file chunk by chunk into the raw tables (`ChunkWriter`) unless a key repeats,
anything else into staging tables that are resolved and written once the file is read.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg2

from assets.imports import changes
from assets.imports.mapping import AccountOwned, ImportRefused, ImportRunning, Mapping
from assets.imports.parse import Account, FileReader, detect_encoding, rolls_up
from assets.imports.stage import CHUNK, DAY, DAYS, ROWS, Stage
from resources.raw_schema import METRICS, TABLES

# A long import says how far it got (rows read, then each step) once it has run this long.
PROGRESS_AFTER_S = 2.0
# How often the reading thread offers the GIL to the writing thread while an import streams.
SWITCH_INTERVAL_S = 0.001


@dataclass
class ImportSummary:
    file: str
    kind: str
    rows_read: int = 0
    rows_loaded: int = 0
    exact_duplicates: int = 0
    quarantined: Counter = field(default_factory=Counter)  # reason's field -> rows
    examples: dict[str, str] = field(default_factory=dict)  # reason's field -> one full reason
    already_imported: bool = False
    nothing_to_import: bool = False
    import_id: int | None = None
    encoding: str | None = None
    merged_into: list[str] = field(default_factory=list)  # accounts of other sources written with merge

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())

    @property
    def recorded(self) -> bool:
        """This call recorded a new import in app.file_imports."""
        return self.import_id is not None and not self.already_imported

    def lines(self) -> list[str]:
        if self.already_imported:
            return [
                f"{self.file}: already imported with this mapping (import #{self.import_id}, "
                f"{self.rows_loaded} rows loaded then): nothing changed"
            ]
        if self.nothing_to_import:
            return [f"{self.file}: nothing to import: the file has no data rows (nothing was recorded)"]
        lines = [
            f"{self.file}: {self.rows_read} rows read, {self.rows_loaded} loaded, "
            f"{self.rows_quarantined} quarantined, {self.exact_duplicates} exact duplicates loaded once"
        ]
        if self.encoding and not self.encoding.startswith("utf-8"):
            lines.append(f"  read as {self.encoding}; if names look wrong, pass --encoding")
        if self.merged_into:
            lines.append(f"  merged into accounts of other sources (details unchanged): {', '.join(self.merged_into)}")
        lines += [
            f"  quarantined {n}: {group}" + (f" (e.g. {self.examples[group]})" if self.examples[group] != group else "")
            for group, n in self.quarantined.most_common()
        ]
        return lines


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mapping_sha256(mapping: Mapping, path: Path) -> str:
    """What identifies the mapping an import used: its text, and the content of its lookup files (a
    corrected names file imports the same data file again)."""
    if not mapping.lookups:
        return mapping.sha256
    digest = hashlib.sha256(mapping.sha256.encode())
    for lookup in mapping.lookups:
        found = lookup.path(path)
        digest.update(file_sha256(found).encode() if found.is_file() else b"missing")
    return digest.hexdigest()


class Irregular(Exception):
    """Writing chunk by chunk cannot decide this file (a key repeats, or a campaign-day total may
    pass bigint): the import starts again and resolves the file whole."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.import_id: int | None = None  # the id the attempt took: the next attempt records it again


def import_file(
    connect: Callable,
    path: str | Path,
    mapping: Mapping,
    encoding: str | None = None,
    merge: bool = False,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportSummary:
    """Import one file in one transaction, holding the file's lock. `encoding`: the user's
    --encoding (None: detect); `merge`: allow rows into ad accounts another source owns; `now`:
    when the validity rules are applied (None: now); `progress`: called with a line now and then
    on a long file (rows read so far, then each step). Raises ImportRefused (nothing imported).

    The file streams through in chunks (`FileReader`), COPYed into temporary staging tables while
    the next chunk is read (assets/imports/stage.py): memory stays flat whatever its size. An ads
    file is written chunk by chunk as it is read, as long as no key repeats (the rule across records
    then has nothing to decide); otherwise, and for tickets, the whole file is staged, resolved and
    written set-based."""
    say = progress or (lambda line: None)
    import_id = None
    if mapping.kind == "ads":
        try:
            return _import(connect, Path(path), mapping, encoding, merge, now, say, chunk_by_chunk=True)
        except Irregular as irregular:
            say(f"{Path(path).name}: {irregular}: reading it again to resolve it whole")
            import_id = irregular.import_id  # rolled back, so free: import ids keep counting 1, 2, 3
    return _import(connect, Path(path), mapping, encoding, merge, now, say, chunk_by_chunk=False, import_id=import_id)


def _import(
    connect: Callable,
    path: Path,
    mapping: Mapping,
    encoding: str | None,
    merge: bool,
    now: datetime | None,
    say: Callable[[str], None],
    chunk_by_chunk: bool,
    import_id: int | None = None,
) -> ImportSummary:
    """One attempt at `import_file`: chunk by chunk (raises Irregular when that cannot decide the
    file), or whole; `import_id`: the id to record the import under (None: the next one)."""
    summary = ImportSummary(file=path.name, kind=mapping.kind)
    digest = file_sha256(path)
    mapping_digest = mapping_sha256(mapping, path)
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", changes.import_lock_key(digest))
        if not cur.fetchone()[0]:
            raise ImportRunning(
                f"{path.name}: another import of this file is running; wait for it to finish, then run this "
                "again (it says 'already imported' if that one loaded the file)"
            )
        text = detect_encoding(path, encoding)
        summary.encoding = text.describe()
        cur.execute(
            "SELECT id, rows_loaded FROM app.file_imports "
            "WHERE file_sha256 = %s AND mapping_sha256 = %s AND encoding = %s AND undone_at IS NULL",
            (digest, mapping_digest, text.name),
        )
        existing = cur.fetchone()
        if existing:
            summary.already_imported = True
            summary.import_id, summary.rows_loaded = existing
            return summary
        accounts = registered_accounts(cur) if mapping.kind == "ads" else {}
        # The merge hashes and sorts whole files: in memory up to this much per step, not on disk.
        cur.execute("SET LOCAL work_mem = '64MB'")
        reader = FileReader(path, mapping, accounts, text, now, staged=True)
        mapping = reader.mapping  # fitted to the file's columns
        stage = Stage(cur, mapping, storable)
        record = (path.name, digest, mapping, mapping_digest, text.name)
        started = time.monotonic()
        chunks = reader.chunks()
        first = next(chunks, None)
        # Written chunk by chunk, the rows' log needs the import's id first (a file without records has none).
        written = record_import(cur, *record, import_id=import_id) if chunk_by_chunk and first else None
        try:
            with Writer(stage, ChunkWriter(stage, written, mapping) if written else None) as writer:
                for chunk in itertools.chain([first] if first else [], chunks):
                    if written and reader.may_overflow:
                        raise Irregular("a campaign-day total may exceed bigint")
                    named = bool(written) and stage.names_new_dimensions(chunk)
                    accounts_named = stage.accounts_of(chunk) if written else set()
                    about = (len(chunk.rows) + len(chunk.staged), named, accounts_named)
                    writer.put((*stage.buffers(chunk), *about))
                    if time.monotonic() - started >= PROGRESS_AFTER_S:
                        say(f"{path.name}: {reader.rows_read:,} rows read")
        except Irregular as irregular:
            irregular.import_id = written
            raise
        if not reader.rows_read:
            summary.nothing_to_import = True
            return summary
        if mapping.kind == "ads":
            summary.merged_into = check_ownership(path, reader.accounts, accounts, mapping, merge)
        if time.monotonic() - started >= PROGRESS_AFTER_S:
            say(f"{path.name}: {reader.rows_read:,} rows read; resolving duplicates and writing")
        resolution = stage.resolve_rejects() if written else stage.resolve(path, text, reader.may_overflow)
        summary.rows_read, summary.exact_duplicates = reader.rows_read, resolution.exact_duplicates
        summary.quarantined.update(resolution.quarantined)
        summary.examples.update(resolution.examples)
        loaded = stage.count()
        counts = (reader.rows_read, loaded, summary.rows_quarantined, resolution.exact_duplicates)
        if written:
            import_id = written
            cur.execute(
                "UPDATE app.file_imports SET rows_read = %s, rows_loaded = %s, rows_quarantined = %s, "
                "exact_duplicates = %s WHERE id = %s",
                (*counts, import_id),
            )
        else:
            import_id = record_import(cur, *record, counts, import_id)
        summary.import_id = import_id
        # A corrected mapping replaces what an earlier import of the same file quarantined.
        changes.replace_quarantine(cur, import_id, digest)
        stage.quarantine(import_id, digest, path.name)
        if mapping.kind == "ads":
            write_ads(stage, import_id, mapping, accounts, path, rows_written=bool(written))
        else:
            write_tickets(cur, import_id, mapping)
        summary.rows_loaded = loaded
        if time.monotonic() - started >= PROGRESS_AFTER_S:
            say(f"{path.name}: {loaded:,} rows written; committing")
    return summary


def record_import(
    cur,
    file_name: str,
    digest: str,
    mapping: Mapping,
    mapping_digest: str,
    encoding: str,
    counts: tuple[int, int, int, int] = (0, 0, 0, 0),
    import_id: int | None = None,
) -> int:
    """The import's row in app.file_imports (counts: rows read, loaded, quarantined, exact
    duplicates), under `import_id` (None: the next id)."""
    cur.execute(
        "INSERT INTO app.file_imports (id, kind, file_name, file_sha256, mapping_name, mapping_sha256, encoding, "
        "source, rows_read, rows_loaded, rows_quarantined, exact_duplicates, changes_tracked) "
        "VALUES (coalesce(%s, nextval(pg_get_serial_sequence('app.file_imports', 'id'))),"
        "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,true) RETURNING id",
        (import_id, mapping.kind, file_name, digest, mapping.name, mapping_digest, encoding, mapping.source, *counts),
    )
    return cur.fetchone()[0]


class ChunkWriter:
    """Writes an ads file's rows chunk by chunk: each chunk is staged, checked for a key it repeats
    (within itself, or from an earlier chunk: the upsert leaves rows this transaction wrote alone),
    and written with its campaigns, ad groups and ads. A repeated key raises Irregular.

    A chunk whose accounts had no metric rows before this import (an account's first import, or a
    new account) is inserted rather than upserted (ON CONFLICT costs a quarter of the server's
    time): a key repeated in the file, or written meanwhile by another writer, then fails the
    insert, and the import starts again the whole way, which upserts."""

    def __init__(self, stage: Stage, import_id: int, mapping: Mapping):
        self.stage, self.import_id, self.mapping = stage, import_id, mapping
        self.fresh: dict[tuple[str, str], bool] = {}  # account -> had no metric rows before this import
        grain = "campaign_daily_metrics" if mapping.grain == "campaign" else "ad_daily_metrics"
        self.metrics = TABLES[grain].qualified

    def all_fresh(self, accounts: set[tuple[str, str]]) -> bool:
        """Whether none of these accounts had metric rows before this import (asked once per account,
        the first time a chunk names it: before this import wrote any of its rows)."""
        cur = self.stage.cur
        for account in accounts - self.fresh.keys():
            cur.execute(
                f"SELECT NOT EXISTS (SELECT FROM {self.metrics} WHERE platform = %s AND account_id = %s)", account
            )
            self.fresh[account] = cur.fetchone()[0]
        return all(self.fresh[account] for account in accounts)

    def __call__(
        self,
        rows: io.StringIO | None,
        rejects: io.StringIO | None,
        staged: int,
        new_dimensions: bool,
        accounts: set[tuple[str, str]],
    ) -> None:
        self.stage.copy_buffers(None, rejects)
        if rows is None:
            return
        fresh = self.all_fresh(accounts)
        self.stage.stage_chunk(rows)
        try:
            # Kept of the chunk for the end: its campaign-days and accounts.
            written = write_ad_rows(
                self.stage.cur,
                self.import_id,
                self.mapping,
                CHUNK,
                then=self.stage.keep_chunk,
                dimensions=new_dimensions,
                fresh=fresh,
            )
        except psycopg2.errors.CardinalityViolation:
            raise Irregular("a key repeats within the file") from None
        except psycopg2.errors.UniqueViolation:
            raise Irregular("a key repeats within the file (or was written meanwhile)") from None
        if written < staged:
            raise Irregular("a key repeats within the file")


class Writer:
    """Runs the database half of the import in a second thread, on the import's connection, while
    this thread reads and parses the next chunk (psycopg2 releases the GIL while the server works).
    Each chunk's COPY input is handed over (`put`) as it is built: at most `depth` wait, so memory
    stays flat. `each`: what to do with a chunk's buffers (default: stage them for the end)."""

    def __init__(self, stage: Stage, each: Callable | None = None, depth: int = 2):
        self.work: queue.Queue = queue.Queue(maxsize=depth)
        self.each = each or (lambda rows, rejects, *counts: stage.copy_buffers(rows, rejects))
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.run, name="import-writer", daemon=True)

    def __enter__(self) -> Writer:
        # The writer needs the GIL only briefly, each time the server answers; the reading thread
        # holds it otherwise. Asked to hand it over sooner, it leaves the server idle less.
        self.switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self.switch_interval, SWITCH_INTERVAL_S))
        self.thread.start()
        return self

    def run(self) -> None:
        while (item := self.work.get()) is not None:
            if self.error is None:
                try:
                    self.each(*item)
                except BaseException as exc:  # handed to the reading thread
                    self.error = exc

    def put(self, buffers: tuple) -> None:
        if self.error is not None:
            raise self.error
        self.work.put(buffers)

    def __exit__(self, *exc_info) -> None:
        # The connection is this thread's again only once the writer has stopped, error or not.
        self.work.put(None)
        self.thread.join()
        sys.setswitchinterval(self.switch_interval)
        if self.error is not None and exc_info[0] is None:
            raise self.error


def registered_accounts(cur) -> dict[tuple[str, str], Account]:
    """Every registered ad account (app.ad_accounts, raw.customers): what rules its rows and who owns it."""
    cur.execute(
        "SELECT coalesce(a.platform, c.platform), coalesce(a.account_id, c.account_id), coalesce(c.name, a.name), "
        "coalesce(c.currency_code, a.currency_code), coalesce(c.time_zone, a.time_zone), coalesce(a.source, c.source) "
        "FROM app.ad_accounts AS a FULL JOIN raw.customers AS c "
        "ON c.platform = a.platform AND c.account_id = a.account_id"
    )
    return {(row[0], row[1]): Account(*row) for row in cur.fetchall()}


def check_ownership(
    path: Path,
    named: set[tuple[str, str]],
    accounts: dict[tuple[str, str], Account],
    mapping: Mapping,
    merge: bool,
) -> list[str]:
    """The accounts of other sources the file writes into (`named`: every account a row named);
    refused (AccountOwned) unless `merge`."""
    foreign = [
        accounts[key] for key in sorted(named) if key in accounts and accounts[key].owner not in (None, mapping.source)
    ]
    if foreign and not merge:
        owned = "; ".join(
            f"{a.platform}:{a.account_id} ({a.name or 'no name'}, {a.currency_code}) is owned by source {a.owner!r}"
            for a in foreign
        )
        raise AccountOwned(
            f"{path.name}: the file names ad accounts another source owns: {owned}. Nothing was imported. "
            f"If the rows belong to those accounts, import again with --merge: they are added to the "
            f"accounts, whose name, currency and time zone stay as {foreign[0].owner!r} says (rows in another "
            f"currency are quarantined). If not, correct the account column of the file (mapping "
            f"{mapping.name!r}: {', '.join(mapping.columns.get('account', ('-',)))})."
        )
    return [f"{a.platform}:{a.account_id} (owned by {a.owner!r})" for a in foreign]


def storable(value):
    """`value` as jsonb can hold it: NUL bytes and lone surrogates written out as escapes."""
    if isinstance(value, str):
        value = value.replace("\x00", "\\x00")
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {storable(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def write_tickets(cur, import_id: int, mapping: Mapping) -> None:
    """The staged tickets (upserted) and their comments."""
    source = (mapping.source,)
    columns = [c for c in TABLES["tickets"].columns if c != "source"]
    changes.write_query(
        cur, import_id, "tickets", [*columns, "source"], f"SELECT {', '.join(columns)}, %s::text FROM {ROWS}", source
    )
    comments = ["ticket_id", "comment_id", "author", "body", "created_at"]
    changes.write_query(
        cur,
        import_id,
        "ticket_comments",
        [*comments, "source"],
        f"SELECT s.ticket_id, c.comment_id, c.author, c.body, c.created_at, %s::text FROM {ROWS} AS s "
        "CROSS JOIN LATERAL jsonb_to_recordset(s.comments) AS c (comment_id text, author text, body text, "
        "created_at timestamptz)",
        source,
    )


def write_ads(
    stage: Stage,
    import_id: int,
    mapping: Mapping,
    accounts: dict[tuple[str, str], Account],
    path: Path,
    rows_written: bool = False,
) -> None:
    """The staged ad rows: the accounts they name, their campaigns, ad groups, ads and metrics
    (unless `rows_written`: chunk by chunk already), and, at ad grain, the campaign-day totals they
    change."""
    cur = stage.cur
    cur.execute(stage.accounts_query())
    for platform, account_id, currency, file_name in cur.fetchall():
        known = accounts.get((platform, account_id))
        # The file's account name names the accounts this source owns (or registers now); another
        # source's account keeps its name, like its currency and time zone.
        rename = bool(file_name) and (known is None or known.owner in (None, mapping.source))
        # Every row of an account has its currency (the reader quarantined the others).
        account = {
            "account_id": account_id,
            "name": file_name if rename else (known and known.name) or account_id,
            "currency_code": (known and known.currency_code) or currency,
            "time_zone": (known and known.time_zone) or mapping.time_zone,
        }
        changes.register_accounts(cur, import_id, platform, [account], mapping.source, rename=rename)
        constants = {"source": mapping.source, "platform": platform}
        changes.write_rows(cur, import_id, "customers", [account], constants, update=rename)
    if not rows_written:
        write_ad_rows(cur, import_id, mapping, ROWS)
    if rolls_up(mapping):
        try:
            rollup_campaign_days(cur, import_id, mapping.source, days_known=stage.chunked)
        except psycopg2.errors.NumericValueOutOfRange:
            raise ImportRefused(
                f"{path.name}: with the ad rows already in raw.ad_daily_metrics, a campaign's daily total would "
                "exceed what PostgreSQL's bigint holds; nothing was imported. Check the file's numbers (and the "
                "earlier imports of the same campaigns)"
            ) from None


def write_ad_rows(
    cur,
    import_id: int,
    mapping: Mapping,
    table: str,
    then: str = "",
    dimensions: bool = True,
    fresh: bool = False,
) -> int:
    """The ad rows of staging table `table`: campaigns, ad groups and ads they name (added, never
    renamed; not when `dimensions` is false: they were) and their metrics (upserted), in one
    round trip with `then` (statements after them). Returns the metric rows written.

    `then` given, the rows are one chunk of many: a metric row this import wrote already (a key an
    earlier chunk had) is left alone and not counted, and a key the chunk has twice fails the
    upsert (CardinalityViolation). `fresh`: their accounts had no metric rows before this import,
    so the metrics are inserted, not upserted (a key written already fails: UniqueViolation)."""
    source = (mapping.source,)
    statements = []
    named = [("campaigns", "platform, account_id, campaign_id, campaign_id AS name")]
    if mapping.grain != "campaign":
        named.append(("ad_groups", "platform, account_id, campaign_id, ad_group_id, ad_group_name AS name"))
    if mapping.grain == "ad":
        named.append(("ads", "platform, account_id, ad_group_id, ad_id, jsonb_build_array(ad_name) AS headlines"))
    for name, select in named if dimensions else []:
        columns = [c.split(" AS ")[-1].strip() for c in select.split(", ")]
        statements.append(
            changes.write_query_sql(
                cur,
                import_id,
                name,
                [*columns, "source"],
                f"SELECT DISTINCT {select}, %s::text FROM {table}",
                source,
                update=False,
            )
        )
    # Ad-group rows (no ad) are ad_daily_metrics rows with ad id NO_AD: the fact's grain 'ad_group'.
    grain = "campaign_daily_metrics" if mapping.grain == "campaign" else "ad_daily_metrics"
    columns = [c for c in TABLES[grain].columns if c != "source"]
    # In the primary key's order: each index page is written once, not once per row that lands on it.
    # A chunk's rows were COPYed in that order (Stage.buffers).
    order = "" if then else f" ORDER BY {', '.join(TABLES[grain].key)}"
    metrics = f"SELECT {', '.join(columns)}, %s::text FROM {table}{order}"
    statements.append(
        changes.write_query_sql(
            cur, import_id, grain, [*columns, "source"], metrics, source, once=bool(then), insert_only=fresh
        )
    )
    # One round trip; the result is the last statement's (the metric rows written), read first.
    sql = [s for s, _ in statements[:-1]] + ([then] if then else []) + [statements[-1][0]]
    cur.execute(";\n".join(sql), tuple(p for _, params in statements for p in params))
    return cur.fetchone()[0]


def rollup_campaign_days(cur, import_id: int, source: str, days_known: bool = False) -> None:
    """Campaign-grain totals are the sum of every ad row for the campaign-days this file touched
    (files may split a campaign's ads across several imports). `days_known`: they are in DAYS
    (gathered chunk by chunk), else they are the staged rows'."""
    day = ", ".join(DAY)
    if not days_known:
        cur.execute(f"CREATE TEMP TABLE {DAYS} ON COMMIT DROP AS SELECT DISTINCT {day} FROM {ROWS}")
    cur.execute(f"ANALYZE {DAYS}")
    # The planner's statistics of raw.ad_daily_metrics predate this import's rows: it would read the
    # table once per campaign-day (minutes for a large file). A hash join reads the accounts' rows once.
    cur.execute("SET LOCAL enable_nestloop = off")
    cur.execute(
        "CREATE TEMP TABLE import_day_totals ON COMMIT DROP AS "
        f"SELECT {day}, " + ", ".join(f"sum(m.{c}) AS {c}" for c in METRICS) + " "
        f"FROM raw.ad_daily_metrics AS m JOIN {DAYS} AS d USING ({day}) "
        f"WHERE (m.platform, m.account_id) IN (SELECT DISTINCT platform, account_id FROM {DAYS}) "
        f"GROUP BY {day}; ANALYZE import_day_totals"
    )
    cur.execute("SET LOCAL enable_nestloop = on")
    changes.write_query(
        cur,
        import_id,
        "campaign_daily_metrics",
        [*day.split(", "), *METRICS, "source"],
        f"SELECT {day}, {', '.join(METRICS)}, %s::text FROM import_day_totals",
        (source,),
    )
