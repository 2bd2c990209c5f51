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

The temporary tables live in the import's transaction (ON COMMIT DROP): a failure leaves nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assets.imports.mapping import Mapping
from assets.imports.parse import (
    ROLLED_UP,
    Candidate,
    Chunk,
    Encoding,
    Rejected,
    duplicate_key_reason,
    read_records,
    resolve,
    rolls_up,
)
from resources.raw_rules import BIGINT_MAX
from resources.raw_schema import DATE, JSONB, METRIC_TYPES, TABLES, TEXT

ROWS, REJECTS, LOSERS, DUPLICATE_KEYS = "import_rows", "import_rejects", "import_losers", "import_duplicate_keys"


@dataclass(frozen=True)
class Layout:
    """The staged columns of a mapping's rows (after `number` and `fingerprint`) and their key."""

    columns: dict[str, str]
    key: tuple[str, ...]


def layout(mapping: Mapping) -> Layout:
    if mapping.kind == "tickets":
        columns = {c: t for c, t in TABLES["tickets"].columns.items() if c != "source"}
        return Layout({**columns, "comments": JSONB}, ("ticket_id",))
    ids = ("platform", "account_id", "currency_code", "account_name", "campaign_id")
    names: tuple[str, ...] = ids
    if mapping.grain == "campaign":
        key: tuple[str, ...] = ("platform", "account_id", "campaign_id", "date")
    else:
        names = (*ids, "ad_group_id", "ad_id", "ad_group_name", "ad_name")
        key = ("platform", "account_id", "ad_group_id", "ad_id", "date")
    return Layout({**dict.fromkeys(names, TEXT), "date": DATE, **METRIC_TYPES}, key)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _csv_buffer(rows: Iterator[tuple]) -> io.StringIO:
    # COPY's CSV: an empty unquoted field is NULL (staged text is never empty: `canonical_values`
    # makes it None); "\r\n" line ends make csv quote any field holding a line break.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
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
        columns = ", ".join(f"{c} {t}" for c, t in self.layout.columns.items())
        cur.execute(
            f"CREATE TEMP TABLE {ROWS} (number bigint, fingerprint bigint, {columns}) ON COMMIT DROP;"
            f"CREATE TEMP TABLE {REJECTS} (number bigint, fingerprint bigint, reason text, payload jsonb) "
            "ON COMMIT DROP;"
            f"CREATE TEMP TABLE {LOSERS} (number bigint PRIMARY KEY, reason text) ON COMMIT DROP"
        )

    # -- staging ---------------------------------------------------------------------------------
    def add(self, chunk: Chunk) -> None:
        names = list(self.layout.columns)
        jsonb = [c for c, t in self.layout.columns.items() if t == JSONB]
        if chunk.rows:
            if jsonb:
                rows = (
                    (c.number, c.fingerprint, *(_json(c.row[n]) if n in jsonb else c.row.get(n) for n in names))
                    for c in chunk.rows
                )
            else:
                rows = ((c.number, c.fingerprint, *map(c.row.get, names)) for c in chunk.rows)
            self.copy(ROWS, ["number", "fingerprint", *names], rows)
        if chunk.rejected:
            self.add_rejected(chunk.rejected)

    def add_rejected(self, rejected: list[Rejected]) -> None:
        self.copy(
            REJECTS,
            ["number", "fingerprint", "reason", "payload"],
            ((r.number, r.fingerprint, self.storable(r.reason), _json(self.storable(r.payload))) for r in rejected),
        )

    def copy(self, table: str, columns: list[str], rows: Iterator[tuple]) -> None:
        # An ad-group row's ad id is the empty string (NO_AD), not NULL.
        options = ", FORCE_NOT_NULL (ad_id)" if "ad_id" in columns else ""
        self.cur.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv{options})", _csv_buffer(rows)
        )

    # -- resolving -------------------------------------------------------------------------------
    def resolve(self, path: Path, encoding: Encoding, may_overflow: bool) -> Resolution:
        """Apply the rules across records (module docstring); quarantine what loses."""
        cur, resolution = self.cur, Resolution()
        cur.execute(f"ANALYZE {ROWS}; ANALYZE {REJECTS}")
        key = ", ".join(self.layout.key)
        same_key = " AND ".join(f"{{a}}.{k} = {{b}}.{k}" for k in self.layout.key)
        values = ", ".join(self.layout.columns)
        cur.execute(
            f"DELETE FROM {REJECTS} AS r USING {REJECTS} AS e WHERE r.fingerprint = e.fingerprint "
            "AND e.number < r.number AND e.payload = r.payload"
        )
        resolution.exact_duplicates += cur.rowcount
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
        cur.execute(
            f"SELECT split_part(reason, ':', 1) AS grp, count(*), (array_agg(reason ORDER BY number))[1] "
            f"FROM {REJECTS} GROUP BY grp ORDER BY min(number)"
        )
        for group, count, example in cur.fetchall():
            resolution.quarantined[group] = count
            resolution.examples[group] = example
        return resolution

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
        self.cur.execute(f"SELECT count(*) FROM {ROWS}")
        return self.cur.fetchone()[0]

    def quarantine(self, import_id: int, digest: str, file_name: str) -> None:
        self.cur.execute(
            "INSERT INTO raw.quarantine (source, entity, file, row_number, reason, payload, import_id, file_sha256) "
            f"SELECT %s, %s, %s, number, reason, payload, %s, %s FROM {REJECTS} ORDER BY number",
            (self.mapping.source, self.mapping.kind, file_name, import_id, digest),
        )
