"""`burry`: the command line. Database lifecycle, migrations, the demo, and serving.

    burry db start|stop|status|url|migrate
    burry demo [--no-serve] [--end-date YYYY-MM-DD]
    burry serve [--host 127.0.0.1] [--ui-port 3000] [--api-port 8000]
    burry ask "What was total spend last 7 days?" --account 1234567890
    burry import ads|tickets FILE --mapping MAPPING
    burry dbt-prepare
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from orchestration import settings
from resources.database import DatabaseUrl, connect


def ensure_database() -> DatabaseUrl:
    """DATABASE_URL if set; otherwise start (or find) the embedded server. Then migrate."""
    from orchestration import migrate
    from resources.embedded_postgres import EmbeddedPostgres

    external = settings.external_database_url()
    if external:
        url = DatabaseUrl.parse(external)
        print(f"==> using DATABASE_URL {url.redacted()}")
    else:
        server = EmbeddedPostgres(settings.pg_data_dir())
        print(f"==> embedded PostgreSQL in {server.pgdata}")
        url = server.start()
    migrate.upgrade(url)
    return url


def prepare_dbt() -> None:
    """Write dbt_project/target/manifest.json, which @dbt_assets reads at import."""
    from orchestration.dbt_project import prepare_dbt_manifest

    prepare_dbt_manifest()


# -- db ------------------------------------------------------------------------------------------
def cmd_db(args: argparse.Namespace) -> int:
    from orchestration import migrate
    from resources.embedded_postgres import EmbeddedPostgres, server_log_tail

    external = settings.external_database_url()
    server = EmbeddedPostgres(settings.pg_data_dir())
    if args.action == "migrate":
        url = DatabaseUrl.parse(external) if external else server.url()
        if url is None:
            print("The embedded PostgreSQL is not running: `burry db start` first.", file=sys.stderr)
            return 1
        migrate.upgrade(url)
        print(f"migrated {url.redacted()} to {migrate.current_revision(url)}")
        return 0
    if external and args.action in ("start", "stop"):
        print("DATABASE_URL is set: Burry uses that server and does not start or stop it.", file=sys.stderr)
        return 1
    if args.action == "start":
        try:
            url = server.start()
        except Exception as exc:
            print(f"could not start PostgreSQL in {server.pgdata}: {exc}\n{server_log_tail(server.pgdata)}", file=sys.stderr)
            return 1
        print(f"running: {url.redacted()}")
        return 0
    if args.action == "stop":
        print("stopped" if server.stop() else "not running")
        return 0
    if args.action == "status":
        if external:
            print(f"external (DATABASE_URL): {DatabaseUrl.parse(external).redacted()}")
            return 0
        status = server.status()
        state = f"running (pid {status.pid})" if status.running else "stopped"
        print(f"{state}\ndata dir: {status.pgdata}\nurl: {status.url or '-'}")
        return 0 if status.running else 3
    if args.action == "url":
        url = DatabaseUrl.parse(external) if external else server.url()
        if url is None:
            print("not running: `burry db start`", file=sys.stderr)
            return 1
        # The URL for other tools (psql, a notebook); the password, if any, is the user's own.
        print(url.libpq)
        return 0
    raise AssertionError(args.action)


# -- demo and serve ------------------------------------------------------------------------------
def materialize_everything(end_date: str | None = None):
    """Every asset, as the schedules would run them: each account partition, then tickets and marts."""
    from dagster import DagsterInstance

    if end_date:
        os.environ["BURRY_DEMO_END_DATE"] = end_date
    prepare_dbt()
    from orchestration.refresh import CONSOLE_INFO, refresh_everything

    with DagsterInstance.get() as instance:
        return refresh_everything(instance, run_config=CONSOLE_INFO)


def demo_accounts(url: DatabaseUrl) -> list[tuple[str, str, str]]:
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT account_id, name, currency_code FROM app.ad_accounts ORDER BY account_id")
        return cur.fetchall()


def cmd_demo(args: argparse.Namespace) -> int:
    from orchestration.instance import prepare_dagster_environment

    started = time.monotonic()
    url = ensure_database()
    prepare_dagster_environment(url)
    print("==> materializing every asset (extract -> raw -> dbt marts)")
    outcome = materialize_everything(args.end_date)
    accounts = demo_accounts(url)
    if not outcome.success:
        print(f"==> pipeline FAILED for {', '.join(outcome.failed_steps)}: see the runs in the Dagster UI "
              "(`burry serve`)", file=sys.stderr)
        return 1
    print(f"==> pipeline done in {time.monotonic() - started:.0f}s "
          f"({len(outcome.account_runs)} account runs, marts run {outcome.transform_run.run_id})")
    for account_id, name, currency in accounts:
        print(f"    account {account_id}  {name} ({currency})")
    if args.no_serve:
        return 0
    return serve(url, args.host, args.ui_port, args.api_port, example_account=accounts[0][0] if accounts else None)


def cmd_serve(args: argparse.Namespace) -> int:
    from orchestration.instance import prepare_dagster_environment

    url = ensure_database()
    prepare_dagster_environment(url)
    prepare_dbt()
    accounts = demo_accounts(url)
    return serve(url, args.host, args.ui_port, args.api_port, example_account=accounts[0][0] if accounts else None)


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop serving, even when started with them ignored (`nohup`, `&` in
    scripts): a handled signal is also reset to its default in the processes we spawn."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, interrupt)


def serve(url: DatabaseUrl, host: str, ui_port: int, api_port: int, example_account: str | None) -> int:
    """Dagster UI (+ daemon) and the ask service, until Ctrl-C or SIGTERM."""
    stop_on_signals()
    bin_dir = os.path.dirname(sys.executable)
    processes = [
        subprocess.Popen(
            [os.path.join(bin_dir, "dagster"), "dev", "-w", "workspace.yaml", "-h", host, "-p", str(ui_port)],
            cwd=settings.REPO_ROOT,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "ask.app:app", "--host", host, "--port", str(api_port)],
            cwd=settings.REPO_ROOT,
        ),
    ]
    account = example_account or "ACCOUNT_ID"
    print(
        f"\n    Dagster UI:   http://{host}:{ui_port}\n"
        f"    Ask service:  http://{host}:{api_port}/docs\n\n"
        f"    curl -s http://{host}:{api_port}/v1/ask -H 'content-type: application/json' \\\n"
        f"      -d '{{\"account_id\": \"{account}\", \"question\": \"What was total spend last 7 days?\"}}'\n\n"
        "    Ctrl-C stops both (the database keeps running: `burry db stop`).\n",
        flush=True,
    )
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        failed = [p for p in processes if p.poll() not in (None, 0)]
        return 1 if failed else 0
    except KeyboardInterrupt:
        return 0
    finally:
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


# -- ask -----------------------------------------------------------------------------------------
def cmd_ask(args: argparse.Namespace) -> int:
    from ask.answerer import AccountNotFound, answer_question, record_interaction
    from resources.database import resolve_database_url

    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    with connect(resolve_database_url()) as conn, conn.cursor() as cur:
        try:
            answer = answer_question(cur, args.platform, args.account, args.question, as_of)
        except AccountNotFound as exc:
            print(exc, file=sys.stderr)
            return 1
        record_interaction(cur, args.platform, args.account, args.question, answer)
    print(answer.text)
    return 0


def resolve_mapping(name_or_path: str):
    """A mapping file, or the name of one shipped in mappings/ (e.g. `online_ads`)."""
    from assets.file_import import load_mapping

    path = Path(name_or_path)
    if not path.exists():
        shipped = settings.MAPPINGS_DIR / f"{name_or_path}.yml"
        if not shipped.exists():
            names = ", ".join(sorted(p.stem for p in settings.MAPPINGS_DIR.glob("*.yml")))
            raise FileNotFoundError(f"no mapping file {name_or_path!r}; shipped mappings: {names}")
        path = shipped
    return load_mapping(path)


def cmd_import(args: argparse.Namespace) -> int:
    from assets.file_import import MappingError, import_file
    from resources.database import resolve_database_url

    try:
        mapping = resolve_mapping(args.mapping)
        if mapping.kind != args.kind:
            raise MappingError(f"mapping {mapping.name!r} is for {mapping.kind}, not {args.kind}")
        url = resolve_database_url()
        summary = import_file(lambda: connect(url), args.file, mapping)
    except (MappingError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    if summary.rows_quarantined:
        print(f"  see: SELECT row_number, reason, payload FROM raw.quarantine WHERE import_id = {summary.import_id}")
    # Partial success is success: bad rows are kept in quarantine. Nothing loaded is a failure.
    return 0 if summary.already_imported or summary.rows_loaded else 1


def cmd_dbt_prepare(_: argparse.Namespace) -> int:
    prepare_dbt()
    print("dbt manifest ready: dbt_project/target/manifest.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="burry", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the PostgreSQL server: embedded by default, DATABASE_URL for an external one")
    db.add_argument("action", choices=["start", "stop", "status", "url", "migrate"])
    db.set_defaults(func=cmd_db)

    def add_serve_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--ui-port", type=int, default=3000)
        p.add_argument("--api-port", type=int, default=8000)

    demo = sub.add_parser("demo", help="run the whole pipeline on the bundled demo data, then serve")
    demo.add_argument("--no-serve", action="store_true", help="exit after materializing")
    demo.add_argument("--end-date", help="last day of demo data (default: yesterday)")
    add_serve_flags(demo)
    demo.set_defaults(func=cmd_demo)

    serve_p = sub.add_parser("serve", help="serve the Dagster UI and the ask service")
    add_serve_flags(serve_p)
    serve_p.set_defaults(func=cmd_serve)

    ask = sub.add_parser("ask", help="ask a question about an account's numbers")
    ask.add_argument("question")
    ask.add_argument("--account", required=True)
    ask.add_argument("--platform", default="google_ads")
    ask.add_argument("--as-of", help="answer as if today were this date (YYYY-MM-DD)")
    ask.set_defaults(func=cmd_ask)

    imp = sub.add_parser("import", help="import an ads or tickets file (CSV, JSONL) with a mapping")
    imp.add_argument("kind", choices=["ads", "tickets"])
    imp.add_argument("file", type=Path)
    imp.add_argument("--mapping", required=True, help="mapping YAML, or a shipped one's name (see mappings/)")
    imp.set_defaults(func=cmd_import)

    prep = sub.add_parser("dbt-prepare", help="parse the dbt project (writes target/manifest.json)")
    prep.set_defaults(func=cmd_dbt_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    if os.environ.get("BURRY_LOG_LEVEL"):
        # Off by default: Dagster logs runs through its own handler, a root handler would repeat them.
        logging.basicConfig(level=os.environ["BURRY_LOG_LEVEL"])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
