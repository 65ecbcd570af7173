"""The four upstream kinds of the matrix, and readers for what each received in its own dialect.

The gateway routes by model (tests/support/gateway.py configures every vendor at the simulator):
claude-* is served over Anthropic Messages, gpt-* over OpenAI Chat (over Responses when the caller
speaks Responses: OpenAI serves both, so that caller keeps the fast path), gemini-* over Gemini,
deepseek-* over DeepSeek's OpenAI-compatible Chat. The readers below pull a feature (images, the
JSON schema, stop sequences, reasoning, tool-call/result pairing) out of the body the simulator
recorded, whichever dialect it is in, so a cell can check the translation reached the vendor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conformance.clients import OPENAI_RESPONSES
from tests.web.billing import ANTHROPIC, GEMINI, OPENAI_CHAT


@dataclass(frozen=True)
class Upstream:
    name: str
    """Column label: the vendor kind."""
    model: str
    """Catalogue slug the caller names."""
    upstream_model: str
    """Vendor model id (what the simulator echoes in "Hello from …")."""
    provider: str

    def protocol_for(self, caller: str) -> str:
        if self.provider == "anthropic":
            return ANTHROPIC
        if self.provider == "gemini":
            return GEMINI
        if self.provider == "openai" and caller == OPENAI_RESPONSES:
            return OPENAI_RESPONSES
        return OPENAI_CHAT

    def path(self, caller: str, *, stream: bool) -> str:
        """Where the simulator was called (its recorded path, query string excluded)."""
        protocol = self.protocol_for(caller)
        if protocol == ANTHROPIC:
            return "/v1/messages"
        if protocol == GEMINI:
            verb = "streamGenerateContent" if stream else "generateContent"
            return f"/v1beta/models/{self.upstream_model}:{verb}"
        if protocol == OPENAI_RESPONSES:
            return "/v1/responses"
        return "/v1/chat/completions"

    @property
    def shows_thinking(self) -> bool:
        """Whether the vendor returns reasoning text (OpenAI Chat returns only a token count)."""
        return self.provider != "openai"


UPSTREAMS: dict[str, Upstream] = {
    u.name: u
    for u in (
        Upstream("anthropic", "claude-sonnet-4-6", "claude-sonnet-4-6", "anthropic"),
        Upstream("openai", "gpt-5-4", "gpt-5.4", "openai"),
        Upstream("gemini", "gemini-3-1-pro", "gemini-3.1-pro", "gemini"),
        Upstream("deepseek", "deepseek-v4-pro", "deepseek-v4-pro", "deepseek"),
    )
}


def _get(obj: Any, *names: str) -> Any:
    """A field in camelCase or snake_case (google-genai sends some fields snake-cased)."""
    if not isinstance(obj, dict):
        return None
    for name in names:
        if name in obj:
            return obj[name]
    return None


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def images(protocol: str, body: dict[str, Any]) -> list[str]:
    """Base64 payloads of every image in the prompt."""
    found: list[str] = []
    if protocol == ANTHROPIC:
        for m in body.get("messages", []):
            for b in _blocks(m.get("content")):
                if b.get("type") == "image" and b.get("source", {}).get("type") == "base64":
                    found.append(b["source"]["data"])
    elif protocol == OPENAI_CHAT:
        for m in body.get("messages", []):
            for b in _blocks(m.get("content")):
                if b.get("type") == "image_url":
                    found.append(b["image_url"]["url"].partition(";base64,")[2])
    elif protocol == OPENAI_RESPONSES:
        for item in body.get("input", []) if isinstance(body.get("input"), list) else []:
            for b in _blocks(item.get("content")):
                if b.get("type") == "input_image":
                    found.append(str(b.get("image_url", "")).partition(";base64,")[2])
    else:
        for c in body.get("contents", []):
            for p in c.get("parts", []):
                blob = _get(p, "inlineData", "inline_data")
                if blob:
                    found.append(blob["data"])
    return found


def schema(protocol: str, body: dict[str, Any]) -> Any:
    """The JSON schema the reply must follow, or None."""
    if protocol == ANTHROPIC:
        fmt = (body.get("output_config") or {}).get("format") or body.get("output_format") or {}
        return fmt.get("schema")
    if protocol == OPENAI_CHAT:
        fmt = body.get("response_format") or {}
        return (fmt.get("json_schema") or {}).get("schema")
    if protocol == OPENAI_RESPONSES:
        return ((body.get("text") or {}).get("format") or {}).get("schema")
    config = _get(body, "generationConfig", "generation_config") or {}
    return _get(config, "responseJsonSchema", "response_json_schema", "responseSchema", "response_schema")


def stops(protocol: str, body: dict[str, Any]) -> list[str]:
    if protocol == ANTHROPIC:
        return list(body.get("stop_sequences") or [])
    if protocol == OPENAI_CHAT:
        stop = body.get("stop")
        return [stop] if isinstance(stop, str) else list(stop or [])
    if protocol == OPENAI_RESPONSES:
        return []
    config = _get(body, "generationConfig", "generation_config") or {}
    return list(_get(config, "stopSequences", "stop_sequences") or [])


def reasoning(protocol: str, body: dict[str, Any]) -> Any:
    """The request's reasoning switch in the vendor's dialect, or None when it asks for none."""
    if protocol == ANTHROPIC:
        thinking = body.get("thinking")
        return thinking if thinking and thinking.get("type") != "disabled" else None
    if protocol == OPENAI_CHAT:
        thinking = body.get("thinking")  # DeepSeek's switch
        if isinstance(thinking, dict) and thinking.get("type") == "disabled":
            return None
        return body.get("reasoning_effort") or thinking
    if protocol == OPENAI_RESPONSES:
        return body.get("reasoning")
    config = _get(body, "generationConfig", "generation_config") or {}
    return _get(config, "thinkingConfig", "thinking_config")


def forced_tool(protocol: str, body: dict[str, Any]) -> str | None:
    """The one tool the request's tool choice names, or None."""
    if protocol == ANTHROPIC:
        choice = body.get("tool_choice") or {}
        return choice.get("name") if choice.get("type") == "tool" else None
    if protocol == OPENAI_CHAT:
        choice = body.get("tool_choice")
        return (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if protocol == OPENAI_RESPONSES:
        choice = body.get("tool_choice")
        return choice.get("name") if isinstance(choice, dict) else None
    config = _get(_get(body, "toolConfig", "tool_config"), "functionCallingConfig", "function_calling_config")
    names = _get(config, "allowedFunctionNames", "allowed_function_names") or []
    return names[0] if len(names) == 1 else None


def tool_pairs(
    protocol: str, body: dict[str, Any]
) -> list[tuple[tuple[str | None, str | None], tuple[str | None, str | None]]]:
    """((call id, call name), (result id, result name)) in order, for the history's tool calls and
    the tool results that answer them; None where the dialect has no such field."""
    calls: list[tuple[str | None, str | None]] = []
    results: list[tuple[str | None, str | None]] = []
    if protocol == ANTHROPIC:
        for m in body.get("messages", []):
            for b in _blocks(m.get("content")):
                if b.get("type") == "tool_use":
                    calls.append((b.get("id"), b.get("name")))
                elif b.get("type") == "tool_result":
                    results.append((b.get("tool_use_id"), None))
    elif protocol == OPENAI_CHAT:
        for m in body.get("messages", []):
            for tc in m.get("tool_calls") or []:
                calls.append((tc.get("id"), (tc.get("function") or {}).get("name")))
            if m.get("role") == "tool":
                results.append((m.get("tool_call_id"), None))
    elif protocol == OPENAI_RESPONSES:
        for item in body.get("input", []) if isinstance(body.get("input"), list) else []:
            if item.get("type") == "function_call":
                calls.append((item.get("call_id"), item.get("name")))
            elif item.get("type") == "function_call_output":
                results.append((item.get("call_id"), None))
    else:
        for c in body.get("contents", []):
            for p in c.get("parts", []):
                call = _get(p, "functionCall", "function_call")
                response = _get(p, "functionResponse", "function_response")
                if call:
                    calls.append((call.get("id"), call.get("name")))
                if response:
                    results.append((response.get("id"), response.get("name")))
    return (
        list(zip(calls, results, strict=False))
        if len(calls) == len(results)
        else [((None, f"{len(calls)} call(s)"), (None, f"{len(results)} result(s)"))]
    )
