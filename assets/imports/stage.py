"""The importer's staging tables: a file's rows, COPYed in chunks, resolved and merged set-based.

`FileReader` (assets/imports/parse.py) parses a file chunk by chunk; each chunk's rows are COPYed
into a temporary table (`import_rows`), its rejected records into another (`import_rejects`),
so the importer holds one chunk in memory whatever the file's size. What depends on the whole
file is then decided in SQL, as `parse.resolve` does in memory (its reference):

- exact duplicates: a record equal to an earlier one (same fingerprint, same values) is counted
  and dropped, whatever became of the first;
- the same key as an earlier row, other values: quarantined, naming the first record;
- an ad row that would take its campaign-day's total past bigint: quarantined. Only looked at
  when the file's own sums could get there (`FileReader.may_overflow`); the campaign-days that do
  are replayed in Python by `parse.resolve`, in file order.

Rows that lose to an earlier one were valid records, whose payload (the record as read) was not
staged: a second pass over the file fetches just those (only when there are any).

An ads file whose keys do not repeat needs none of that: the importer writes it chunk by chunk as
it is read (`stage_chunk` into `import_chunk`, written, then only its campaign-days and accounts
kept for the end: `keep_chunk`), and falls back to the above when a key repeats
(assets/imports/write.py).

The temporary tables live in the import's transaction (ON COMMIT DROP): a failure leaves nothing.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from assets.imports.mapping import Mapping
from assets.imports.parse import (
    ROLLED_UP,
    Candidate,
    Chunk,
    Encoding,
    Rejected,
    duplicate_key_reason,
    layout,
    read_records,
    resolve,
    rolls_up,
)
from resources.raw_rules import BIGINT_MAX
from resources.raw_schema import JSONB

ROWS, REJECTS, LOSERS, DUPLICATE_KEYS = "import_rows", "import_rejects", "import_losers", "import_duplicate_keys"
CHUNK = "import_chunk"  # one chunk's rows, while they are written chunk by chunk
# Written chunk by chunk, what the end of an import needs of the rows: their campaign-days (to
# roll up) and per account its currency and first name; not the rows themselves.
DAYS, ACCOUNTS = "import_days", "import_accounts"
DAY = ("platform", "account_id", "campaign_id", "date")
# Campaigns, ad groups and ads the chunks named, remembered to skip writing them again (at most).
DIMENSIONS_REMEMBERED = 100_000
# Rows csv.writer writes per call while a COPY's input is built (the GIL is released between calls).
CSV_ROWS_PER_CALL = 500
# psycopg2 reads a COPY's input in blocks of this many characters.
COPY_BLOCK = 1 << 20


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _csv_buffer(rows: Iterable[tuple], *more: Iterable[tuple]) -> io.StringIO:
    # COPY's CSV: an empty unquoted field is NULL (staged text is never empty: `canonical_values`
    # makes it None); "\r\n" line ends make csv quote any field holding a line break.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for part in (rows, *more):
        # A few hundred rows per call: one call over a whole chunk holds the GIL for tens of
        # milliseconds, which the writing thread would spend waiting to hand the server its next statement.
        rows_left = iter(part)
        while batch := list(itertools.islice(rows_left, CSV_ROWS_PER_CALL)):
            writer.writerows(batch)
    buffer.seek(0)
    return buffer


@dataclass
class Resolution:
    exact_duplicates: int = 0
    losers: int = 0  # rows quarantined for an earlier key or a campaign-day total
    quarantined: dict[str, int] = field(default_factory=dict)  # reason's field -> rows, first seen first
    examples: dict[str, str] = field(default_factory=dict)  # reason's field -> its first full reason


class Stage:
    """The temporary tables of one import, on the import's cursor."""

    def __init__(self, cur, mapping: Mapping, storable: Callable):
        self.cur, self.mapping, self.storable = cur, mapping, storable
        self.layout = layout(mapping)
        self.chunked = False
        self.dimensions_named: set[tuple] = set()
        columns = ", ".join(f"{c} {t}" for c, t in self.layout.columns.items())
        cur.execute(
            f"CREATE TEMP TABLE {ROWS} (number bigint, fingerprint bigint, {columns}) ON COMMIT DROP;"
            f"CREATE TEMP TABLE {REJECTS} (number bigint, fingerprint bigint, reason text, payload jsonb) "
            "ON COMMIT DROP;"
            f"CREATE TEMP TABLE {LOSERS} (number bigint PRIMARY KEY, reason text) ON COMMIT DROP"
        )

    # -- staging ---------------------------------------------------------------------------------
    def buffers(self, chunk: Chunk) -> tuple[io.StringIO | None, io.StringIO | None]:
        """A chunk's rows and rejections as COPY input (no database: the importer builds them while
        the previous chunk is being written)."""
        names = list(self.layout.columns)
        jsonb = [c for c, t in self.layout.columns.items() if t == JSONB]
        rows = rejects = None
        if chunk.staged:
            # In key order (Python's order of str is PostgreSQL's under C and C.UTF-8, dates are ISO):
            # written chunk by chunk, the upsert then meets the primary key's pages in order without
            # the server sorting (the reading thread has time to spare, the server has not).
            chunk.staged.sort(key=itemgetter(*(2 + list(self.layout.columns).index(k) for k in self.layout.key)))
        if chunk.rows or chunk.staged:
            if jsonb:
                tuples: Iterable[tuple] = (
                    (c.number, c.fingerprint, *(_json(c.row[n]) if n in jsonb else c.row.get(n) for n in names))
                    for c in chunk.rows
                )
            else:
                tuples = ((c.number, c.fingerprint, *map(c.row.get, names)) for c in chunk.rows)
            rows = _csv_buffer(tuples, chunk.staged)
        if chunk.rejected:
            rejects = self.rejected_buffer(chunk.rejected)
        return rows, rejects

    def rejected_buffer(self, rejected: list[Rejected]) -> io.StringIO:
        return _csv_buffer(
            (r.number, r.fingerprint, self.storable(r.reason), _json(self.storable(r.payload))) for r in rejected
        )

    def add(self, chunk: Chunk) -> None:
        self.copy_buffers(*self.buffers(chunk))

    def copy_buffers(self, rows: io.StringIO | None, rejects: io.StringIO | None, table: str = ROWS) -> None:
        """COPY a chunk's buffers: its rows into `table`, its rejections into the rejections."""
        if rows is not None:
            self.copy_csv(table, ["number", "fingerprint", *self.layout.columns], rows)
        if rejects is not None:
            self.copy_csv(REJECTS, ["number", "fingerprint", "reason", "payload"], rejects)

    def add_rejected(self, rejected: list[Rejected]) -> None:
        self.copy_csv(REJECTS, ["number", "fingerprint", "reason", "payload"], self.rejected_buffer(rejected))

    def copy(self, table: str, columns: list[str], rows: Iterator[tuple]) -> None:
        self.copy_csv(table, columns, _csv_buffer(rows))

    def copy_csv(self, table: str, columns: list[str], buffer: io.StringIO) -> None:
        # An ad-group row's ad id is the empty string (NO_AD), not NULL.
        options = ", FORCE_NOT_NULL (ad_id)" if "ad_id" in columns else ""
        self.cur.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv{options})", buffer, COPY_BLOCK
        )

    # -- chunk by chunk --------------------------------------------------------------------------
    def accounts_of(self, chunk: Chunk) -> set[tuple[str, str]]:
        """(platform, account id) of the chunk's rows."""
        found = set(map(itemgetter(2, 3), chunk.staged))  # staged: number, fingerprint, platform, account_id
        found.update((c.row["platform"], c.row["account_id"]) for c in chunk.rows)
        return found

    def names_new_dimensions(self, chunk: Chunk) -> bool:
        """Whether the chunk's rows name a campaign, ad group or ad no earlier chunk named (as far
        as a bounded memory of them goes: forgetting only costs a statement that adds nothing)."""
        names = ["platform", "account_id", "campaign_id", "ad_group_id", "ad_id"]
        at = [2 + list(self.layout.columns).index(n) if n in self.layout.columns else None for n in names]
        found = set(map(itemgetter(*(i for i in at if i is not None)), chunk.staged))
        found.update(tuple(c.row.get(n) for n, i in zip(names, at, strict=True) if i is not None) for c in chunk.rows)
        if found <= self.dimensions_named:
            return False
        if len(self.dimensions_named) + len(found) > DIMENSIONS_REMEMBERED:
            self.dimensions_named.clear()
        self.dimensions_named |= found
        return True

    def stage_chunk(self, rows: io.StringIO) -> None:
        """One chunk's rows into the chunk table (the previous chunk's go)."""
        if not self.chunked:
            columns = ", ".join(f"{c} {t}" for c, t in self.layout.columns.items())
            self.cur.execute(
                f"CREATE TEMP TABLE {CHUNK} (number bigint, fingerprint bigint, {columns}) ON COMMIT DROP; "
                f"CREATE TEMP TABLE {DAYS} ON COMMIT DROP AS SELECT {', '.join(DAY)} FROM {CHUNK}; "
                f"ALTER TABLE {DAYS} ADD PRIMARY KEY ({', '.join(DAY)}); "
                f"CREATE TEMP TABLE {ACCOUNTS} (platform text, account_id text, currency_code text, named bigint, "
                "account_name text, rows bigint, PRIMARY KEY (platform, account_id)) ON COMMIT DROP"
            )
            self.chunked = True
        else:
            self.cur.execute(f"TRUNCATE {CHUNK}")
        self.copy_csv(CHUNK, ["number", "fingerprint", *self.layout.columns], rows)

    @property
    def keep_chunk(self) -> str:
        """SQL: what the end of the import needs of the chunk's rows (`DAYS`, `ACCOUNTS`)."""
        day = ", ".join(DAY)
        return (
            f"INSERT INTO {DAYS} SELECT DISTINCT {day} FROM {CHUNK} ON CONFLICT DO NOTHING;\n"
            f"INSERT INTO {ACCOUNTS} AS a SELECT platform, account_id, min(currency_code), "
            f"min(number) FILTER (WHERE account_name IS NOT NULL), NULL, count(*) FROM {CHUNK} GROUP BY 1, 2 "
            "ON CONFLICT (platform, account_id) DO UPDATE SET currency_code = least(a.currency_code, "
            "EXCLUDED.currency_code), named = coalesce(a.named, EXCLUDED.named), rows = a.rows + EXCLUDED.rows;\n"
            f"UPDATE {ACCOUNTS} AS a SET account_name = c.account_name FROM {CHUNK} AS c "
            "WHERE c.number = a.named AND a.account_name IS NULL"
        )

    def accounts_query(self) -> str:
        """SQL: per account of the loaded rows, its currency and the first account name a row gives
        (in record order)."""
        if self.chunked:
            return f"SELECT platform, account_id, currency_code, account_name FROM {ACCOUNTS} ORDER BY 1, 2"
        return (
            "WITH a AS (SELECT platform, account_id, min(currency_code) AS currency, "
            f"min(number) FILTER (WHERE account_name IS NOT NULL) AS named FROM {ROWS} GROUP BY 1, 2) "
            f"SELECT a.platform, a.account_id, a.currency, r.account_name FROM a LEFT JOIN {ROWS} AS r "
            "ON r.number = a.named ORDER BY 1, 2"
        )

    # -- resolving -------------------------------------------------------------------------------
    def resolve(self, path: Path, encoding: Encoding, may_overflow: bool) -> Resolution:
        """Apply the rules across records (module docstring); quarantine what loses."""
        cur, resolution = self.cur, Resolution()
        cur.execute(f"ANALYZE {ROWS}; ANALYZE {REJECTS}")
        key = ", ".join(self.layout.key)
        same_key = " AND ".join(f"{{a}}.{k} = {{b}}.{k}" for k in self.layout.key)
        values = ", ".join(self.layout.columns)
        self.dedupe_rejects(resolution)
        cur.execute(
            f"CREATE TEMP TABLE {DUPLICATE_KEYS} ON COMMIT DROP AS "
            f"SELECT {key} FROM {ROWS} GROUP BY {key} HAVING count(*) > 1"
        )
        duplicate_keys = cur.rowcount
        if duplicate_keys:
            s, e = ", ".join(f"s.{c}" for c in self.layout.columns), ", ".join(f"e.{c}" for c in self.layout.columns)
            cur.execute(
                f"DELETE FROM {ROWS} AS s USING {DUPLICATE_KEYS} AS k, {ROWS} AS e "
                f"WHERE {same_key.format(a='s', b='k')} AND {same_key.format(a='e', b='k')} "
                f"AND e.number < s.number AND e.fingerprint = s.fingerprint AND ({s}) IS NOT DISTINCT FROM ({e})"
            )
            resolution.exact_duplicates += cur.rowcount
        if may_overflow and rolls_up(self.mapping):
            self.replay_overflowing_days(values)
        if duplicate_keys:
            cur.execute(
                f"""
WITH firsts AS (
    SELECT {key}, min(number) AS first FROM {ROWS} JOIN {DUPLICATE_KEYS} USING ({key}) GROUP BY {key}),
gone AS (
    DELETE FROM {ROWS} AS s USING firsts AS f WHERE {same_key.format(a="s", b="f")} AND s.number > f.first
    RETURNING s.number, f.first)
INSERT INTO {LOSERS} (number, reason) SELECT number, format(%s, first) FROM gone""",
                (duplicate_key_reason("%s"),),
            )
        cur.execute(f"SELECT count(*) FROM {LOSERS}")
        resolution.losers = cur.fetchone()[0]
        if resolution.losers:
            self.stage_losers(path, encoding)
        self.count_rejects(resolution)
        return resolution

    def resolve_rejects(self) -> Resolution:
        """What is left to resolve when the rows were written chunk by chunk (no key repeated):
        rejections that repeat an earlier one."""
        resolution = Resolution()
        self.cur.execute(f"ANALYZE {REJECTS}")
        self.dedupe_rejects(resolution)
        self.count_rejects(resolution)
        return resolution

    def dedupe_rejects(self, resolution: Resolution) -> None:
        self.cur.execute(
            f"DELETE FROM {REJECTS} AS r USING {REJECTS} AS e WHERE r.fingerprint = e.fingerprint "
            "AND e.number < r.number AND e.payload = r.payload"
        )
        resolution.exact_duplicates += self.cur.rowcount

    def count_rejects(self, resolution: Resolution) -> None:
        self.cur.execute(
            f"SELECT split_part(reason, ':', 1) AS grp, count(*), (array_agg(reason ORDER BY number))[1] "
            f"FROM {REJECTS} GROUP BY grp ORDER BY min(number)"
        )
        for group, count, example in self.cur.fetchall():
            resolution.quarantined[group] = count
            resolution.examples[group] = example

    def replay_overflowing_days(self, values: str) -> None:
        """Campaign-days whose staged rows sum past bigint, replayed in file order by `parse.resolve`."""
        over = " OR ".join(f"sum({c}::numeric) > {BIGINT_MAX}" for c in ROLLED_UP)
        day = ("platform", "account_id", "campaign_id", "date")
        self.cur.execute(
            f"SELECT number, fingerprint, {values} FROM {ROWS} WHERE ({', '.join(day)}) IN "
            f"(SELECT {', '.join(day)} FROM {ROWS} GROUP BY {', '.join(day)} HAVING {over}) ORDER BY number"
        )
        names = list(self.layout.columns)
        candidates = []
        for number, fingerprint, *cells in self.cur.fetchall():
            row = dict(zip(names, cells, strict=True))
            candidates.append(Candidate(number, fingerprint, row, row))
        losers = resolve(candidates, self.mapping).rejected
        if losers:
            self.copy(LOSERS, ["number", "reason"], ((r.number, r.reason) for r in losers))
            self.cur.execute(f"DELETE FROM {ROWS} AS s USING {LOSERS} AS l WHERE s.number = l.number")

    def stage_losers(self, path: Path, encoding: Encoding, batch: int = 10_000) -> None:
        """The payloads of the rows that lost (records as read), from a second pass over the file."""
        losers = self.cur.connection.cursor(name="import_losers_in_order")
        losers.itersize = batch
        losers.execute(f"SELECT number, reason FROM {LOSERS} ORDER BY number")
        wanted = iter(losers)
        pending: list[Rejected] = []
        target = next(wanted, None)
        for record in read_records(path, self.mapping, encoding):
            if target is None:
                break
            if record.number == target[0]:
                pending.append(Rejected(record.number, target[1], record.values, None))
                target = next(wanted, None)
                if len(pending) >= batch:
                    self.add_rejected(pending)
                    pending = []
        losers.close()
        if pending:
            self.add_rejected(pending)

    # -- reading the result ------------------------------------------------------------------------
    def count(self) -> int:
        """The rows that load."""
        self.cur.execute(
            f"SELECT coalesce(sum(rows), 0)::bigint FROM {ACCOUNTS}" if self.chunked else f"SELECT count(*) FROM {ROWS}"
        )
        return self.cur.fetchone()[0]

    def quarantine(self, import_id: int, digest: str, file_name: str) -> None:
        self.cur.execute(
            "INSERT INTO raw.quarantine (source, entity, file, row_number, reason, payload, import_id, file_sha256) "
            f"SELECT %s, %s, %s, number, reason, payload, %s, %s FROM {REJECTS} ORDER BY number",
            (self.mapping.source, self.mapping.kind, file_name, import_id, digest),
        )
