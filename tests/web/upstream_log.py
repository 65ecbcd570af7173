"""What the simulator (standing in for the vendor) received from the gateway.

``GET /_sim/requests`` returns the simulator's recent requests with their headers and bodies;
tests put a unique marker in the prompt and pick their own request out by it.
"""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import orjson

from tests.support.gateway import GatewayHarness


def new_marker() -> str:
    return f"marker-{uuid.uuid4().hex}"


async def upstream_requests(gateway: GatewayHarness, marker: str) -> list[dict[str, Any]]:
    """The requests the upstream received whose body contains ``marker``, oldest first."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.sim_url + "/_sim/requests") as resp,
    ):
        assert resp.status == 200
        records = orjson.loads(await resp.read())
    return [r for r in records if marker in orjson.dumps(r["body"]).decode()]


async def only_upstream_request(gateway: GatewayHarness, marker: str) -> dict[str, Any]:
    found = await upstream_requests(gateway, marker)
    assert len(found) == 1, f"expected one upstream request carrying {marker}, found {len(found)}"
    return found[0]
