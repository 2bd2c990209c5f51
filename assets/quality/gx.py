"""Great Expectations suites on the raw extracts, and what a validation found, as plain data.

Plain Python over the database URL, tested directly; the suites live beside their domain's assets
(assets/ads/quality.py, assets/tickets/quality.py) and `assets/quality/checks.py` turns each into a
Dagster asset check. Every suite is validated by GX against PostgreSQL itself (an ephemeral GX
context, no GX project on disk): the schema on the table, the values on a query that adds what a
row cannot say by itself (the account's time zone, how far a date is from the account's local
today). A suite can be scoped to one ad account (the partition of an extract run).

`great_expectations` takes ~3 s to import: it is imported in `gx_session`, never at module load,
so loading the Dagster code location stays fast.
"""

import json
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from resources.database_url import DatabaseUrl
from resources.raw_schema import RawTable

# Unexpected rows kept per expectation (GX's partial_unexpected_count).
SAMPLE_SIZE = 20


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class AccountScope:
    """One ad account: what an `extract_ads` run (one partition) wrote."""

    platform: str
    account_id: str

    def where(self, alias: str = "t") -> str:
        return (
            f"{alias}.platform = {sql_literal(self.platform)} AND {alias}.account_id = {sql_literal(self.account_id)}"
        )

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

    def value_outcomes(
        self, suite: Suite, scope: AccountScope | None, only: set[str] | None = None
    ) -> list[ExpectationOutcome]:
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
                    failing = [
                        o.expectation for o in self.value_outcomes(suite, account, failed_values) if not o.passed
                    ]
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
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    connection_string = (
        url.url.set(drivername="postgresql+psycopg2")
        .update_query_dict({"application_name": APPLICATION_NAME})
        .render_as_string(hide_password=False)
    )
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
            execution_engine = getattr(source, "_execution_engine", None)
            if execution_engine is not None:
                execution_engine.close()
            engine = getattr(source, "_engine", None)
            if engine is not None:
                engine.dispose()


def validate(url: DatabaseUrl, suites: Sequence[Suite], scope: AccountScope | None = None) -> list[SuiteOutcome]:
    with gx_session(url) as session:
        return [session.validate(suite, scope) for suite in suites]


# -- building blocks of suites -------------------------------------------------------------------
def not_null(E, *columns: str) -> list:
    return [E.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def keys(E, key: tuple[str, ...]) -> list:
    return not_null(E, *key) + [E.ExpectCompoundColumnsToBeUnique(column_list=list(key))]


def dimension_suite(
    table: RawTable, extra=lambda E: [], query: str | None = None, account_scoped: bool = True
) -> Suite:
    """A dimension table's suite: every contract column with its type, natural key not null and unique."""
    return Suite(
        table=table.name,
        check_name="expectations",
        blocking=True,
        description=(
            f"Great Expectations: columns and types, natural key ({', '.join(table.key)}) not null and unique. "
            "Blocking."
        ),
        columns=table.column_types,
        query=query or f"SELECT t.* FROM {table.qualified} AS t WHERE {{scope}}",
        expectations=lambda E: [*keys(E, table.key), *extra(E)],
        row_id=table.key,
        account_scoped=account_scoped,
    )
