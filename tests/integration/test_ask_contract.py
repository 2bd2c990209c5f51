"""The ask service's contract, as audit 4c tested it: conversations (reruns, declines, per user),
who is asked before what, strict feedback, platforms and names in any case, errors that say what
to send, HEAD on health."""

from __future__ import annotations

import json

import psycopg2
import pytest
from fastapi.testclient import TestClient

from ask.app import create_app
from ask.auth import revoke_key
from tests.helpers import bearer, create_workspace_key

pytestmark = pytest.mark.slow

AS_OF = "2026-10-01"
SPEND = "What was total spend last 7 days?"
ONLINE = ("online_ads", "online-ads-2020")  # a platform only a file import knows


@pytest.fixture(scope="module")
def client(built_db):
    app = create_app(lambda: built_db)
    yield TestClient(app, raise_server_exceptions=False)
    app.state.database.close()


@pytest.fixture(scope="module")
def account(built_db, ask_key):
    with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT account_id FROM app.ad_accounts WHERE platform = 'google_ads' ORDER BY 1 LIMIT 1")
        (account_id,) = cur.fetchone()
    conn.close()
    return account_id


@pytest.fixture(scope="module")
def bob(built_db, ask_key):
    """A second user (and key) of ask_key's workspace "test"; it is given nothing new."""
    return create_workspace_key(built_db, "test", accounts=[], ticket_sources=[])


@pytest.fixture(scope="module")
def online(built_db, ask_key):
    """A key of workspace "contract", owning only an `online_ads` account (registered here, removed after:
    built_db is shared, and other modules count its accounts)."""
    with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO app.ad_accounts (platform, account_id, currency_code) VALUES (%s, %s, 'USD')", ONLINE)
    conn.close()
    yield create_workspace_key(built_db, "contract", accounts=[ONLINE], ticket_sources=[])
    with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM app.ad_accounts WHERE platform = %s AND account_id = %s", ONLINE)
    conn.close()


@pytest.fixture
def contexts(monkeypatch):
    """The `previous` intent each answer was given, in order."""
    import ask.service

    seen: list[dict | None] = []
    real = ask.service.answer

    def spy(cur, scope, question, as_of=None, previous=None):
        seen.append(previous)
        return real(cur, scope, question, as_of, previous)

    monkeypatch.setattr(ask.service, "answer", spy)
    return seen


def post(client, key, question, **body):
    body = {"question": question, "as_of": AS_OF, **body}
    response = client.post("/v1/ask", json=body, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def rerun(client, key, interaction_id):
    response = client.post(f"/v1/interactions/{interaction_id}/rerun", headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


# -- conversations (W1, W4, C8) ---------------------------------------------------------------------
def test_a_rerun_answers_with_the_context_its_turn_had_not_the_conversations_latest(client, ask_key, account, contexts):
    talk = {"account_id": account, "conversation_id": "c-rerun-context"}
    first = post(client, ask_key, SPEND, **talk)
    clicks = post(client, ask_key, "what about clicks?", **talk)
    later = post(client, ask_key, "and in August 2026?", **talk)
    assert clicks["intent"] and later["intent"] and later["answer"] != clicks["answer"]
    assert contexts[1] == first["intent"] and contexts[2] == clicks["intent"]

    again = rerun(client, ask_key, clicks["interaction_id"])
    assert contexts[3] == first["intent"], "the rerun continues what turn 2 continued, not turn 3"
    assert again["answer"] == clicks["answer"] and again["facts_used"] == clicks["facts_used"]
    assert again["rerun_of"] == clicks["interaction_id"] and again["conversation_id"] == "c-rerun-context"

    rerun(client, ask_key, again["interaction_id"])  # a rerun of the rerun: still turn 2's context
    assert contexts[4] == first["intent"]
    self_contained = rerun(client, ask_key, first["interaction_id"])
    assert contexts[5] is None and self_contained["answer"] == first["answer"]

    post(client, ask_key, "what about impressions?", **talk)
    assert contexts[6] == later["intent"], "reruns leave the conversation's context where it was"


def test_a_declined_turn_does_not_wipe_the_conversation(client, ask_key, account, contexts):
    talk = {"account_id": account, "conversation_id": "c-decline"}
    first = post(client, ask_key, SPEND, **talk)
    declined = post(client, ask_key, "waht about clickz?", **talk)
    assert declined["intent"] is None, declined
    clicks = post(client, ask_key, "what about clicks?", **talk)
    assert contexts[2] == first["intent"]
    assert clicks["intent"]["metrics"] == ["clicks"]
    assert clicks["intent"]["periods"] == first["intent"]["periods"], "the period of the turn before the decline"


def test_a_conversation_is_its_users_not_the_whole_workspaces(client, ask_key, bob, account, contexts):
    talk = {"account_id": account, "conversation_id": "c-shared-name"}
    first = post(client, ask_key, SPEND, **talk)
    post(client, bob, "what about clicks?", **talk)
    post(client, ask_key, "what about clicks?", **talk)
    assert contexts[1] is None, "another user's conversation of the same id is not continued"
    assert contexts[2] == first["intent"], "and did not change the first user's context"


# -- who asks before what is asked (C1) -------------------------------------------------------------
def test_a_revoked_or_wrong_key_is_401_even_for_a_malformed_request(client, built_db):
    token = create_workspace_key(built_db, "revoked-c1", accounts=[], ticket_sources=[])
    prefix = token.split("_")[1]
    with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
        revoke_key(cur, prefix)
    conn.close()
    for key in (token, f"burry_{prefix}_{'B' * 43}"):
        for method, path, body in [
            ("POST", "/v1/ask", {"question": 123}),
            ("POST", "/v1/ask", {"question": SPEND, "surprise": 1}),
            ("POST", "/v1/feedback", {"interaction_id": 1, "rating": 9}),
            ("GET", "/v1/interactions?limit=0", None),
            ("GET", f"/v1/interactions/{2**70}", None),
        ]:
            response = client.request(method, path, json=body, headers=bearer(key))
            error = assert_error(response, 401, "unauthorized")
            assert "details" not in error, "nothing about the request's shape before the key is known"
            assert response.headers["www-authenticate"] == "Bearer"


def test_a_valid_key_still_gets_the_422(client, ask_key):
    error = assert_error(
        client.post("/v1/ask", json={"question": 123}, headers=bearer(ask_key)), 422, "invalid_request"
    )
    assert error["details"][0]["loc"] == ["body", "question"]
    assert "question" in error["message"], "the message names the field"


# -- feedback (C2) ----------------------------------------------------------------------------------
def test_feedback_fields_are_strictly_typed_and_blank_text_is_no_feedback(client, ask_key, account, built_db):
    interaction = post(client, ask_key, SPEND, account_id=account)["interaction_id"]
    for wrong in (
        {"rating": True},
        {"rating": "4"},
        {"rating": 4.0},
        {"hallucination": "yes"},
        {"hallucination": 1},
        {"interaction_id": str(interaction), "rating": 4},
        {"comment": ""},
        {"comment": "   \n"},
        {"correction": "\t"},
    ):
        body = {"interaction_id": interaction, **wrong}
        response = client.post("/v1/feedback", json=body, headers=bearer(ask_key))
        error = assert_error(response, 422, "invalid_request")
        assert error["details"], (wrong, error)
    empty = client.post("/v1/feedback", json={"interaction_id": interaction, "comment": " "}, headers=bearer(ask_key))
    assert "give at least one of" in assert_error(empty, 422, "invalid_request")["message"]

    kept = client.post(
        "/v1/feedback", json={"interaction_id": interaction, "rating": 4, "comment": "  "}, headers=bearer(ask_key)
    )
    assert kept.status_code == 201, kept.text
    with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT rating, comment FROM app.feedback WHERE interaction_id = %s", (interaction,))
        assert cur.fetchall() == [(4, None)], "only what was sent, and blank text is not stored"
    conn.close()


# -- questions (C3) ---------------------------------------------------------------------------------
@pytest.mark.parametrize("question", ["   ", "\n\t ", "\u00a0"])
def test_a_blank_question_is_422_and_not_recorded(client, ask_key, built_db, question):
    def count():
        with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM app.interactions")
            (n,) = cur.fetchone()
        conn.close()
        return n

    before = count()
    response = client.post("/v1/ask", json={"question": question}, headers=bearer(ask_key))
    error = assert_error(response, 422, "invalid_request")
    assert error["details"][0]["loc"] == ["body", "question"]
    assert count() == before


# -- platforms, accounts and ticket sources in any spelling (C4) -------------------------------------
def test_every_platform_of_the_workspace_and_any_case_is_accepted(client, ask_key, online):
    for platform in ("online_ads", "ONLINE_ADS", "google_ads", "Meta"):
        response = client.post("/v1/ask", json={"question": SPEND, "platform": platform}, headers=bearer(online))
        assert response.status_code == 200, (platform, response.text)
    assert (
        post(client, ask_key, SPEND, platform="Google_Ads")["answer"]
        == post(client, ask_key, SPEND, platform="google_ads")["answer"]
    )
    unknown = client.post("/v1/ask", json={"question": SPEND, "platform": "myspace"}, headers=bearer(online))
    error = assert_error(unknown, 422, "invalid_request")
    assert "online_ads" in error["details"][0]["msg"] and "google_ads" in error["details"][0]["msg"]
    prompt = client.get("/v1/prompts/online-ads-2020", params={"platform": "myspace"}, headers=bearer(online))
    assert_error(prompt, 422, "invalid_request")


def test_account_ids_and_ticket_sources_match_in_any_case_within_the_workspace(
    client, ask_key, online, account, built_db
):
    body = post(client, online, SPEND, account_id="ONLINE-ADS-2020")
    with psycopg2.connect(built_db.libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT platform, account_id FROM app.interactions WHERE id = %s", (body["interaction_id"],))
        assert cur.fetchone() == ONLINE
    conn.close()
    question = "How many tickets were created last week?"
    assert (
        post(client, ask_key, question, ticket_source="DEMO")["answer"]
        == post(client, ask_key, question, ticket_source="demo")["answer"]
    )

    # Still only the caller's workspace, and the same 403 whether the name exists elsewhere or not.
    for field, theirs, made_up in [
        ("ticket_source", "DEMO", "NOPE"),
        ("account_id", account, "0000000000"),
        ("account_id", ONLINE[1].upper(), "ONLINE-ADS-1999"),
    ]:
        key = ask_key if theirs == ONLINE[1].upper() else online
        responses = [
            client.post("/v1/ask", json={"question": question, field: value}, headers=bearer(key))
            for value in (theirs, made_up)
        ]
        assert_error(responses[0], 403, "forbidden")
        assert responses[0].text == responses[1].text, field


# -- errors that say what to send (C5) --------------------------------------------------------------
def test_a_body_that_is_not_json_says_to_send_application_json(client, ask_key):
    response = client.post(
        "/v1/ask", content=json.dumps({"question": SPEND}), headers={**bearer(ask_key), "content-type": "text/plain"}
    )
    assert "application/json" in assert_error(response, 415, "bad_media_type")["message"]


def test_unknown_paths_and_methods_say_what_exists(client):
    assert "/docs" in assert_error(client.get("/v1/asks"), 404, "not_found")["message"]
    wrong_method = assert_error(client.get("/v1/ask"), 405, "method_not_allowed")["message"]
    assert "POST" in wrong_method and "/docs" in wrong_method


@pytest.mark.parametrize(
    "body, field",
    [
        ({"question": SPEND, "conversation_id": "c" * 129}, "conversation_id"),
        ({"question": SPEND, "conversation_id": ""}, "conversation_id"),
        ({"question": SPEND, "account_id": ""}, "account_id"),
        ({"question": SPEND, "ticket_source": "s" * 65}, "ticket_source"),
    ],
)
def test_string_lengths_are_counted_in_characters(client, ask_key, body, field):
    error = assert_error(client.post("/v1/ask", json=body, headers=bearer(ask_key)), 422, "invalid_request")
    (detail,) = error["details"]
    assert detail["loc"] == ["body", field] and "character" in detail["msg"] and "item" not in detail["msg"]


def test_a_long_comment_is_counted_in_characters(client, ask_key):
    body = {"interaction_id": 1, "comment": "x" * 10_001}
    error = assert_error(client.post("/v1/feedback", json=body, headers=bearer(ask_key)), 422, "invalid_request")
    assert "10000 characters" in error["details"][0]["msg"]


@pytest.mark.parametrize("as_of", [20200701, 1.5, "2020/07/01", "2020-02-30", "20200701"])
def test_as_of_must_be_yyyy_mm_dd(client, ask_key, as_of):
    body = {"question": SPEND, "as_of": as_of}
    error = assert_error(client.post("/v1/ask", json=body, headers=bearer(ask_key)), 422, "invalid_request")
    assert "YYYY-MM-DD" in error["details"][0]["msg"]


# -- health (C6) ------------------------------------------------------------------------------------
def test_head_on_health_is_200(client):
    response = client.head("/v1/health")
    assert response.status_code == 200 and not response.content
