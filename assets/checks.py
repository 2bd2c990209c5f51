"""Great Expectations suites on the raw extracts as Dagster asset checks (assets/quality.py).

Two multi-asset checks, one GX session each: the ad tables (run after every account extract,
scoped to that account, and again over all accounts in `refresh_tickets_and_marts` before dbt)
and the ticket tables. `expectations` checks are blocking with ERROR severity: when one fails,
the dbt models downstream of that table do not run in the same run. `freshness` only warns.
Each result's metadata lists every expectation with its observed value, unexpected count and a
sample of unexpected rows, and names the failing accounts.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from assets import quality
from assets.ads import split_partition_key
from resources.database import PostgresResource


def check_key(suite: quality.Suite) -> AssetCheckKey:
    return AssetCheckKey(AssetKey(["raw", suite.table]), suite.check_name)


def check_spec(suite: quality.Suite) -> AssetCheckSpec:
    return AssetCheckSpec(suite.check_name, asset=AssetKey(["raw", suite.table]), blocking=suite.blocking,
                          description=suite.description)


def check_result(outcome: quality.SuiteOutcome) -> AssetCheckResult:
    suite = outcome.suite
    metadata = {
        "scope": outcome.scope_label,
        "expectations": MetadataValue.md(outcome.markdown()),
        "expectations_evaluated": len(outcome.outcomes),
        "expectations_failed": len(outcome.failed),
        "unexpected_rows": sum(o.unexpected_count or 0 for o in outcome.failed),
        "failed": MetadataValue.json([o.summary() for o in outcome.failed]),
        "results": MetadataValue.json([o.as_dict() for o in outcome.outcomes]),
    }
    if outcome.accounts:
        metadata["failing_accounts"] = MetadataValue.json(outcome.accounts)
    errors = [o.error for o in outcome.outcomes if o.error]
    if errors:
        metadata["errors"] = MetadataValue.json(errors)
    return AssetCheckResult(
        asset_key=AssetKey(["raw", suite.table]),
        check_name=suite.check_name,
        passed=outcome.passed,
        severity=AssetCheckSeverity.ERROR if suite.blocking else AssetCheckSeverity.WARN,
        metadata=metadata,
        description=outcome.summary(),
    )


def evaluate(context: AssetCheckExecutionContext, database: PostgresResource, suites, scope):
    selected = [s for s in suites if check_key(s) in context.selected_asset_check_keys]
    with quality.gx_session(database.database_url()) as session:
        for suite in selected:
            outcome = session.validate(suite, scope)
            if not outcome.passed:
                (context.log.error if suite.blocking else context.log.warning)(outcome.summary())
            yield check_result(outcome)


@multi_asset_check(
    name="raw_ad_expectations",
    specs=[check_spec(s) for s in quality.AD_SUITES],
    can_subset=True,
    description="Great Expectations suites on the raw ad tables (one account in an extract run, all in the marts run).",
)
def raw_ad_expectations(context: AssetCheckExecutionContext, database: PostgresResource):
    # In an `extract_ads` run (one partition) only what that account's extract wrote is validated.
    scope = quality.AccountScope(*split_partition_key(context.partition_key)) if context.has_partition_key else None
    yield from evaluate(context, database, quality.AD_SUITES, scope)


@multi_asset_check(
    name="raw_ticket_expectations",
    specs=[check_spec(s) for s in quality.TICKET_SUITES],
    can_subset=True,
    description="Great Expectations suites on the raw ticket tables.",
)
def raw_ticket_expectations(context: AssetCheckExecutionContext, database: PostgresResource):
    yield from evaluate(context, database, quality.TICKET_SUITES, None)


RAW_CHECKS = [raw_ad_expectations, raw_ticket_expectations]
