"""The dbt project: where it is, the dbt executable, its manifest, and a CLI resource that hands dbt
its database connection."""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from resources import settings
from resources.database_url import DatabaseUrl
from resources.postgres import PostgresResource
from resources.run_workers import die_with_run_worker

# dbt runs as a subprocess: the one installed beside this interpreter, even when the venv is not
# activated (`.venv/bin/burry ...`, `make demo`), started through `burry-dbt` (resources/dbt_guard.py)
# so that it dies with the process that started it.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "burry-dbt")


def dbt_executable() -> str:
    """`burry-dbt`, a console script of this project: missing when the venv predates it."""
    if not Path(DBT_EXECUTABLE).exists():
        raise FileNotFoundError(
            f"{DBT_EXECUTABLE} is missing: reinstall the project into this venv "
            f"(`make install`, or `{Path(sys.executable).parent / 'pip'} install --no-deps -e .`)."
        )
    return DBT_EXECUTABLE


dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)


# What `dbt parse` leaves that later commands read: the manifest, and its partial-parse state.
PARSE_OUTPUTS = ("manifest.json", "semantic_manifest.json", "partial_parse.msgpack")


def build_vars(lookback_days: int = settings.LOOKBACK_DAYS) -> list[str]:
    """`--vars` of a dbt build (the lookback always goes to dbt explicitly)."""
    return ["--vars", json.dumps({"lookback_days": lookback_days})]


def _database_env(url: DatabaseUrl | None) -> dict[str, str]:
    """The connection dbt's builds will get (none configured: profiles.yml's defaults)."""
    from resources.database import DatabaseNotConfigured, resolve_database_url

    try:
        return (url or resolve_database_url()).dbt_env()
    except DatabaseNotConfigured:
        return {}


def prepare_dbt_manifest(url: DatabaseUrl | None = None) -> None:
    """Run `dbt parse` (no database needed) to write dbt_project/target/manifest.json, which
    @dbt_assets reads when the code location loads.

    Every build starts from the partial-parse state this leaves (dagster-dbt copies it into the
    build's own target). dbt reuses it only when the vars and the connection fields match, so the
    parse gets those of the builds to come: the database they will use (`url`, default the
    configured one) and the default lookback.
    Otherwise each build parses the whole project again (~4 s).

    Several `burry` commands may start at once (a refresh while `burry serve` reloads, parallel
    tests): parses take turns under a file lock, each in a scratch target, and the results replace
    the files in target/ atomically, so no process ever reads a manifest half written."""
    target = Path(dbt_project.project_dir) / dbt_project.target_path  # target_path is relative to the project
    target.mkdir(parents=True, exist_ok=True)
    dbt = DbtCli(project_dir=dbt_project, dbt_executable=dbt_executable())  # type: ignore[arg-type]
    with (target / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        scratch = Path(tempfile.mkdtemp(prefix="parse-", dir=target))
        try:
            if (target / "partial_parse.msgpack").exists():  # keeps the parse partial (fast)
                shutil.copy2(target / "partial_parse.msgpack", scratch / "partial_parse.msgpack")
            with settings.environment_for_children(_database_env(url)):
                dbt.cli(["parse", "--quiet", *build_vars()], target_path=scratch).wait()
            for name in PARSE_OUTPUTS:
                if (scratch / name).exists():
                    os.replace(scratch / name, target / name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


# dagster-dbt gives each run's dbt a target folder of its own (`<op>-<run id>-<random>`, ~8 MB:
# manifest, compiled SQL, logs, run_results.json). Kept for looking into recent runs; older ones go.
KEEP_RUN_TARGETS = 20


def prune_run_targets(target: Path, keep: int = KEEP_RUN_TARGETS) -> int:
    """Remove all but the `keep` newest run folders in `target`; returns how many went. Without
    this, four refreshes a day fill the disk (~30 MB a day)."""
    runs = [p for p in target.glob("*-*-*") if p.is_dir() and not p.name.startswith("parse-")]
    runs.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return max(0, len(runs) - keep)


class DbtCli(DbtCliResource):
    """DbtCliResource without two start-up costs of its cli(), together ~4 s of every dbt command
    (a 6-hourly build, a parse) before dbt even started (bench/marts_refresh.py):
    - it asks the executable for its version (`dbt --version`, a second dbt start-up, ~2 s). Ours
      execs the dbt installed beside this interpreter, so that is this environment's dbt-core;
    - it loads dbt's project, profile and an adapter in this process (~2 s of imports and
      parsing), used only by `.fetch_column_metadata()` and `.fetch_row_counts()` on the event
      stream, which Burry does not call. Without an adapter those two yield no metadata: load one
      again here before using them."""

    @property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args) -> None:  # type: ignore[override]
        return None


class BurryDbtResource(DbtCli):
    """dbt against Burry's database. profiles.yml reads the connection from the environment (dbt
    takes it no other way), so it is set only while the dbt process starts, with the pid `burry-dbt`
    checks its parent against. dbt ends when the process that started it ends (resources/dbt_guard.py),
    and that process when the run's worker ends (resources/run_workers.py)."""

    database: PostgresResource

    def build(self, args: list[str], context):
        # In a step subprocess of a launched run, this step (and so its dbt) ends with the run worker.
        die_with_run_worker(context.instance, context.run_id)
        prune_run_targets(Path(dbt_project.project_dir) / dbt_project.target_path)
        child_env = {**self.database.database_url().dbt_env(), **settings.dbt_parent_environment()}
        with settings.environment_for_children(child_env):
            return self.cli(args, context=context)
