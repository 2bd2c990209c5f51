"""A whole refresh in this process: every account partition, dropped files, then tickets and marts.

What the schedules do every 6 hours, run at once: used by `burry demo` and the tests, so the demo
goes through exactly the assets, jobs and resources a scheduled run uses.
"""

from dataclasses import dataclass

from dagster import DagsterInstance, ExecuteInProcessResult

from assets.ads import AD_ACCOUNTS

# Progress at INFO in the terminal; the full DEBUG event log is in the Dagster UI.
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@dataclass
class RefreshOutcome:
    account_runs: dict[str, ExecuteInProcessResult]
    import_run: ExecuteInProcessResult
    transform_run: ExecuteInProcessResult

    @property
    def failed_accounts(self) -> list[str]:
        return [key for key, run in self.account_runs.items() if not run.success]

    @property
    def failed_steps(self) -> list[str]:
        steps = {"file imports": self.import_run, "tickets and marts": self.transform_run}
        return self.failed_accounts + [name for name, run in steps.items() if not run.success]

    @property
    def success(self) -> bool:
        return not self.failed_steps


# The ops that take `days_lookback`, per job: extracts re-read that many days, dbt re-processes them.
LOOKBACK_OPS = {
    "extract_ads": ["extract_ad_account"],
    "import_dropped_files": [],
    "refresh_tickets_and_marts": ["extract_tickets", "dbt_models"],
}


def job_run_config(job_name: str, run_config: dict | None, days_lookback: int | None) -> dict:
    config = dict(run_config or {})
    if days_lookback is not None:
        ops = {op: {"config": {"days_lookback": days_lookback}} for op in LOOKBACK_OPS[job_name]}
        config["ops"] = {**config.get("ops", {}), **ops}
    return config


def refresh_everything(instance: DagsterInstance, run_config: dict | None = None,
                       days_lookback: int | None = None) -> RefreshOutcome:
    """`days_lookback` (default: each asset's own default) is the lookback of the whole refresh."""
    from orchestration.definitions import defs
    from sensors.accounts import new_account_partitions

    resources = defs.resources
    new_keys = new_account_partitions(instance, resources["database"], resources["ad_source"])
    if new_keys:
        instance.add_dynamic_partitions(AD_ACCOUNTS.name, new_keys)
    extract = defs.resolve_job_def("extract_ads")
    account_runs = {
        key: extract.execute_in_process(instance=instance, partition_key=key, raise_on_error=False,
                                        run_config=job_run_config("extract_ads", run_config, days_lookback))
        for key in instance.get_dynamic_partitions(AD_ACCOUNTS.name)
    }
    # One failing account never stops the others, nor the marts for the ones that succeeded.
    imports, transform = (
        defs.resolve_job_def(name).execute_in_process(
            instance=instance, raise_on_error=False, run_config=job_run_config(name, run_config, days_lookback))
        for name in ("import_dropped_files", "refresh_tickets_and_marts")
    )
    return RefreshOutcome(account_runs, imports, transform)
