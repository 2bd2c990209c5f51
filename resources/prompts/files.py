"""Template files (prompts/*.md): YAML front matter between `---` lines, then the body.

    ---
    slug: account-system-prompt        # unique, URL-safe: lowercase letters, digits, single dashes
    name: Account system prompt
    description: What the LLM is told about one ad account.
    tags: [ads, system]
    output_format: text                # json | markdown | html | text
    ---
    You are Burry AI ... {{ account_overview }}

The body is everything after the closing `---` line, byte for byte (its sha256 decides whether
a sync makes a new version).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from resources.prompts.render import TemplateError, variables

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SLUG = 100
OUTPUT_FORMATS = ("json", "markdown", "html", "text")
FRONT_MATTER_KEYS = {"slug", "name", "description", "tags", "output_format"}


class TemplateFileError(ValueError):
    """A template file that cannot be registered: the message names the file and the fix."""


@dataclass(frozen=True)
class TemplateFile:
    slug: str
    name: str
    body: str
    description: str = ""
    tags: tuple[str, ...] = ()
    output_format: str = "text"
    path: str | None = None
    variables: tuple[str, ...] = field(default=())

    @property
    def body_sha256(self) -> str:
        return body_sha256(self.body)

    def front_matter(self) -> dict:
        return {
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "tags": list(self.tags),
            "output_format": self.output_format,
        }


def body_sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def valid_slug(slug: object) -> bool:
    return isinstance(slug, str) and len(slug) <= MAX_SLUG and SLUG.fullmatch(slug) is not None


def parse_template(text: str, path: str | None = None) -> TemplateFile:
    where = path or "template"
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise TemplateFileError(f"{where}: must start with a `---` line and YAML front matter")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise TemplateFileError(f"{where}: the front matter has no closing `---` line") from None
    try:
        meta = yaml.safe_load("".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        raise TemplateFileError(f"{where}: the front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise TemplateFileError(f"{where}: the front matter must be a mapping")
    unknown = sorted(set(meta) - FRONT_MATTER_KEYS)
    if unknown:
        raise TemplateFileError(f"{where}: unknown front matter keys {unknown} (known: {sorted(FRONT_MATTER_KEYS)})")
    slug = meta.get("slug")
    if not valid_slug(slug):
        raise TemplateFileError(
            f"{where}: slug {slug!r} is not URL-safe: lowercase letters, digits and single dashes, "
            f"at most {MAX_SLUG} characters"
        )
    output_format = meta.get("output_format", "text")
    if output_format not in OUTPUT_FORMATS:
        raise TemplateFileError(f"{where}: output_format {output_format!r} is not one of {', '.join(OUTPUT_FORMATS)}")
    tags = meta.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) and tag for tag in tags):
        raise TemplateFileError(f"{where}: tags must be a list of words")
    name = meta.get("name") or slug
    body = "".join(lines[end + 1 :])
    try:
        names = tuple(variables(body))
    except TemplateError as exc:
        raise TemplateFileError(f"{where}: {exc}") from None
    return TemplateFile(
        slug=str(slug),
        name=str(name),
        body=body,
        description=str(meta.get("description") or ""),
        tags=tuple(sorted(set(tags))),
        output_format=output_format,
        path=path,
        variables=names,
    )


def read_templates(directory: Path) -> list[TemplateFile]:
    """Every `*.md` template in `directory`, by slug; two files with one slug are an error."""
    found: dict[str, TemplateFile] = {}
    for path in sorted(directory.glob("*.md")):
        template = parse_template(path.read_text(encoding="utf-8"), path.name)
        if template.slug in found:
            raise TemplateFileError(f"{path.name}: slug {template.slug!r} is also {found[template.slug].path}'s")
        found[template.slug] = template
    return [found[slug] for slug in sorted(found)]
