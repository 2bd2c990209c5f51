"""Kept PostgreSQL connections for the ask service, with every wait bounded.

Opening a connection cost about half of a 12 ms answer, so connections are kept: at most `size`,
handed out in arrival order; a caller waits `acquire_timeout` for one, then the pool says it is
busy. Each use is one transaction: `run(work)` calls `work(cursor)`, commits, and hands the
connection back.

Faults become two exceptions the HTTP layer maps to status codes:
- `DatabaseUnavailable` (503): no server configured or running, connection refused or lost, the
  schema not migrated, every connection busy. The pool heals by itself: a connection that breaks
  is dropped, and a kept one found dead on its first statement is replaced once, transparently
  (after a restart every idle connection is dead, and the server may listen on a new port: the URL
  is resolved again for each new connection).
- `DatabaseTimeout` (504): the server did not answer in time. Server side, `statement_timeout`
  and `lock_timeout` end slow statements. A stalled server (stopped with SIGSTOP, a hung host) does
  not run them, so psycopg2's wait callback (`set_wait_callback`, which makes libpq calls
  non-blocking and waits in Python) enforces a deadline per `run` in the client too, connecting
  included. The callback is process-wide: it is installed by the first open pool and removed when
  the last one closes (psycopg2 refuses COPY while one is installed).
"""

from __future__ import annotations

import collections
import contextlib
import select
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from resources.database_url import DatabaseUrl

T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database cannot be used now (503); it may come back by itself."""


class DatabaseTimeout(Exception):
    """The database did not answer in time (504)."""


class _DeadlinePassed(psycopg2.OperationalError):
    pass


_local = threading.local()
_installed_lock = threading.Lock()
_open_pools = 0


def _wait(conn) -> None:
    """psycopg2 wait callback: wait_select with this thread's deadline."""
    deadline = getattr(_local, "deadline", None)
    poller = None
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            events = select.POLLIN
        elif state == psycopg2.extensions.POLL_WRITE:
            events = select.POLLOUT
        else:  # pragma: no cover - libpq never says anything else
            raise psycopg2.OperationalError(f"bad state from poll: {state}")
        if poller is None:
            poller = select.poll()
            poller.register(conn.fileno(), events)
        else:
            poller.modify(conn.fileno(), events)
        if deadline is None:
            poller.poll()
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise _DeadlinePassed("the database did not answer in time")


@contextlib.contextmanager
def _deadline(at: float) -> Iterator[None]:
    previous = getattr(_local, "deadline", None)
    _local.deadline = at if previous is None else min(at, previous)
    try:
        yield
    finally:
        _local.deadline = previous


def _install() -> None:
    global _open_pools
    with _installed_lock:
        if _open_pools == 0:
            psycopg2.extensions.set_wait_callback(_wait)
        _open_pools += 1


def _uninstall() -> None:
    global _open_pools
    with _installed_lock:
        _open_pools -= 1
        if _open_pools == 0:
            psycopg2.extensions.set_wait_callback(None)


class FairSlots:
    """A counting semaphore that serves waiters in arrival order: a freed slot is handed to the
    longest waiter directly. (threading.Semaphore lets a newcomer barge in: under a CPU-bound load
    some waiters starved past their timeout while others went round again.)"""

    def __init__(self, size: int):
        self._free = size
        self._lock = threading.Lock()
        self._waiters: collections.deque[threading.Event] = collections.deque()

    def acquire(self, timeout: float) -> bool:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            granted = threading.Event()
            self._waiters.append(granted)
        if granted.wait(timeout):
            return True
        with self._lock:
            if granted.is_set():  # handed over just as the wait timed out
                return True
            self._waiters.remove(granted)
            return False

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._free += 1


TIMEOUT_ERRORS = (psycopg2.errors.QueryCanceled, psycopg2.errors.LockNotAvailable, _DeadlinePassed)
NOT_MIGRATED = (psycopg2.errors.UndefinedTable, psycopg2.errors.UndefinedColumn, psycopg2.errors.InvalidSchemaName)


class Pool:
    def __init__(
        self,
        database_url: Callable[[], DatabaseUrl],
        size: int = 16,
        connect_timeout: float = 3.0,
        statement_timeout: float = 5.0,
        request_timeout: float = 8.0,
        acquire_timeout: float = 5.0,
        application_name: str = "burry-ask",
    ):
        self._database_url = database_url
        self.size = size
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.request_timeout = request_timeout
        self.acquire_timeout = acquire_timeout
        self.application_name = application_name
        self._idle: list[psycopg2.extensions.connection] = []
        self._lock = threading.Lock()
        self._slots = FairSlots(size)
        self._closed = False
        _install()

    # -- connections ---------------------------------------------------------------------------
    def _connect(self, deadline: float) -> psycopg2.extensions.connection:
        try:
            url = self._database_url()
        except Exception as exc:  # DatabaseNotConfigured, an unreadable pid file, a bad URL
            raise DatabaseUnavailable(f"database not available: {exc}") from None
        statement_ms = int(self.statement_timeout * 1000)
        options = (
            f"-c statement_timeout={statement_ms} -c lock_timeout={statement_ms} "
            f"-c idle_in_transaction_session_timeout={statement_ms * 6}"
        )
        try:
            with _deadline(min(deadline, time.monotonic() + self.connect_timeout)):
                return psycopg2.connect(
                    url.libpq,
                    application_name=self.application_name,
                    connect_timeout=max(1, round(self.connect_timeout)),
                    options=options,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                )
        except psycopg2.Error as exc:
            raise DatabaseUnavailable(f"cannot connect to the database: {_first_line(exc)}") from None

    def _checkout(self, deadline: float) -> tuple[psycopg2.extensions.connection, bool]:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn, True
        return self._connect(deadline), False

    def _checkin(self, conn) -> None:
        if conn.closed or conn.status != psycopg2.extensions.STATUS_READY:
            self._discard(conn)
            return
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    def _rollback_and_checkin(self, conn) -> None:
        try:
            with _deadline(time.monotonic() + self.connect_timeout):
                conn.rollback()
        except Exception:
            self._discard(conn)
        else:
            self._checkin(conn)

    @staticmethod
    def _discard(conn) -> None:
        with contextlib.suppress(Exception):
            conn.close()

    def _discard_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            self._discard(conn)

    # -- use -------------------------------------------------------------------------------------
    def run(self, work: Callable[[psycopg2.extensions.cursor], T], timeout: float | None = None) -> T:
        """`work(cursor)` in one transaction on a kept connection; committed when it returns."""
        if self._closed:
            raise DatabaseUnavailable("the service is shutting down")
        deadline = time.monotonic() + (timeout or self.request_timeout)
        if not self._slots.acquire(timeout=min(self.acquire_timeout, max(0.0, deadline - time.monotonic()))):
            raise DatabaseUnavailable("every database connection is busy: try again")
        try:
            for attempt in (1, 2):
                conn, reused = self._checkout(deadline)
                try:
                    with _deadline(deadline), conn.cursor() as cur:
                        result = work(cur)
                        conn.commit()
                except _DeadlinePassed as exc:
                    self._discard(conn)  # mid-statement, in an unknown state
                    raise DatabaseTimeout(f"the database did not answer in time: {_first_line(exc)}") from None
                except TIMEOUT_ERRORS as exc:  # ended by the server: the connection is fine
                    self._rollback_and_checkin(conn)
                    raise DatabaseTimeout(f"the database did not answer in time: {_first_line(exc)}") from None
                except NOT_MIGRATED as exc:
                    self._rollback_and_checkin(conn)
                    raise DatabaseUnavailable(
                        f"the database is not ready (run `burry db migrate`): {_first_line(exc)}"
                    ) from None
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                    self._discard(conn)
                    if conn.closed and reused and attempt == 1:
                        self._discard_idle()  # a restart ended them all: start afresh, once
                        continue
                    raise DatabaseUnavailable(f"lost the database connection: {_first_line(exc)}") from None
                except BaseException:
                    self._rollback_and_checkin(conn)
                    raise
                self._checkin(conn)
                return result
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._discard_idle()
        _uninstall()

    @property
    def idle(self) -> int:
        return len(self._idle)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
