"""`burry demo` and `burry serve`: the whole pipeline on demo data, then the Dagster UI and the ask
service until Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestration.cli.common import (
    ensure_database,
    finish,
    iso_date,
    print_rows,
    report_healed,
    report_registry_error,
    say,
    step_progress,
    warn,
)

if TYPE_CHECKING:
    from resources.database_url import DatabaseUrl

app = typer.Typer()

Host = Annotated[str, typer.Option(help="Address both servers listen on.")]
UiPort = Annotated[int, typer.Option(help="Port of the Dagster UI.", min=1, max=65535)]
ApiPort = Annotated[int, typer.Option(help="Port of the ask service.", min=1, max=65535)]


@app.command()
def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Exit after materializing (for scripts and CI).")
    ] = False,
    end_date: Annotated[
        str | None,
        typer.Option(help="Last day of demo data (default: yesterday).", metavar="YYYY-MM-DD", callback=iso_date),
    ] = None,
    host: Host = "127.0.0.1",
    ui_port: UiPort = 3000,
    api_port: ApiPort = 8000,
    embeddings: Annotated[
        bool,
        typer.Option(help="Embed the demo's tickets and ads for `burry search` (about a minute on 2 cores)."),
    ] = True,
) -> None:
    """Start and migrate the database, materialize every asset on demo data, then serve.

    Exit 1 when a run of the pipeline fails (the runs are in the Dagster UI: `burry serve`)."""
    from orchestration.instance import open_instance
    from orchestration.refresh import CONSOLE_INFO, refresh_everything
    from resources.dbt import prepare_dbt_manifest

    started = time.monotonic()
    url = ensure_database()
    say("==> materializing every asset (extract -> raw -> dbt marts)")
    prepare_dbt_manifest()  # before the definitions: @dbt_assets reads the manifest at import
    from orchestration.definitions import build_definitions

    defs = build_definitions(demo_end_date=end_date)
    with open_instance(url) as instance, step_progress("materializing") as on_step:
        outcome = refresh_everything(
            instance, run_config=CONSOLE_INFO, defs=defs, on_step=on_step, on_heal=report_healed, embeddings=embeddings
        )
    accounts = demo_accounts(url)
    if not outcome.success:
        report_registry_error(outcome.registry_error)
        warn(
            f"==> pipeline FAILED for {', '.join(outcome.failed_steps)}: see the runs in the Dagster UI (`burry serve`)"
        )
        finish(1)
    say(
        f"==> pipeline done in {time.monotonic() - started:.0f}s "
        f"({len(outcome.account_runs)} account runs, marts run {outcome.transform_run.run_id})"
    )
    print_rows(
        "ad accounts",
        ("account id", "name", "currency"),
        accounts,
        lambda row: f"    account {row[0]}  {row[1]} ({row[2]})",
    )
    key = demo_key(url)
    if no_serve:
        say(ask_example(host, api_port, key, accounts[0][0] if accounts else None))
        return
    finish(
        serve_until_stopped(
            url,
            host,
            ui_port,
            api_port,
            example_account=accounts[0][0] if accounts else None,
            demo_end_date=end_date,
            example_key=key,
        )
    )


def demo_key(url: DatabaseUrl) -> str:
    """The demo workspace (owning the demo accounts and tickets) and a fresh key of its demo user."""
    from ask.workspaces import setup_demo_workspace
    from resources.database import connect

    with connect(url) as conn, conn.cursor() as cur:
        key = setup_demo_workspace(cur)
    say(f"==> workspace {key.workspace_name}: new API key for {key.user_email} (shown once; `burry keys list`)")
    say(f"    BURRY_KEY={key.token}")
    return key.token


def ask_example(host: str, api_port: int, key: str | None, account: str | None) -> str:
    """A copy-paste curl for the ask service (a placeholder where no key is known)."""
    key_text = key or "$BURRY_KEY"
    lines = [
        f'    curl -s http://{host}:{api_port}/v1/ask -H "authorization: Bearer {key_text}" \\',
        "      -H 'content-type: application/json' \\",
        '      -d \'{"question": "What was total spend last 7 days?"}\'',
    ]
    if account:
        lines.append(
            f'    (one account: add "account_id": "{account}"; a key of your own: burry keys create --user EMAIL)'
        )
    return "\n".join(lines)


@app.command()
def serve(host: Host = "127.0.0.1", ui_port: UiPort = 3000, api_port: ApiPort = 8000) -> None:
    """Serve the Dagster UI (with its daemon: schedules and sensors run) and the ask service, until Ctrl-C."""
    from resources.dbt import prepare_dbt_manifest

    url = ensure_database()
    prepare_dbt_manifest()
    accounts = demo_accounts(url)
    finish(serve_until_stopped(url, host, ui_port, api_port, example_account=accounts[0][0] if accounts else None))


def demo_accounts(url: DatabaseUrl) -> list[tuple[str, str, str]]:
    from resources.database import connect

    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT account_id, name, currency_code FROM app.ad_accounts ORDER BY account_id")
        return cur.fetchall()


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop serving, even when started with them ignored (`nohup`, `&` in
    scripts): a handled signal is also reset to its default in the processes we spawn."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, interrupt)


def serve_until_stopped(
    url: DatabaseUrl,
    host: str,
    ui_port: int,
    api_port: int,
    example_account: str | None,
    demo_end_date: str | None = None,
    example_key: str | None = None,
) -> int:
    """`dagster dev` (UI + daemon) and the ask service, until Ctrl-C or SIGTERM; 1 if either dies."""
    from orchestration.instance import dagster_environment
    from resources import settings

    # The code location `dagster dev` loads reads its configuration from its environment: the
    # instance's storage URL, and for `burry demo --end-date` the demo sources' last day.
    extra = {**dagster_environment(url), **settings.demo_end_date_environment(demo_end_date)}
    stop_on_signals()
    bin_dir = Path(sys.executable).parent
    processes = [
        subprocess.Popen(
            [str(bin_dir / "dagster"), "dev", "-w", "workspace.yaml", "-h", host, "-p", str(ui_port)],
            cwd=settings.REPO_ROOT,
            env=settings.child_environment(extra),
        ),
        subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "ask.app:app", "--host", host, "--port", str(api_port)],
            cwd=settings.REPO_ROOT,
            env=settings.child_environment({}),
        ),
    ]
    say(
        f"\n    Dagster UI:   http://{host}:{ui_port}\n"
        f"    Ask service:  http://{host}:{api_port}/docs\n\n"
        f"{ask_example(host, api_port, example_key, example_account)}\n\n"
        "    Ctrl-C stops both (the database keeps running: `burry db stop`).\n"
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
