"""`burry prompts`: the template registry (seed 003) and the per-account snapshots.

    burry prompts list                              templates, their active and latest versions
    burry prompts show SLUG [--version N]           a version's body (default: the active one)
    burry prompts diff SLUG OLD NEW                 unified diff of two versions
    burry prompts preview SLUG [--version N]        rendered with generated sample values
    burry prompts render SLUG --account A           rendered over the account's marts (nothing stored)
    burry prompts activate SLUG VERSION             make an old version active again
    burry prompts snapshot ID                       a stored snapshot, as it was rendered
    burry prompts refresh [--account A]             sync templates, new snapshots, serve them (now)

Templates are registered from prompts/*.md by the `prompts/templates` asset (every refresh, and
`burry prompts refresh`). Exit 1 for an unknown template, version or snapshot, or a failed run.
"""

from __future__ import annotations

from typing import Annotated

import typer

from orchestration.cli.common import ensure_database, fail, finish, say

app = typer.Typer(help="Prompt templates and the snapshots rendered from them.", no_args_is_help=True)

Slug = Annotated[str, typer.Argument(help="The template's slug (`burry prompts list`).")]
VersionOption = Annotated[int | None, typer.Option("--version", help="A version number (default: the active one).")]


def _cursor():
    import contextlib

    from resources.database import connect

    @contextlib.contextmanager
    def opened():
        with connect(ensure_database()) as conn, conn.cursor() as cur:
            yield cur

    return opened()


@app.command("list")
def list_() -> None:
    """Every template: slug, active version, latest version, output format, tags."""
    from assets.prompts.registry import list_templates

    with _cursor() as cur:
        templates = list_templates(cur)
    if not templates:
        say("no templates registered yet: `burry prompts refresh` (or `burry demo`)")
    for t in templates:
        say(
            f"{t.slug}  active v{t.active_version}  latest v{t.latest_version}  {t.output_format}  "
            f"[{', '.join(t.tags)}]  {t.name}"
        )


@app.command()
def show(slug: Slug, version: VersionOption = None) -> None:
    """A version's body (default: the active version), with its variables."""
    from assets.prompts.registry import UnknownTemplate, get_version, versions

    with _cursor() as cur:
        try:
            chosen = get_version(cur, slug, version)
            known = versions(cur, slug)
        except UnknownTemplate as exc:
            fail(str(exc))
    listed = ", ".join(f"v{v.version}{'*' if v.is_active else ''}" for v in known)
    say(f"# {chosen.slug} v{chosen.version} ({chosen.output_format}); versions: {listed} (* active)")
    say(f"# variables: {', '.join(chosen.variables)}")
    print(chosen.body, end="" if chosen.body.endswith("\n") else "\n")


@app.command()
def diff(
    slug: Slug,
    old: Annotated[int, typer.Argument(help="The older version.")],
    new: Annotated[int, typer.Argument(help="The newer version.")],
) -> None:
    """Unified diff of two versions' bodies."""
    from assets.prompts.registry import UnknownTemplate
    from assets.prompts.registry import diff as diff_versions

    with _cursor() as cur:
        try:
            text = diff_versions(cur, slug, old, new)
        except UnknownTemplate as exc:
            fail(str(exc))
    print(text or f"v{old} and v{new} have the same body", end="" if text else "\n")


@app.command()
def preview(slug: Slug, version: VersionOption = None) -> None:
    """The template rendered with generated sample values ([name_value])."""
    from assets.prompts.registry import UnknownTemplate, get_version
    from resources.prompts.render import TemplateError
    from resources.prompts.render import preview as render_preview

    with _cursor() as cur:
        try:
            chosen = get_version(cur, slug, version)
        except UnknownTemplate as exc:
            fail(str(exc))
    try:
        print(render_preview(chosen.body), end="")
    except TemplateError as exc:
        fail(f"{slug} v{chosen.version}: {exc}")


@app.command()
def render(
    slug: Slug,
    account: Annotated[
        str, typer.Option(help="An ad account id (any spelling), or tickets:<source> for a ticket source.")
    ],
    version: VersionOption = None,
) -> None:
    """The template rendered over an account's marts now (stores nothing)."""
    from assets.prompts.context import context_for, ticket_subject
    from assets.prompts.registry import UnknownTemplate, get_version
    from resources.prompts.render import TemplateError
    from resources.prompts.render import render as render_text

    with _cursor() as cur:
        subject = ticket_subject(account.split(":", 1)[1]) if account.startswith("tickets:") else _account(cur, account)
        try:
            chosen = get_version(cur, slug, version)
        except UnknownTemplate as exc:
            fail(str(exc))
        _, context, _ = context_for(cur, subject)
    try:
        print(render_text(chosen.body, context), end="")
    except TemplateError as exc:
        fail(f"{slug} v{chosen.version}: {exc}")


def _account(cur, account: str):
    from assets.prompts.context import ad_account_subject
    from resources.ids import normalize_account_id

    cur.execute("SELECT platform, account_id FROM app.ad_accounts ORDER BY platform, account_id")
    for platform, account_id in cur.fetchall():
        if normalize_account_id(platform, account) == account_id:
            return ad_account_subject(platform, account_id)
    fail(f"no registered ad account {account!r}")


@app.command("activate")
def activate_(slug: Slug, version: Annotated[int, typer.Argument(help="The version to make active.")]) -> None:
    """Make a version active again; the next snapshots render it (`burry prompts refresh`)."""
    from assets.prompts.registry import UnknownTemplate, activate

    with _cursor() as cur:
        try:
            chosen = activate(cur, slug, version)
        except UnknownTemplate as exc:
            fail(str(exc))
    say(f"{chosen.slug}: v{chosen.version} is active; `burry prompts refresh` renders new snapshots with it")


@app.command()
def snapshot(
    snapshot_id: Annotated[int, typer.Argument(help="A snapshot id (the asset's metadata shows it).")],
) -> None:
    """A stored snapshot: its subject, template version, times, and text as rendered."""
    with _cursor() as cur:
        cur.execute(
            "SELECT subject_key, template_slug, template_version, generated_at, expires_at, is_active, rendered_text "
            "FROM app.prompt_snapshots WHERE id = %s",
            (snapshot_id,),
        )
        row = cur.fetchone()
    if row is None:
        fail(f"no snapshot {snapshot_id}")
    key, slug, version, generated, expires, active, text = row
    say(
        f"# snapshot {snapshot_id}: {key}, {slug} v{version}, generated {generated:%Y-%m-%d %H:%M:%S %Z}, "
        f"expires {expires:%Y-%m-%d %H:%M:%S %Z}, {'active' if active else 'inactive'}"
    )
    print(text, end="")


@app.command()
def refresh(
    account: Annotated[
        str | None, typer.Option(help="Only this ad account (any spelling) or tickets:<source>.")
    ] = None,
) -> None:
    """Sync the templates, render new snapshots over the current marts and serve them (what runs after the marts)."""
    from orchestration.instance import open_instance
    from orchestration.refresh import CONSOLE_INFO, refresh_prompts
    from resources.dbt import prepare_dbt_manifest

    url = ensure_database()
    keys = None
    if account is not None:
        from resources.database import connect

        if account.startswith("tickets:"):
            keys = [account]
        else:
            with connect(url) as conn, conn.cursor() as cur:
                keys = [_account(cur, account).key]
    prepare_dbt_manifest()
    from orchestration.definitions import build_definitions

    with open_instance(url) as instance:
        runs = refresh_prompts(instance, build_definitions(), CONSOLE_INFO, keys=keys, on_step=say)
    failed = [f"{key} (run {run.run_id})" for key, run in runs.items() if not run.success]
    if failed:
        fail(f"==> prompts FAILED for {', '.join(failed)}: see the runs in the Dagster UI (`burry serve`)")
    say(f"==> {len(runs)} prompt snapshots rendered and served")
    finish(0)
