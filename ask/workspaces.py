"""Workspaces, their users, and what they own: ad accounts and ticket sources (CLI administration).

An ad account or a ticket source belongs to at most one workspace; granting it to another moves
it (the caller says so). Plain functions over a cursor: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ask.auth import NewKey, NotFound, create_key
from resources.ids import normalize_account_id


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    users: int
    accounts: int
    ticket_sources: int
    active_keys: int


@dataclass(frozen=True)
class Granted:
    """What a grant changed: (platform, account_id) / source -> the workspace it was taken from (None: nobody)."""

    accounts: dict[tuple[str, str], str | None]
    ticket_sources: dict[str, str | None]


def add_workspace(cur, name: str) -> tuple[int, bool]:
    """(id, created): the existing workspace of that name is reused."""
    name = name.strip()
    if not name:
        raise ValueError("a workspace needs a name")
    cur.execute(
        "INSERT INTO app.workspaces (name) VALUES (%s) ON CONFLICT (name) DO NOTHING RETURNING id",
        (name,),
    )
    row = cur.fetchone()
    if row:
        return row[0], True
    return workspace_id(cur, name), False


def workspace_id(cur, name: str) -> int:
    cur.execute("SELECT id FROM app.workspaces WHERE name = %s", (name,))
    row = cur.fetchone()
    if row is None:
        raise NotFound(f"no workspace {name!r}: create it with `burry workspaces add {name}`")
    return row[0]


def list_workspaces(cur) -> list[Workspace]:
    cur.execute(
        """
        SELECT w.id, w.name,
               (SELECT count(*) FROM app.users AS u WHERE u.workspace_id = w.id),
               (SELECT count(*) FROM app.ad_accounts AS a WHERE a.workspace_id = w.id),
               (SELECT count(*) FROM app.ticket_sources AS t WHERE t.workspace_id = w.id),
               (SELECT count(*) FROM app.api_keys AS k JOIN app.users AS u ON u.id = k.user_id
                WHERE u.workspace_id = w.id AND k.revoked_at IS NULL)
        FROM app.workspaces AS w ORDER BY w.id
        """
    )
    return [Workspace(*row) for row in cur.fetchall()]


def add_user(cur, workspace: str, email: str, name: str | None = None) -> tuple[int, bool]:
    """(id, created). An email belongs to one workspace: adding it to another is refused."""
    email = email.strip()
    if not email:
        raise ValueError("a user needs an email")
    wid = workspace_id(cur, workspace)
    cur.execute("SELECT id, workspace_id FROM app.users WHERE email = %s", (email,))
    row = cur.fetchone()
    if row:
        if row[1] != wid:
            raise ValueError(f"user {email!r} belongs to another workspace")
        return row[0], False
    cur.execute(
        "INSERT INTO app.users (workspace_id, email, name) VALUES (%s, %s, %s) RETURNING id", (wid, email, name)
    )
    return cur.fetchone()[0], True


def grant(
    cur,
    workspace: str,
    accounts: Sequence[tuple[str, str]] = (),
    ticket_sources: Sequence[str] = (),
) -> Granted:
    """Give `workspace` the accounts (platform, id in any spelling) and ticket sources.

    An account must be registered (app.ad_accounts); a ticket source need not have tickets yet."""
    wid = workspace_id(cur, workspace)
    moved_accounts: dict[tuple[str, str], str | None] = {}
    for platform, raw_id in accounts:
        account_id = normalize_account_id(platform, raw_id)
        cur.execute(
            "SELECT w.name FROM app.ad_accounts AS a LEFT JOIN app.workspaces AS w ON w.id = a.workspace_id "
            "WHERE a.platform = %s AND a.account_id = %s",
            (platform, account_id),
        )
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"no {platform} account {account_id!r} is registered")
        cur.execute(
            "UPDATE app.ad_accounts SET workspace_id = %s WHERE platform = %s AND account_id = %s",
            (wid, platform, account_id),
        )
        moved_accounts[(platform, account_id)] = row[0]
    moved_sources: dict[str, str | None] = {}
    for source in ticket_sources:
        cur.execute(
            "SELECT w.name FROM app.ticket_sources AS t LEFT JOIN app.workspaces AS w ON w.id = t.workspace_id "
            "WHERE t.source = %s",
            (source,),
        )
        row = cur.fetchone()
        cur.execute(
            "INSERT INTO app.ticket_sources (source, workspace_id) VALUES (%s, %s) "
            "ON CONFLICT (source) DO UPDATE SET workspace_id = excluded.workspace_id",
            (source, wid),
        )
        moved_sources[source] = row[0] if row else None
    return Granted(moved_accounts, moved_sources)


def unowned(cur) -> tuple[list[tuple[str, str]], list[str]]:
    """Registered accounts and ticket sources (with tickets) that no workspace owns."""
    cur.execute("SELECT platform, account_id FROM app.ad_accounts WHERE workspace_id IS NULL ORDER BY 1, 2")
    accounts = [(platform, account_id) for platform, account_id in cur.fetchall()]
    cur.execute(
        "SELECT DISTINCT t.source FROM raw.tickets AS t LEFT JOIN app.ticket_sources AS s ON s.source = t.source "
        "WHERE s.workspace_id IS NULL ORDER BY 1"
    )
    return accounts, [row[0] for row in cur.fetchall()]


DEMO_WORKSPACE = "demo"
DEMO_USER = "demo@example.com"
DEMO_SOURCE = "demo"


def setup_demo_workspace(cur) -> NewKey:
    """The demo workspace (reused on a rerun) owning the demo ad accounts and ticket source not owned
    by another workspace, its demo user, and a fresh key (a rerun prints a new one; old ones stay valid)."""
    add_workspace(cur, DEMO_WORKSPACE)
    cur.execute(
        "SELECT platform, account_id FROM app.ad_accounts WHERE source = %s AND workspace_id IS NULL ORDER BY 1, 2",
        (DEMO_SOURCE,),
    )
    accounts = [(platform, account_id) for platform, account_id in cur.fetchall()]
    cur.execute("SELECT 1 FROM app.ticket_sources WHERE source = %s AND workspace_id IS NOT NULL", (DEMO_SOURCE,))
    sources = [] if cur.fetchone() else [DEMO_SOURCE]
    grant(cur, DEMO_WORKSPACE, accounts, sources)
    add_user(cur, DEMO_WORKSPACE, DEMO_USER, "Demo user")
    return create_key(cur, DEMO_USER, name="burry demo")
