"""Benchmark: a 6-hourly incremental dbt build against a full refresh, on a scaled-up synthetic set.

    .venv/bin/python bench/marts_refresh.py [--accounts 20] [--days 365[,730,1460]] [--lookback 30]

Writes deterministic synthetic raw rows (accounts x campaigns x ad groups x ads x days, with a
Performance-Max-like campaign remainder) into a scratch database: a throwaway embedded PostgreSQL,
or a scratch database on the server of DATABASE_URL when that is set. Then, through the same
Dagster asset the schedules run (`dbt build`, tests included), in steady state (history
backfilled three days ago, the window re-read by yesterday's refresh):
  1. the first build (everything from scratch), then VACUUM ANALYZE (what autovacuum has done
     in a database whose history was loaded days ago);
  2. the floor: a build through the same asset of one unchanged staging view and its test: what
     any refresh pays before and after its nodes (Dagster, dbt's start-up, the parse);
  3. a 6-hourly refresh, three times: the extract re-read the last `--lookback` days (their
     `_extracted_at` moves to now, some clicks change), then the incremental build with that
     lookback (the median is reported);
  4. with `--lower-bound`: what a 6-hourly build would cost at the least with dbt kept in the path.
     dbt runs in this process (`dbtRunner`, dbt's imports already paid, as in a warm dbt process),
     without Dagster, and builds only the fact, the four prompt tables and their tests (no views,
     seeds or ticket models), after a re-extract like the others;
  5. the baseline: a full refresh over the same data.
It prints wall time and the fact model's own time side by side, the ratio to the full refresh, the
same ratio above the floor (what the window's own work costs against the full refresh's), and
checks that the incremental fact equals the full refresh's row for row. `--days 365,730,1460`
sweeps history lengths, each in its own database: the 6-hourly build should stay flat while the
full refresh grows.
"""

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration import migrate  # noqa: E402
from resources import settings  # noqa: E402
from resources.database_url import DatabaseUrl  # noqa: E402
from resources.embedded_postgres import EmbeddedPostgres  # noqa: E402

CAMPAIGNS, AD_GROUPS, ADS = 10, 4, 3
REPEATS = 3  # 6-hourly builds measured per history length; the median is reported

SYNTHETIC_RAW = """
SELECT setseed(0.42);
-- Steady state: history was backfilled three days ago, the last refresh re-read the window yesterday.
CREATE FUNCTION pg_temp.extracted_at(day date, lookback int) RETURNS timestamptz LANGUAGE sql AS
$$ SELECT now() - CASE WHEN day > current_date - 1 - lookback THEN interval '1 day' ELSE interval '3 days' END $$;
CREATE TEMP TABLE bench_ads AS
SELECT account_id, campaign_id, campaign_id || g AS ad_group_id, campaign_id || g || n AS ad_id
FROM (SELECT (9000000000 + a)::text AS account_id, (9000000000 + a)::text || lpad(c::text, 2, '0') AS campaign_id
      FROM generate_series(1, %(accounts)s) a, generate_series(1, %(campaigns)s) c) campaigns,
     generate_series(1, %(groups)s) g, generate_series(1, %(ads)s) n;

INSERT INTO raw.customers (platform, account_id, name, currency_code, time_zone, source)
SELECT DISTINCT 'google_ads', account_id, 'Bench ' || account_id, 'USD', 'America/New_York', 'bench' FROM bench_ads;
INSERT INTO raw.campaigns (platform, account_id, campaign_id, name, status, channel_type, source)
SELECT DISTINCT 'google_ads', account_id, campaign_id, 'Campaign ' || campaign_id, 'ENABLED', 'SEARCH', 'bench'
FROM bench_ads;
INSERT INTO raw.ad_groups (platform, account_id, campaign_id, ad_group_id, name, status, source)
SELECT DISTINCT 'google_ads', account_id, campaign_id, ad_group_id, 'Group ' || ad_group_id, 'ENABLED', 'bench'
FROM bench_ads;
INSERT INTO raw.ads (platform, account_id, ad_group_id, ad_id, ad_type, status, source)
SELECT 'google_ads', account_id, ad_group_id, ad_id, 'RESPONSIVE_SEARCH_AD', 'ENABLED', 'bench' FROM bench_ads;

INSERT INTO raw.ad_daily_metrics (platform, account_id, campaign_id, ad_group_id, ad_id, date, impressions, clicks,
                                  cost_micros, conversions, conversions_value, source, _extracted_at)
SELECT 'google_ads', account_id, campaign_id, ad_group_id, ad_id, day, impressions, clicks,
       clicks * (200000 + (random() * 1800000)::bigint), round((clicks * random() * 0.1)::numeric, 2),
       round((clicks * random() * 8)::numeric, 2), 'bench', pg_temp.extracted_at(day, %(lookback)s)
FROM (SELECT b.*, day::date AS day, imp AS impressions, (imp * random() * 0.08)::bigint AS clicks
      FROM bench_ads b, generate_series(current_date - %(days)s, current_date - 1, interval '1 day') day,
           LATERAL (SELECT (100 + random() * 2000)::bigint AS imp) i) rows;

-- Campaign totals are the ads' sums, plus a remainder the ads do not explain on every first campaign.
INSERT INTO raw.campaign_daily_metrics (platform, account_id, campaign_id, date, impressions, clicks, cost_micros,
                                        conversions, conversions_value, source, _extracted_at)
SELECT platform, account_id, campaign_id, date, sum(impressions) + extra, sum(clicks), sum(cost_micros) + extra * 1000,
       sum(conversions), sum(conversions_value), 'bench', pg_temp.extracted_at(date, %(lookback)s)
FROM raw.ad_daily_metrics, LATERAL (SELECT CASE WHEN campaign_id LIKE '%%01' THEN 500 ELSE 0 END AS extra) e
WHERE source = 'bench'
GROUP BY platform, account_id, campaign_id, date, extra;
ANALYZE;
"""

# What a 6-hourly extract does to the lookback window: re-reads (upserts) every row, some changed.
REEXTRACT = """
UPDATE raw.ad_daily_metrics SET _extracted_at = now(), clicks = clicks + (date > current_date - 3)::int
WHERE date > current_date - 1 - %(lookback)s;
UPDATE raw.campaign_daily_metrics c SET _extracted_at = now(), clicks = a.clicks
FROM (SELECT account_id, campaign_id, date, sum(clicks) AS clicks FROM raw.ad_daily_metrics
      WHERE date > current_date - 1 - %(lookback)s GROUP BY 1, 2, 3) a
WHERE c.date > current_date - 1 - %(lookback)s
  AND (c.account_id, c.campaign_id, c.date) = (a.account_id, a.campaign_id, a.date);
"""

FACT_FINGERPRINT = """
SELECT count(*), md5(string_agg(f::text, '|' ORDER BY f::text))
FROM (SELECT platform, account_id, campaign_id, ad_group_id, ad_id, date_day, grain, impressions, clicks, cost,
             conversions, conversion_value, is_provisional
      FROM analytics.int_ads__daily_facts) f
"""


def execute(url: DatabaseUrl, sql: str, params: dict | None = None):
    with psycopg2.connect(url.libpq) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        result = cur.fetchall() if cur.description else None
    conn.close()
    return result


def vacuum_analyze(url: DatabaseUrl) -> None:
    """What autovacuum has long done in a database whose history was loaded days ago: without it
    the first builds after a bulk load share the 2 cores with autovacuum's pass over millions of
    freshly written rows, and index-only scans find no visibility map."""
    conn = psycopg2.connect(url.libpq)
    conn.autocommit = True
    conn.cursor().execute("VACUUM ANALYZE")
    conn.close()


def dbt_build(
    url: DatabaseUrl, lookback_days: int, full_refresh: bool = False, only: str | None = None
) -> tuple[float, float | None, float, int]:
    """Wall seconds of the whole `dbt build` asset run, dbt's own seconds for the fact model (None
    when it did not run), the seconds from the first node's start to the last node's end
    (run_results.json; the rest of the wall time is Dagster's and dbt's start-up and event
    handling), and how many nodes ran. `only`: one model's name, to build that alone."""
    from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

    from assets.dbt.assets import dbt_models
    from resources.dbt import DBT_EXECUTABLE, BurryDbtResource, dbt_project
    from resources.postgres import PostgresResource

    database = PostgresResource(url=url.libpq)
    resources = {
        "database": database,
        "dbt": BurryDbtResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE, database=database),
    }

    config = {"lookback_days": lookback_days, "full_refresh": full_refresh}
    run_config = {
        "ops": {"dbt_models": {"config": config}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # dbt's own log lines
        result = materialize(
            [dbt_models],
            resources=resources,
            instance=DagsterInstance.ephemeral(),
            raise_on_error=True,
            run_config=run_config,
            selection=AssetSelection.assets(AssetKey(["analytics", only])) if only else None,
        )
    wall = time.perf_counter() - started
    fact = next(
        (
            e.materialization.metadata["Execution Duration"].value
            for e in result.get_asset_materialization_events()
            if e.asset_key == AssetKey(["analytics", "int_ads__daily_facts"])
        ),
        None,
    )
    target = Path(dbt_project.project_dir) / dbt_project.target_path
    (run,) = target.glob(f"dbt_models-{result.run_id[:7]}-*/run_results.json")
    nodes = json.loads(run.read_text())
    return wall, fact, nodes["elapsed_time"], len(nodes["results"])


# The least a 6-hourly build must do: the fact, the tables read from it, their tests.
ESSENTIAL = ["--select", "int_ads__daily_facts+", "--exclude", "config.materialized:view"]


def dbt_in_process(url: DatabaseUrl, lookback_days: int, selection: list[str]) -> float:
    """Wall seconds of `dbt build <selection>` run by dbtRunner in this process (no Dagster, no
    subprocess; the partial parse is kept), with dbt's imports already paid by an earlier call."""
    from dbt.cli.main import dbtRunner

    from resources.dbt import build_vars, dbt_project

    project = Path(dbt_project.project_dir)
    with tempfile.TemporaryDirectory(prefix="lower-bound-", dir=project / dbt_project.target_path) as target:
        shutil.copy2(project / dbt_project.target_path / "partial_parse.msgpack", target)
        args = ["build", "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", target]
        args += [*build_vars(lookback_days), "--quiet", *selection]
        with settings.environment_for_children(url.dbt_env()), contextlib.redirect_stdout(io.StringIO()):
            started = time.perf_counter()
            result = dbtRunner().invoke(args)
            wall = time.perf_counter() - started
    if not result.success:
        raise RuntimeError(f"in-process dbt build {selection} failed: {result.exception}")
    return wall


def scratch_database() -> tuple[DatabaseUrl, Callable[[], None]]:
    """A new database on DATABASE_URL's server, else on a throwaway embedded server."""
    external = settings.external_database_url()
    server = base = None
    if external:
        admin = DatabaseUrl.parse(external)
    else:
        base = Path(tempfile.mkdtemp(prefix="burry-b-", dir="/var/tmp"))
        server = EmbeddedPostgres(base / "pg")
        admin = server.start().with_database("postgres")
    url = admin.with_database(f"bench_{uuid.uuid4().hex[:8]}")
    conn = psycopg2.connect(admin.libpq)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{url.url.database}"')

    def drop():
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{url.url.database}" WITH (FORCE)')
        conn.close()
        if server:
            server.stop()
            shutil.rmtree(base, ignore_errors=True)

    return url, drop


def run_one(accounts: int, days: int, lookback: int, lower_bound: bool = False) -> dict:
    """One history length in its own scratch database: first build, 6-hourly incremental, full refresh."""
    from resources.dbt import prepare_dbt_manifest

    url, drop = scratch_database()
    try:
        migrate.upgrade(url)
        prepare_dbt_manifest(url)  # the builds below then parse partially, as production's do
        started = time.perf_counter()
        params = {"accounts": accounts, "campaigns": CAMPAIGNS, "groups": AD_GROUPS, "ads": ADS, "days": days}
        execute(url, SYNTHETIC_RAW, {**params, "lookback": lookback})
        ((ad_rows,),) = execute(url, "SELECT count(*) FROM raw.ad_daily_metrics")
        print(
            f"synthetic raw: {accounts} accounts x {CAMPAIGNS * AD_GROUPS * ADS} ads x {days} days = "
            f"{ad_rows:,} ad rows ({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        print("  dbt build: first build ...", flush=True)
        first = dbt_build(url, lookback)
        vacuum_analyze(url)
        # The floor: any refresh through the dbt asset pays Dagster's and dbt's start-up and the
        # parse, whatever it builds. Here it builds one staging view, unchanged (skipped), and its test.
        print("  dbt build: the floor (one unchanged view) ...", flush=True)
        floor = dbt_build(url, lookback, only="stg_tickets__tickets")
        incrementals = []
        for i in range(REPEATS):
            execute(url, REEXTRACT, {"lookback": lookback})
            print(f"  dbt build: incremental after a re-extract ({i + 1} of {REPEATS}) ...", flush=True)
            incrementals.append(dbt_build(url, lookback))
        incremental = sorted(incrementals)[REPEATS // 2]  # the median run, by wall time
        bound = None
        if lower_bound:
            print("  dbt in this process: the fact, the prompt tables and their tests ...", flush=True)
            dbt_in_process(url, lookback, ESSENTIAL)  # dbt's imports, paid once in a warm process
            bounds = []
            for _ in range(REPEATS):
                execute(url, REEXTRACT, {"lookback": lookback})
                bounds.append(dbt_in_process(url, lookback, ESSENTIAL))
            bound = sorted(bounds)[REPEATS // 2]
        incremental_fingerprint = execute(url, FACT_FINGERPRINT)[0]  # after the last incremental build
        print("  dbt build: full refresh ...", flush=True)
        full = dbt_build(url, lookback, full_refresh=True)
        full_fingerprint = execute(url, FACT_FINGERPRINT)[0]
    finally:
        drop()
    return {
        "days": days,
        "ad_rows": ad_rows,
        "first": first,
        "floor": floor,
        "bound": bound,
        "incremental": incremental,
        "full": full,
        "same": incremental_fingerprint == full_fingerprint,
        "fact_rows": full_fingerprint[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument(
        "--days", default="365", help="days of history; a comma-separated list sweeps them (365,730,1460)"
    )
    parser.add_argument("--lookback", type=int, default=30, help="days the 6-hourly refresh re-reads")
    parser.add_argument(
        "--lower-bound",
        action="store_true",
        help="also time the least a 6-hourly build does (fact, prompt tables, tests) with dbt in this process",
    )
    args = parser.parse_args()

    results = [run_one(args.accounts, int(days), args.lookback, args.lower_bound) for days in args.days.split(",")]

    print(
        f"\n{args.accounts} accounts, {args.lookback}-day lookback; wall s of the whole dbt build asset run "
        f"(fact model s in brackets); incremental: the median of {REPEATS} 6-hourly builds; floor: one "
        "unchanged view through the same asset; above floor: (incremental - floor) / (full - floor); dbt "
        "nodes: first node's start to last node's end, the rest is Dagster's and dbt's start-up and events"
    )
    print(
        f"{'history':>8} {'ad rows':>11} {'first build':>14} {'full refresh':>14} {'incremental':>14} "
        f"{'floor':>6} {'incr/full':>9} {'above floor':>11} {'nodes full/incr':>16} "
        f"{'incr: dbt nodes + rest':>24}  equal"
    )
    for r in results:
        (fw, ff, _, _), (iw, inf, ie, i_n), (rw, rf, _, rn) = r["first"], r["incremental"], r["full"]
        floor = r["floor"][0]
        print(
            f"{r['days']:>6} d {r['ad_rows']:>11,} {fw:>7.1f} ({ff:>4.1f}) {rw:>7.1f} ({rf:>4.1f}) "
            f"{iw:>7.1f} ({inf:>4.1f}) {floor:>6.1f} {iw / rw:>8.2f}x {(iw - floor) / (rw - floor):>10.2f}x "
            f"{rn:>8}/{i_n:<7} {ie:>12.1f} + {iw - ie:<9.1f}  {'yes' if r['same'] else 'NO'}"
        )
    if args.lower_bound:
        print(
            "\nLower bound with dbt in the path: dbt in this process (imports paid), no Dagster, only the fact, "
            f"the prompt tables and their tests; median of {REPEATS}"
        )
        for r in results:
            print(f"{r['days']:>6} d {r['bound']:>6.1f} s = {r['bound'] / r['full'][0]:.2f}x of the full refresh")
    return 0 if all(r["same"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
