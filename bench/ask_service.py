"""Benchmark: the ask service over HTTP under concurrent clients, against the bare SQL of the same
mart rows through the same connection pool, in the same run.

    make demo SERVE=0 && .venv/bin/python bench/ask_service.py [--clients 16] [--seconds 60]

Needs a database the demo pipeline has materialized (DATABASE_URL, or the embedded server that
`make demo` starts). It creates a throwaway user and API key in the workspace that owns the demo
accounts, then:
  1. baseline: `--clients` threads run, for `--seconds`, the bare SQL that reads the mart rows each
     question shape needs, through `ask.pool.Pool` (the service's pool, same size and timeouts);
  2. the service: `uvicorn ask.app:app` in its own process, and `--clients` threads (one kept HTTP
     connection each) asking a mix of question shapes for `--seconds`.
It prints answers/s, p50/p95/p99 latency and errors side by side, the p95 ratio (goal: ≤ 2×, 0
errors), and the server's own time per answer from `app.interactions.latency_ms` (request parsed
to answer ready, before the interaction is written). Afterwards the key is revoked and its
interactions deleted, so the demo database is as it was (but for the revoked key).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ask.auth import create_key  # noqa: E402
from ask.pool import Pool  # noqa: E402
from ask.workspaces import add_user  # noqa: E402
from resources import settings  # noqa: E402
from resources.database import connect, resolve_database_url  # noqa: E402
from resources.database_url import DatabaseUrl  # noqa: E402


@dataclass
class Shape:
    """A question shape: the HTTP request, and the bare SQL reading the same mart rows."""

    name: str
    body: dict
    sql: str
    params: dict


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    by_shape: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, shape: str, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.by_shape.setdefault(shape, []).append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


SUMS = (  # the accounts filtered as the answerer does (ask/answerer.py, IN_ACCOUNTS)
    "SELECT sum(impressions), sum(clicks), sum(cost), sum(conversions), sum(conversion_value), count(*) "
    "FROM analytics.account_daily "
    "WHERE platform = ANY(%(platforms)s::text[]) AND account_id = ANY(%(accounts)s::text[]) "
    "AND (platform, account_id) IN (SELECT * FROM unnest(%(platforms)s::text[], %(accounts)s::text[])) "
    "AND date_day BETWEEN %(start)s AND %(end)s"
)


def shapes(cur, last_day) -> tuple[str, list[Shape]]:
    """The workspace owning the demo accounts, and the question mix over its accounts."""
    cur.execute(
        "SELECT w.name, array_agg(a.account_id ORDER BY a.account_id) FROM app.ad_accounts AS a "
        "JOIN app.workspaces AS w ON w.id = a.workspace_id GROUP BY w.name ORDER BY count(*) DESC LIMIT 1"
    )
    row = cur.fetchone()
    if row is None:
        sys.exit("no workspace owns an ad account: run `make demo SERVE=0` (or `burry demo --no-serve`) first")
    workspace, accounts = row
    cur.execute(
        "SELECT coalesce(array_agg(source), '{}') FROM app.ticket_sources "
        "WHERE workspace_id = (SELECT id FROM app.workspaces WHERE name = %s)",
        (workspace,),
    )
    sources = cur.fetchone()[0]
    one, two = accounts[0], accounts[min(1, len(accounts) - 1)]
    g = ["google_ads"]

    def window(days: int) -> dict:
        return {"start": last_day - timedelta(days=days - 1), "end": last_day}

    month_start = last_day.replace(day=1)
    previous_month_end = month_start - timedelta(days=1)
    return workspace, [
        Shape(
            "spend, one account, 7 days",
            {"question": "What was total spend last 7 days?", "account_id": one},
            SUMS,
            {"platforms": g, "accounts": [one], **window(7)},
        ),
        Shape(
            "clicks, whole workspace, yesterday",
            {"question": "How many clicks yesterday?"},
            SUMS,
            {"platforms": g * len(accounts), "accounts": accounts, **window(1)},
        ),
        Shape(
            "CTR, one account, last month",
            {"question": "What was CTR last month?", "account_id": two},
            SUMS,
            {
                "platforms": g,
                "accounts": [two],
                "start": previous_month_end.replace(day=1),
                "end": previous_month_end,
            },
        ),
        Shape(
            "ROAS, platform, 30 days",
            {"question": "What was ROAS last 30 days?", "platform": "google_ads"},
            SUMS,
            {"platforms": g * len(accounts), "accounts": accounts, **window(30)},
        ),
        Shape(
            "top 3 campaigns by spend, 30 days",
            {"question": "Top 3 campaigns by spend last 30 days", "account_id": one},
            "SELECT campaign_id, sum(cost) AS cost FROM analytics.campaign_daily WHERE platform = 'google_ads' "
            "AND account_id = %(account)s AND date_day BETWEEN %(start)s AND %(end)s GROUP BY campaign_id "
            "ORDER BY cost DESC LIMIT 3",
            {"account": one, **window(30)},
        ),
        Shape(
            "tickets created, 7 days",
            {"question": "How many tickets were created last 7 days?"},
            "SELECT sum(tickets_created) FROM analytics.tickets_daily WHERE source = ANY(%(sources)s) "
            "AND breakdown = 'all' AND date_day BETWEEN %(start)s AND %(end)s",
            {"sources": sources, **window(7)},
        ),
    ]


def run_clients(clients: int, seconds: float, step: Callable[[int, int], tuple[str, bool, str]]) -> Samples:
    """`clients` threads calling step(client, i) until `seconds` have passed; step returns (shape, ok, error)."""
    samples = Samples()
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(clients)

    def loop(client: int) -> None:
        start.wait()
        i = client
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            try:
                shape, ok, problem = step(client, i)
            except Exception as exc:  # count it, keep going
                shape, ok, problem = "?", False, f"{type(exc).__name__}: {exc}"
            if ok:
                samples.add(shape, time.perf_counter() - began)
            else:
                samples.error(problem)
            i += 1

    threads = [threading.Thread(target=loop, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(url: DatabaseUrl, port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "ask.app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        cwd=settings.REPO_ROOT,
        env=settings.child_environment({"DATABASE_URL": url.libpq}),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    sys.exit("the ask service did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (burry serve runs 1)")
    parser.add_argument(
        "--synthetic",
        metavar="ACCOUNTSxDAYS",
        help="instead of the demo: a scratch database with bench/marts_refresh.py's synthetic set "
        "(e.g. 20x730: 20 accounts, 2 years, 1.75M ad rows), marts built, owned by a workspace",
    )
    args = parser.parse_args()

    drop = None
    if args.synthetic:
        accounts, days = (int(n) for n in args.synthetic.lower().split("x"))
        url, drop = synthetic_database(accounts, days)
    else:
        url = resolve_database_url()
    try:
        run(args, url)
    finally:
        if drop is not None:
            drop()


def synthetic_database(accounts: int, days: int) -> tuple[DatabaseUrl, Callable[[], None]]:
    """bench/marts_refresh.py's synthetic set in a scratch database, marts built, accounts in a workspace."""
    import marts_refresh as synthetic  # bench/ is on sys.path when this script runs

    from orchestration import migrate
    from resources.dbt import prepare_dbt_manifest

    url, drop = synthetic.scratch_database()
    try:
        migrate.upgrade(url)
        prepare_dbt_manifest(url)
        started = time.perf_counter()
        params = {"accounts": accounts, "campaigns": synthetic.CAMPAIGNS, "groups": synthetic.AD_GROUPS}
        synthetic.execute(url, synthetic.SYNTHETIC_RAW, {**params, "ads": synthetic.ADS, "days": days, "lookback": 30})
        synthetic.execute(
            url,
            "INSERT INTO app.workspaces (name) VALUES ('bench');"
            "INSERT INTO app.ad_accounts (platform, account_id, name, currency_code, time_zone, source, workspace_id, "
            "last_refreshed_at) SELECT platform, account_id, name, currency_code, time_zone, source, "
            "(SELECT id FROM app.workspaces WHERE name = 'bench'), now() FROM raw.customers",
        )
        ((rows,),) = synthetic.execute(url, "SELECT count(*) FROM raw.ad_daily_metrics")
        print(f"synthetic: {accounts} accounts x {days} days = {rows:,} ad rows; building the marts ...", flush=True)
        synthetic.dbt_build(url, 30, full_refresh=True)
        print(f"synthetic set ready in {time.perf_counter() - started:.0f} s", flush=True)
    except BaseException:
        drop()
        raise
    return url, drop


def run(args: argparse.Namespace, url: DatabaseUrl) -> None:
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT max(date_day) FROM analytics.account_daily")
        last_day = cur.fetchone()[0]
        if last_day is None:
            sys.exit("the marts are empty: run `make demo SERVE=0` first")
        workspace, mix = shapes(cur, last_day)
        email = f"bench-{int(time.time())}@example.com"
        add_user(cur, workspace, email, "bench/ask_service.py")
        key = create_key(cur, email, name="bench")
    # As if today were the day after the data's last day (the demo's end date is free).
    as_of_text = (last_day + timedelta(days=1)).isoformat()
    print(
        f"workspace {workspace}, {len(mix)} question shapes, as_of {as_of_text}, "
        f"{args.clients} clients, {args.seconds:.0f} s each, {args.workers} service worker(s)"
    )

    try:
        # 1. Baseline: the bare SQL through the service's pool, in this process.
        pool = Pool(lambda: url)

        def bare(client: int, i: int) -> tuple[str, bool, str]:
            shape = mix[i % len(mix)]

            def work(cur):
                cur.execute(shape.sql, shape.params)
                return cur.fetchall()

            pool.run(work)
            return shape.name, True, ""

        baseline = run_clients(args.clients, args.seconds, bare)
        pool.close()

        # 2. The service over HTTP.
        port = free_port()
        service = start_service(url, port, args.workers)
        try:
            sessions = [
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}",
                    headers={"Authorization": f"Bearer {key.token}"},
                    timeout=30,
                )
                for _ in range(args.clients)
            ]

            def asked(client: int, i: int) -> tuple[str, bool, str]:
                shape = mix[i % len(mix)]
                response = sessions[client].post("/v1/ask", json={**shape.body, "as_of": as_of_text})
                if response.status_code != 200:
                    return shape.name, False, f"{response.status_code}: {response.text[:200]}"
                return shape.name, True, ""

            http = run_clients(args.clients, args.seconds, asked)
            for session in sessions:
                session.close()
        finally:
            service.terminate()
            service.wait(timeout=30)

        with connect(url) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms), count(*), "
                "string_agg(DISTINCT route, ', ') FROM app.interactions WHERE api_key_id = %s",
                (key.id,),
            )
            (server_p50, server_p95, server_p99), recorded, routes = cur.fetchone()
    finally:
        with connect(url) as conn, conn.cursor() as cur:
            cur.execute("DELETE FROM app.interactions WHERE api_key_id = %s", (key.id,))
            cur.execute("UPDATE app.api_keys SET revoked_at = now() WHERE id = %s", (key.id,))

    def row(name: str, s: Samples) -> str:
        n = len(s.latencies)
        ms = [x * 1000 for x in s.latencies]
        return (
            f"| {name} | {n} | {n / args.seconds:.0f} | {percentile(ms, 0.5):.1f} | {percentile(ms, 0.95):.1f} | "
            f"{percentile(ms, 0.99):.1f} | {len(s.errors)} |"
        )

    print()
    print("| mode | answers | answers/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    print(row("bare SQL through the pool (baseline)", baseline))
    print(row("HTTP /v1/ask (auth, answer, interaction written)", http))
    ratio = percentile(http.latencies, 0.95) / percentile(baseline.latencies, 0.95)
    print(f"\np95 HTTP / bare SQL: {ratio:.1f}x (goal <= 2x); errors: {len(http.errors)} (goal 0)")
    print(
        f"server time per answer (app.interactions.latency_ms, {recorded} recorded): p50 {server_p50:.1f} ms, "
        f"p95 {server_p95:.1f} ms, p99 {server_p99:.1f} ms; routes: {routes}"
    )
    print("\nper shape, p95 ms (bare SQL / HTTP):")
    for shape in mix:
        b = [x * 1000 for x in baseline.by_shape.get(shape.name, [])]
        h = [x * 1000 for x in http.by_shape.get(shape.name, [])]
        print(f"  {shape.name}: {percentile(b, 0.95):.1f} / {percentile(h, 0.95):.1f}")
    for name, samples in (("bare SQL", baseline), ("HTTP", http)):
        if samples.errors:
            print(f"\nfirst {name} errors:", *sorted(set(samples.errors))[:5], sep="\n  ")


if __name__ == "__main__":
    main()
