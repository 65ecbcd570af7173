"""Identifiers minted on the hot path: request ids and hold ids.

They must be unique (across processes and restarts) but need not be secret: a request id names
a usage record its owner may look up (ownership is checked), a hold id names a reservation in
the hot state. So they come from the stdlib's Mersenne Twister, which CPython seeds from the OS
and reseeds in every forked child, rather than from `uuid.uuid4()`: no system call and no UUID
object per request (uuid4 was 3–4 % of the gateway's CPU
under load, bench profile of 2026-12-06).

A request id starts with the time in milliseconds (then 80 random bits), so ids sort by time
and the unique index on ``usage_records.request_id`` grows at its right edge like the other
indexes, instead of taking every insert at a random leaf once the index outgrows SQLite's page
cache. `bench/id_order.py` (2026-12-06, CPU per 8-record batch written by the embedded sink,
median of 3 rounds) with 0 / 200,000 / 400,000 records already stored: random ids 453 / 745 /
646 µs, time-ordered 352 / 332 / 448 µs. 80 random bits per millisecond keep ids unique (a
collision needs ~10^12 ids minted in the same millisecond), and the time is no secret: the
usage record says when the request ran. Hold ids stay 128 random bits.
"""

from __future__ import annotations

import random
import time

_bits = random.getrandbits
_ns = time.time_ns


def new_request_id() -> str:
    """``req_`` + 32 hex digits: 48 bits of unix milliseconds, then 80 random bits."""
    return f"req_{_ns() // 1_000_000:012x}{_bits(80):020x}"


def new_hold_id() -> str:
    """``h`` + 32 hex digits."""
    return f"h{_bits(128):032x}"
