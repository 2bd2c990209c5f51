"""What a question may read: the ad accounts and ticket sources of one workspace (or a narrower slice).

The HTTP service and the CLI resolve a Scope from a key (or a local workspace) and hand it to the
answerer; the answerer never reads outside it. Plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Scope:
    workspace_id: int | None
    workspace_name: str
    accounts: tuple[tuple[str, str], ...]  # (platform, account_id), normalized ids
    ticket_sources: tuple[str, ...]

    def narrowed(self, platform: str | None = None, account_id: str | None = None) -> Scope:
        """Only the accounts of `platform` and/or the one `account_id` (ticket sources stay)."""
        accounts = tuple(
            (p, a)
            for p, a in self.accounts
            if (platform is None or p == platform) and (account_id is None or a == account_id)
        )
        return replace(self, accounts=accounts)

    def has_account(self, platform: str, account_id: str) -> bool:
        return (platform, account_id) in self.accounts
