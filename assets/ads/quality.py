"""Great Expectations suites on the raw ad tables, and the Dagster asset check that runs them.

Run after every account extract (scoped to that account, the partition) and again over all
accounts in `refresh_tickets_and_marts` before dbt. Columns, types and keys come from the raw
contract (resources/raw_schema.py); the value limits from the rule set the importer applies too
(resources/raw_rules.py), so an imported row cannot fail them.
"""

from dagster import AssetCheckExecutionContext, multi_asset_check

from assets.quality.checks import check_spec, evaluate
from assets.quality.gx import AccountScope, Suite, dimension_suite, not_null
from resources.ids import split_partition_key
from resources.postgres import PostgresResource
from resources.raw_rules import CURRENCY_CODE_PATTERN, EARLIEST_METRIC_DATE, MAX_DAYS_AFTER_LOCAL_TODAY, METRIC_MIN
from resources.raw_schema import METRICS, TABLES, TEXT, RawTable

# Freshness (warnings): extracts run every 6 hours and read through the account's local today.
MAX_DAYS_BEHIND_LOCAL_TODAY = 2
MAX_HOURS_SINCE_EXTRACTED = 12  # one missed 6-hourly extract still passes; two do not

# The account's time zone: NULL when the account is missing from raw.customers (the marts' inner
# join would drop its rows). A zone PostgreSQL does not know fails the query, and with it every
# expectation, with PostgreSQL's message; the customers suite names the account.
ACCOUNT_ZONE_JOIN = """
LEFT JOIN raw.customers AS c ON c.platform = t.platform AND c.account_id = t.account_id"""


def metrics_suite(table: RawTable, grain: str) -> Suite:
    """Every id column (text columns before `date`) not null; the natural key names unexpected rows.

    No uniqueness expectation: the key is the table's primary key, and GX checks uniqueness by
    joining the table to its own grouped copy, the slowest query of the suite by far (~1 s per
    account on a freshly loaded table that PostgreSQL has not analyzed yet)."""

    ids = [c for c, kind in table.columns.items() if kind == TEXT and c != "source"]

    def expectations(E) -> list:
        return [
            *not_null(E, *ids, "date"),
            *(E.ExpectColumnValuesToBeBetween(column=m, min_value=METRIC_MIN) for m in METRICS),
            E.ExpectColumnValuesToBeBetween(column="date", min_value=EARLIEST_METRIC_DATE.isoformat()),
            E.ExpectColumnValuesToBeBetween(column="days_after_local_today", max_value=MAX_DAYS_AFTER_LOCAL_TODAY),
            E.ExpectColumnValuesToNotBeNull(column="account_time_zone"),
        ]

    return Suite(
        table=table.name,
        check_name="expectations",
        blocking=True,
        description=(
            f"Great Expectations on the {grain} metrics: columns and types, natural key not null, "
            "impressions/clicks/cost_micros/conversions/conversions_value >= 0, date from "
            f"{EARLIEST_METRIC_DATE} to the account's local today + {MAX_DAYS_AFTER_LOCAL_TODAY}, account known "
            "with a valid time zone. Blocking: marts are not built from rows that fail."
        ),
        columns=table.column_types,
        query=f"""
SELECT t.*, c.time_zone AS account_time_zone,
       t.date - (now() AT TIME ZONE c.time_zone)::date AS days_after_local_today
FROM {table.qualified} AS t{ACCOUNT_ZONE_JOIN}
WHERE {{scope}}""",
        expectations=expectations,
        row_id=table.key,
    )


CUSTOMERS = dimension_suite(
    TABLES["customers"],
    extra=lambda E: [
        E.ExpectColumnValuesToMatchRegex(column="currency_code", regex=CURRENCY_CODE_PATTERN),
        E.ExpectColumnValuesToNotBeNull(column="valid_time_zone"),
    ],
    query="""
SELECT t.*, z.name AS valid_time_zone
FROM raw.customers AS t LEFT JOIN pg_timezone_names AS z ON z.name = t.time_zone
WHERE {scope}""",
)
CAMPAIGNS = dimension_suite(TABLES["campaigns"])
AD_GROUPS = dimension_suite(TABLES["ad_groups"])
ADS = dimension_suite(TABLES["ads"])
AD_DAILY_METRICS = metrics_suite(TABLES["ad_daily_metrics"], "ad-grain")
CAMPAIGN_DAILY_METRICS = metrics_suite(TABLES["campaign_daily_metrics"], "campaign-grain")

CAMPAIGN_METRICS_FRESHNESS = Suite(
    table="campaign_daily_metrics",
    check_name="freshness",
    blocking=False,
    description=(
        "Warning only. Every account the pipeline extracts has campaign metrics up to at most "
        f"{MAX_DAYS_BEHIND_LOCAL_TODAY} days before its local today, extracted within the last "
        f"{MAX_HOURS_SINCE_EXTRACTED} hours. Stale data is still correct data (and an account without "
        "spend has no new rows), so this warns instead of blocking the marts."
    ),
    columns={},
    query=f"""
SELECT t.platform, t.account_id, c.time_zone AS account_time_zone,
       max(m.date) AS latest_date,
       (now() AT TIME ZONE c.time_zone)::date - max(m.date) AS days_behind_local_today,
       round(extract(epoch FROM now() - max(m._extracted_at))::numeric / 3600, 1) AS hours_since_extracted
FROM app.ad_accounts AS t{ACCOUNT_ZONE_JOIN}
LEFT JOIN raw.campaign_daily_metrics AS m ON m.platform = t.platform AND m.account_id = t.account_id
WHERE t.is_active AND t.last_refreshed_at IS NOT NULL AND {{scope}}
GROUP BY t.platform, t.account_id, c.time_zone""",
    expectations=lambda E: [
        E.ExpectColumnValuesToNotBeNull(column="latest_date"),
        E.ExpectColumnValuesToBeBetween(column="days_behind_local_today", max_value=MAX_DAYS_BEHIND_LOCAL_TODAY),
        E.ExpectColumnValuesToBeBetween(column="hours_since_extracted", max_value=MAX_HOURS_SINCE_EXTRACTED),
    ],
    row_id=("platform", "account_id"),
    breakdown_by_account=False,  # one row per account already
)

AD_SUITES = (CUSTOMERS, CAMPAIGNS, AD_GROUPS, ADS, AD_DAILY_METRICS, CAMPAIGN_DAILY_METRICS, CAMPAIGN_METRICS_FRESHNESS)


@multi_asset_check(
    name="raw_ad_expectations",
    specs=[check_spec(s) for s in AD_SUITES],
    can_subset=True,
    description="Great Expectations suites on the raw ad tables (one account in an extract run, all in the marts run).",
)
def raw_ad_expectations(context: AssetCheckExecutionContext, database: PostgresResource):
    # In an `extract_ads` run (one partition) only what that account's extract wrote is validated.
    scope = AccountScope(*split_partition_key(context.partition_key)) if context.has_partition_key else None
    yield from evaluate(context, database, AD_SUITES, scope)
