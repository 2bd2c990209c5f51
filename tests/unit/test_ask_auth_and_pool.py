"""Keys and the pool's slots, without a database."""

from __future__ import annotations

import threading
import time

from ask.auth import new_token, parse_token
from ask.pool import FairSlots


def test_a_new_token_parses_back_to_its_prefix_and_only_its_hash_is_kept():
    token, prefix, digest = new_token()
    assert token.startswith(f"burry_{prefix}_") and len(prefix) == 16
    parsed = parse_token(token)
    assert parsed is not None and parsed[0] == prefix
    assert parsed[1] not in digest.hex() and len(digest) == 32
    assert new_token()[0] != token


def test_malformed_tokens_are_refused():
    for token in ["", "burry_", "burry_xyz_abc", "nope", "burry_0123456789abcdef_short", "x" * 10_000]:
        assert parse_token(token) is None


def test_slots_serve_waiters_in_arrival_order_and_time_out():
    slots = FairSlots(1)
    assert slots.acquire(0.1)
    assert not slots.acquire(0.05)
    served = []

    def wait(i):
        if slots.acquire(5):
            served.append(i)

    threads = [threading.Thread(target=wait, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)  # arrival order 0, 1, 2, 3
    for _ in threads:
        slots.release()
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert served == [0, 1, 2, 3]
    slots.release()
    assert slots.acquire(0.01)
