"""Burry's configuration: every environment variable it reads, read here and nowhere else.

- DATABASE_URL: an external PostgreSQL (with pgvector) for everything: app, dbt, Dagster. Unset:
  the embedded server under BURRY_PG_DATA.
- BURRY_PG_DATA: data directory of the embedded server. Default `.burry/pg`, or
  `/var/tmp/burry-<hash>/pg` as root (the server then runs as a separate OS user that must
  traverse every parent directory: a repo under /root must not become world-readable).
- DAGSTER_HOME: Dagster instance directory. Default `.burry/dagster`.
- BURRY_DROP_DIR: files to import, <drop>/<ads|tickets>/<mapping>/<file>. Default `.burry/drop`.
- BURRY_AD_SOURCE (`demo` or `google_ads`), BURRY_TICKET_SOURCE (`demo`): the sources the extract
  assets read. BURRY_GOOGLE_ADS_CUSTOMER_IDS: with google_ads, the ids, comma-separated.
- GOOGLE_ADS_*: Google Ads credentials under the google-ads library's own names, or
  GOOGLE_ADS_CONFIGURATION_FILE_PATH naming a google-ads.yaml. Secrets: never logged.
- BURRY_DEMO_END_DATE: last day of demo data. Default yesterday.
- BURRY_LOG_LEVEL: a root logging level for the CLI (Dagster logs runs through its own handlers).
- BURRY_EMBEDDING_PROVIDER (`local`, `bf16`, `onnx`, `sentence-transformers` or `openai`),
  BURRY_EMBEDDING_MODEL: the embedding provider and its model (default `local`: the packaged
  all-MiniLM-L6-v2 through the CPU's fastest checked backend, bf16 or onnx).
  OPENAI_API_KEY, OPENAI_BASE_URL: for `openai` (a secret: never logged).
  BURRY_HNSW_EF_SEARCH: HNSW candidate list size per search (default 100).
  BURRY_MODEL_CACHE: where derived model files (the ONNX export) are kept. Default `.burry/models`.
  Model weights are never downloaded: `offline_models()` sets HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE.
- BURRY_DBT_PARENT_PID: set by Burry for the dbt process it starts (`burry-dbt`, resources/dbt_guard.py):
  the pid that must still be its parent once it has asked to die with it.

Values are read when asked for, not at import, so a test (or a user's shell) that changes one is
seen by the next call. Nothing else in Burry reads or writes `os.environ`; the CLI passes its
options as arguments and run config. The one exception is `child_environment`: Dagster's
webserver and dbt are separate programs that take their configuration from their environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
MIGRATIONS_DIR = REPO_ROOT / "migrations"
MAPPINGS_DIR = REPO_ROOT / "mappings"

DEMO_END_DATE = "BURRY_DEMO_END_DATE"
DBT_PARENT_PID = "BURRY_DBT_PARENT_PID"

# The application database inside the embedded server (the server's own `postgres` db stays empty).
EMBEDDED_DATABASE = "burry"

# The one default of the lookback: days re-read by each refresh (late conversions, status
# changes), by the extracts and by dbt's incremental fact alike. dbt gets it as `--vars`.
LOOKBACK_DAYS = 30


def _get(name: str) -> str | None:
    return os.environ.get(name) or None


def _path(name: str, default: Path) -> Path:
    configured = _get(name)
    return Path(configured).expanduser().resolve() if configured else default


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
    return _path("BURRY_PG_DATA", default_pg_data_dir())


def external_database_url() -> str | None:
    return _get("DATABASE_URL")


def drop_dir() -> Path:
    """Files dropped here are imported: <drop>/<ads|tickets>/<mapping name>/<file>.csv|.jsonl"""
    return _path("BURRY_DROP_DIR", local_state_dir() / "drop")


def dagster_home() -> Path:
    return _path("DAGSTER_HOME", local_state_dir() / "dagster")


def ad_source_kind() -> str:
    return _get("BURRY_AD_SOURCE") or "demo"


def ticket_source_kind() -> str:
    return _get("BURRY_TICKET_SOURCE") or "demo"


def google_ads_customer_ids() -> list[str]:
    return [part.strip() for part in (_get("BURRY_GOOGLE_ADS_CUSTOMER_IDS") or "").split(",") if part.strip()]


def demo_end_date() -> date | None:
    value = _get(DEMO_END_DATE)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise ValueError(f"{DEMO_END_DATE}={value!r} is not a date: use YYYY-MM-DD") from None


def demo_end_date_environment(value: str | None) -> dict[str, str]:
    """For a process Burry starts that builds the demo sources itself (`dagster dev`)."""
    return {DEMO_END_DATE: value} if value else {}


def google_ads_credentials() -> dict[str, str]:
    """The google-ads library's configuration keys from its GOOGLE_ADS_* variables (the library's
    own names: GOOGLE_ADS_DEVELOPER_TOKEN -> developer_token, ...). Secrets: never log them."""
    prefix = "GOOGLE_ADS_"
    return {
        name[len(prefix) :].lower(): value for name, value in os.environ.items() if name.startswith(prefix) and value
    }


def log_level() -> str | None:
    return _get("BURRY_LOG_LEVEL")


def dbt_parent_environment() -> dict[str, str]:
    """For the dbt process this process starts: who its parent is (resources/dbt_guard.py)."""
    return {DBT_PARENT_PID: str(os.getpid())}


def dbt_parent_pid() -> int | None:
    """In `burry-dbt`: the pid of the process that started it, when Burry said so."""
    value = _get(DBT_PARENT_PID)
    return int(value) if value and value.isdigit() else None


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus `extra`, for a program Burry starts (`dagster dev`)."""
    return {**os.environ, **extra}


@contextlib.contextmanager
def environment_for_children(extra: Mapping[str, str]) -> Iterator[None]:
    """Set `extra` while the block starts a child process, then restore. For libraries that start
    a program from this process's environment and take no other way in: dagster-dbt starts dbt,
    whose profiles.yml reads its connection from the environment only."""
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- embeddings ---------------------------------------------------------------------------------------
def embedding_provider() -> str:
    return _get("BURRY_EMBEDDING_PROVIDER") or "local"


def embedding_model() -> str | None:
    return _get("BURRY_EMBEDDING_MODEL")


def openai_api_key() -> str | None:
    return _get("OPENAI_API_KEY")


def openai_base_url() -> str | None:
    return _get("OPENAI_BASE_URL")


def hnsw_ef_search() -> int:
    value = _get("BURRY_HNSW_EF_SEARCH")
    if value is None:
        return 100
    if not value.isdigit() or not 1 <= int(value) <= 1000:
        raise ValueError(f"BURRY_HNSW_EF_SEARCH={value!r} must be an integer from 1 to 1000")
    return int(value)


def model_cache_dir() -> Path:
    return _path("BURRY_MODEL_CACHE", local_state_dir() / "models")


def offline_models() -> None:
    """Before loading a model: Hugging Face libraries must read local files only, never download.
    Set in this process (they read these variables when loading), not just for children."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
