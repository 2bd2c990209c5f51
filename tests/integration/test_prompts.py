"""Prompt templates -> snapshots -> served prompts on real PostgreSQL, through dagster.materialize,
and the ask service reading them (a copy of the session's built database: nothing reruns the pipeline)."""

import shutil
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from dagster import DagsterInstance, materialize
from fastapi.testclient import TestClient

from ask.app import create_app
from ask.prompts import SERVED, STALE_FALLBACK, ServedPrompts, account_subject
from assets.prompts.assets import (
    PROMPT_SUBJECTS_NAME,
    PROMPTS_DIR,
    prompt_snapshots,
    prompt_templates,
    served_prompts,
)
from assets.prompts.context import ad_account_subject
from assets.prompts.registry import activate, diff, list_templates, versions
from assets.prompts.snapshots import build_snapshot
from resources.postgres import PostgresResource
from tests.helpers import bearer, create_database, create_workspace_key, drop_database

pytestmark = pytest.mark.slow

ASSETS = [prompt_templates, prompt_snapshots, served_prompts]


@pytest.fixture(scope="module")
def prompt_db(pg_server, built_db):
    _, admin_url = pg_server
    url = create_database(admin_url, template=built_db)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url.libpq)
        yield url
    drop_database(admin_url, url)


@pytest.fixture(scope="module")
def instance():
    return DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def account(prompt_db):
    with psycopg2.connect(prompt_db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT platform, account_id FROM app.ad_accounts ORDER BY account_id LIMIT 1")
        return cur.fetchone()


def run(instance, key, directory, raise_on_error=True):
    instance.add_dynamic_partitions(PROMPT_SUBJECTS_NAME, [key])
    return materialize(
        ASSETS,
        partition_key=key,
        instance=instance,
        resources={"database": PostgresResource()},
        run_config={"ops": {"prompts__templates": {"config": {"directory": str(directory)}}}},
        raise_on_error=raise_on_error,
    )


def one(db, sql, params=()):
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def test_a_template_change_makes_a_new_version_and_new_snapshots_served_without_restart(
    prompt_db, instance, account, tmp_path
):
    templates = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, templates)
    key = ":".join(account)
    clock = [0.0]
    cache = ServedPrompts(check_seconds=1.0, clock=lambda: clock[0])

    first = run(instance, key, templates)
    checks = first.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("numbers_in_context", True)]
    snapshot = first.asset_materializations_for_node("prompts__snapshots")[0].metadata
    first_id = snapshot["snapshot_id"].value
    assert snapshot["template"].value == "account-system-prompt v1"
    assert snapshot["token_estimate"].value > 100 and "ACCOUNT OVERVIEW" in snapshot["rendered"].value

    with psycopg2.connect(prompt_db.libpq) as conn, conn.cursor() as cur:
        served = cache.current(cur, account_subject(*account))
        assert served is not None and served.snapshot_id == first_id
        # Determinism: the same rows render the same bytes.
        again = build_snapshot(cur, ad_account_subject(*account))
        assert again.text == served.text == build_snapshot(cur, ad_account_subject(*account)).text

    # Same inputs, a second run: a new snapshot row, byte-identical text.
    second = run(instance, key, templates)
    second_id = second.asset_materializations_for_node("prompts__snapshots")[0].metadata["snapshot_id"].value
    texts = {
        one(prompt_db, "SELECT text_sha256 FROM app.prompt_snapshots WHERE id = %s", (i,))[0]
        for i in (first_id, second_id)
    }
    assert len(texts) == 1

    # A changed body: version 2, a new snapshot; the old one stays readable, inactive.
    path = templates / "account-system-prompt.md"
    path.write_text(path.read_text() + "\nAnswer in {{ currency }} only.\n")
    third = run(instance, key, templates)
    meta = third.asset_materializations_for_node("prompts__snapshots")[0].metadata
    third_id = meta["snapshot_id"].value
    assert meta["template"].value == "account-system-prompt v2"
    old_text, old_active = one(
        prompt_db, "SELECT rendered_text, is_active FROM app.prompt_snapshots WHERE id = %s", (first_id,)
    )
    assert "ACCOUNT OVERVIEW" in old_text and old_active is False
    assert one(
        prompt_db,
        "SELECT count(*) FROM app.prompt_snapshots WHERE subject_key = %s AND is_active",
        (key,),
    ) == (1,)

    with psycopg2.connect(prompt_db.libpq) as conn, conn.cursor() as cur:
        # The cache notices the new served version once its check interval has passed.
        assert cache.current(cur, account_subject(*account)).snapshot_id == first_id
        clock[0] += 1.5
        served = cache.current(cur, account_subject(*account))
        assert served.snapshot_id == third_id and served.text.endswith("only.\n")
        assert served.template_version == 2

        assert "+Answer in {{ currency }} only." in diff(cur, "account-system-prompt", 1, 2)
        activate(cur, "account-system-prompt", 1)
        assert {s.slug: s.active_version for s in list_templates(cur)}["account-system-prompt"] == 1
    # An unchanged file does not undo the hand activation; the old version renders again.
    fourth = run(instance, key, templates)
    assert fourth.asset_materializations_for_node("prompts__snapshots")[0].metadata["template"].value == (
        "account-system-prompt v1"
    )
    with psycopg2.connect(prompt_db.libpq) as conn, conn.cursor() as cur:
        assert [v.version for v in versions(cur, "account-system-prompt")] == [1, 2]
    conn = psycopg2.connect(prompt_db.libpq)
    conn.autocommit = True
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.RaiseException, match="immutable"):
        cur.execute("UPDATE app.prompt_template_versions SET body = 'x'")
    conn.close()


def test_a_missing_variable_fails_the_snapshot_naming_it(prompt_db, instance, account, tmp_path):
    templates = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, templates)
    path = templates / "account-system-prompt.md"
    path.write_text(path.read_text() + "\nBudget: {{ monthly_budget }}\n")
    result = run(instance, ":".join(account), templates, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "monthly_budget" in str(failure.event_specific_data.error)


def test_a_number_not_in_the_context_fails_the_check_and_is_not_served(prompt_db, instance, account, tmp_path):
    templates = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, templates)
    path = templates / "account-system-prompt.md"
    path.write_text(path.read_text() + "\nForecast: {{ (window_days | int) * 977 }} clicks\n")
    before = one(prompt_db, "SELECT snapshot_id FROM app.served_prompts WHERE subject_key = %s", (":".join(account),))
    result = run(instance, ":".join(account), templates, raise_on_error=False)
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed and check.metadata["unsupported_numbers"].value == ["29310"]
    assert not result.success  # blocking: the served prompt stays the previous one
    after = one(prompt_db, "SELECT snapshot_id FROM app.served_prompts WHERE subject_key = %s", (":".join(account),))
    assert after == before


def test_expired_snapshots_are_not_current_and_the_http_service_serves_the_snapshot(
    prompt_db, instance, account, tmp_path
):
    key = ":".join(account)
    run(instance, key, PROMPTS_DIR)
    token = create_workspace_key(prompt_db, "prompts", accounts=[tuple(account)])
    SERVED.clear()  # the service's cache may hold another test database's prompts
    app = create_app(lambda: prompt_db)
    client = TestClient(app, headers=bearer(token))
    try:
        served = client.get(f"/v1/prompts/{account[1]}")
        assert served.status_code == 200, served.text
        body = served.json()
        assert body["subject"] == key and body["expired"] is False and "Burry AI" in body["text"]
        asked = client.post(
            "/v1/ask", json={"account_id": account[1], "question": "What was total spend last 7 days?"}
        ).json()
        assert asked["snapshot_id"] == body["snapshot_id"]
        assert one(prompt_db, "SELECT snapshot_id FROM app.interactions WHERE id = %s", (asked["interaction_id"],)) == (
            body["snapshot_id"],
        )
        assert client.get("/v1/prompts/0000000000").status_code == 403
        # A question over several accounts has no one snapshot in force.
        everyone = bearer(create_workspace_key(prompt_db, "prompts-all"))
        several = client.post("/v1/ask", json={"question": "What was total spend last 7 days?"}, headers=everyone)
        assert several.status_code == 200 and several.json()["snapshot_id"] is None
        assert client.get(f"/v1/prompts/{account[1]}", headers={"Authorization": "Bearer nope"}).status_code == 401

        # Past expires_at: still readable for debugging, never current; the LLM route's fallback.
        with psycopg2.connect(prompt_db.libpq) as conn, conn.cursor() as cur:
            cur.execute(
                "UPDATE app.prompt_snapshots SET generated_at = generated_at - interval '7 hours', "
                "expires_at = expires_at - interval '7 hours' WHERE id = %s",
                (body["snapshot_id"],),
            )
        cache = ServedPrompts(check_seconds=0)
        with psycopg2.connect(prompt_db.libpq) as conn, conn.cursor() as cur:
            prompt = cache.get(cur, account_subject(*account))
            assert prompt.expired() and cache.current(cur, account_subject(*account)) is None
            assert not prompt.expired(datetime.now(UTC) - timedelta(hours=2))
        assert prompt.stale_fallback() == STALE_FALLBACK.format(
            timestamp=prompt.data_refreshed_at.strftime("%Y-%m-%d %H:%M UTC")
        )
    finally:
        app.state.database.close()


def test_the_refresh_served_every_demo_account_and_ticket_source(built_db):
    """built_db was materialized by refresh_everything, as `burry demo` does."""
    with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT a.platform || ':' || a.account_id FROM app.ad_accounts AS a "
            "UNION SELECT DISTINCT 'tickets:' || source FROM raw.tickets "
            "EXCEPT SELECT p.subject_key FROM app.served_prompts AS p "
            "JOIN app.prompt_snapshots AS s ON s.id = p.snapshot_id AND s.is_active"
        )
        assert cur.fetchall() == []


def test_the_sensor_requests_every_subject_after_the_marts(prompt_db, instance):
    from dagster import asset, build_run_status_sensor_context

    from orchestration.jobs import prompts_after_marts

    @asset
    def marts():
        return 1

    done = materialize([marts], instance=instance)
    context = build_run_status_sensor_context(
        sensor_name="prompts_after_marts",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(done.run_id),
        dagster_event=done.get_run_success_event(),
        resources={"database": PostgresResource()},
    )
    result = prompts_after_marts(context)
    keys = [request.partition_key for request in result.run_requests]
    assert "tickets:demo" in keys and sum(key.startswith("google_ads:") for key in keys) == 3
