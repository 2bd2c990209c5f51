"""A whole refresh in this process: every account partition, dropped files, then tickets and marts.

What the schedules do every 6 hours, run at once: used by `burry demo`, `burry refresh` and the
tests, so they go through exactly the assets, jobs and resources a scheduled run uses.

No daemon watches these runs, so each refresh starts by healing what an earlier one left behind
when its process was killed (sensors/runs.py): runs whose worker is gone are marked failed, and
refresh jobs they left open are closed as failed. Each run is tagged with this process as its
worker, which is what lets the next one tell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult, JobDefinition

from assets.ads.extract import AD_ACCOUNTS_NAME
from resources.run_workers import run_worker_tags
from sensors.runs import heal_interrupted_runs

log = logging.getLogger(__name__)

# Progress at INFO in the terminal; the full DEBUG event log is in the Dagster UI.
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
LOOKBACK_FIELD = "lookback_days"


@dataclass
class RefreshOutcome:
    account_runs: dict[str, ExecuteInProcessResult]
    import_run: ExecuteInProcessResult | None
    transform_run: ExecuteInProcessResult
    # Why the source's accounts could not be listed (the registry step); the registered ones still ran.
    registry_error: str | None = None
    # One run per prompt subject (ad account, ticket source): templates -> snapshot -> served prompt.
    prompt_runs: dict[str, ExecuteInProcessResult] = field(default_factory=dict)
    # The embedding run (`refresh_everything(embeddings=True)`: the demo), when there was one.
    embeddings_run: ExecuteInProcessResult | None = None

    @property
    def failed_accounts(self) -> list[str]:
        return [key for key, run in self.account_runs.items() if not run.success]

    @property
    def failed_steps(self) -> list[str]:
        steps = {
            "file imports": self.import_run,
            "tickets and marts": self.transform_run,
            "embeddings": self.embeddings_run,
        }
        registry = ["account registry"] if self.registry_error else []
        return (
            registry
            + self.failed_accounts
            + [name for name, run in steps.items() if run is not None and not run.success]
            + [f"prompts {key}" for key, run in self.prompt_runs.items() if not run.success]
        )

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
    """Execute the job in this process, tagged with this process as the run's worker."""
    job = defs.resolve_job_def(name)
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config=job_run_config(job, run_config, lookback_days),
        tags=run_worker_tags(),
        **kwargs,
    )


def heal(instance: DagsterInstance, defs: Definitions, on_heal: Callable[[str], None] | None) -> None:
    """Before a refresh: fail the runs whose worker died and the refresh jobs they left open."""
    resources = defs.resources
    assert resources is not None  # the database resource is bound in orchestration/definitions.py
    for line in heal_interrupted_runs(instance, resources["database"].connect).lines():
        (on_heal or log.warning)(line)


def register_accounts(instance: DagsterInstance, defs: Definitions) -> str | None:
    """The source's accounts and their partitions; the error when the source cannot list them.

    A source that cannot be built or reached (credentials, the OAuth endpoint, DNS, TLS) must not
    stop the refresh: the accounts registered before still get their runs, each failing on its own
    if the source is down for it too, and the tickets and marts still refresh."""
    from sensors.accounts import new_account_partitions

    resources = defs.resources
    assert resources is not None  # the refresh needs the database and ad_source resources bound
    try:
        new_keys = new_account_partitions(instance, resources["database"], resources["ad_source"])
    except Exception as exc:
        log.debug("the ad account registry failed", exc_info=True)  # the caller reports the error
        return f"{type(exc).__name__}: {exc}"
    if new_keys:
        instance.add_dynamic_partitions(AD_ACCOUNTS_NAME, new_keys)
    return None


def refresh_everything(
    instance: DagsterInstance,
    run_config: dict | None = None,
    lookback_days: int | None = None,
    defs: Definitions | None = None,
    on_step=None,
    on_heal: Callable[[str], None] | None = None,
    embeddings: bool = False,
) -> RefreshOutcome:
    """`lookback_days` (default: each asset's own default) is the lookback of the whole refresh;
    `embeddings`: then embed new and changed tickets and ads (the demo does; the schedules nightly).
    `on_step(label)` is called before each run (progress in the CLI); `on_heal(line)` for each
    run or refresh job of an earlier, killed refresh marked failed (default: a warning log)."""
    if defs is None:
        from orchestration.definitions import defs as default_defs

        defs = default_defs
    step = on_step or (lambda label: None)
    heal(instance, defs, on_heal)
    registry_error = register_accounts(instance, defs)
    account_runs = {}
    for key in instance.get_dynamic_partitions(AD_ACCOUNTS_NAME):
        step(f"extract {key}")
        account_runs[key] = run_job(defs, "extract_ads", instance, run_config, lookback_days, partition_key=key)
    # One failing account never stops the others, nor the marts for the ones that succeeded.
    step("import dropped files")
    imports = run_job(defs, "import_dropped_files", instance, run_config, lookback_days)
    step("tickets, checks and dbt marts")
    transform = run_job(defs, "refresh_tickets_and_marts", instance, run_config, lookback_days)
    # Prompt snapshots only over marts that built: a failed build keeps the served prompts as they were.
    prompts = refresh_prompts(instance, defs, run_config, on_step=step) if transform.success else {}
    embedded = None
    if embeddings:  # off for the schedules' refresh: the nightly embeddings job does it (04:00)
        step("embeddings of new and changed tickets and ads")
        embedded = run_job(defs, "embed_tickets_and_ads", instance, run_config)
    return RefreshOutcome(account_runs, imports, transform, registry_error, prompts, embedded)


def refresh_prompts(
    instance: DagsterInstance,
    defs: Definitions | None = None,
    run_config: dict | None = None,
    keys: list[str] | None = None,
    on_step=None,
) -> dict[str, ExecuteInProcessResult]:
    """Templates -> snapshot -> served prompt for each subject (`keys`, default every ad account
    and ticket source), one run each; their partitions are added first. After the marts."""
    from assets.prompts.assets import PROMPT_SUBJECTS_NAME
    from assets.prompts.context import subject_keys

    if defs is None:
        from orchestration.definitions import defs as default_defs

        defs = default_defs
    resources = defs.resources
    assert resources is not None  # the database resource is bound in orchestration/definitions.py
    if keys is None:
        with resources["database"].connect() as conn, conn.cursor() as cur:
            keys = subject_keys(cur)
    known = set(instance.get_dynamic_partitions(PROMPT_SUBJECTS_NAME))
    new = [key for key in keys if key not in known]
    if new:
        instance.add_dynamic_partitions(PROMPT_SUBJECTS_NAME, new)
    runs = {}
    for key in keys:
        (on_step or (lambda label: None))(f"prompt snapshot {key}")
        runs[key] = run_job(defs, "refresh_prompts", instance, run_config, partition_key=key)
    return runs


def rebuild_marts(
    instance: DagsterInstance,
    run_config: dict | None = None,
    lookback_days: int | None = None,
    full_refresh: bool = False,
    defs: Definitions | None = None,
    on_heal: Callable[[str], None] | None = None,
) -> ExecuteInProcessResult:
    """The blocking checks on every raw table, then every dbt model and test: after an import."""
    if defs is None:
        from orchestration.definitions import defs as default_defs

        defs = default_defs
    heal(instance, defs, on_heal)
    config = dict(run_config or {})
    if full_refresh:
        config["ops"] = {**config.get("ops", {}), "dbt_models": {"config": {"full_refresh": True}}}
    return run_job(defs, "rebuild_marts", instance, config, lookback_days)


def refresh_embeddings(
    instance: DagsterInstance,
    run_config: dict | None = None,
    defs: Definitions | None = None,
    on_heal: Callable[[str], None] | None = None,
) -> ExecuteInProcessResult:
    """Embed new and changed tickets and ads, then check the vectors: what the nightly schedule runs."""
    if defs is None:
        from orchestration.definitions import defs as default_defs

        defs = default_defs
    heal(instance, defs, on_heal)
    return run_job(defs, "embed_tickets_and_ads", instance, run_config)
