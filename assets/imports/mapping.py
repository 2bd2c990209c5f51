"""Import mappings: which file column (or template over columns) feeds each canonical field.

A mapping names, for each canonical field, the file column it comes from, or a template over
columns (`"{day} {month} 2020"` for a file without a year), plus date formats, value maps
(priority `Critical` -> `urgent`), defaults for blank values and rows to skip above the header.
Mappings for common exports ship in `mappings/`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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

    @property
    def grain(self) -> str:
        return "ad" if {"ad_group", "ad"} <= self.provides else "campaign"

    @property
    def provides(self) -> set[str]:
        return set(self.columns) | set(self.defaults)


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
