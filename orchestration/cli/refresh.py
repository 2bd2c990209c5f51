"""`burry refresh marts|all`: run now what the schedules run every 6 hours.

Both start (or find) and migrate the database as `burry demo` does, and record their runs in the
Dagster instance: the UI (`burry serve`) shows them with their full logs. Exit 0 on success, 1 when
a run failed."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from orchestration.cli.common import (
    ensure_database,
    finish,
    report_healed,
    report_registry_error,
    say,
    spinner,
    step_progress,
    warn,
)

app = typer.Typer(help="Run the pipeline now, as the schedules do.", no_args_is_help=True)

LookbackDays = Annotated[
    int | None,
    typer.Option(help="Days re-read by this refresh (default: each asset's own, 30).", min=1, show_default=False),
]

UI_HINT = "in the Dagster UI (`burry serve`)"


def _prepare():
    """The database, the dbt manifest, then the definitions (@dbt_assets reads the manifest at import)."""
    from resources.dbt import prepare_dbt_manifest

    url = ensure_database()
    prepare_dbt_manifest()
    from orchestration.definitions import build_definitions

    return url, build_definitions()


@app.command()
def marts(
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Rebuild the incremental models from scratch, not just the lookback.")
    ] = False,
    lookback_days: LookbackDays = None,
) -> None:
    """The blocking checks on every raw table, then every dbt model and test: after `burry import`."""
    from orchestration.instance import open_instance
    from orchestration.refresh import CONSOLE_INFO, rebuild_marts

    started = time.monotonic()
    url, defs = _prepare()
    say("==> rebuilding the marts" + (" (full refresh)" if full_refresh else ""))
    with open_instance(url) as instance, spinner("rebuilding the marts"):
        result = rebuild_marts(
            instance,
            run_config=CONSOLE_INFO,
            lookback_days=lookback_days,
            full_refresh=full_refresh,
            defs=defs,
            on_heal=report_healed,
        )
    if not result.success:
        warn(f"==> marts rebuild FAILED (run {result.run_id}): see the run {UI_HINT}")
        finish(1)
    say(f"==> marts rebuilt in {time.monotonic() - started:.0f}s (run {result.run_id})")


@app.command("all")
def refresh_all(lookback_days: LookbackDays = None) -> None:
    """Every account's extract, the dropped files, then tickets, checks and marts."""
    from orchestration.instance import open_instance
    from orchestration.refresh import CONSOLE_INFO, refresh_everything

    started = time.monotonic()
    url, defs = _prepare()
    with open_instance(url) as instance, step_progress("refreshing") as on_step:
        outcome = refresh_everything(
            instance,
            run_config=CONSOLE_INFO,
            lookback_days=lookback_days,
            defs=defs,
            on_step=on_step,
            on_heal=report_healed,
        )
    if not outcome.success:
        report_registry_error(outcome.registry_error)
        runs = {
            **{f"extract {key}": run for key, run in outcome.account_runs.items()},
            "import dropped files": outcome.import_run,
            "tickets and marts": outcome.transform_run,
            **{f"prompts {key}": run for key, run in outcome.prompt_runs.items()},
        }
        failed = ["account registry"] if outcome.registry_error else []
        failed += [f"{step} (run {run.run_id})" for step, run in runs.items() if run is not None and not run.success]
        warn(f"==> refresh FAILED for {', '.join(failed)}: see the runs {UI_HINT}")
        finish(1)
    say(
        f"==> refresh done in {time.monotonic() - started:.0f}s "
        f"({len(outcome.account_runs)} account runs, marts run {outcome.transform_run.run_id})"
    )
