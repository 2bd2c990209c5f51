"""What gets embedded (seed 004's extraction): one clean text per ticket and per ad, and its hash.

- A ticket: subject, description, then its latest comments (newest last), each with markup
  (HTML tags and entities, Markdown emphasis, links, quoted replies) and signatures stripped and
  whitespace normalised. The subject comes first, so cutting to the model's token limit (the
  embedder cuts from the end) always keeps it.
- An ad: its headlines, descriptions, and the names of its campaign and ad group.

The hash (sha256 of the text) is stored beside each vector: a row is embedded again only when its
text changed. Plain functions, no I/O.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Sequence

LATEST_COMMENTS = 3
# A generous character cap before the tokenizer cuts precisely: no model here reads past ~8k tokens.
MAX_CHARS = 4000

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]{0,2000}>", re.IGNORECASE | re.DOTALL)
_BLOCK_TAG = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", re.IGNORECASE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|`+)(?=\S)(.+?)(?<=\S)\1")
_MD_PREFIX = re.compile(r"^\s{0,3}(#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>+\s?)")
_QUOTE_HEADER = re.compile(r"^on .{4,200} wrote:\s*$", re.IGNORECASE)
# A line that starts a signature (or the mail client's footer): it and everything after it go.
_SIGNATURE = re.compile(
    r"^(--\s*|__+|(best|kind|warm)?\s*regards,?|(many\s+)?thanks( again)?,?|thank you,?|cheers,?|"
    r"best,?|sincerely,?|sent from my .*|get outlook for .*)\s*$",
    re.IGNORECASE,
)
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")


def clean(text: str | None) -> str:
    """Markup and signature stripped, whitespace normalised (one space; paragraphs kept as ' ')."""
    if not text:
        return ""
    text = _BLOCK_TAG.sub("\n", text)
    text = html.unescape(_TAG.sub(" ", text))
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if _SIGNATURE.match(line) and lines:  # a first line "Thanks, the app crashes" is content
            break
        if line.startswith(">") or _QUOTE_HEADER.match(line):
            continue  # quoted earlier mail: its text is in the earlier comment already
        line = _MD_PREFIX.sub("", line)
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_EMPHASIS.sub(r"\2", line)
        if line:
            lines.append(line)
    return _SPACE.sub(" ", " ".join(lines)).strip()


def ticket_text(subject: str | None, description: str | None, comments: Sequence[str | None] = ()) -> str:
    """Subject first, then the description and the latest comments (in the order given: oldest first)."""
    parts = [clean(subject), clean(description)]
    parts += [clean(body) for body in list(comments)[-LATEST_COMMENTS:]]
    return _join(parts)


def ad_text(
    headlines: Iterable[str | None] = (),
    descriptions: Iterable[str | None] = (),
    campaign: str | None = None,
    ad_group: str | None = None,
) -> str:
    parts = [clean(h) for h in headlines] + [clean(d) for d in descriptions] + [clean(campaign), clean(ad_group)]
    return _join(parts)


def _join(parts: Iterable[str]) -> str:
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:  # a description that repeats the subject says nothing new
            seen.append(part)
    return ". ".join(p.rstrip(". ") for p in seen)[:MAX_CHARS].strip()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
