"""Great Expectations suites on the raw extracts, and what a validation found, as plain data.

Plain Python over the database URL, tested directly; `assets/checks.py` turns each suite into a
Dagster asset check. Every suite is validated by GX against PostgreSQL itself (an ephemeral GX
context, no GX project on disk): the schema on the table, the values on a query that adds what a
row cannot say by itself (the account's time zone, how far a date is from the account's local
today). A suite can be scoped to one ad account (the partition of an extract run).

`great_expectations` takes ~3 s to import: it is imported in `gx_session`, never at module load,
so loading the Dagster code location stays fast.
"""

import json
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from resources.database import DatabaseUrl

# Dates before this are a parsing or source error, not history.
EARLIEST_DATE = "2000-01-01"
# A metrics day may be the account's local today (partial) or, with a day of slack for clock and
# API edges, tomorrow; anything later is in the future.
MAX_DAYS_AFTER_LOCAL_TODAY = 1
# Freshness (warnings): extracts run every 6 hours and read through the account's local today.
MAX_DAYS_BEHIND_LOCAL_TODAY = 2
MAX_HOURS_SINCE_EXTRACTED = 12  # one missed 6-hourly extract still passes; two do not
# Ticket timestamps: an hour of slack for clocks.
MAX_HOURS_CREATED_AFTER_NOW = 1
CANONICAL_PRIORITIES = ("urgent", "high", "normal", "low")
# Unexpected rows kept per expectation (GX's partial_unexpected_count).
SAMPLE_SIZE = 20

TEXT, DATE, BIGINT, NUMERIC, JSONB = "TEXT", "DATE", "BIGINT", "NUMERIC", "JSONB"
TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"  # as GX reports PostgreSQL's timestamptz


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class AccountScope:
    """One ad account: what an `extract_ads` run (one partition) wrote."""

    platform: str
    account_id: str

    def where(self, alias: str = "t") -> str:
        return f"{alias}.platform = {sql_literal(self.platform)} AND {alias}.account_id = {sql_literal(self.account_id)}"

    def __str__(self) -> str:
        return f"{self.platform}:{self.account_id}"


@dataclass(frozen=True)
class Suite:
    """The expectations one Dagster asset check validates on one raw table.

    `query` returns the rows the value expectations see, with the validated table aliased `t`;
    `{scope}` in it becomes an account filter on `t` (or `true`). `expectations` receives
    `great_expectations.expectations` (imported lazily) and returns the value expectations.
    """

    table: str
    check_name: str
    blocking: bool
    description: str
    columns: Mapping[str, str]
    query: str
    expectations: Callable[[Any], list]
    row_id: tuple[str, ...]
    account_scoped: bool = True
    # On a failure over all accounts, re-validate the failed expectations per account to name them.
    breakdown_by_account: bool = True

    @property
    def relation(self) -> str:
        return f"raw.{self.table}"


@dataclass
class ExpectationOutcome:
    expectation: str
    passed: bool
    observed: Any = None
    element_count: int | None = None
    unexpected_count: int | None = None
    sample: list = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [])}

    def summary(self) -> str:
        if self.error:
            return f"{self.expectation}: {self.error}"
        if self.unexpected_count:
            of = f" of {self.element_count}" if self.element_count is not None else ""
            example = f", e.g. {_compact(self.sample[0])}" if self.sample else ""
            return f"{self.expectation}: {self.unexpected_count}{of} rows unexpected{example}"
        return f"{self.expectation}: observed {_compact(self.observed)}"


@dataclass
class SuiteOutcome:
    suite: Suite
    scope: AccountScope | None
    outcomes: list[ExpectationOutcome]
    # account -> the expectations it fails (filled when a suite over all accounts fails)
    accounts: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def scope_label(self) -> str:
        if self.scope:
            return f"account {self.scope}"
        return "all accounts" if self.suite.account_scoped else "whole table"

    def summary(self) -> str:
        head = f"{self.suite.relation} ({self.scope_label})"
        if self.passed:
            return f"{head}: all {len(self.outcomes)} expectations passed"
        lines = [f"{head}: {len(self.failed)} of {len(self.outcomes)} expectations failed"]
        lines += [f"- {o.summary()}" for o in self.failed]
        lines += [f"- account {a} fails: {', '.join(labels)}" for a, labels in self.accounts.items()]
        return "\n".join(lines)

    def markdown(self) -> str:
        rows = ["| expectation | result | observed | unexpected | sample |", "|---|---|---|---|---|"]
        for o in self.outcomes:
            unexpected = "" if o.unexpected_count is None else f"{o.unexpected_count} of {o.element_count}"
            sample = "; ".join(_compact(s) for s in o.sample[:3])
            observed = o.error or ("" if o.observed is None else _compact(o.observed))
            cells = [o.expectation, "pass" if o.passed else "**FAIL**", observed, unexpected, sample]
            rows.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        return "\n".join(rows)


def _compact(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def expectation_label(config) -> str:
    """`column_values_to_be_between(clicks, min_value=0)`: the expectation and its arguments."""
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "result_format") and v is not None}
    positional = [kwargs.pop(k) for k in ("column", "column_A", "column_B", "column_list") if k in kwargs]
    kwargs.pop("column_set", None)  # the table's whole column list: the observed value shows what differs
    args = ["+".join(p) if isinstance(p, list) else str(p) for p in positional]
    args += [f"{k}={_number(v)}" for k, v in kwargs.items()]
    return f"{config.type.removeprefix('expect_')}({', '.join(args)})"


def exception_messages(info: Any) -> list[str]:
    """GX nests exception info by metric (`{metric id: {exception_message: ...}}`) or not."""
    if not isinstance(info, Mapping):
        return []
    if "exception_message" in info or "raised_exception" in info:
        message = info.get("exception_message")
        return [str(message).strip().splitlines()[0]] if info.get("raised_exception") and message else []
    return [m for value in info.values() for m in exception_messages(value)]


def outcome_from_gx(result) -> ExpectationOutcome:
    details = result.result or {}
    errors = exception_messages(result.exception_info)
    sample = details.get("partial_unexpected_index_list") or details.get("partial_unexpected_list") or []
    return ExpectationOutcome(
        expectation=expectation_label(result.expectation_config),
        passed=bool(result.success) and not errors,
        observed=details.get("observed_value"),
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        sample=json.loads(json.dumps(sample, default=str)),
        error="; ".join(dict.fromkeys(errors)) or None,
    )


class GxSession:
    """One ephemeral GX context and SQL datasource: validate any number of suites, then dispose."""

    def __init__(self, gx, source):
        self.gx = gx
        self.source = source
        self._assets = 0

    def _validate(self, asset, name: str, expectations: list, row_id: Sequence[str]) -> list[ExpectationOutcome]:
        suite = self.gx.ExpectationSuite(name=name, expectations=expectations)
        result_format = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
        if row_id:
            result_format["unexpected_index_column_names"] = list(row_id)
        batch = asset.add_batch_definition_whole_table("whole").get_batch()
        results = batch.validate(suite, result_format=result_format).results
        # GX returns results in its own order: report them in the suite's.
        order = {expectation_label(e.configuration): i for i, e in enumerate(expectations)}
        outcomes = [outcome_from_gx(r) for r in results]
        return sorted(outcomes, key=lambda o: order.get(o.expectation, len(order)))

    def _name(self, suite: Suite, part: str) -> str:
        self._assets += 1
        return f"{suite.table}.{suite.check_name}.{part}.{self._assets}"

    def schema_outcomes(self, suite: Suite) -> list[ExpectationOutcome]:
        if not suite.columns:
            return []
        E = self.gx.expectations
        expectations = [E.ExpectTableColumnsToMatchSet(column_set=list(suite.columns), exact_match=False)]
        expectations += [E.ExpectColumnValuesToBeOfType(column=c, type_=t) for c, t in suite.columns.items()]
        asset = self.source.add_table_asset(name=self._name(suite, "schema"), table_name=suite.table, schema_name="raw")
        return self._validate(asset, f"{suite.relation} schema", expectations, ())

    def value_outcomes(self, suite: Suite, scope: AccountScope | None,
                       only: set[str] | None = None) -> list[ExpectationOutcome]:
        expectations = suite.expectations(self.gx.expectations)
        if only is not None:
            expectations = [e for e in expectations if expectation_label(e.configuration) in only]
        query = suite.query.format(scope=scope.where("t") if scope and suite.account_scoped else "true")
        asset = self.source.add_query_asset(name=self._name(suite, "values"), query=query)
        return self._validate(asset, f"{suite.relation} {suite.check_name}", expectations, suite.row_id)

    def accounts_in(self, suite: Suite) -> list[AccountScope]:
        from sqlalchemy import text

        with self.source.get_engine().connect() as conn:
            rows = conn.execute(text(f"SELECT DISTINCT platform, account_id FROM {suite.relation} ORDER BY 1, 2"))
            return [AccountScope(platform, account_id) for platform, account_id in rows]

    def validate(self, suite: Suite, scope: AccountScope | None = None) -> SuiteOutcome:
        """Never raises: an error (a missing table, a bad query) is a failed outcome saying what happened."""
        outcome = SuiteOutcome(suite, scope if suite.account_scoped else None, [])
        for part in (lambda: self.schema_outcomes(suite), lambda: self.value_outcomes(suite, outcome.scope)):
            try:
                outcome.outcomes += part()
            except Exception as exc:  # noqa: BLE001 - reported in the check's metadata instead
                outcome.outcomes.append(ExpectationOutcome("validation", False, error=f"{type(exc).__name__}: {exc}"))
        failed_values = {o.expectation for o in outcome.failed if o.unexpected_count}
        if failed_values and outcome.scope is None and suite.account_scoped and suite.breakdown_by_account:
            try:
                for account in self.accounts_in(suite):
                    failing = [o.expectation for o in self.value_outcomes(suite, account, failed_values) if not o.passed]
                    if failing:
                        outcome.accounts[str(account)] = failing
            except Exception as exc:  # noqa: BLE001 - the breakdown is a courtesy; the failure stands
                outcome.accounts["(breakdown failed)"] = [f"{type(exc).__name__}: {exc}"]
        return outcome


# Connections GX opens carry this name (pg_stat_activity), so a leak would be easy to spot.
APPLICATION_NAME = "burry_quality"


@contextmanager
def gx_session(url: DatabaseUrl) -> Iterator[GxSession]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # In memory, no docs site, no progress bars on stderr.
    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                               progress_bars=ProgressBarsConfig(globally=False))
    context = gx.get_context(mode="ephemeral", project_config=config)
    connection_string = url.url.set(drivername="postgresql+psycopg2").update_query_dict(
        {"application_name": APPLICATION_NAME}).render_as_string(hide_password=False)
    with warnings.catch_warnings():
        # "a more specific PostgresDatasource may be more appropriate": add_postgres rejects the
        # embedded server's socket URL, add_sql takes it.
        warnings.filterwarnings("ignore", message=".*more specific PostgresDatasource")
        source = context.data_sources.add_sql(name="burry_raw", connection_string=connection_string)
        try:
            yield GxSession(gx, source)
        finally:
            # The datasource and its execution engine each hold a pool: close both, or idle
            # connections pile up (one context per check run).
            if getattr(source, "_execution_engine", None) is not None:
                source._execution_engine.close()
            if getattr(source, "_engine", None) is not None:
                source._engine.dispose()


def validate(url: DatabaseUrl, suites: Sequence[Suite], scope: AccountScope | None = None) -> list[SuiteOutcome]:
    with gx_session(url) as session:
        return [session.validate(suite, scope) for suite in suites]


# -- the suites ---------------------------------------------------------------------------------
def _not_null(E, *columns: str) -> list:
    return [E.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def _keys(E, key: tuple[str, ...]) -> list:
    return _not_null(E, *key) + [E.ExpectCompoundColumnsToBeUnique(column_list=list(key))]


# The account's time zone: NULL when the account is missing from raw.customers (the marts' inner
# join would drop its rows). A zone PostgreSQL does not know fails the query, and with it every
# expectation, with PostgreSQL's message; the customers suite names the account.
ACCOUNT_ZONE_JOIN = """
LEFT JOIN raw.customers AS c ON c.platform = t.platform AND c.account_id = t.account_id"""

METRICS = ("impressions", "clicks", "cost_micros", "conversions", "conversions_value")
METRIC_TYPES = {"impressions": BIGINT, "clicks": BIGINT, "cost_micros": BIGINT,
                "conversions": NUMERIC, "conversions_value": NUMERIC}


def _metrics_suite(table: str, ids: tuple[str, ...], key: tuple[str, ...], grain: str) -> Suite:
    """`ids`: every id column a row needs; `key`: the natural key, which names unexpected rows.

    No uniqueness expectation: the key is the table's primary key, and GX checks uniqueness by
    joining the table to its own grouped copy, the slowest query of the suite by far (~1 s per
    account on a freshly loaded table that PostgreSQL has not analyzed yet)."""

    def expectations(E) -> list:
        return [
            *_not_null(E, *ids, "date"),
            *(E.ExpectColumnValuesToBeBetween(column=m, min_value=0) for m in METRICS),
            E.ExpectColumnValuesToBeBetween(column="date", min_value=EARLIEST_DATE),
            E.ExpectColumnValuesToBeBetween(column="days_after_local_today", max_value=MAX_DAYS_AFTER_LOCAL_TODAY),
            E.ExpectColumnValuesToNotBeNull(column="account_time_zone"),
        ]

    return Suite(
        table=table,
        check_name="expectations",
        blocking=True,
        description=(
            f"Great Expectations on the {grain} metrics: columns and types, natural key not null, "
            "impressions/clicks/cost_micros/conversions/conversions_value >= 0, date from "
            f"{EARLIEST_DATE} to the account's local today + {MAX_DAYS_AFTER_LOCAL_TODAY}, account known "
            "with a valid time zone. Blocking: marts are not built from rows that fail."
        ),
        columns={**{c: TEXT for c in ids}, "date": DATE, **METRIC_TYPES, "source": TEXT, "_extracted_at": TIMESTAMPTZ},
        query=f"""
SELECT t.*, c.time_zone AS account_time_zone,
       t.date - (now() AT TIME ZONE c.time_zone)::date AS days_after_local_today
FROM raw.{table} AS t{ACCOUNT_ZONE_JOIN}
WHERE {{scope}}""",
        expectations=expectations,
        row_id=key,
    )


def _dimension_suite(table: str, key: tuple[str, ...], columns: Mapping[str, str], extra=lambda E: [],
                     query: str | None = None) -> Suite:
    return Suite(
        table=table,
        check_name="expectations",
        blocking=True,
        description=f"Great Expectations: columns and types, natural key ({', '.join(key)}) not null and unique. Blocking.",
        columns={**{c: TEXT for c in key}, **columns, "source": TEXT, "_loaded_at": TIMESTAMPTZ},
        query=query or f"SELECT t.* FROM raw.{table} AS t WHERE {{scope}}",
        expectations=lambda E: [*_keys(E, key), *extra(E)],
        row_id=key,
    )


CUSTOMERS = _dimension_suite(
    "customers", ("platform", "account_id"), {"currency_code": TEXT, "time_zone": TEXT},
    extra=lambda E: [
        E.ExpectColumnValuesToMatchRegex(column="currency_code", regex="^[A-Z]{3}$"),
        E.ExpectColumnValuesToNotBeNull(column="valid_time_zone"),
    ],
    query="""
SELECT t.*, z.name AS valid_time_zone
FROM raw.customers AS t LEFT JOIN pg_timezone_names AS z ON z.name = t.time_zone
WHERE {scope}""",
)
CAMPAIGNS = _dimension_suite("campaigns", ("platform", "account_id", "campaign_id"),
                             {"status": TEXT, "channel_type": TEXT, "start_date": DATE, "end_date": DATE})
AD_GROUPS = _dimension_suite("ad_groups", ("platform", "account_id", "ad_group_id"), {"campaign_id": TEXT})
ADS = _dimension_suite("ads", ("platform", "account_id", "ad_group_id", "ad_id"),
                       {"headlines": JSONB, "descriptions": JSONB, "final_url": TEXT, "status": TEXT})
AD_DAILY_METRICS = _metrics_suite(
    "ad_daily_metrics", ("platform", "account_id", "campaign_id", "ad_group_id", "ad_id"),
    ("platform", "account_id", "ad_group_id", "ad_id", "date"), "ad-grain")
CAMPAIGN_DAILY_METRICS = _metrics_suite(
    "campaign_daily_metrics", ("platform", "account_id", "campaign_id"),
    ("platform", "account_id", "campaign_id", "date"), "campaign-grain")

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

TICKETS = Suite(
    table="tickets",
    check_name="expectations",
    blocking=True,
    description=(
        "Great Expectations on tickets: columns and types, (source, ticket_id) not null and unique, "
        f"priority in {', '.join(CANONICAL_PRIORITIES)}, first response and resolution not before "
        "creation, resolution not before first response, creation not in the future. Blocking."
    ),
    columns={"source": TEXT, "ticket_id": TEXT, "priority": TEXT, "status": TEXT, "channel": TEXT,
             "created_at": TIMESTAMPTZ, "first_response_at": TIMESTAMPTZ, "resolved_at": TIMESTAMPTZ},
    query="""
SELECT t.*, round(extract(epoch FROM t.created_at - now())::numeric / 3600, 1) AS hours_created_after_now
FROM raw.tickets AS t WHERE {scope}""",
    expectations=lambda E: [
        *_keys(E, ("source", "ticket_id")),
        E.ExpectColumnValuesToBeInSet(column="priority", value_set=list(CANONICAL_PRIORITIES)),
        *(E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=a, column_B=b, or_equal=True,
                                                    ignore_row_if="either_value_is_missing")
          for a, b in (("first_response_at", "created_at"), ("resolved_at", "created_at"),
                       ("resolved_at", "first_response_at"))),
        E.ExpectColumnValuesToBeBetween(column="hours_created_after_now", max_value=MAX_HOURS_CREATED_AFTER_NOW),
    ],
    row_id=("source", "ticket_id"),
    account_scoped=False,
)
TICKET_COMMENTS = Suite(
    table="ticket_comments",
    check_name="expectations",
    blocking=True,
    description="Great Expectations on ticket comments: columns and types, key not null and unique. Blocking.",
    columns={"source": TEXT, "ticket_id": TEXT, "comment_id": TEXT, "created_at": TIMESTAMPTZ},
    query="SELECT t.* FROM raw.ticket_comments AS t WHERE {scope}",
    expectations=lambda E: [*_keys(E, ("source", "ticket_id", "comment_id")),
                            E.ExpectColumnValuesToNotBeNull(column="created_at")],
    row_id=("source", "ticket_id", "comment_id"),
    account_scoped=False,
)

AD_SUITES = (CUSTOMERS, CAMPAIGNS, AD_GROUPS, ADS, AD_DAILY_METRICS, CAMPAIGN_DAILY_METRICS,
             CAMPAIGN_METRICS_FRESHNESS)
TICKET_SUITES = (TICKETS, TICKET_COMMENTS)
