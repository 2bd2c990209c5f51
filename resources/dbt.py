"""The dbt project: where it is, the dbt executable, its manifest, and a CLI resource that hands dbt
its database connection."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from resources import settings
from resources.database import PostgresResource

# dbt runs as a subprocess: use the one installed beside this interpreter, even when the venv is
# not activated (`.venv/bin/burry ...`, `make demo`).
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)


def prepare_dbt_manifest() -> None:
    """Run `dbt parse` (no database needed) to write dbt_project/target/manifest.json, which
    @dbt_assets reads when the code location loads."""
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    dbt.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


class BurryDbtResource(DbtCliResource):
    """dbt against Burry's database. profiles.yml reads the connection from the environment (dbt
    takes it no other way), so it is set only while the dbt process starts."""

    database: PostgresResource

    def build(self, args: list[str], context):
        with settings.environment_for_children(self.database.database_url().dbt_env()):
            return self.cli(args, context=context)
