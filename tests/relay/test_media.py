"""Images (and PDFs) by URL to Gemini upstreams: fetched, guarded, inlined (protocols.md §5.2).

The official SDKs of all four caller protocols send an image URL pointing at the simulator's
``/_sim/media`` files; the Gemini vendor must receive the bytes inline. The relay gateway allows
fetches to 127.0.0.1 only (``BYTESPIKE_MEDIA_FETCH_ALLOW_NETWORKS``) with a 1 MiB cap
(``BYTESPIKE_MEDIA_FETCH_MAX_BYTES``): every other private address, an oversized file and a
wrong content type are a 400 naming the caller's field, never reach the vendor, cost nothing.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from google.genai import types

from bytespike.simulator.media import PNG_1X1, media_body
from tests.conformance.clients import CLIENTS, Client
from tests.support import gateway as harness
from tests.web.billing import assert_not_billed
from tests.web.upstream_log import new_marker, upstream_requests

pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

GEMINI_MODEL = "gemini-3-1-pro"
FIELD = {
    # Where each caller protocol puts the URL, as the 400 names it.
    "anthropic": "messages[0].content[0].source.url",
    "openai-chat": "messages[0].content[0].image_url.url",
    "openai-responses": "input[0].content[0].image_url",
    "google-genai": "contents[0].parts[0].fileData.file_uri",  # the SDK mixes casings
}


async def _send(client: Client, model: str, url: str, text: str, *, kind: str = "image") -> str:
    """One user turn with the media URL first, then ``text``, in the client's own SDK terms."""
    sdk: Any = client.sdk  # type: ignore[attr-defined]
    if client.name == "anthropic":
        block = {"type": kind, "source": {"type": "url", "url": url}}
        message = await sdk.messages.create(
            model=model,
            max_tokens=200,
            messages=[{"role": "user", "content": [block, {"type": "text", "text": text}]}],
        )
        return message.content[0].text
    if client.name == "openai-chat":
        completion = await sdk.chat.completions.create(
            model=model,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": url}},
                        {"type": "text", "text": text},
                    ],
                }
            ],
        )
        return completion.choices[0].message.content
    if client.name == "openai-responses":
        response = await sdk.responses.create(
            model=model,
            input=[
                {
                    "role": "user",
                    "content": [
                        {"type": "input_image", "image_url": url, "detail": "auto"},
                        {"type": "input_text", "text": text},
                    ],
                }
            ],
        )
        return response.output_text
    mime = "application/pdf" if kind == "document" else "image/png"
    answer = await sdk.models.generate_content(
        model=model, contents=[types.Part.from_uri(file_uri=url, mime_type=mime), text]
    )
    return answer.text


def _media(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every media field of the Gemini body the vendor received, as {field name: value}."""
    return [
        {key: part[key]}
        for content in body["contents"]
        for part in content["parts"]
        for key in ("inlineData", "inline_data", "fileData", "file_data")
        if key in part
    ]


async def _client(gateway: harness.GatewayHarness, name: str) -> tuple[Client, harness.TestKey, int]:
    key = await gateway.funded_key()
    return CLIENTS[name](gateway.url, key.secret), key, await gateway.balance(key.wallet_id)


@pytest.mark.parametrize("client_name", list(CLIENTS))
async def test_an_image_url_reaches_gemini_inline_from_every_caller(relay_gateway, client_name) -> None:
    client, key, _ = await _client(relay_gateway, client_name)
    marker = new_marker()
    url = f"{relay_gateway.sim_url}/_sim/media/cat.png?type=image/png&n={marker}"
    try:
        text = await _send(client, GEMINI_MODEL, url, f"What is this? {marker}")
    finally:
        await client.close()
    assert text.endswith(f"You said: What is this? {marker}")
    [record] = await upstream_requests(relay_gateway, f"What is this? {marker}")
    assert _media(record["body"]) == [
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG_1X1).decode()}}
    ], record["body"]
    assert url not in str(record["body"])
    assert len(await relay_gateway.usage_rows(key.key_id)) == 1


@pytest.mark.parametrize("client_name", ["anthropic", "google-genai"])
async def test_a_pdf_url_reaches_gemini_inline(relay_gateway, client_name) -> None:
    client, _, _ = await _client(relay_gateway, client_name)
    marker = new_marker()
    url = f"{relay_gateway.sim_url}/_sim/media/paper.pdf?type=application/pdf&size=3000"
    try:
        await _send(client, GEMINI_MODEL, url, f"Summarize {marker}", kind="document")
    finally:
        await client.close()
    [record] = await upstream_requests(relay_gateway, f"Summarize {marker}")
    assert _media(record["body"]) == [
        {"inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(media_body(3000)).decode()}}
    ]


async def test_other_upstreams_keep_the_url(relay_gateway) -> None:
    """Anthropic and OpenAI read image URLs themselves: nothing is fetched for them."""
    client, _, _ = await _client(relay_gateway, "openai-chat")
    marker = new_marker()
    url = "https://images.example.test/cat.png"  # never fetched: this host does not exist
    try:
        await _send(client, "claude-sonnet-4-6", url, f"Describe {marker}")
    finally:
        await client.close()
    [record] = await upstream_requests(relay_gateway, f"Describe {marker}")
    [image] = [b for b in record["body"]["messages"][0]["content"] if b["type"] == "image"]
    assert image["source"] == {"type": "url", "url": url}


async def _refused(gateway: harness.GatewayHarness, client_name: str, url: str, reason: str) -> None:
    client, key, before = await _client(gateway, client_name)
    marker = new_marker()
    try:
        with pytest.raises(Exception) as caught:
            await _send(client, GEMINI_MODEL, url, f"Refuse me {marker}")
        failure = client.failure(caught.value)
    finally:
        await client.close()
    assert failure is not None, caught.value
    assert failure.status == 400, failure
    assert failure.message.startswith(f"{FIELD[client_name]}: the media at {url} could not be fetched"), (
        failure
    )
    assert reason in failure.message, failure
    assert await upstream_requests(gateway, f"Refuse me {marker}") == []
    await assert_not_billed(gateway, key, before)


@pytest.mark.parametrize("client_name", list(CLIENTS))
async def test_a_private_address_is_refused_in_the_callers_protocol(relay_gateway, client_name) -> None:
    await _refused(
        relay_gateway, client_name, "http://169.254.169.254/latest/meta-data/x.png", "not a public address"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/cat.png", "10.0.0.1 is not a public address"),
        ("http://[::1]:9/cat.png", "::1 is not a public address"),
        ("/_sim/media/x?redirect=http://192.168.0.1/cat.png", "192.168.0.1 is not a public address"),
        ("/_sim/media/big.png?size=2000000", "over the 1048576-byte limit"),
        ("/_sim/media/page.html?type=text/html", "the content type is text/html, not image/*"),
        ("/_sim/media/gone.png?redirect=/_sim/nothing", "HTTP 404"),
    ],
    ids=["private", "loopback-v6", "redirect-to-private", "too-large", "not-an-image", "not-found"],
)
async def test_fetch_refusals(relay_gateway, url: str, reason: str) -> None:
    if url.startswith("/"):
        url = relay_gateway.sim_url + url
    await _refused(relay_gateway, "openai-chat", url, reason)


async def test_gemini_keeps_the_links_it_reads_itself(relay_gateway) -> None:
    """A YouTube link (no MIME type, as Gemini's docs write it) stays fileData: nothing is
    fetched (this machine could not reach it). Gemini's own file URIs never get this far: they
    name files of the gateway's shared account (tests/relay/test_vendor_state.py)."""
    client, _, _ = await _client(relay_gateway, "google-genai")
    marker = new_marker()
    youtube = "https://www.youtube.com/watch?v=9hE5-98ZeCg"
    sdk: Any = client.sdk  # type: ignore[attr-defined]
    try:
        await sdk.models.generate_content(
            model=GEMINI_MODEL,
            contents=[types.Part(file_data=types.FileData(file_uri=youtube)), f"Watch {marker}"],
        )
    finally:
        await client.close()
    [record] = await upstream_requests(relay_gateway, f"Watch {marker}")
    sent = [m.get("fileData", {}).get("file_uri") for m in _media(record["body"])]
    assert sent == [youtube], record["body"]
