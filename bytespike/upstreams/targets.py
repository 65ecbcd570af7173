"""Where each provider lives and how its requests are addressed (URL, auth headers).

One function per wire protocol builds the request line and headers; a `Target` says which
configured vendor (base URL + key) receives it. Vendor quirks live here, each with a comment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Target:
    """One configured vendor endpoint."""

    provider: str
    base_url: str
    api_key: str


def anthropic_request(
    target: Target, *, count_tokens: bool, version: str, beta: str | None
) -> tuple[str, list]:
    url = target.base_url + ("/v1/messages/count_tokens" if count_tokens else "/v1/messages")
    headers = [
        ("x-api-key", target.api_key),
        ("anthropic-version", version),
        ("content-type", "application/json"),
    ]
    if beta:
        headers.append(("anthropic-beta", beta))
    return url, headers


def openai_chat_request(target: Target) -> tuple[str, list]:
    # OPENAI_BASE_URL includes /v1 (SDK convention); DeepSeek's base is an origin.
    path = "/v1/chat/completions" if target.provider == "deepseek" else "/chat/completions"
    return target.base_url + path, [
        ("authorization", "Bearer " + target.api_key),
        ("content-type", "application/json"),
    ]


def openai_responses_request(target: Target, *, count_tokens: bool = False) -> tuple[str, list]:
    # Counting: OpenAI's POST /v1/responses/input_tokens (OpenAI's own API; compatible hosts lack it).
    return target.base_url + ("/responses/input_tokens" if count_tokens else "/responses"), [
        ("authorization", "Bearer " + target.api_key),
        ("content-type", "application/json"),
    ]


def gemini_request(
    target: Target, model: str, *, stream: bool, count_tokens: bool = False
) -> tuple[str, list]:
    verb = (
        "countTokens" if count_tokens else ("streamGenerateContent?alt=sse" if stream else "generateContent")
    )
    return f"{target.base_url}/v1beta/models/{model}:{verb}", [
        ("x-goog-api-key", target.api_key),
        ("content-type", "application/json"),
    ]
