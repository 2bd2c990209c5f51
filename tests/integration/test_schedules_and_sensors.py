"""The account-registry sensor and the 6-hourly schedules, evaluated by Dagster itself."""

from datetime import UTC, datetime

import pytest
from dagster import (
    DagsterInstance,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)

from orchestration.definitions import defs
from orchestration.jobs import ad_accounts_every_6_hours, marts_every_6_hours
from sensors.accounts import ad_account_registry

TICK = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)


def test_registry_sensor_adds_a_partition_per_account_once(db, demo_env, cursor):
    instance = DagsterInstance.ephemeral()
    resources = {"database": defs.resources["database"], "ad_source": defs.resources["ad_source"]}

    result = ad_account_registry(build_sensor_context(instance=instance, resources=resources))

    assert isinstance(result, SensorResult)
    (request,) = result.dynamic_partitions_requests
    assert sorted(request.partition_keys) == ["google_ads:4216739015", "google_ads:5902261847", "google_ads:7384920156"]
    cursor.execute("SELECT count(*) FROM app.ad_accounts WHERE platform = 'google_ads'")
    assert cursor.fetchone()[0] == 3

    instance.add_dynamic_partitions("ad_accounts", list(request.partition_keys))
    again = ad_account_registry(build_sensor_context(instance=instance, resources=resources))
    assert isinstance(again, SkipReason)


@pytest.fixture
def instance():
    with instance_for_test() as instance:
        yield instance


def test_refresh_schedule_requests_one_run_per_account_per_tick(instance):
    context = build_schedule_context(instance=instance, scheduled_execution_time=TICK)
    assert isinstance(ad_accounts_every_6_hours(context), SkipReason), "no accounts yet: nothing to run"

    instance.add_dynamic_partitions("ad_accounts", ["google_ads:111", "google_ads:222"])
    requests = ad_accounts_every_6_hours(build_schedule_context(instance=instance, scheduled_execution_time=TICK))

    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("google_ads:111", "google_ads:111@20261001T0600"),
        ("google_ads:222", "google_ads:222@20261001T0600"),
    ]
    assert ad_accounts_every_6_hours.cron_schedule == "0 */6 * * *"


def test_marts_schedule_runs_after_the_extracts():
    request = marts_every_6_hours(build_schedule_context(scheduled_execution_time=TICK.replace(minute=30)))
    assert isinstance(request, RunRequest) and request.run_key == "20261001T0630"
    assert marts_every_6_hours.cron_schedule == "30 */6 * * *"
    assert marts_every_6_hours.job_name == "refresh_tickets_and_marts"
