"""`burry dbt-prepare`: the dbt manifest the Dagster code location reads."""

from __future__ import annotations

import typer

from orchestration.cli.common import say, spinner

app = typer.Typer()


@app.command("dbt-prepare")
def dbt_prepare() -> None:
    """Parse the dbt project (writes dbt_project/target/manifest.json; no database needed)."""
    from resources.dbt import prepare_dbt_manifest

    with spinner("dbt parse"):
        prepare_dbt_manifest()
    say("dbt manifest ready: dbt_project/target/manifest.json")
