"""The dbt project, and preparing its manifest (which @dbt_assets reads at import time)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

# dbt runs as a subprocess: use the one installed beside this interpreter, even when the venv is
# not activated (`.venv/bin/burry ...`, `make demo`).
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def prepare_dbt_manifest() -> None:
    """Run `dbt parse` (no database needed) to write dbt_project/target/manifest.json."""
    bin_dir = str(Path(DBT_EXECUTABLE).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        # The preparer builds its own DbtCliResource, which finds dbt on PATH only.
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    dbt_project.preparer.prepare(dbt_project)
