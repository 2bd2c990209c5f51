"""The HTTP ask service (OpenAPI at /docs): grounded answers from the marts, one interaction each.

Every endpoint but /v1/health needs `Authorization: Bearer <key>` (ask/auth.py); a key reads only
its workspace's accounts and ticket sources. Every error is JSON, one shape:
`{"error": {"code": ..., "message": ..., "details": [...]}}` — 401 no or bad key (checked before
anything else about the request), 403 an account outside the workspace (existing or not: the same
body), 404, 405, 413 body over 64 KiB, 415 a body that is not JSON, 422 a malformed request (the
input is never echoed back), 503 database down or busy (heals by itself), 504 database too slow,
500 a bug (no traceback in the body). Every message says what to send instead.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from http import HTTPStatus
from importlib.resources import files
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as AsgiScope

from ask import interactions
from ask.auth import Unauthorized, authenticate, parse_token
from ask.pool import DatabaseTimeout, DatabaseUnavailable, Pool
from ask.prompts import SERVED, account_subject
from ask.scope import Scope
from ask.search import search_tickets, searchable_sources
from ask.service import Asked, Forbidden, ask_question, known_platform, narrowed_scope, platforms
from resources.database import resolve_database_url
from resources.database_url import DatabaseUrl

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_QUESTION = 2000
MAX_TEXT = 10_000
BIGINT = 2**63 - 1
EARLIEST_AS_OF, LATEST_AS_OF = date(2000, 1, 1), date(2100, 12, 31)
DOCS_STATIC = "/static-docs"


# -- request values ---------------------------------------------------------------------------------
def _text(value: str) -> str:
    """PostgreSQL text holds neither NUL nor lone surrogates: refuse them here (422), not in SQL (500)."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank: send the question's words")
    return value


def _iso_date(value: object) -> object:
    """Only "YYYY-MM-DD": pydantic would read a number as a Unix timestamp."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError('must be a date as a string "YYYY-MM-DD", e.g. "2026-10-01"')


def _as_of(value: date | None) -> date | None:
    if value is not None and not EARLIEST_AS_OF <= value <= LATEST_AS_OF:
        raise ValueError(f"must be between {EARLIEST_AS_OF} and {LATEST_AS_OF}")
    return value


def _instant(value: datetime | None) -> datetime | None:
    """In UTC (naive: UTC), between 1900 and 2200: PostgreSQL refuses offsets beyond ±15:59."""
    if value is None:
        return None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None
    if not 1900 <= value.year <= 2200:
        raise ValueError("must be between 1900 and 2200")
    return value


# Lengths through StringConstraints, inside the validator: a Field(max_length) on a validated str in a
# union is checked as a length of "items", and the error would say so.
Text = Annotated[str, AfterValidator(_text)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_text)]
ShortFilter = Annotated[str, StringConstraints(max_length=64), AfterValidator(_text)]
Question = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_QUESTION), AfterValidator(_text), AfterValidator(_not_blank)
]
LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_text)]
ConversationId = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_text)]
ConversationFilter = Annotated[str, StringConstraints(max_length=128), AfterValidator(_text)]
Instant = Annotated[datetime, AfterValidator(_instant)]
# Strict: JSON true is not a rating, "yes" not a boolean, "4" not a number.
StrictId = Annotated[int, Field(strict=True, ge=1, le=BIGINT)]
StrictBool = Annotated[bool, Field(strict=True)]
Rating = Annotated[int, Field(strict=True, ge=1, le=5)]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Question = Field(examples=["What was total spend last 7 days?"])
    account_id: Name | None = Field(
        default=None,
        description="One ad account of your workspace (its id in any spelling and any case); omitted: every "
        "account of the workspace.",
    )
    platform: Name | None = Field(
        default=None,
        description="Only this platform's accounts (any case): google_ads, meta, or the platform of any of your "
        "workspace's accounts (a file import's, e.g. online_ads).",
    )
    ticket_source: Name | None = Field(
        default=None, description="One ticket source of your workspace (any case); omitted: all of them."
    )
    as_of: Annotated[date | None, BeforeValidator(_iso_date), AfterValidator(_as_of)] = Field(
        default=None, description="Answer as if today were this date (YYYY-MM-DD, account time zone)."
    )
    conversation_id: ConversationId | None = Field(
        default=None,
        description="Any id the client picks for a conversation: a follow-up with the same id reuses what your "
        "last understood question in it meant. Conversations are per user: another user's same id is another "
        "conversation.",
    )


class AskResponse(BaseModel):
    answer: str
    interaction_id: int
    route: str = Field(description="How it was answered (metric_sql, no_data, unsupported_metric, ...).")
    facts_used: list[dict]
    snapshot_id: int | None = Field(
        default=None,
        description="The served prompt snapshot in force for the one account (or ticket source) asked about; "
        "null when the question covers several, or none is served, or it has expired.",
    )
    data_freshness: dict
    provider: str
    cost_usd: Decimal
    intent: dict | None = Field(default=None, description="What the question was understood to ask.")
    conversation_id: str | None = None
    rerun_of: int | None = None


class PromptOut(BaseModel):
    snapshot_id: int
    subject: str = Field(description="google_ads:<account id> (or tickets:<source>).")
    served_version: int = Field(description="Grows each time a new snapshot is served.")
    template_slug: str
    template_version: int
    generated_at: datetime
    expires_at: datetime
    expired: bool = Field(description="Past expires_at: not served to a language model as current.")
    text: str


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interaction_id: StrictId
    hallucination: StrictBool | None = Field(
        default=None, description="true: the answer stated something not in the data."
    )
    rating: Rating | None = Field(default=None, description="1 (worst) to 5 (best), a JSON number.")
    thumbs: Literal["up", "down"] | None = None
    correction: LongText | None = Field(default=None, description="What it should have said (blank: not given).")
    comment: LongText | None = Field(default=None, description="Blank: not given.")

    @model_validator(mode="after")
    def _something(self) -> FeedbackRequest:
        # Blank text says nothing: not stored, and not feedback on its own.
        if self.correction is not None and not self.correction.strip():
            self.correction = None
        if self.comment is not None and not self.comment.strip():
            self.comment = None
        given = (self.hallucination, self.rating, self.thumbs, self.correction, self.comment)
        if all(value is None for value in given):
            raise ValueError(
                'give at least one of: hallucination (true or false), rating (a number 1-5), thumbs ("up" or '
                '"down"), correction or comment (text that is not blank)'
            )
        return self


class FeedbackResponse(BaseModel):
    feedback_id: int
    interaction_id: int


class InteractionOut(BaseModel):
    id: int
    created_at: datetime
    source: str
    user_id: int | None
    api_key_id: int | None
    platform: str | None
    account_id: str | None
    question: str
    answer: str
    route: str
    facts_used: list
    data_freshness: dict | None
    provider: str | None
    cost_usd: Decimal
    latency_ms: float | None
    intent: dict | None
    conversation_id: str | None
    rerun_of: int | None
    feedback: list[dict] | None = None


class InteractionPage(BaseModel):
    items: list[InteractionOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next (older) page; null: no more.")


class TicketHit(BaseModel):
    source: str
    ticket_id: str
    similarity: float = Field(description="Cosine similarity to the query, -1..1 (higher: closer).")
    subject: str | None
    status: str | None
    priority: str | None
    created_at: datetime | None


class TicketSearchResponse(BaseModel):
    query: str
    model: str = Field(description="The embedding model of the query and of the vectors searched.")
    sources: list[str] = Field(description="The ticket sources searched (your workspace's).")
    results: list[TicketHit]


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok"]
    marts_ready: bool


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def _error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "No API key, or an invalid or revoked one (checked before the rest of the request).",
        403: "An account or ticket source outside your workspace (whether or not it exists).",
        404: "No such interaction in your workspace.",
        413: "Request body over 64 KiB.",
        415: "The body is not JSON: send it with Content-Type: application/json.",
        409: "Not ready: the tickets have no vectors of the configured model yet.",
        422: "Malformed request: the body says which field and why (never echoing the value).",
        503: "Database down, not ready or busy: retry later (see Retry-After).",
        504: "The database did not answer in time.",
    }
    return {code: {"model": ErrorResponse, "description": described[code]} for code in codes}


def error(
    status: int, code: str, message: str, details: list[dict] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "bad_media_type"}


def _validation_details(exc: RequestValidationError) -> list[dict]:
    """Where and why, never the input itself (it may be a megabyte, or a secret)."""
    details = []
    for item in exc.errors()[:20]:
        message = _printable(str(item.get("msg", "invalid")).removeprefix("Value error, ")[:300])
        details.append({"loc": [_printable(str(part)[:64]) for part in item.get("loc", ())], "msg": message})
    return details


def _malformed_message(details: list[dict]) -> str:
    """The first problem, named in the message itself: `question: String should have at least 1 character`."""
    if not details:
        return "the request is malformed"
    first = details[0]
    where = ".".join(str(part) for part in first["loc"][1:]) or "the body"
    more = f" (and {len(details) - 1} more: see details)" if len(details) > 1 else ""
    return f"the request is malformed: {where}: {first['msg']}{more}"


def _is_json(content_type: str | None) -> bool:
    """As FastAPI reads a body: no content type, application/json or application/*+json."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def request_platform(scope: Scope, platform: str | None, where: str) -> str | None:
    """The request's platform as Burry spells it; a 422 naming the platforms there are otherwise."""
    if platform is None:
        return None
    known = known_platform(scope, platform)
    if known is None:
        message = f"must be one of: {', '.join(platforms(scope))} (or leave it out)"
        raise RequestValidationError([{"type": "value_error", "loc": (where, "platform"), "msg": message}])
    return known


def _printable(text: str) -> str:
    """A field name may itself hold a lone surrogate (a JSON key): escape it, or the error body could not be encoded."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# -- the body size limit (plain ASGI: it must see the body before FastAPI parses it) ---------------
class BodySizeLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = error(413, "too_large", f"request body over {self.limit} bytes")
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await too_large(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                await too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# -- the app ---------------------------------------------------------------------------------------
class Database:
    """The app's pool, opened on first use (importing this module opens nothing) and closed on shutdown."""

    def __init__(self, database_url: Callable[[], DatabaseUrl], **pool_options: Any):
        self.database_url = database_url
        self.pool_options = pool_options
        self._pool: Pool | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> Pool:
        with self._lock:
            if self._pool is None:
                self._pool = Pool(self.database_url, **self.pool_options)
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


bearer = HTTPBearer(auto_error=False, description="An API key: `burry keys create --user EMAIL`.")
# Module level: with postponed annotations FastAPI resolves these names in the module's globals.
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
InteractionId = Annotated[int, Path(ge=1, le=BIGINT)]
PromptAccountId = Annotated[Text, Path(min_length=1, max_length=64, description="An ad account id, in any spelling.")]


def create_app(database_url: Callable[[], DatabaseUrl] = resolve_database_url, **pool_options: Any) -> FastAPI:
    """The service; `pool_options` go to ask.pool.Pool (size, timeouts)."""
    database = Database(database_url, **pool_options)

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        database.close()

    app = FastAPI(
        title="Burry ask service",
        version="0.2.0",
        description="Grounded answers about ad spend and support load. Every endpoint but /v1/health needs "
        "`Authorization: Bearer <key>` (create one with `burry keys create`).",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.database = database
    app.add_middleware(BodySizeLimit)
    static = files("fastapi_offline") / "static"
    app.mount(DOCS_STATIC, StaticFiles(directory=str(static)), name="docs-static")

    def token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
        return credentials.credentials if credentials else None

    # -- errors ---------------------------------------------------------------------------------
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == HTTPStatus.NOT_FOUND.phrase:
            message = "no such endpoint: every path starts with /v1/ and is listed at /docs (OpenAPI: /openapi.json)"
        elif exc.status_code == 405 and message == HTTPStatus.METHOD_NOT_ALLOWED.phrase:
            allowed = headers.get("Allow", "")
            message = f"{request.method} is not allowed here: use {allowed or 'another method'} (see /docs)"
        return error(exc.status_code, HTTP_CODES.get(exc.status_code, "error"), message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Who asks comes before what is asked: without a valid key (well-formed, known, not revoked),
        # a malformed request is a 401 too. Valid requests never pass here: they authenticate in their
        # own transaction, so this costs a query only on the way to a 422.
        if request.url.path != "/v1/health":
            key = token(await bearer(request))
            try:
                if key is None or parse_token(key) is None:
                    raise Unauthorized("missing or malformed API key")
                await run_in_threadpool(database.pool.run, lambda cur: authenticate(cur, key))
            except Unauthorized as refused:
                return await unauthorized(request, refused)
            except DatabaseUnavailable as down:
                return await unavailable(request, down)
            except DatabaseTimeout as slow:
                return await too_slow(request, slow)
        if any(item.get("loc", ())[:1] == ("body",) for item in exc.errors()) and not _is_json(
            request.headers.get("content-type")
        ):
            return error(415, "bad_media_type", "the body must be JSON: send it with Content-Type: application/json")
        details = _validation_details(exc)
        return error(422, "invalid_request", _malformed_message(details), details)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return error(
            401, "unauthorized", f"{exc}: send Authorization: Bearer <key>", headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return error(403, "forbidden", str(exc))

    @app.exception_handler(DatabaseUnavailable)
    async def unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return error(503, "database_unavailable", str(exc)[:500], headers={"Retry-After": "1"})

    @app.exception_handler(DatabaseTimeout)
    async def too_slow(request: Request, exc: DatabaseTimeout) -> JSONResponse:
        log.warning("database timeout: %s", exc)
        return error(504, "database_timeout", str(exc)[:500])

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error(500, "internal", "internal error (logged on the server)")

    # -- docs, offline: Swagger UI and ReDoc from the fastapi-offline wheel -----------------------
    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{DOCS_STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_STATIC}/favicon.png",
            with_google_fonts=False,
        )

    # -- endpoints ------------------------------------------------------------------------------
    @app.get("/v1/health", response_model=HealthResponse, responses=_error_responses(503, 504))
    def health() -> HealthResponse:
        def check(cur) -> bool:
            cur.execute("SELECT to_regclass('analytics.account_daily') IS NOT NULL")
            return cur.fetchone()[0]

        marts_ready = database.pool.run(check, timeout=3)
        return HealthResponse(status="ok" if marts_ready else "degraded", database="ok", marts_ready=marts_ready)

    # HEAD for health checkers that use it: the same check and status, no body.
    app.add_api_route("/v1/health", health, methods=["HEAD"], include_in_schema=False)

    @app.post("/v1/ask", response_model=AskResponse, responses=_error_responses(401, 403, 413, 415, 422, 503, 504))
    def ask(request: AskRequest, credentials: Credentials) -> AskResponse:
        """Ask a question over your workspace's accounts (or one of them) and ticket sources."""
        started = time.perf_counter()

        def work(cur) -> Asked:
            caller = authenticate(cur, token(credentials))
            return ask_question(
                cur,
                caller,
                request.question,
                account_id=request.account_id,
                platform=request_platform(caller.scope, request.platform, "body"),
                ticket_source=request.ticket_source,
                as_of=request.as_of,
                conversation_id=request.conversation_id,
                request=request.model_dump(mode="json", exclude={"question"}, exclude_none=True),
                started=started,
            )

        return _ask_response(database.pool.run(work), request.conversation_id)

    @app.post(
        "/v1/feedback",
        response_model=FeedbackResponse,
        status_code=201,
        responses=_error_responses(401, 404, 413, 415, 422, 503, 504),
    )
    def feedback(request: FeedbackRequest, credentials: Credentials) -> FeedbackResponse:
        """Feedback on an answer of your workspace (any number per interaction)."""

        def work(cur) -> int | None:
            caller = authenticate(cur, token(credentials))
            return interactions.add_feedback(
                cur,
                caller,
                request.interaction_id,
                hallucination=request.hallucination,
                rating=request.rating,
                thumbs=request.thumbs,
                correction=request.correction,
                comment=request.comment,
            )

        feedback_id = database.pool.run(work)
        if feedback_id is None:
            raise StarletteHTTPException(404, "no such interaction in your workspace")
        return FeedbackResponse(feedback_id=feedback_id, interaction_id=request.interaction_id)

    @app.get("/v1/interactions", response_model=InteractionPage, responses=_error_responses(401, 422, 503, 504))
    def list_interactions(
        credentials: Credentials,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        before_id: Annotated[int | None, Query(ge=1, le=BIGINT, description="Older than this id.")] = None,
        route: Annotated[ShortFilter | None, Query()] = None,
        source: Annotated[Literal["http", "cli", "slack"] | None, Query()] = None,
        conversation_id: Annotated[ConversationFilter | None, Query()] = None,
        account_id: Annotated[ShortFilter | None, Query()] = None,
        user_id: Annotated[int | None, Query(ge=1, le=BIGINT, description="Asked by this user.")] = None,
        since: Annotated[Instant | None, Query(description="Created at or after (ISO 8601).")] = None,
        until: Annotated[Instant | None, Query(description="Created before (ISO 8601).")] = None,
        with_feedback: Annotated[bool | None, Query()] = None,
    ) -> InteractionPage:
        """Your workspace's interactions, newest first, paged by id."""

        def work(cur) -> list[interactions.Interaction]:
            caller = authenticate(cur, token(credentials))
            return interactions.list_interactions(
                cur,
                caller,
                limit=limit,
                before_id=before_id,
                route=route,
                source=source,
                conversation_id=conversation_id,
                account_id=account_id,
                user_id=user_id,
                since=since,
                until=until,
                with_feedback=with_feedback,
            )

        items = database.pool.run(work)
        return InteractionPage(
            items=[_interaction_out(item) for item in items],
            next_before_id=items[-1].id if len(items) == limit else None,
        )

    @app.get(
        "/v1/interactions/{interaction_id}",
        response_model=InteractionOut,
        responses=_error_responses(401, 404, 422, 503, 504),
    )
    def get_interaction(interaction_id: InteractionId, credentials: Credentials) -> InteractionOut:
        """One interaction of your workspace, with its feedback."""

        def work(cur):
            caller = authenticate(cur, token(credentials))
            found = interactions.get(cur, caller, interaction_id)
            return found, interactions.feedback_for(cur, caller, interaction_id) if found else []

        found, given = database.pool.run(work)
        if found is None:
            raise StarletteHTTPException(404, "no such interaction in your workspace")
        return _interaction_out(found, given)

    @app.post(
        "/v1/interactions/{interaction_id}/rerun",
        response_model=AskResponse,
        responses=_error_responses(401, 403, 404, 422, 503, 504),
    )
    def rerun(interaction_id: InteractionId, credentials: Credentials) -> AskResponse:
        """The same question (same account, platform and as_of) on the current data, in the conversation context
        it had when first asked (not what the conversation said since); recorded as a new interaction that
        leaves the conversation's context as it was."""
        started = time.perf_counter()

        def work(cur) -> tuple[Asked | None, str | None]:
            caller = authenticate(cur, token(credentials))
            original = interactions.get(cur, caller, interaction_id)
            if original is None:
                return None, None
            sent = original.request or {}
            as_of = sent.get("as_of")
            asked = ask_question(
                cur,
                caller,
                original.question,
                account_id=original.account_id,
                platform=original.platform,
                ticket_source=sent.get("ticket_source"),
                as_of=date.fromisoformat(as_of) if as_of else None,
                conversation_id=original.conversation_id,
                request=sent,
                started=started,
                rerun=original,
            )
            return asked, original.conversation_id

        asked, conversation_id = database.pool.run(work)
        if asked is None:
            raise StarletteHTTPException(404, "no such interaction in your workspace")
        return _ask_response(asked, conversation_id, rerun_of=interaction_id)

    @app.get(
        "/v1/prompts/{account_id}",
        response_model=PromptOut,
        responses=_error_responses(401, 403, 404, 422, 503, 504),
    )
    def get_prompt(
        account_id: PromptAccountId,
        credentials: Credentials,
        platform: Annotated[Name | None, Query(description="The account's platform (any case).")] = None,
    ) -> PromptOut:
        """The prompt snapshot served for one ad account of your workspace (for debugging and the console)."""

        def work(cur):
            caller = authenticate(cur, token(credentials))
            named = request_platform(caller.scope, platform, "query")
            scope, owned_platform, owned_id = narrowed_scope(caller.scope, named, account_id)
            assert owned_platform is not None and owned_id is not None
            return SERVED.get(cur, account_subject(owned_platform, owned_id))

        served = database.pool.run(work)
        if served is None:
            raise StarletteHTTPException(404, "no prompt is served for this account yet (`burry refresh all`)")
        return PromptOut(
            snapshot_id=served.snapshot_id,
            subject=served.subject_key,
            served_version=served.served_version,
            template_slug=served.template_slug,
            template_version=served.template_version,
            generated_at=served.generated_at,
            expires_at=served.expires_at,
            expired=served.expired(),
            text=served.text,
        )

    @app.get(
        "/v1/search/tickets",
        response_model=TicketSearchResponse,
        responses=_error_responses(401, 403, 409, 422, 503, 504),
    )
    def search_tickets_endpoint(
        credentials: Credentials,
        q: Annotated[Text, Query(min_length=1, max_length=MAX_QUESTION, description="What to look for.")],
        k: Annotated[int, Query(ge=1, le=100, description="How many tickets.")] = 10,
        source: Annotated[Name | None, Query(description="One ticket source.")] = None,
        min_similarity: Annotated[float | None, Query(ge=-1, le=1, description="Drop weaker matches.")] = None,
    ) -> TicketSearchResponse:
        """Your workspace's tickets nearest in meaning to `q` (semantic search), nearest first."""
        from resources.embeddings.providers import EmbedderConfig, get_embedder
        from resources.embeddings.search import NotEmbedded, embed_query, require_space

        config = EmbedderConfig.from_settings()

        def authorise(cur) -> None:
            # The key, the source, and vectors to search, before anything is spent on the query.
            searchable_sources(authenticate(cur, token(credentials)), source)
            require_space(cur, "ticket", *config.space_identity())

        def work(cur):
            caller = authenticate(cur, token(credentials))
            return search_tickets(cur, caller, query, k, source, min_similarity)

        try:
            database.pool.run(authorise)
            query = embed_query(get_embedder(config), q)  # no connection held while the model runs
            found = database.pool.run(work)
        except NotEmbedded as exc:
            return error(409, "not_ready", str(exc))  # type: ignore[return-value]
        return TicketSearchResponse(
            query=found.query,
            model=found.model,
            sources=list(found.sources),
            results=[TicketHit(**vars(match)) for match in found.matches],
        )

    return app


def _ask_response(asked: Asked, conversation_id: str | None, rerun_of: int | None = None) -> AskResponse:
    answer = asked.answer
    return AskResponse(
        answer=answer.text,
        interaction_id=asked.interaction_id,
        route=answer.route,
        facts_used=answer.facts,
        data_freshness=answer.freshness,
        provider=answer.provider,
        cost_usd=answer.cost_usd,
        intent=answer.intent,
        conversation_id=conversation_id,
        rerun_of=rerun_of,
        snapshot_id=asked.snapshot_id,
    )


def _interaction_out(item: interactions.Interaction, feedback: list[dict] | None = None) -> InteractionOut:
    return InteractionOut(
        id=item.id,
        created_at=item.created_at,
        source=item.source,
        user_id=item.user_id,
        api_key_id=item.api_key_id,
        platform=item.platform,
        account_id=item.account_id,
        question=item.question,
        answer=item.answer,
        route=item.route,
        facts_used=item.facts or [],
        data_freshness=item.data_freshness,
        provider=item.provider,
        cost_usd=item.cost_usd,
        latency_ms=item.latency_ms,
        intent=item.intent,
        conversation_id=item.conversation_id,
        rerun_of=item.rerun_of,
        feedback=feedback,
    )


app = create_app()
