"""Request and hold ids: unique, fixed-format, and request ids in time order."""

from __future__ import annotations

import re
import time

from bytespike.ids import new_hold_id, new_request_id


def test_request_ids_keep_their_format_and_are_unique() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"req_[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"h[0-9a-f]{32}", new_hold_id()) for _ in range(100))


def test_request_ids_sort_by_the_time_they_were_minted() -> None:
    """So the unique index on usage_records.request_id grows at its right edge (see ids.py)."""
    earlier = new_request_id()
    time.sleep(0.002)
    later = [new_request_id() for _ in range(100)]
    assert all(earlier < i for i in later)
    minted_ms = int(earlier[4:16], 16)
    assert abs(minted_ms - time.time() * 1000) < 5_000
