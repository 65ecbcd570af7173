"""The simulator as one raw ASGI application: route, authenticate, decode, fault, plan, encode.

`create_simulator_app` builds it from a `SimulatorConfig`. There is no framework on the hot path:
routing is a dict lookup (plus Gemini's ``models/{model}:{verb}`` paths) and every model call
runs the same pipeline with the vendor-specific steps supplied by a `VendorApi`. Recent requests
are kept in a bounded deque for ``GET /_sim/requests``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import replace
from urllib.parse import parse_qs

import orjson

from bytespike.simulator.anthropic import AnthropicApi
from bytespike.simulator.asgi import (
    HttpAnswer,
    Receive,
    Scope,
    Send,
    read_body,
    send_answer,
    send_truncated,
    wait_for_disconnect,
)
from bytespike.simulator.config import SimulatorConfig
from bytespike.simulator.directives import NO_DIRECTIVES, DirectiveError, parse_directives, resolve_pacing
from bytespike.simulator.fields import BadRequest
from bytespike.simulator.gemini import GeminiApi, parse_model_path
from bytespike.simulator.media import MEDIA_PREFIX, media_answer
from bytespike.simulator.openai_chat import OpenAiChatApi
from bytespike.simulator.openai_models import encode_model, encode_model_list
from bytespike.simulator.openai_responses import OpenAiResponsesApi
from bytespike.simulator.plan import input_tokens_for, plan_reply
from bytespike.simulator.streaming import send_stream
from bytespike.simulator.vendor import Operation, Route, VendorApi, json_answer

HANG_SECONDS = 3600.0
"""How long ``[[sim:hang]]`` waits for the client to give up before closing anyway."""
RECORDS_PATH = "/_sim/requests"

_EXACT_ROUTES = {
    ("POST", "/v1/messages"): Route("anthropic", Operation.GENERATE),
    ("POST", "/v1/messages/count_tokens"): Route("anthropic", Operation.COUNT_TOKENS),
    ("POST", "/v1/chat/completions"): Route("openai_chat", Operation.GENERATE),
    # DeepSeek (an origin base URL) also answers without the /v1 prefix.
    ("POST", "/chat/completions"): Route("openai_chat", Operation.GENERATE),
    ("POST", "/v1/responses"): Route("openai_responses", Operation.GENERATE),
    ("POST", "/v1/responses/input_tokens"): Route("openai_responses", Operation.COUNT_TOKENS),
    # DeepSeek serves its Anthropic-shape API under /anthropic on the same origin.
    ("POST", "/anthropic/v1/messages"): Route("anthropic", Operation.GENERATE),
    ("POST", "/anthropic/v1/messages/count_tokens"): Route("anthropic", Operation.COUNT_TOKENS),
}
_GEMINI_VERBS = {
    "generateContent": (Operation.GENERATE, False),
    "streamGenerateContent": (Operation.GENERATE, True),
    "countTokens": (Operation.COUNT_TOKENS, False),
}

RecordedRequest = tuple[str, str, bytes, list[tuple[bytes, bytes]], bytes]
"""(method, path, query string, headers, body), kept raw so recording costs one append."""


class SimulatorApp:
    """The ASGI callable; holds the config, the vendor table and the request record."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.vendors: dict[str, VendorApi] = {
            "anthropic": AnthropicApi(),
            "openai_chat": OpenAiChatApi(),
            "openai_responses": OpenAiResponsesApi(),
            "gemini": GeminiApi(),
        }
        self._recorded: deque[RecordedRequest] | None = deque(maxlen=config.record) if config.record else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    def recorded_requests(self) -> list[dict[str, object]]:
        """The recent requests, oldest first, as ``GET /_sim/requests`` returns them."""
        return [_describe(record) for record in self._recorded or ()]

    def clear_recorded(self) -> None:
        if self._recorded is not None:
            self._recorded.clear()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        body = await read_body(receive)
        route = _EXACT_ROUTES.get((method, path))
        if route is None and path == RECORDS_PATH:
            await send_answer(send, self._records_endpoint(method))
            return
        if method == "GET" and path.startswith(MEDIA_PREFIX):
            await send_answer(send, media_answer(scope["query_string"]))
            return
        if self._recorded is not None:
            self._recorded.append((method, path, scope["query_string"], scope["headers"], body))
        if route is None:
            route = _gemini_route(method, path, scope["query_string"])
        if route is not None:
            await self._model_call(route, scope, receive, send, body)
            return
        await send_answer(send, self._other_endpoint(method, path))

    async def _model_call(
        self, route: Route, scope: Scope, receive: Receive, send: Send, body: bytes
    ) -> None:
        vendor = self.vendors[route.vendor]
        headers = dict(scope["headers"])
        denied = vendor.check_auth(headers, scope["query_string"], self.config.api_key)
        if denied is not None:
            await send_answer(send, denied)
            return
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            await send_answer(send, vendor.error(400, f"The request body is not valid JSON: {exc}"))
            return
        if not isinstance(payload, dict):
            await send_answer(send, vendor.error(400, "The request body must be a JSON object"))
            return
        try:
            turn = vendor.decode_turn(payload, route)
            directives, user_text = parse_directives(turn.user_text)
            pacing = resolve_pacing(self.config, headers, directives)
        except (BadRequest, DirectiveError) as exc:
            await send_answer(send, vendor.error(400, str(exc)))
            return
        if directives is not NO_DIRECTIVES:
            turn = replace(turn, user_text=user_text)
        if directives.hang:
            await wait_for_disconnect(receive, HANG_SECONDS)
            return
        if pacing.latency_ms:
            await asyncio.sleep(pacing.latency_ms / 1000)
        if directives.mode is not None and directives.mode != ("stream" if turn.stream else "whole"):
            served = "only streams" if directives.mode == "stream" else "cannot stream"
            await send_answer(send, vendor.error(400, f"This model {served}"))
            return
        if directives.error is not None:
            await send_answer(
                send, vendor.error(directives.error, f"Simulated HTTP {directives.error} error")
            )
            return
        if directives.error_body is not None:
            status = directives.error_body
            await send_answer(send, vendor.error_in_body(status, f"Simulated {status} error in a 200 body"))
            return
        if route.operation is Operation.COUNT_TOKENS:
            tokens = input_tokens_for(len(body), directives) + directives.cache_read + directives.cache_write
            await send_answer(send, vendor.encode_count(tokens))
            return
        plan = plan_reply(turn, directives, pacing, body)
        if turn.stream:
            encoder = vendor.stream_encoder(plan, payload, route)
            if directives.drop_after is not None:
                await send_stream(send, encoder, pacing.chunk_delay_ms, directives.drop_after, is_drop=True)
            else:
                await send_stream(send, encoder, pacing.chunk_delay_ms, directives.midstream_error)
            return
        if directives.midstream_error is not None:
            # A reply that is not streamed can only fail as a whole.
            await send_answer(send, vendor.error(500, "Simulated failure while generating"))
            return
        answer = vendor.encode_reply(plan, payload)
        if directives.drop_after is not None:
            await send_truncated(send, answer)
        await send_answer(send, answer)

    def _records_endpoint(self, method: str) -> HttpAnswer:
        if method == "GET":
            return json_answer(200, self.recorded_requests())
        if method == "DELETE":
            self.clear_recorded()
            return json_answer(200, {"cleared": True})
        return json_answer(405, {"error": {"message": f"{method} not allowed on {RECORDS_PATH}"}})

    def _other_endpoint(self, method: str, path: str) -> HttpAnswer:
        if method == "GET" and path == "/v1/models":
            return encode_model_list()
        if method == "GET" and path.startswith("/v1/models/") and ":" not in path:
            return encode_model(path.removeprefix("/v1/models/"))
        if method in ("GET", "HEAD") and path == "/":
            return json_answer(200, {"simulator": "bytespike"})
        message = f"Unknown endpoint {method} {path}"
        if path.startswith("/v1/messages"):
            return self.vendors["anthropic"].error(404, message)
        if path.startswith("/v1beta/") or ":" in path:
            return self.vendors["gemini"].error(404, message)
        return self.vendors["openai_chat"].error(404, message)


def create_simulator_app(config: SimulatorConfig) -> SimulatorApp:
    """Build the simulator's ASGI application."""
    return SimulatorApp(config)


def _gemini_route(method: str, path: str, query: bytes) -> Route | None:
    if method != "POST":
        return None
    for version in ("/v1beta/", "/v1/"):
        if path.startswith(version):
            parsed = parse_model_path(path[len(version) :])
            if parsed is None:
                return None
            model, verb = parsed
            known = _GEMINI_VERBS.get(verb)
            if known is None:
                return None
            operation, stream = known
            sse = stream and parse_qs(query.decode("latin-1")).get("alt") == ["sse"]
            return Route("gemini", operation, model=model, stream=stream, sse=sse)
    return None


def _describe(record: RecordedRequest) -> dict[str, object]:
    method, path, query, headers, body = record
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    return {
        "method": method,
        "path": path,
        "query": query.decode("latin-1"),
        "headers": {name.decode("latin-1"): value.decode("latin-1") for name, value in headers},
        "body": parsed,
    }


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
