"""Google Ads extraction: the real `google-ads` client against a wire-level fake GoogleAdsService."""

import os
from datetime import timedelta
from pathlib import Path

import grpc
import psycopg2
import pytest
from google.ads.googleads.client import GoogleAdsClient
from google.oauth2.credentials import Credentials

from assets.ads.load import refresh_ad_accounts
from resources.ads.demo import DemoGoogleAdsSource
from resources.ads.google_ads import API_VERSION, GoogleAdsSource
from resources.database import connect
from tests.fakes.google_ads_server import FakeGoogleAdsServer, InjectedError

DATA = DemoGoogleAdsSource()  # ends yesterday, like a live account
ACCOUNT_IDS = [a["account_id"] for a in DATA.accounts()]
QUOTA = {"quota_error": "RESOURCE_EXHAUSTED"}


@pytest.fixture
def fake():
    # Small pages so an error can be injected in the middle of a stream.
    with FakeGoogleAdsServer(DATA, page_size=200) as server:
        yield server


def google_source(fake, **kwargs) -> GoogleAdsSource:
    # A static access token is never refreshed: nothing calls Google's OAuth endpoint.
    client = GoogleAdsClient(
        credentials=Credentials(token="test-access-token"),
        developer_token="test-developer-token",
        endpoint=fake.endpoint,
        use_proto_plus=True,
        version=API_VERSION,
    )
    return GoogleAdsSource(client, ACCOUNT_IDS, backoff_initial=0.01, backoff_max=0.05, **kwargs)


def refresh(db, source, lookback_days=30):
    return refresh_ad_accounts(lambda: connect(db), source, lookback_days)


def table_counts(db) -> dict[str, int]:
    with psycopg2.connect(db.libpq) as conn, conn.cursor() as cur:
        counts = {}
        for table in ["customers", "campaigns", "ad_groups", "ads", "ad_daily_metrics", "campaign_daily_metrics"]:
            cur.execute(f"SELECT count(*) FROM raw.{table} WHERE source = 'google_ads_api'")
            counts[table] = cur.fetchone()[0]
        return counts


def expected_counts(results) -> dict[str, int]:
    """What the source holds in each account's own window (which ends at the account's local today)."""
    windows = {r.account_id: r.window for r in results}
    assert sorted(windows) == sorted(ACCOUNT_IDS)
    return {
        "customers": len(ACCOUNT_IDS),
        "campaigns": sum(len(DATA.campaigns(a)) for a in ACCOUNT_IDS),
        "ad_groups": sum(len(DATA.ad_groups(a)) for a in ACCOUNT_IDS),
        "ads": sum(len(DATA.ads(a)) for a in ACCOUNT_IDS),
        "ad_daily_metrics": sum(len(DATA.ad_daily_metrics(a, w.start, w.end)) for a, w in windows.items()),
        "campaign_daily_metrics": sum(len(DATA.campaign_daily_metrics(a, w.start, w.end)) for a, w in windows.items()),
    }


def test_multi_account_refresh_lands_every_account(fake, db, cursor):
    results = refresh(db, google_source(fake, history_days=60))

    assert [r.status for r in results] == ["completed"] * 3
    assert table_counts(db) == expected_counts(results)
    cursor.execute("SELECT account_id, name, currency_code, time_zone FROM app.ad_accounts ORDER BY 1")
    assert cursor.fetchall() == sorted(
        (a["account_id"], a["name"], a["currency_code"], a["time_zone"]) for a in DATA.accounts()
    )
    # Money stays in micros as sent; the sum over the API equals the source's own.
    account = ACCOUNT_IDS[0]
    window = next(r.window for r in results if r.account_id == account)
    cursor.execute("SELECT sum(cost_micros) FROM raw.campaign_daily_metrics WHERE account_id = %s", (account,))
    assert cursor.fetchone()[0] == sum(
        r["cost_micros"] for r in DATA.campaign_daily_metrics(account, window.start, window.end)
    )
    cursor.execute("SELECT count(*) FROM raw.campaigns WHERE channel_type = 'PERFORMANCE_MAX'")
    assert cursor.fetchone()[0] == 1
    cursor.execute("SELECT headlines FROM raw.ads LIMIT 1")
    assert len(cursor.fetchone()[0]) >= 3


@pytest.mark.parametrize(
    "code, shape",
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "api_core.ResourceExhausted"),
        (grpc.StatusCode.INTERNAL, "api_core.InternalServerError"),
        (grpc.StatusCode.UNAVAILABLE, "GoogleAdsException"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "GoogleAdsException"),
    ],
)
def test_transient_errors_mid_stream_are_retried_without_duplicates(fake, db, code, shape):
    flaky = ACCOUNT_IDS[1]
    fake.inject(flaky, InjectedError(code, QUOTA, f"injected {code.name}", after_messages=1, times=2))

    results = refresh(db, google_source(fake, history_days=60))

    assert [r.status for r in results] == ["completed"] * 3
    assert table_counts(db) == expected_counts(results)
    assert sum(1 for cid, _ in fake.requests if cid == flaky) == 6 + 2, "two failed calls were retried"


def test_auth_failure_fails_that_account_only(fake, db, cursor):
    denied = ACCOUNT_IDS[2]
    fake.inject(
        denied,
        InjectedError(
            grpc.StatusCode.PERMISSION_DENIED,
            {"authorization_error": "USER_PERMISSION_DENIED"},
            "User doesn't have permission to access customer.",
            times=99,
        ),
    )

    results = {r.account_id: r for r in refresh(db, google_source(fake))}

    assert results[denied].status == "failed"
    assert all(r.status == "completed" for a, r in results.items() if a != denied)
    assert sum(1 for cid, _ in fake.requests if cid == denied) == 1, "auth errors are not retried"
    cursor.execute("SELECT status, error_message FROM app.refresh_jobs WHERE account_id = %s", (denied,))
    status, error = cursor.fetchone()
    assert status == "failed"
    assert "PERMISSION_DENIED" in error and "authorization_error" in error
    cursor.execute("SELECT count(*) FROM raw.campaign_daily_metrics WHERE account_id = %s", (denied,))
    assert cursor.fetchone()[0] == 0


def test_retries_give_up_after_max_attempts(fake, db, cursor):
    stuck = ACCOUNT_IDS[0]
    fake.inject(stuck, InjectedError(grpc.StatusCode.RESOURCE_EXHAUSTED, QUOTA, "quota", times=99))

    results = {r.account_id: r for r in refresh(db, google_source(fake, max_attempts=3))}

    assert results[stuck].status == "failed" and "RESOURCE_EXHAUSTED" in results[stuck].error
    assert sum(1 for cid, _ in fake.requests if cid == stuck) == 3


def test_reruns_reread_the_lookback_and_never_duplicate(fake, db, cursor):
    source = google_source(fake, history_days=60)
    first = refresh(db, source)
    counts = table_counts(db)

    second = refresh(db, source, lookback_days=7)

    assert table_counts(db) == counts
    assert {r.window.days for r in first} == {60}
    assert {r.window.days for r in second} == {7}
    assert all(r.window.end - r.window.start == timedelta(days=6) for r in second)
    cursor.execute("SELECT lookback_days, count(*) FROM app.refresh_jobs GROUP BY 1 ORDER BY 1")
    assert cursor.fetchall() == [(7, 3), (60, 3)]


@pytest.mark.slow
def test_days_inside_the_conversion_window_are_provisional_in_the_marts(fake, db, cursor):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from dagster import DagsterInstance, materialize

    from assets.dbt.assets import dbt_models
    from orchestration.definitions import defs
    from resources.dbt import prepare_dbt_manifest

    refresh(db, google_source(fake, history_days=60))
    prepare_dbt_manifest()
    resources = {"dbt": defs.resources["dbt"], "database": defs.resources["database"]}
    assert materialize([dbt_models], resources=resources, instance=DagsterInstance.ephemeral()).success

    cursor.execute(
        "SELECT d.account_id, a.time_zone, min(d.date_day) FILTER (WHERE d.is_provisional), "
        "max(d.date_day) FILTER (WHERE NOT d.is_provisional) FROM analytics.account_daily d "
        "JOIN app.ad_accounts a USING (platform, account_id) GROUP BY 1, 2"
    )
    found = cursor.fetchall()
    assert len(found) == 3
    for account_id, time_zone, first_provisional, last_final in found:
        today = datetime.now(ZoneInfo(time_zone)).date()  # the extraction day, in the account's zone
        assert first_provisional == today - timedelta(days=29), account_id
        assert last_final == today - timedelta(days=30), account_id


def test_configured_google_ads_source_runs_through_the_partitioned_asset(fake, db, cursor, tmp_path, monkeypatch):
    """The user's path: BURRY_AD_SOURCE=google_ads with a google-ads.yaml, read by the client
    library's own loader, a real service-account OAuth flow, and one Dagster run per account."""
    import yaml
    from dagster import DagsterInstance, materialize

    from assets.ads.extract import AD_ACCOUNTS, extract_ad_account
    from resources.ads.source import AdSourceResource
    from resources.postgres import PostgresResource
    from tests.fakes.google_ads_server import ROOTS_ENV
    from tests.fakes.oauth_server import FakeOAuthServer, service_account_key

    with FakeOAuthServer() as oauth:
        key_file = service_account_key(tmp_path / "sa.json", oauth.token_uri)
        config = tmp_path / "google-ads.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "developer_token": "dev-token-from-yaml",
                    "use_proto_plus": True,
                    "json_key_file_path": str(key_file),
                    "endpoint": fake.endpoint,
                }
            )
        )
        monkeypatch.setenv("GOOGLE_ADS_CONFIGURATION_FILE_PATH", str(config))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.environ[ROOTS_ENV])  # trust the fake token endpoint
        monkeypatch.delenv("GOOGLE_ADS_DEVELOPER_TOKEN", raising=False)
        instance = DagsterInstance.ephemeral()
        keys = [f"google_ads:{a}" for a in ACCOUNT_IDS]
        instance.add_dynamic_partitions(AD_ACCOUNTS.name, keys)
        resources = {
            "database": PostgresResource(),
            "ad_source": AdSourceResource(kind="google_ads", google_ads_customer_ids=ACCOUNT_IDS, history_days=30),
        }
        for key in keys:
            assert materialize([extract_ad_account], partition_key=key, resources=resources, instance=instance).success

    assert oauth.grants and oauth.grants[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert {m.get("authorization") for m in fake.metadata} <= {f"Bearer {t}" for t in oauth.tokens}
    assert {m.get("developer-token") for m in fake.metadata} == {"dev-token-from-yaml"}
    cursor.execute("SELECT status, count(*) FROM app.refresh_jobs GROUP BY 1")
    assert cursor.fetchall() == [("completed", 3)]
    cursor.execute("SELECT count(DISTINCT account_id), min(date), max(date) FROM raw.campaign_daily_metrics")
    accounts, first, last = cursor.fetchone()
    assert accounts == 3 and (last - first).days <= 30


def unreachable_oauth_config(tmp_path) -> Path:
    """A google-ads.yaml whose service-account key names a token endpoint nobody listens on."""
    import socket

    import yaml

    from tests.fakes.oauth_server import service_account_key

    with socket.socket() as s:  # a port just freed: closed, connections refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key_file = service_account_key(tmp_path / "sa.json", f"https://127.0.0.1:{port}/token")
    config = tmp_path / "google-ads.yaml"
    config.write_text(
        yaml.safe_dump({"developer_token": "dev-token", "use_proto_plus": True, "json_key_file_path": str(key_file)})
    )
    return config


def test_an_unreachable_oauth_endpoint_is_an_error_that_names_the_fix(tmp_path):
    from resources.ads.google_ads import GoogleAdsError, client_from_settings

    with pytest.raises(GoogleAdsError) as raised:
        client_from_settings({"configuration_file_path": str(unreachable_oauth_config(tmp_path))})

    message = str(raised.value)
    assert "authentication failed before any API call (TransportError" in message
    assert "OAuth token endpoint is reachable" in message and "GOOGLE_ADS_CONFIGURATION_FILE_PATH" in message


@pytest.mark.slow
def test_an_unreachable_oauth_endpoint_fails_each_account_run_not_the_refresh(db, cursor, tmp_path, monkeypatch):
    """`burry refresh all` with the real client and no token endpoint: the registry step records the
    error and goes on; each registered account's run fails on its own with the auth error (a
    failed refresh job says why); tickets and marts still refresh; exit 1 naming the accounts."""
    import subprocess

    from orchestration.instance import open_instance
    from resources.ads.source import AdSourceResource
    from resources.postgres import PostgresResource
    from sensors.accounts import new_account_partitions
    from tests.helpers import BURRY, DEMO_END_DATE

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    with open_instance(db) as instance:  # registered while the source answered
        demo = AdSourceResource(kind="demo", demo_end_date=DEMO_END_DATE)
        keys = new_account_partitions(instance, PostgresResource(), demo)
        instance.add_dynamic_partitions("ad_accounts", keys)
    env = {name: value for name, value in os.environ.items() if not name.startswith("GOOGLE_ADS_")}
    env.update(
        DATABASE_URL=db.libpq,
        DAGSTER_HOME=str(tmp_path / "dagster"),
        BURRY_DEMO_END_DATE=DEMO_END_DATE,
        BURRY_DROP_DIR=str(tmp_path / "drop"),
        BURRY_AD_SOURCE="google_ads",
        BURRY_GOOGLE_ADS_CUSTOMER_IDS=",".join(ACCOUNT_IDS),
        GOOGLE_ADS_CONFIGURATION_FILE_PATH=str(unreachable_oauth_config(tmp_path)),
    )

    result = subprocess.run([BURRY, "refresh", "all"], env=env, capture_output=True, text=True, timeout=600)

    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "==> account registry FAILED: GoogleAdsError: Google Ads authentication failed" in result.stderr
    failed_line = next(line for line in result.stderr.splitlines() if line.startswith("==> refresh FAILED for"))
    assert all(f"extract {key} (run " in failed_line for key in keys) and len(keys) == 3
    assert "tickets and marts" not in failed_line and "Traceback" not in result.stderr
    cursor.execute("SELECT account_id, status, error_message, dagster_run_id FROM app.refresh_jobs ORDER BY 1")
    jobs = cursor.fetchall()
    assert sorted(account for account, *_ in jobs) == sorted(ACCOUNT_IDS)
    for _, status, error, run_id in jobs:
        assert status == "failed" and run_id
        assert "authentication failed before any API call (TransportError" in error
    cursor.execute("SELECT pipeline_name, status, count(*) FROM dagster.runs GROUP BY 1, 2 ORDER BY 1")
    assert cursor.fetchall() == [
        ("extract_ads", "FAILURE", 3),
        ("import_dropped_files", "SUCCESS", 1),
        ("refresh_prompts", "SUCCESS", 4),  # snapshots follow the marts: 3 accounts, 1 ticket source
        ("refresh_tickets_and_marts", "SUCCESS", 1),
    ]
    cursor.execute("SELECT count(*) FROM analytics.tickets_daily")
    assert cursor.fetchone()[0] > 0, "the marts were built"
