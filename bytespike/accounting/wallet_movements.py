"""Telling the shared hot state about a ledger movement committed outside a gateway process.

The CLI (``bytespike credits grant``) writes the ledger and the wallet balance in one database
transaction; with Redis configured it then calls `announce_wallet_movement`, which makes every
gateway process reload the wallet from the database (exact, see docs/billing.md
"Consistency"). If Redis cannot be reached the movement is still committed, and gateway
processes pick it up when they next poll the ledger (every ``BYTESPIKE_WALLET_CACHE_TTL``).
"""

from __future__ import annotations

from bytespike.metrics import Metrics
from bytespike.settings import Settings
from bytespike.state.backends import create_hot_state
from bytespike.state.hot import StateUnavailable


async def announce_wallet_movement(settings: Settings, wallet_id: int, entry_id: int, amount: int) -> str | None:
    """Returns None when the hot state knows, or a warning to print."""
    if settings.redis_url is None:
        return None  # the gateway's in-process state polls the ledger itself
    state = create_hot_state(settings, Metrics())
    try:
        await state.wallet_moved(wallet_id, entry_id, amount)
    except StateUnavailable as exc:
        return f"the movement is recorded, but Redis was not told ({exc}); gateways see it within seconds"
    finally:
        await state.close()
    return None
