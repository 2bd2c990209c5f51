"""Where Burry keeps its state, read from the environment in one place.

- DATABASE_URL        an external PostgreSQL (with pgvector) for everything: app, dbt, Dagster.
                      Unset: the embedded server under BURRY_PG_DATA.
- BURRY_PG_DATA       data directory of the embedded server. Default: `.burry/pg` in the repo,
                      or `/var/tmp/burry-<hash>/pg` when running as root (the embedded server
                      runs as a separate OS user and opens every parent directory of its data
                      dir to it: a repo under /root must not become world-readable).
- DAGSTER_HOME        Dagster instance directory. Default: `.burry/dagster` in the repo.
- BURRY_DROP_DIR      files to import: <drop>/<ads|tickets>/<mapping>/<file>. Default `.burry/drop`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
MIGRATIONS_DIR = REPO_ROOT / "migrations"
MAPPINGS_DIR = REPO_ROOT / "mappings"

# The application database inside the embedded server (the server's own `postgres` db stays empty).
EMBEDDED_DATABASE = "burry"


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def local_state_dir() -> Path:
    """Project-local state (Dagster home, logs): always inside the repo, git-ignored."""
    return REPO_ROOT / ".burry"


def default_pg_data_dir() -> Path:
    if is_root():
        # Short on purpose: a data dir over ~90 chars moves the Unix socket elsewhere.
        digest = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:8]
        return Path("/var/tmp") / f"burry-{digest}" / "pg"
    return local_state_dir() / "pg"


def pg_data_dir() -> Path:
    configured = os.environ.get("BURRY_PG_DATA")
    return Path(configured).expanduser().resolve() if configured else default_pg_data_dir()


def external_database_url() -> str | None:
    return os.environ.get("DATABASE_URL") or None


def drop_dir() -> Path:
    """Files dropped here are imported: <drop>/<ads|tickets>/<mapping name>/<file>.csv|.jsonl"""
    configured = os.environ.get("BURRY_DROP_DIR")
    return Path(configured).expanduser().resolve() if configured else local_state_dir() / "drop"


def dagster_home() -> Path:
    configured = os.environ.get("DAGSTER_HOME")
    return Path(configured).expanduser().resolve() if configured else local_state_dir() / "dagster"
