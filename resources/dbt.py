"""The dbt project: where it is, the dbt executable, its manifest, and a CLI resource that hands dbt
its database connection."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from resources import settings
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


def prepare_dbt_manifest() -> None:
    """Run `dbt parse` (no database needed) to write dbt_project/target/manifest.json, which
    @dbt_assets reads when the code location loads."""
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
    dbt.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


class BurryDbtResource(DbtCliResource):
    """dbt against Burry's database. profiles.yml reads the connection from the environment (dbt
    takes it no other way), so it is set only while the dbt process starts, with the pid `burry-dbt`
    checks its parent against. dbt ends when the process that started it ends (resources/dbt_guard.py),
    and that process when the run's worker ends (resources/run_workers.py)."""

    database: PostgresResource

    def build(self, args: list[str], context):
        # In a step subprocess of a launched run, this step (and so its dbt) ends with the run worker.
        die_with_run_worker(context.instance, context.run_id)
        child_env = {**self.database.database_url().dbt_env(), **settings.dbt_parent_environment()}
        with settings.environment_for_children(child_env):
            return self.cli(args, context=context)
