"""A whole refresh in this process: every account partition, dropped files, then tickets and marts.

What the schedules do every 6 hours, run at once: used by `burry demo`, `burry refresh` and the
tests, so they go through exactly the assets, jobs and resources a scheduled run uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult, JobDefinition

from assets.ads.extract import AD_ACCOUNTS_NAME

# Progress at INFO in the terminal; the full DEBUG event log is in the Dagster UI.
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
LOOKBACK_FIELD = "lookback_days"


@dataclass
class RefreshOutcome:
    account_runs: dict[str, ExecuteInProcessResult]
    import_run: ExecuteInProcessResult | None
    transform_run: ExecuteInProcessResult

    @property
    def failed_accounts(self) -> list[str]:
        return [key for key, run in self.account_runs.items() if not run.success]

    @property
    def failed_steps(self) -> list[str]:
        steps = {"file imports": self.import_run, "tickets and marts": self.transform_run}
        return self.failed_accounts + [name for name, run in steps.items() if run is not None and not run.success]

    @property
    def success(self) -> bool:
        return not self.failed_steps


def lookback_ops(job: JobDefinition) -> list[str]:
    """The job's ops whose config has `lookback_days` (read from their definitions)."""
    names = []
    for node in job.graph.nodes:
        schema = node.definition.config_schema
        fields = getattr(schema.config_type, "fields", None) or {} if schema is not None else {}
        if LOOKBACK_FIELD in fields:
            names.append(node.name)
    return sorted(names)


def job_run_config(job: JobDefinition, run_config: dict | None, lookback_days: int | None) -> dict:
    """`run_config` plus, when given, `lookback_days` for every op of the job that takes it."""
    config = dict(run_config or {})
    if lookback_days is not None:
        ops = dict(config.get("ops", {}))
        for op in lookback_ops(job):
            op_config = ops.get(op, {}).get("config", {})
            ops[op] = {**ops.get(op, {}), "config": {**op_config, LOOKBACK_FIELD: lookback_days}}
        config["ops"] = ops
    return config


def run_job(
    defs: Definitions,
    name: str,
    instance: DagsterInstance,
    run_config: dict | None = None,
    lookback_days: int | None = None,
    **kwargs,
) -> ExecuteInProcessResult:
    job = defs.resolve_job_def(name)
    return job.execute_in_process(
        instance=instance, raise_on_error=False, run_config=job_run_config(job, run_config, lookback_days), **kwargs
    )


def refresh_everything(
    instance: DagsterInstance,
    run_config: dict | None = None,
    lookback_days: int | None = None,
    defs: Definitions | None = None,
    on_step=None,
) -> RefreshOutcome:
    """`lookback_days` (default: each asset's own default) is the lookback of the whole refresh.
    `on_step(label)` is called before each run (progress in the CLI)."""
    from sensors.accounts import new_account_partitions

    if defs is None:
        from orchestration.definitions import defs as default_defs

        defs = default_defs
    step = on_step or (lambda label: None)
    resources = defs.resources
    assert resources is not None  # the refresh needs the database and ad_source resources bound
    new_keys = new_account_partitions(instance, resources["database"], resources["ad_source"])
    if new_keys:
        instance.add_dynamic_partitions(AD_ACCOUNTS_NAME, new_keys)
    account_runs = {}
    for key in instance.get_dynamic_partitions(AD_ACCOUNTS_NAME):
        step(f"extract {key}")
        account_runs[key] = run_job(defs, "extract_ads", instance, run_config, lookback_days, partition_key=key)
    # One failing account never stops the others, nor the marts for the ones that succeeded.
    step("import dropped files")
    imports = run_job(defs, "import_dropped_files", instance, run_config, lookback_days)
    step("tickets, checks and dbt marts")
    transform = run_job(defs, "refresh_tickets_and_marts", instance, run_config, lookback_days)
    return RefreshOutcome(account_runs, imports, transform)


def rebuild_marts(
    instance: DagsterInstance,
    run_config: dict | None = None,
    lookback_days: int | None = None,
    full_refresh: bool = False,
    defs: Definitions | None = None,
) -> ExecuteInProcessResult:
    """The blocking checks on every raw table, then every dbt model and test: after an import."""
    if defs is None:
        from orchestration.definitions import defs as default_defs

        defs = default_defs
    config = dict(run_config or {})
    if full_refresh:
        config["ops"] = {**config.get("ops", {}), "dbt_models": {"config": {"full_refresh": True}}}
    return run_job(defs, "rebuild_marts", instance, config, lookback_days)
