"""Anthropic content blocks ⇄ canonical parts, one block at a time (protocols.md §1.3).

`decode_block` serves requests, responses and stream starts alike. Keys a block carries that the
canonical part has no field for (``citations``, ``caller``, a document's ``context``) are kept:
in the part's ``provider_data`` when it has one, else returned as `BlockFields` for the request
extras, so a block that goes back to Anthropic comes back whole. Server-tool blocks and types
this code does not know become `OpaquePart`s, echoed verbatim to Anthropic only.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import (
    CacheControl,
    MediaPart,
    OpaquePart,
    Part,
    ProviderData,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.errors import invalid_request
from bytespike.protocols.anthropic_messages import NAME
from bytespike.protocols.anthropic_messages.fields import (
    leftovers,
    opt_bool,
    opt_str,
    req_dict,
    req_str,
    with_leftovers,
)

IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
"""The only image types Anthropic accepts (``Base64ImageSourceParam.media_type``)."""

ANTHROPIC_CACHE_TTLS = frozenset({"5m", "1h"})
"""``CacheControlEphemeralParam.ttl``: the only lifetimes Anthropic's cache offers."""

ANTHROPIC_FILE_ID_PREFIX = "file_"
"""Anthropic Files API ids look like ``file_011C…``; OpenAI's are ``file-…``, Gemini's ``files/…``."""

_DATA_URL = re.compile(r"data:(?P<mime>[^;,]+)(?:;[^,]*)?;base64,(?P<data>.*)", re.DOTALL)

BlockFields = dict[str, Any]
"""Per-block leftovers for parts without ``provider_data`` (`MediaPart`, `ToolResultPart`):
``{"fields": {wire key: value}, "extra_content": [[position, block], …]}`` (both optional)."""


def decode_cache_control(value: Any, path: str) -> CacheControl | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise invalid_request(f'{path}: must be {{"type": "ephemeral", "ttl"?: …}}', path)
    return CacheControl(ttl=opt_str(value, "ttl", f"{path}.ttl"))


def encode_cache_control(cc: CacheControl, path: str, deg: Degradations) -> dict[str, Any]:
    """``{"type": "ephemeral", "ttl"?}``; a lifetime Anthropic does not offer (OpenAI's ``30m`` or
    ``12h``) falls back to Anthropic's default and is reported as ``<path>.ttl``."""
    out: dict[str, Any] = {"type": "ephemeral"}
    if cc.ttl in ANTHROPIC_CACHE_TTLS:
        out["ttl"] = cc.ttl
    elif cc.ttl is not None:
        # Not "1h" for OpenAI's 30m minimum: 1h writes cost 2x input, the catalogue prices 1.25x.
        deg.drop(f"{path}.ttl", f"Anthropic caches for 5m or 1h, not {cc.ttl}; sent with its 5m default")
    return out


def provider_fields(data: ProviderData | None) -> dict[str, Any] | None:
    """The Anthropic keys a part carries, or None when it has none (or another vendor's)."""
    return data.data if data is not None and data.protocol == NAME else None


def _provider(extra: dict[str, Any]) -> ProviderData | None:
    return ProviderData(NAME, extra) if extra else None


def _cache(block: dict[str, Any], path: str, consumed: list[str]) -> CacheControl | None:
    cc = decode_cache_control(block.get("cache_control"), f"{path}.cache_control")
    if cc is not None:
        consumed.append("cache_control")
    return cc


def decode_block(block: Any, path: str) -> tuple[Part, BlockFields]:
    """One content block as a part, plus leftovers the part itself cannot hold."""
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise invalid_request(f"{path}: must be an object with a type", path)
    consumed = ["type"]
    match block["type"]:
        case "text":
            text = req_str(block, "text", path)
            consumed.append("text")
            cc = _cache(block, path, consumed)
            return TextPart(text, cc, _provider(leftovers(block, consumed))), {}
        case "image" | "document":
            return _decode_media(block, path)
        case "thinking":
            text = req_str(block, "thinking", path)
            signature = opt_str(block, "signature", f"{path}.signature") or None
            return ThinkingPart(
                text,
                signature=signature,
                signature_protocol=NAME if signature else None,
                provider_data=_provider(leftovers(block, ("type", "thinking", "signature"))),
            ), {}
        case "redacted_thinking":
            data = req_str(block, "data", path)
            return ThinkingPart(
                "",
                signature=data,
                signature_protocol=NAME,
                redacted=True,
                provider_data=_provider(leftovers(block, ("type", "data"))),
            ), {}
        case "tool_use":
            tool_id, name = req_str(block, "id", path), req_str(block, "name", path)
            arguments = req_dict(block, "input", path)
            consumed += ["id", "name", "input"]
            cc = _cache(block, path, consumed)
            extra = _provider(leftovers(block, consumed))
            return ToolCallPart(tool_id, name, arguments, provider_data=extra, cache_control=cc), {}
        case "tool_result":
            return _decode_tool_result(block, path)
        case _:
            # Server-tool artefacts (server_tool_use, web_search_tool_result, …), search_result,
            # container_upload and future types: Anthropic-only (protocols.md §1.3).
            return OpaquePart(NAME, block), {}


def _decode_media(block: dict[str, Any], path: str) -> tuple[Part, BlockFields]:
    kind = block["type"]
    source = req_dict(block, "source", path)
    spath = f"{path}.source"
    match source.get("type"):
        case "base64":
            media = MediaPart(
                kind, media_type=req_str(source, "media_type", spath), data=req_str(source, "data", spath)
            )
        case "text" if kind == "document":
            text = req_str(source, "data", spath)
            media_type = opt_str(source, "media_type", f"{spath}.media_type") or "text/plain"
            # Canonical data is base64; the plain-text source carries the text itself.
            media = MediaPart(kind, media_type=media_type, data=base64.b64encode(text.encode()).decode())
        case "url":
            media_type = "application/pdf" if kind == "document" else None
            media = MediaPart(kind, media_type=media_type, url=req_str(source, "url", spath))
        case "file":
            media = MediaPart(kind, file_id=req_str(source, "file_id", spath))
        case _:
            # e.g. a document whose source is a list of content blocks: no canonical form.
            return OpaquePart(NAME, block), {}
    consumed = ["type", "source"]
    cc = _cache(block, path, consumed)
    title = None
    if kind == "document":
        title = opt_str(block, "title", f"{path}.title")
        if title is not None:
            consumed.append("title")
    media = replace(media, title=title, cache_control=cc)
    rest = leftovers(block, consumed)
    return media, ({"fields": rest} if rest else {})


def _decode_tool_result(block: dict[str, Any], path: str) -> tuple[Part, BlockFields]:
    tool_use_id = req_str(block, "tool_use_id", path)
    consumed = ["type", "tool_use_id"]
    content = block.get("content")
    parts: list[TextPart | MediaPart] = []
    extra_content: list[list[Any]] = []
    if isinstance(content, str) and content:
        parts.append(TextPart(content))
        consumed.append("content")
    elif isinstance(content, list) and content:
        consumed.append("content")
        for k, sub in enumerate(content):
            part, fields = decode_block(sub, f"{path}.content[{k}]")
            if isinstance(part, TextPart) or (isinstance(part, MediaPart) and not fields):
                parts.append(part)
            else:
                # search_result, tool_reference, … have no canonical form: kept for Anthropic.
                extra_content.append([k, sub])
    elif content is not None and not isinstance(content, str | list):
        raise invalid_request(f"{path}.content: must be a string or an array", f"{path}.content")
    is_error = opt_bool(block, "is_error", f"{path}.is_error")
    if is_error:
        consumed.append("is_error")
    cc = _cache(block, path, consumed)
    out: BlockFields = {}
    if rest := leftovers(block, consumed):
        out["fields"] = rest
    if extra_content:
        out["extra_content"] = extra_content
    return ToolResultPart(tool_use_id, tuple(parts), is_error=bool(is_error), cache_control=cc), out


def decode_data_url(url: str) -> tuple[str, str] | None:
    """(media type, base64 data) of a ``data:<mime>;base64,<data>`` URL, else None."""
    m = _DATA_URL.fullmatch(url)
    return (m["mime"], m["data"]) if m else None


def encode_media(part: MediaPart, path: str, deg: Degradations) -> dict[str, Any]:
    """An ``image`` or ``document`` block; content Anthropic cannot take is a 400 (dropping it
    would change the question)."""
    if part.kind not in ("image", "document"):
        raise invalid_request(f"{path}: Anthropic does not accept {part.kind} input", path)
    media_type, data = part.media_type, part.data
    if data is None and part.url and (inline := decode_data_url(part.url)):
        media_type, data = inline
    if data is not None:
        source = _inline_source(part.kind, media_type, data, path, deg)
    elif part.url:
        if not part.url.startswith(("https://", "http://")):
            raise invalid_request(f"{path}: Anthropic fetches only http(s) URLs, not {part.url[:40]!r}", path)
        source = {"type": "url", "url": part.url}
    elif part.file_id:
        if not part.file_id.startswith(ANTHROPIC_FILE_ID_PREFIX):
            raise invalid_request(
                f"{path}: file id {part.file_id!r} was issued by another vendor; send the content inline",
                path,
            )
        source = {"type": "file", "file_id": part.file_id}
    else:
        raise invalid_request(f"{path}: the {part.kind} has no data, url or file id", path)
    out: dict[str, Any] = {"type": part.kind, "source": source}
    if part.kind == "document":
        if part.title is not None:
            out["title"] = part.title
            if part.filename is not None:
                deg.drop(f"{path}.filename", "an Anthropic document has a title but no file name")
        elif part.filename is not None:
            out["title"] = part.filename
    else:
        for name, value in (("title", part.title), ("filename", part.filename)):
            if value is not None:
                deg.drop(f"{path}.{name}", "an Anthropic image block has no such field")
        if part.detail is not None:
            deg.drop(f"{path}.detail", "Anthropic reads every image at its own resolution")
    if part.cache_control is not None:
        out["cache_control"] = encode_cache_control(part.cache_control, f"{path}.cache_control", deg)
    return out


def _inline_source(
    kind: str, media_type: str | None, data: str, path: str, deg: Degradations
) -> dict[str, Any]:
    if kind == "image":
        if media_type not in IMAGE_MEDIA_TYPES:
            raise invalid_request(
                f"{path}: Anthropic accepts only JPEG, PNG, GIF and WebP images, not {media_type}", path
            )
        return {"type": "base64", "media_type": media_type, "data": data}
    if media_type == "application/pdf":
        return {"type": "base64", "media_type": media_type, "data": data}
    if media_type is not None and (media_type.startswith("text/") or media_type == "application/json"):
        try:
            text = base64.b64decode(data, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise invalid_request(
                f"{path}: the {media_type} document is not base64 UTF-8 text", path
            ) from exc
        if media_type != "text/plain":
            # Anthropic's plain-text source only says text/plain (PlainTextSourceParam).
            deg.drop(f"{path}.media_type", f"Anthropic takes {media_type} documents as text/plain")
        return {"type": "text", "media_type": "text/plain", "data": text}
    raise invalid_request(
        f"{path}: Anthropic accepts PDF and plain-text documents only, not {media_type}", path
    )


def with_provider_fields(out: dict[str, Any], data: ProviderData | None) -> dict[str, Any]:
    return with_leftovers(out, provider_fields(data))


def encode_text(
    part: TextPart, path: str, deg: Degradations, *, citations_allowed: bool = True
) -> dict[str, Any] | None:
    """A ``text`` block, or None for empty text: Anthropic rejects it ("text content blocks must
    be non-empty", anthropics/claude-code #53473)."""
    if not part.text:
        if part.cache_control is not None:
            deg.drop(f"{path}.cache_control", "the empty text block carrying it cannot be sent")
        return None
    out: dict[str, Any] = {"type": "text", "text": part.text}
    if part.cache_control is not None:
        out["cache_control"] = encode_cache_control(part.cache_control, f"{path}.cache_control", deg)
    extra = provider_fields(part.provider_data)
    if extra and not citations_allowed and extra.get("citations"):
        # 2026-10-21 rejects non-empty citations on user text blocks (protocols.md §0).
        extra = {k: v for k, v in extra.items() if k != "citations"}
        deg.drop(f"{path}.citations", "Anthropic 2026-10-21 rejects citations on user text")
    return with_leftovers(out, extra)
