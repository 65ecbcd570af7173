"""Which `HotState` backend the settings ask for: Redis when ``BYTESPIKE_REDIS_URL`` is set,
otherwise this process's memory (the embedded default, one worker)."""

from __future__ import annotations

from bytespike.metrics import Metrics
from bytespike.settings import Settings
from bytespike.state.hot import HotState
from bytespike.state.memory import MemoryState


def create_hot_state(settings: Settings, metrics: Metrics) -> HotState:
    if settings.redis_url is None:
        return MemoryState(hold_ttl_s=settings.hold_ttl_s)
    from bytespike.state.redis import RedisState

    return RedisState(
        settings.redis_url,
        prefix=settings.redis_prefix,
        hold_ttl_s=settings.hold_ttl_s,
        timeout_s=settings.redis_timeout_s,
        metrics=metrics,
    )
