"""Images and PDFs by URL for Gemini upstreams, which read only inline data (protocols.md §5.2).

Gemini's ``fileData`` takes only its own Files API and Cloud Storage URIs (and YouTube links),
so before a request goes to a Gemini upstream every other http(s) image or document URL in it
is fetched (`upstreams/media_fetch.py`, guarded) and inlined: in the canonical request of a
translated call (the Gemini encoder then writes ``inlineData``), or in the ``fileData`` parts of a
Gemini caller's own body. Upstreams that accept URLs (Anthropic, OpenAI) keep them. A fetch that
fails is a 400 naming the caller's field, before the vendor is called, and unbilled.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bytespike.canonical.parts import MediaPart, Part, ToolResultPart
from bytespike.canonical.request import Request
from bytespike.errors import GatewayError
from bytespike.protocols import gemini
from bytespike.protocols.gemini.parts import is_gemini_file_uri
from bytespike.upstreams.media_fetch import FetchedMedia, MediaFetcher, MediaFetchError

if TYPE_CHECKING:
    from bytespike.relay.call import Call

ACCEPT = {"image": ("image/",), "document": ("application/pdf",)}
"""What a fetched part may contain, by canonical media kind."""
ACCEPT_UNDECLARED = ("image/", "application/pdf")
"""A Gemini ``fileData`` part whose MIME type does not say which of the two it is."""
KEPT_HOSTS = ("www.youtube.com", "youtube.com", "youtu.be", "m.youtube.com")
"""Gemini reads YouTube links itself (video understanding)."""


def _is_fetchable(url: str | None) -> bool:
    if not url or not url.startswith(("http://", "https://")) or is_gemini_file_uri(url):
        return False
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return True  # malformed: the fetcher says why
    return host not in KEPT_HOSTS


def _path_of(target: str, node: Any, path: str = "") -> str | None:
    """Where ``target`` stands as a string value in the caller's body (``messages[0]…url``)."""
    if isinstance(node, str):
        return path if node == target else None
    if isinstance(node, dict):
        for key, value in node.items():
            found = _path_of(target, value, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found = _path_of(target, value, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class _Fetches:
    """Each distinct URL of one request fetched once, concurrently."""

    def __init__(self, fetcher: MediaFetcher, body: Any) -> None:
        self._fetcher = fetcher
        self._body = body
        self._tasks: dict[str, asyncio.Task[FetchedMedia]] = {}

    def start(self, url: str, accept: tuple[str, ...]) -> None:
        if url not in self._tasks:
            self._tasks[url] = asyncio.ensure_future(self._fetcher.fetch(url, accept))

    async def results(self) -> dict[str, FetchedMedia]:
        urls = list(self._tasks)
        outcomes = await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for url, outcome in zip(urls, outcomes, strict=True):
            if isinstance(outcome, MediaFetchError):
                field = _path_of(url, self._body) or "url"
                raise GatewayError(
                    400,
                    "invalid_param",
                    f"{field}: the media at {url} could not be fetched for Gemini, which takes "
                    f"only inline data: {outcome}",
                    field,
                )
            if isinstance(outcome, BaseException):
                raise outcome
        return dict(zip(urls, outcomes, strict=True))  # type: ignore[arg-type]


async def inline_remote_media(fetcher: MediaFetcher | None, call: Call) -> None:
    """Fetch and inline the http(s) media of ``call`` when its upstream is Gemini."""
    if fetcher is None or call.upstream_protocol != gemini.NAME:
        return
    if call.translation is not None:
        call.translation.request = await _inline_request(fetcher, call.translation.request, call.body)
    else:
        call.body = await _inline_gemini_body(fetcher, call.body)


# ---------------------------------------------------------------------------- translated calls


def _media_parts(request: Request) -> list[MediaPart]:
    found: list[MediaPart] = []
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, MediaPart):
                found.append(part)
            elif isinstance(part, ToolResultPart):
                found += [p for p in part.content if isinstance(p, MediaPart)]
    return found


def _inlined(part: MediaPart, fetched: dict[str, FetchedMedia]) -> MediaPart:
    media = fetched.get(part.url or "") if part.data is None else None
    if media is None:
        return part
    return replace(part, data=base64.b64encode(media.data).decode(), media_type=media.media_type, url=None)


async def _inline_request(fetcher: MediaFetcher, request: Request, body: Any) -> Request:
    fetches = _Fetches(fetcher, body)
    for part in _media_parts(request):
        if part.data is None and part.kind in ACCEPT and _is_fetchable(part.url):
            fetches.start(part.url or "", ACCEPT[part.kind])
    fetched = await fetches.results()
    if not fetched:
        return request

    def swap(part: Part) -> Part:
        if isinstance(part, MediaPart):
            return _inlined(part, fetched)
        if isinstance(part, ToolResultPart):
            content = tuple(_inlined(p, fetched) if isinstance(p, MediaPart) else p for p in part.content)
            return replace(part, content=content)
        return part

    messages = tuple(replace(m, parts=tuple(swap(p) for p in m.parts)) for m in request.messages)
    return replace(request, messages=messages)


# ---------------------------------------------------------------------------- Gemini callers


def _file_data(part: Any) -> tuple[str, dict[str, Any]] | None:
    """(key, object) of a wire part's ``fileData`` (either casing the SDKs send)."""
    if isinstance(part, dict):
        for key in ("fileData", "file_data"):
            if isinstance(part.get(key), dict):
                return key, part[key]
    return None


def _fetchable_file(part: Any) -> tuple[str, tuple[str, ...]] | None:
    found = _file_data(part)
    if found is None:
        return None
    data = found[1]
    uri = data.get("fileUri", data.get("file_uri"))
    mime = str(data.get("mimeType", data.get("mime_type")) or "").lower()
    if not isinstance(uri, str) or not _is_fetchable(uri):
        return None
    if mime.startswith("image/"):
        return uri, ACCEPT["image"]
    if mime == "application/pdf":
        return uri, ACCEPT["document"]
    return (uri, ACCEPT_UNDECLARED) if not mime else None  # audio/video URLs are Gemini's to read


def _gemini_parts(body: Any) -> list[Any]:
    """Every wire part of a Gemini body, function-response parts included."""
    parts: list[Any] = []
    for content in body.get("contents") or ():
        for part in (content or {}).get("parts") or ():
            parts.append(part)
            response = (
                part.get("functionResponse", part.get("function_response"))
                if isinstance(part, dict)
                else None
            )
            if isinstance(response, dict):
                parts += list(response.get("parts") or ())
    return parts


def _inline_part(part: Any, fetched: dict[str, FetchedMedia]) -> Any:
    wanted = _fetchable_file(part)
    if wanted is None or wanted[0] not in fetched:
        return part
    media = fetched[wanted[0]]
    key = _file_data(part)[0]  # type: ignore[index]
    inline = {"mimeType": media.media_type, "data": base64.b64encode(media.data).decode()}
    return {**{k: v for k, v in part.items() if k != key}, "inlineData": inline}


def _inline_content(content: Any, fetched: dict[str, FetchedMedia]) -> Any:
    if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
        return content
    parts = []
    for part in content["parts"]:
        part = _inline_part(part, fetched)
        for name in ("functionResponse", "function_response"):
            response = part.get(name) if isinstance(part, dict) else None
            if isinstance(response, dict) and isinstance(response.get("parts"), list):
                inner = [_inline_part(p, fetched) for p in response["parts"]]
                part = {**part, name: {**response, "parts": inner}}
        parts.append(part)
    return {**content, "parts": parts}


async def _inline_gemini_body(fetcher: MediaFetcher, body: Any) -> Any:
    """``body`` with its fetchable ``fileData`` parts inlined (a new dict; the caller's is kept)."""
    if not isinstance(body, dict):
        return body
    fetches = _Fetches(fetcher, body)
    for part in _gemini_parts(body):
        wanted = _fetchable_file(part)
        if wanted is not None:
            fetches.start(*wanted)
    fetched = await fetches.results()
    if not fetched:
        return body
    return {**body, "contents": [_inline_content(c, fetched) for c in body.get("contents") or ()]}
