"""Great Expectations suites on the raw ticket tables, and the Dagster asset check that runs them.

Columns, types and keys come from the raw contract (resources/raw_schema.py); the value limits
from the rule set the importer applies too (resources/raw_rules.py).
"""

from dagster import AssetCheckExecutionContext, multi_asset_check

from assets.quality.checks import check_spec, evaluate
from assets.quality.gx import Suite, dimension_suite, keys
from resources.postgres import PostgresResource
from resources.raw_rules import CANONICAL_PRIORITIES, MAX_HOURS_CREATED_AFTER_NOW, TICKET_TIME_ORDER
from resources.raw_schema import TABLES

TICKETS = Suite(
    table="tickets",
    check_name="expectations",
    blocking=True,
    description=(
        "Great Expectations on tickets: columns and types, (source, ticket_id) not null and unique, "
        f"priority in {', '.join(CANONICAL_PRIORITIES)}, first response and resolution not before "
        "creation, resolution not before first response, creation not in the future. Blocking."
    ),
    columns=TABLES["tickets"].column_types,
    query="""
SELECT t.*, round(extract(epoch FROM t.created_at - now())::numeric / 3600, 1) AS hours_created_after_now
FROM raw.tickets AS t WHERE {scope}""",
    expectations=lambda E: [
        *keys(E, TABLES["tickets"].key),
        E.ExpectColumnValuesToBeInSet(column="priority", value_set=list(CANONICAL_PRIORITIES)),
        *(
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=later, column_B=earlier, or_equal=True, ignore_row_if="either_value_is_missing"
            )
            for earlier, later in TICKET_TIME_ORDER
        ),
        E.ExpectColumnValuesToBeBetween(column="hours_created_after_now", max_value=MAX_HOURS_CREATED_AFTER_NOW),
    ],
    row_id=TABLES["tickets"].key,
    account_scoped=False,
)
TICKET_COMMENTS = dimension_suite(
    TABLES["ticket_comments"],
    extra=lambda E: [E.ExpectColumnValuesToNotBeNull(column="created_at")],
    account_scoped=False,
)
TICKET_SUITES = (TICKETS, TICKET_COMMENTS)


@multi_asset_check(
    name="raw_ticket_expectations",
    specs=[check_spec(s) for s in TICKET_SUITES],
    can_subset=True,
    description="Great Expectations suites on the raw ticket tables.",
)
def raw_ticket_expectations(context: AssetCheckExecutionContext, database: PostgresResource):
    yield from evaluate(context, database, TICKET_SUITES, None)
