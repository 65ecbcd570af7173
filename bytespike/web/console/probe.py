"""The Test button (spec §8): a one-token probe with a chosen key and model, sent server-side
through `Gateway.handle` — the same authentication, admission, routing, upstream call and
settlement as any client request — in the protocol the model's vendor speaks (no translation
needed), reporting status, latency, cost and the exact error."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from bytespike.access.actor import Actor
from bytespike.access.console_views import probe_credential
from bytespike.accounting.statements import UsageQuery
from bytespike.errors import GatewayError
from bytespike.relay.outcome import Inbound, StreamReply
from bytespike.web.console.services import ConsoleServices

PROBE_TEXT = "Reply with one word: ok"
ENDPOINT_OF_PROTOCOL = {
    "anthropic_messages": "/v1/messages",
    "openai_chat": "/v1/chat/completions",
    "openai_responses": "/v1/responses",
    "gemini": "/v1beta/models/{model}:generateContent",
}


def probe_body(protocol: str, model: str) -> dict[str, Any]:
    """The smallest request each protocol accepts, asking for one output token."""
    message = [{"role": "user", "content": PROBE_TEXT}]
    if protocol == "anthropic_messages":
        return {"model": model, "max_tokens": 1, "messages": message}
    if protocol == "openai_chat":
        return {"model": model, "max_completion_tokens": 1, "messages": message}
    if protocol == "openai_responses":
        return {"model": model, "input": PROBE_TEXT, "max_output_tokens": 16}  # the API's minimum
    return {
        "contents": [{"role": "user", "parts": [{"text": PROBE_TEXT}]}],
        "generationConfig": {"maxOutputTokens": 1},
    }


def error_of(body: bytes) -> tuple[str, str]:
    """(code, message) from any of the four error envelopes."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", body[:500].decode("utf-8", "replace")
    err = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(err, dict):
        return "", body[:500].decode("utf-8", "replace")
    code = err.get("code") or err.get("status") or err.get("type") or ""
    return str(code), str(err.get("message", ""))


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    status: int
    latency_ms: float
    model: str
    key_name: str
    protocol: str
    request_id: str
    cost_micros: int | None = None
    error_code: str = ""
    error_message: str = ""


async def run_probe(
    services: ConsoleServices, actor: Actor, *, key_id: int, model: str, ip: str | None
) -> ProbeResult:
    management = services.management
    gateway = management.gateway
    assert gateway is not None and management.sealer is not None
    record, secret = await probe_credential(management.keys, management.sealer, actor, key_id)
    try:
        entry = gateway.catalogue.resolve(model)
    except GatewayError as exc:
        return ProbeResult(
            False, exc.status, 0.0, model, record.name, "", "", error_code=exc.code, error_message=exc.message
        )
    protocol = entry.protocol if entry.protocol in ENDPOINT_OF_PROTOCOL else "openai_chat"
    body = probe_body(protocol, model)
    raw = orjson.dumps(body)
    request_id = "req_" + uuid.uuid4().hex
    started = time.perf_counter()
    inbound = Inbound(
        protocol=protocol,
        endpoint=ENDPOINT_OF_PROTOCOL[protocol],
        body=body,
        body_size=len(raw),
        credential=secret,
        client_ip=ip,
        request_id=request_id,
        started=started,
        stream=False,
        model=model if protocol == "gemini" else None,
    )
    reply = await gateway.handle(inbound)
    if isinstance(reply, StreamReply):  # not asked for; drain it so its hold is settled or released
        chunks = [c async for c in reply.stream.chunks()]
        await reply.stream.finish(client_gone=False)
        status, payload = reply.status, b"".join(chunks)
    else:
        status, payload = reply.status, reply.body
    latency = (time.perf_counter() - started) * 1000
    if status >= 400:
        code, message = error_of(payload)
        return ProbeResult(
            False, status, latency, model, record.name, protocol, request_id, None, code, message
        )
    cost = None
    rows, _ = await management.statements.usage_rows(
        actor.principal, UsageQuery(api_key_id=record.id), before_id=None, page=1, limit=20
    )
    for row in rows:
        if row["request_id"] == request_id:
            cost = int(row["credits"])
    return ProbeResult(True, status, latency, model, record.name, protocol, request_id, cost)
