"""Great Expectations suites (assets/quality/gx.py) as Dagster asset checks.

Each domain declares its suites and one multi-asset check beside its assets (assets/ads/quality.py,
assets/tickets/quality.py); this module turns suites into check specs and outcomes into results.
`expectations` checks are blocking with ERROR severity: when one fails, the dbt models downstream
of that table do not run in the same run. `freshness` only warns. Each result's metadata lists
every expectation with its observed value, unexpected count and a sample of unexpected rows, and
names the failing accounts.
"""

from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
)

from assets.quality import gx
from resources.postgres import PostgresResource


def check_key(suite: gx.Suite) -> AssetCheckKey:
    return AssetCheckKey(AssetKey(["raw", suite.table]), suite.check_name)


def check_spec(suite: gx.Suite) -> AssetCheckSpec:
    return AssetCheckSpec(
        suite.check_name, asset=AssetKey(["raw", suite.table]), blocking=suite.blocking, description=suite.description
    )


def check_result(outcome: gx.SuiteOutcome) -> AssetCheckResult:
    suite = outcome.suite
    metadata: dict[str, Any] = {
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
    with gx.gx_session(database.database_url()) as session:
        for suite in selected:
            outcome = session.validate(suite, scope)
            if not outcome.passed:
                (context.log.error if suite.blocking else context.log.warning)(outcome.summary())
            yield check_result(outcome)
