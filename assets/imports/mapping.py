"""Import mappings: which file column (or template over columns) feeds each canonical field.

A mapping names, for each canonical field, the file column it comes from, or a template over
columns (`"{day} {month} 2020"` for a file without a year), plus date formats, value maps
(priority `Critical` -> `urgent`), defaults for blank values and rows to skip above the header.
Mappings for common exports ship in `mappings/`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from resources import settings
from resources.raw_rules import CANONICAL_PRIORITIES

FIELDS = {
    "ads": (
        "date",
        "platform",
        "account",
        "account_name",
        "campaign",
        "ad_group",
        "ad",
        "impressions",
        "clicks",
        "cost",
        "conversions",
        "conversion_value",
        "currency",
    ),
    "tickets": (
        "id",
        "subject",
        "description",
        "priority",
        "status",
        "resolution",
        "channel",
        "category",
        "created_at",
        "first_response_at",
        "resolved_at",
        "comments",
    ),
}
REQUIRED = {"ads": ("date", "platform", "account", "campaign"), "tickets": ("id",)}
TICKET_TIMES = ("created_at", "first_response_at", "resolved_at")
# Fields whose value maps are applied when the row is parsed, so that the source's own wording is kept too.
KEEP_RAW = ("priority", "status")
# Ad rows at ad-group grain (an export without ads) have this ad id in raw.ad_daily_metrics: no ad.
NO_AD = ""
PRIORITIES = CANONICAL_PRIORITIES


class ImportRefused(ValueError):
    """The whole file is refused, nothing was imported; the message names the fix.

    `exit_code` is what `burry import` exits with (see orchestration/cli/imports.py)."""

    exit_code = 2


class MappingError(ImportRefused):
    """The mapping or the file's header is unusable (exit 2)."""


class UnreadableFile(ImportRefused):
    """The file cannot be read as text: no encoding fits, or its header is broken (exit 2)."""


class ImportRunning(ImportRefused):
    """Another import of the same file holds its lock (exit 3)."""

    exit_code = 3


class AccountOwned(ImportRefused):
    """The file writes into ad accounts another source owns, without `merge` (exit 4)."""

    exit_code = 4


@dataclass(frozen=True)
class Mapping:
    name: str
    kind: str
    source: str
    columns: dict[str, tuple[str, ...]]  # field -> alternatives (column name or template); first that fits wins
    sha256: str
    date_formats: tuple[str, ...] = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S")
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    null_values: tuple[str, ...] = ("", "--", "N/A")
    skip_rows: int = 0
    delimiter: str = ","
    time_zone: str = "UTC"
    lookups: tuple[Lookup, ...] = ()
    optional: frozenset[str] = frozenset()  # fields whose columns a file may lack (then: their default)

    @cached_property
    def grain(self) -> str:
        """ad (rows name an ad), ad_group (an ad group, no ad: an ad-set export) or campaign."""
        if "ad_group" not in self.provides:
            return "campaign"
        return "ad" if "ad" in self.provides else "ad_group"

    @property
    def provides(self) -> set[str]:
        return set(self.columns) | set(self.defaults)

    @cached_property
    def plan(self) -> tuple[FieldPlan, ...]:
        """How each provided field is read, worked out once (`canonical_values` runs per row)."""
        return tuple(
            FieldPlan(
                name,
                self.columns[name][0] if name in self.columns else None,
                name in self.columns and "{" in self.columns[name][0],
                self.defaults.get(name, ""),
                # priority and status keep the source's own value: parse_ticket_row maps them, stores both.
                self.value_maps.get(name) if name not in KEEP_RAW else None,
            )
            for name in sorted(self.provides)
        )


@dataclass(frozen=True)
class Lookup:
    """A second file joined by key: its `columns` become columns of every row whose `key` column
    (in the imported file; `lookup_key` in the lookup file) finds a line there."""

    file: str  # relative to the imported file's folder, or absolute
    key: str
    lookup_key: str
    columns: tuple[str, ...]

    def path(self, data_file: Path) -> Path:
        return data_file.parent / self.file


@dataclass(frozen=True)
class FieldPlan:
    name: str
    spec: str | None  # the column, or a template over columns; None: the default only
    template: bool
    default: str
    value_map: dict[str, str] | None


def load_mapping(path: str | Path) -> Mapping:
    path = Path(path)
    text = path.read_text()
    spec = yaml.safe_load(text) or {}
    kind = spec.get("kind")
    if kind not in FIELDS:
        raise MappingError(f"{path}: `kind` must be one of {', '.join(FIELDS)}")
    columns = {
        k: tuple(str(a) for a in (v if isinstance(v, list) else [v])) for k, v in (spec.get("columns") or {}).items()
    }
    defaults = {k: str(v) for k, v in (spec.get("defaults") or {}).items()}
    unknown = (set(columns) | set(defaults)) - set(FIELDS[kind])
    if unknown:
        raise MappingError(f"{path}: unknown fields {sorted(unknown)}; {kind} fields are {', '.join(FIELDS[kind])}")
    missing = [f for f in REQUIRED[kind] if f not in columns and f not in defaults]
    if missing:
        raise MappingError(f"{path}: map a column or give a default for {', '.join(missing)}")
    options = {k: spec[k] for k in ("skip_rows", "delimiter", "time_zone") if k in spec}
    if "time_zone" in options:
        try:
            ZoneInfo(str(options["time_zone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(
                f"{path}: time_zone {options['time_zone']!r} is not a time zone; use an IANA name such as "
                "Europe/Berlin or UTC"
            ) from None
    if "date_formats" in spec:
        options["date_formats"] = tuple(spec["date_formats"])
    if "null_values" in spec:
        options["null_values"] = tuple(str(v) for v in spec["null_values"])
    value_maps = {
        f: {str(k).casefold(): str(v) for k, v in m.items()} for f, m in (spec.get("value_maps") or {}).items()
    }
    options["lookups"] = tuple(parse_lookup(path, entry) for entry in spec.get("lookups") or [])
    optional = frozenset(str(f) for f in spec.get("optional") or [])
    if optional - set(columns):
        raise MappingError(f"{path}: `optional` names fields without a column: {sorted(optional - set(columns))}")
    if optional & set(REQUIRED[kind]) - set(defaults):
        raise MappingError(f"{path}: a required field can only be optional with a default")
    options["optional"] = optional
    return Mapping(
        name=spec.get("name", path.stem),
        kind=kind,
        source=spec.get("source", path.stem),
        columns=columns,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        value_maps=value_maps,
        defaults=defaults,
        **options,
    )


def parse_lookup(path: Path, entry) -> Lookup:
    """`{file: names.csv, key: Campaign ID, columns: [Campaign]}`; `key: {Campaign ID: Id}` when the
    lookup file names its key column differently."""
    if not isinstance(entry, dict) or not {"file", "key", "columns"} <= set(entry):
        raise MappingError(f"{path}: each of `lookups` needs `file`, `key` and `columns`")
    key = entry["key"]
    if isinstance(key, dict):
        if len(key) != 1:
            raise MappingError(f"{path}: a lookup's `key` joins one column: {{column: lookup column}}")
        ((key, lookup_key),) = key.items()
    else:
        lookup_key = key
    columns = entry["columns"] if isinstance(entry["columns"], list) else [entry["columns"]]
    return Lookup(str(entry["file"]), str(key), str(lookup_key), tuple(str(c) for c in columns))


def resolve_mapping(name_or_path: str | Path) -> Mapping:
    """A mapping file, or the name of one shipped in mappings/ (e.g. `online_ads`)."""
    path = Path(name_or_path)
    if not path.exists():
        shipped = settings.MAPPINGS_DIR / f"{name_or_path}.yml"
        if not shipped.exists():
            names = ", ".join(sorted(p.stem for p in settings.MAPPINGS_DIR.glob("*.yml")))
            raise FileNotFoundError(f"no mapping file {str(name_or_path)!r}; shipped mappings: {names}")
        path = shipped
    return load_mapping(path)
