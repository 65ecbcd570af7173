"""Fields that would make a vendor resolve state kept in the gateway's shared account are refused.

Each official SDK sends one such field to a real gateway; the answer must be a 400 in the SDK's
own error shape naming the field, on the OpenAI fast path and on a translated route alike, with
nothing sent to the vendor and nothing billed (relay/vendor_state.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.support import gateway as harness
from tests.web.billing import assert_not_billed
from tests.web.upstream_log import new_marker, upstream_requests

pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

RESPONSES_MODELS = ["gpt-5-4", "claude-sonnet-4-6"]
"""OpenAI's own Responses API (the fast path) and a translated route."""


def _user(marker: str, *parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [*parts, {"type": "input_text", "text": f"Question {marker}"}]}]


RESPONSES_CASES: dict[str, tuple[str, Any]] = {
    # case: (field the 400 names, params of responses.create given the marker)
    "conversation": ("conversation", lambda m: {"input": f"Hi {m}", "conversation": "conv_68a1b2c3"}),
    "conversation object": (
        "conversation",
        lambda m: {"input": f"Hi {m}", "conversation": {"id": "conv_68a1b2c3"}},
    ),
    "background": ("background", lambda m: {"input": f"Hi {m}", "background": True}),
    "stored prompt": (
        "prompt",
        lambda m: {"input": f"Hi {m}", "prompt": {"id": "pmpt_68a1b2c3", "variables": {"city": "Oslo"}}},
    ),
    "item reference": (
        "input[1]",
        lambda m: {"input": [*_user(m), {"type": "item_reference", "id": "msg_68a1b2c3"}]},
    ),
    "image file id": (
        "input[0].content[0].file_id",
        lambda m: {"input": _user(m, {"type": "input_image", "file_id": "file-Ab12", "detail": "auto"})},
    ),
    "document file id": (
        "input[0].content[0].file_id",
        lambda m: {"input": _user(m, {"type": "input_file", "file_id": "file-Ab12"})},
    ),
    "file id in a tool result": (
        "input[2].output[0].file_id",
        lambda m: {
            "input": [
                *_user(m),
                {"type": "function_call", "call_id": "call_1", "name": "read", "arguments": "{}"},
                {
                    "type": "function_call_output",
                    "call_id": "call_1",
                    "output": [{"type": "input_file", "file_id": "file-Ab12"}],
                },
            ],
            "tools": [
                {"type": "function", "name": "read", "parameters": {"type": "object"}, "strict": False}
            ],
        },
    ),
    "vector store search": (
        "tools[0]",
        lambda m: {"input": f"Hi {m}", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]},
    ),
    "container files": (
        "tools[0].container.file_ids",
        lambda m: {
            "input": f"Hi {m}",
            "tools": [{"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-Ab12"]}}],
        },
    ),
    "image mask file": (
        "tools[0].input_image_mask.file_id",
        lambda m: {
            "input": f"Hi {m}",
            "tools": [{"type": "image_generation", "input_image_mask": {"file_id": "file-Ab12"}}],
        },
    ),
}


def _openai(gateway: harness.GatewayHarness, key: harness.TestKey) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key.secret, base_url=gateway.url + "/v1", max_retries=0)


async def _refused(
    gateway: harness.GatewayHarness,
    error: type[Exception],
    send: Callable[[harness.TestKey, str], Awaitable[Any]],
) -> Any:
    """``send(key, marker)`` with a fresh funded key must raise ``error``, reach no vendor and cost
    nothing; returns the exception."""
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    with pytest.raises(error) as caught:
        await send(key, marker)
    await assert_not_billed(gateway, key, before)
    assert await upstream_requests(gateway, marker) == []
    return caught.value


@pytest.mark.parametrize("model", RESPONSES_MODELS)
@pytest.mark.parametrize("case", list(RESPONSES_CASES))
async def test_responses_state_of_the_shared_vendor_account_is_a_400(gateway, model: str, case: str) -> None:
    field, params = RESPONSES_CASES[case]

    async def send(key: harness.TestKey, marker: str) -> None:
        async with _openai(gateway, key) as sdk:
            await sdk.responses.create(model=model, **params(marker))

    caught = await _refused(gateway, openai.BadRequestError, send)
    error = caught.body
    assert caught.status_code == 400
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_param"
    assert error["param"] == field and error["message"].startswith(f"{field}: ")


@pytest.mark.parametrize("stream", [False, True])
async def test_what_holds_no_vendor_state_still_reaches_openai(gateway, stream: bool) -> None:
    """``background: false``, ``conversation: null``, an inline image and a code container the
    vendor creates afresh are forwarded as sent on the fast path."""
    key = await gateway.funded_key()
    marker = new_marker()
    sdk = _openai(gateway, key)
    image = {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"}
    params: dict[str, Any] = {
        "model": "gpt-5-4",
        "input": _user(marker, image),
        "background": False,
        "extra_body": {"conversation": None},
        "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}],
    }
    try:
        if stream:
            async with sdk.responses.stream(**params) as events:
                response = await events.get_final_response()
        else:
            response = await sdk.responses.create(**params)
    finally:
        await sdk.close()
    assert response.status == "completed"
    [sent] = await upstream_requests(gateway, marker)
    assert sent["body"]["background"] is False and sent["body"]["conversation"] is None
    assert sent["body"]["input"][0]["content"][0]["image_url"] == "https://example.com/cat.png"
    assert sent["body"]["tools"] == [{"type": "code_interpreter", "container": {"type": "auto"}}]


async def test_chat_file_id_is_a_400(gateway) -> None:
    async def send(key: harness.TestKey, marker: str) -> None:
        content = [
            {"type": "text", "text": f"Summarize {marker}"},
            {"type": "file", "file": {"file_id": "file-Ab"}},
        ]
        async with _openai(gateway, key) as sdk:
            await sdk.chat.completions.create(
                model="gpt-5-4", messages=[{"role": "user", "content": content}]
            )

    caught = await _refused(gateway, openai.BadRequestError, send)
    assert caught.body["param"] == "messages[0].content[1].file.file_id"


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        (
            {"content": [{"type": "document", "source": {"type": "file", "file_id": "file_011CNha8"}}]},
            "messages[0].content[0].source",
        ),
        (
            {"container": {"skills": [{"type": "custom", "skill_id": "skill_01Ab", "version": "latest"}]}},
            "container.skills[0]",
        ),
    ],
)
async def test_anthropic_files_and_custom_skills_are_a_400(gateway, request_fields, field: str) -> None:
    async def send(key: harness.TestKey, marker: str) -> None:
        content = [*request_fields.get("content", []), {"type": "text", "text": f"Summarize {marker}"}]
        extra = {k: v for k, v in request_fields.items() if k != "content"}
        async with anthropic.AsyncAnthropic(api_key=key.secret, base_url=gateway.url, max_retries=0) as sdk:
            await sdk.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=100,
                messages=[{"role": "user", "content": content}],
                extra_body=extra,
            )

    caught = await _refused(gateway, anthropic.BadRequestError, send)
    assert caught.body["error"]["type"] == "invalid_request_error"
    assert caught.body["error"]["message"].startswith(f"{field}: ")


GEMINI_FILE_FIELD = "contents[0].parts[0].fileData.file_uri"  # the SDK mixes casings


@pytest.mark.parametrize(
    ("reference", "field"),
    [
        ("https://generativelanguage.googleapis.com/v1beta/files/abc", GEMINI_FILE_FIELD),
        ("files/abc", GEMINI_FILE_FIELD),
        ("gs://bucket/cat.png", GEMINI_FILE_FIELD),
        ("cachedContents/abc", "cachedContent"),
    ],
)
async def test_gemini_files_and_cached_contents_are_a_400(gateway, reference: str, field: str) -> None:
    async def send(key: harness.TestKey, marker: str) -> None:
        options = types.HttpOptions(
            base_url=gateway.url, api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1)
        )
        client = genai.Client(api_key=key.secret, http_options=options).aio
        if reference.startswith("cachedContents/"):
            contents: list[Any] = [f"Describe {marker}"]
            config = types.GenerateContentConfig(cached_content=reference)
        else:
            contents = [types.Part.from_uri(file_uri=reference, mime_type="image/png"), f"Describe {marker}"]
            config = None
        try:
            await client.models.generate_content(model="gemini-3-1-pro", contents=contents, config=config)
        finally:
            await client.aclose()

    caught = await _refused(gateway, genai_errors.ClientError, send)
    assert caught.code == 400 and caught.status == "INVALID_ARGUMENT"
    assert caught.message is not None and caught.message.startswith(f"{field}: ")
