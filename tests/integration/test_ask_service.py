"""The HTTP ask service over the real marts: grounded figures, traceable, never invented."""

import re
from decimal import Decimal

import psycopg2
import pytest
from fastapi.testclient import TestClient

from ask.app import create_app
from tests.helpers import bearer

pytestmark = pytest.mark.slow

AS_OF = "2026-10-01"  # the demo data ends 2026-09-30: "last 7 days" is Sep 24-30


@pytest.fixture(scope="module")
def client(built_db, ask_key):
    app = create_app(lambda: built_db)
    yield TestClient(app, headers=bearer(ask_key))
    app.state.database.close()


@pytest.fixture(scope="module")
def account(built_db):
    with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT account_id, currency_code FROM app.ad_accounts WHERE currency_code = 'USD'")
        return cur.fetchone()


def raw_spend(url, account_id, start, end) -> Decimal:
    with psycopg2.connect(url.libpq) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT sum(cost_micros) FROM raw.campaign_daily_metrics WHERE account_id = %s AND date BETWEEN %s AND %s",
            (account_id, start, end),
        )
        return (Decimal(cur.fetchone()[0]) / 1_000_000).quantize(Decimal("0.01"))


def ask(client, account_id, question, as_of=AS_OF):
    response = client.post("/v1/ask", json={"account_id": account_id, "question": question, "as_of": as_of})
    assert response.status_code == 200, response.text
    return response.json()


def test_health(client):
    assert client.get("/v1/health").json() == {"status": "ok", "database": "ok", "marts_ready": True}


def test_total_spend_last_7_days_is_the_raw_figure(client, account, built_db):
    account_id, _ = account
    body = ask(client, account_id, "What was total spend last 7 days?")

    expected = raw_spend(built_db, account_id, "2026-09-24", "2026-09-30")
    assert f"${expected:,}" in body["answer"]
    assert "Sep 24 – Sep 30, 2026" in body["answer"]
    assert body["route"] == "metric_sql"
    fact = body["facts_used"][0]
    assert Decimal(fact["value"]).quantize(Decimal("0.01")) == expected
    assert fact["days_with_data"] == 7
    assert body["data_freshness"]["data_end"] == "2026-09-30"
    assert body["provider"] == "none" and Decimal(str(body["cost_usd"])) == 0


def test_interaction_is_recorded_with_its_facts(client, account, built_db):
    account_id, _ = account
    body = ask(client, account_id, "How many clicks yesterday?")
    with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT question, answer, facts FROM app.interactions WHERE id = %s", (body["interaction_id"],))
        question, answer, facts = cur.fetchone()
    assert question == "How many clicks yesterday?"
    assert answer == body["answer"]
    assert facts == body["facts_used"]


def test_partial_coverage_is_stated(client, account):
    account_id, _ = account
    body = ask(client, account_id, "total spend last 7 days", as_of="2026-10-03")
    assert "Data covers only 5 of the 7 days" in body["answer"]


def test_no_data_declines_instead_of_inventing(client, account):
    account_id, _ = account
    body = ask(client, account_id, "What was total spend last 7 days?", as_of="2027-06-01")
    assert body["route"] == "stale_data"
    assert body["answer"].startswith("This data wasn't in our latest refresh")
    assert body["facts_used"] == []
    assert "$" not in body["answer"] and not re.search(r"\d\.\d\d", body["answer"]), "no figure may be stated"
    assert "runs to 2026-09-30" in body["answer"]
    before = ask(client, account_id, "What was total spend in 2019?", as_of="2026-09-30")
    assert before["route"] == "no_data" and before["answer"].startswith("I don't have spend for 2019")
    assert "runs from 2026-07-03 to 2026-09-30" in before["answer"]


def test_unsupported_metric_lists_what_is_available(client, account):
    account_id, _ = account
    body = ask(client, account_id, "What is our brand sentiment?")
    assert body["route"] == "unsupported_metric"
    assert body["answer"].startswith("I don't have information about 'brand sentiment'.")
    assert "I can only access spend, impressions, clicks" in body["answer"]


def test_an_account_outside_the_workspace_is_403_whether_or_not_it_exists(client):
    response = client.post("/v1/ask", json={"account_id": "0000000000", "question": "spend last 7 days?"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden" and "0000000000" not in response.text


def test_a_google_ads_id_with_dashes_is_the_same_account(client, account):
    account_id, _ = account
    dashed = f"{account_id[:3]}-{account_id[3:6]}-{account_id[6:]}"
    plain, with_dashes = ask(client, account_id, "spend last 7 days"), ask(client, dashed, "spend last 7 days")
    assert with_dashes["answer"] == plain["answer"]
    assert with_dashes["facts_used"] == plain["facts_used"]
