"""``GET /v1/models``: the catalogue models the key's group reaches (spec §3.8.1), free."""

from __future__ import annotations

import time

import orjson

from bytespike.access.cidr import is_address_allowed
from bytespike.access.scopes import INFERENCE, MODELS_READ
from bytespike.errors import GatewayError
from bytespike.relay.gateway import Gateway
from bytespike.relay.outcome import Inbound, Reply
from bytespike.routing.catalogue import ModelEntry

OWNER_OF_FAMILY = {
    "claude": "anthropic",
    "gpt": "openai",
    "gemini": "google",
    "deepseek": "deepseek",
    "kimi": "moonshot",
    "glm": "zhipu",
    "minimax": "minimax",
    "doubao": "bytedance",
}
VENDOR_FAMILY = {owner: family for family, owner in OWNER_OF_FAMILY.items()}
"""Spec §9 #15: the ``family`` filter accepts vendor names and family names alike."""


def model_object(m: ModelEntry) -> dict:
    return {
        "id": m.slug,
        "object": "model",
        "owned_by": OWNER_OF_FAMILY.get(m.family, m.family),
        "family": m.family,
        "capabilities": list(m.capabilities),
        "context_window": m.context_window,
        "max_output_tokens": m.max_output_tokens,
        "input_modalities": list(m.input_modalities),
        "output_modalities": list(m.output_modalities),
        "pricing_url": f"https://bytespike.ai/pricing#{m.slug}",
        "created": m.created,
    }


async def models_reply(gateway: Gateway, inbound: Inbound, query: dict[str, list[str]]) -> Reply:
    principal = await gateway.resolver.authenticate(inbound.credential)
    await gateway.meter.refresh(principal)
    try:
        if not is_address_allowed(inbound.client_ip, principal.ip_allow, principal.ip_deny):
            raise GatewayError(
                403, "permission_denied", f"address {inbound.client_ip} is not allowed for this key"
            )
        if not principal.scopes & {MODELS_READ, INFERENCE}:
            raise GatewayError(403, "permission_denied", "this key lacks the 'models:read' scope")
    except GatewayError as err:
        return gateway.error_reply(err, inbound, principal)
    models = gateway.catalogue.models_for_group(principal.group)
    if principal.allowed_models is not None:
        models = [m for m in models if m.slug in principal.allowed_models]
    caps = query.get("capability", [])
    if caps:
        models = [m for m in models if all(c in m.capabilities for c in caps)]
    families = query.get("family", [])
    if families:
        wanted = {VENDOR_FAMILY.get(f, f) for f in families}
        models = [m for m in models if m.family in wanted]
    body = orjson.dumps({"object": "list", "data": [model_object(m) for m in models]})
    headers = gateway.headers(principal, inbound, (time.perf_counter() - inbound.started) * 1000)
    headers.append((b"content-type", b"application/json"))
    return Reply(200, body, headers)
