"""API keys and who is asking: a key names a user, the user a workspace, the workspace its Scope.

A key is `burry_<prefix>_<secret>`: 8 random bytes of prefix (hex, stored in clear: it finds the
row and is what `burry keys list` shows) and 32 random bytes of secret (urlsafe base64), stored
only as sha256 — a 256-bit random secret needs no slow hash — and compared in constant time. The
whole key is shown once, when created. Revoked keys are kept (`revoked_at`) and refused.

One query reads the key, its user, the workspace and the workspace's accounts and ticket sources;
`last_used_at` is written at most once a minute per key, so 16 clients on one key do not queue on
that row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from ask.scope import Scope

KEY_PATTERN = re.compile(r"burry_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
LAST_USED_RESOLUTION_SECONDS = 60
SOURCES = ("http", "cli", "slack")


class Unauthorized(Exception):
    """No key, a malformed key, an unknown or revoked one: all look the same to the caller."""


class NotFound(LookupError):
    """A workspace, user or key that does not exist (CLI administration)."""


@dataclass(frozen=True)
class Caller:
    """Who is asking, through what, and what they may read."""

    scope: Scope
    user_id: int | None
    api_key_id: int | None
    source: str = "http"

    @property
    def workspace_id(self) -> int | None:
        return self.scope.workspace_id


@dataclass(frozen=True)
class NewKey:
    id: int
    token: str  # shown once: only its hash is stored
    prefix: str
    user_email: str
    workspace_name: str


@dataclass(frozen=True)
class KeyRecord:
    id: int
    prefix: str
    name: str | None
    user_email: str
    workspace_name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_token() -> tuple[str, str, bytes]:
    """(token, prefix, sha256 of the secret)."""
    prefix = secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"burry_{prefix}_{secret}", prefix, _digest(secret)


def parse_token(token: str) -> tuple[str, str] | None:
    match = KEY_PATTERN.fullmatch(token.strip())
    return (match.group(1), match.group(2)) if match else None


SCOPE_COLUMNS = """
    ARRAY(SELECT a.platform FROM app.ad_accounts AS a WHERE a.workspace_id = w.id
          ORDER BY a.platform, a.account_id),
    ARRAY(SELECT a.account_id FROM app.ad_accounts AS a WHERE a.workspace_id = w.id
          ORDER BY a.platform, a.account_id),
    ARRAY(SELECT t.source FROM app.ticket_sources AS t WHERE t.workspace_id = w.id ORDER BY t.source)
"""


def _scope(workspace_id: int, name: str, platforms, account_ids, sources) -> Scope:
    return Scope(
        workspace_id=workspace_id,
        workspace_name=name,
        accounts=tuple(zip(platforms or [], account_ids or [], strict=True)),
        ticket_sources=tuple(sources or []),
    )


def authenticate(cur, token: str | None, source: str = "http") -> Caller:
    """The caller a key stands for; raises Unauthorized for anything but a valid, unrevoked key."""
    parsed = parse_token(token) if token else None
    if parsed is None:
        raise Unauthorized("missing or malformed API key")
    prefix, secret = parsed
    cur.execute(
        f"""
        SELECT k.id, k.secret_sha256, k.revoked_at IS NOT NULL,
               k.last_used_at IS NULL OR k.last_used_at < now() - make_interval(secs => %s),
               u.id, w.id, w.name, {SCOPE_COLUMNS}
        FROM app.api_keys AS k
        JOIN app.users AS u ON u.id = k.user_id
        JOIN app.workspaces AS w ON w.id = u.workspace_id
        WHERE k.prefix = %s
        """,
        (LAST_USED_RESOLUTION_SECONDS, prefix),
    )
    row = cur.fetchone()
    # Compare even when there is no row, so timing does not tell which prefixes exist.
    stored = bytes(row[1]) if row else b"\0" * 32
    matches = hmac.compare_digest(stored, _digest(secret))
    if row is None or not matches or row[2]:
        raise Unauthorized("invalid or revoked API key")
    key_id, _, _, stale, user_id, workspace_id, name, platforms, account_ids, sources = row
    if stale:
        cur.execute(
            "UPDATE app.api_keys SET last_used_at = now() WHERE id = %s "
            "AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %s))",
            (key_id, LAST_USED_RESOLUTION_SECONDS),
        )
    return Caller(_scope(workspace_id, name, platforms, account_ids, sources), user_id, key_id, source)


def workspace_caller(cur, workspace: str, source: str = "cli") -> Caller:
    """A local caller with a workspace's scope and no key (`burry ask --workspace W`)."""
    cur.execute(f"SELECT w.id, w.name, {SCOPE_COLUMNS} FROM app.workspaces AS w WHERE w.name = %s", (workspace,))
    row = cur.fetchone()
    if row is None:
        raise NotFound(f"no workspace {workspace!r}: create it with `burry workspaces add {workspace}`")
    return Caller(_scope(*row), None, None, source)


def only_workspace(cur) -> str | None:
    """The name of the one workspace, when exactly one exists."""
    cur.execute("SELECT name FROM app.workspaces ORDER BY id LIMIT 2")
    rows = cur.fetchall()
    return rows[0][0] if len(rows) == 1 else None


# -- administration (the CLI) ----------------------------------------------------------------------
def create_key(cur, user_email: str, name: str | None = None) -> NewKey:
    cur.execute(
        "SELECT u.id, u.email, w.name FROM app.users AS u JOIN app.workspaces AS w ON w.id = u.workspace_id "
        "WHERE u.email = %s",
        (user_email,),
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(f"no user {user_email!r}: add one with `burry users add EMAIL --workspace W`")
    user_id, email, workspace = row
    token, prefix, digest = new_token()
    cur.execute(
        "INSERT INTO app.api_keys (user_id, prefix, secret_sha256, name) VALUES (%s, %s, %s, %s) RETURNING id",
        (user_id, prefix, digest, name),
    )
    return NewKey(cur.fetchone()[0], token, prefix, email, workspace)


def list_keys(cur, workspace: str | None = None, include_revoked: bool = True) -> list[KeyRecord]:
    cur.execute(
        "SELECT k.id, k.prefix, k.name, u.email, w.name, k.created_at, k.last_used_at, k.revoked_at "
        "FROM app.api_keys AS k JOIN app.users AS u ON u.id = k.user_id "
        "JOIN app.workspaces AS w ON w.id = u.workspace_id "
        "WHERE (%(workspace)s::text IS NULL OR w.name = %(workspace)s) "
        "AND (%(revoked)s OR k.revoked_at IS NULL) ORDER BY k.id",
        {"workspace": workspace, "revoked": include_revoked},
    )
    return [KeyRecord(*row) for row in cur.fetchall()]


def revoke_key(cur, key: str) -> KeyRecord:
    """Revoke by id, prefix or the whole token; revoking twice keeps the first time."""
    parsed = parse_token(key)
    prefix = parsed[0] if parsed else key.strip()
    key_id = int(prefix) if prefix.isdigit() and len(prefix) < 16 else None
    cur.execute(
        "UPDATE app.api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE prefix = %s OR id = %s RETURNING id",
        (prefix, key_id),
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(f"no API key {key!r} (see `burry keys list`)")
    return next(k for k in list_keys(cur) if k.id == row[0])
