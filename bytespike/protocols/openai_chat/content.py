"""OpenAI Chat content parts ↔ canonical parts: ``text``, ``image_url``, ``input_audio``, ``file``.

Images travel as ``image_url.url``: a ``data:<mime>;base64,`` URL for inline bytes, a web URL
otherwise (protocols.md §5.2); audio as ``input_audio {data, format}``; documents as
``file {file_data | file_id, filename}``. A text part's extra wire keys ride in its
``provider_data``; a ``prompt_cache_breakpoint`` also becomes the part's canonical `CacheControl`
(Anthropic's ``cache_control`` on the same block). A part type this codec does not know becomes an
`OpaquePart` that only an OpenAI Chat upstream gets back. Content the target cannot carry is a 400
naming the part.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from bytespike.canonical.parts import CacheControl, MediaPart, OpaquePart, ProviderData, TextPart
from bytespike.errors import invalid_request
from bytespike.protocols.openai_chat import NAME
from bytespike.protocols.openai_chat.wire_fields import optional, required

_DATA_URL = re.compile(r"data:([^,;]*)((?:;[^,;]*)*);base64,(.*)", re.DOTALL)
_SNIFFED_IMAGE_TYPES = (
    ("iVBORw0KGgo", "image/png"),
    ("/9j/", "image/jpeg"),
    ("R0lGOD", "image/gif"),
    ("UklGR", "image/webp"),
)
AUDIO_FORMAT_FROM_MEDIA_TYPE = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}
MEDIA_TYPE_FROM_AUDIO_FORMAT = {"wav": "audio/wav", "mp3": "audio/mpeg"}
# "Input audio … format: wav | mp3" (ChatCompletionContentPartInputAudioParam).
OPENAI_FILE_ID = re.compile(r"file-[A-Za-z0-9_-]+")
"""OpenAI Files API ids (``file-…``); Anthropic's are ``file_…``, Gemini's are URIs."""


def parse_data_url(url: str) -> tuple[str, str] | None:
    """(media type, base64 payload) of a ``data:…;base64,…`` URL, else None."""
    m = _DATA_URL.fullmatch(url)
    return (m.group(1), m.group(3)) if m else None


def data_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def _kind_of(media_type: str | None) -> str:
    top = (media_type or "").split("/", 1)[0]
    return top if top in ("image", "audio", "video") else "document"


def decode_prompt_cache_breakpoint(part: dict[str, Any]) -> CacheControl | None:
    """OpenAI's explicit breakpoint on a content part (``{"mode": "explicit", "ttl"?: "30m"|"12h"}``,
    SDK ``PromptCacheBreakpoint``) as the canonical breakpoint on that part, its lifetime kept."""
    value = part.get("prompt_cache_breakpoint")
    if not isinstance(value, dict):
        return None
    ttl = value.get("ttl")
    return CacheControl(ttl=ttl if isinstance(ttl, str) else None)


def _text_provider_data(part: dict[str, Any], text_key: str) -> ProviderData | None:
    extra = {k: v for k, v in part.items() if k not in ("type", text_key)}
    return ProviderData(NAME, {"wire": extra}) if extra else None


def decode_text_part(part: Any, path: str) -> TextPart:
    """A ``{"type": "text", "text"}`` part (the only kind system and tool messages may hold)."""
    if not isinstance(part, dict) or part.get("type") != "text":
        raise invalid_request(f"{path}: must be a text part", path)
    return TextPart(
        required(part, "text", str, path),
        cache_control=decode_prompt_cache_breakpoint(part),
        provider_data=_text_provider_data(part, "text"),
    )


def decode_text_content(content: Any, path: str) -> tuple[TextPart, ...]:
    """System/developer/tool ``content``: a string or a list of text parts (``""`` → no parts)."""
    if isinstance(content, str):
        return (TextPart(content),) if content else ()
    if isinstance(content, list):
        return tuple(decode_text_part(p, f"{path}[{i}]") for i, p in enumerate(content))
    raise invalid_request(f"{path}: must be a string or an array of text parts", path)


def decode_refusal_part(part: dict[str, Any], path: str) -> TextPart:
    """An assistant ``{"type": "refusal", "refusal"}`` part: text marked as a refusal."""
    extra = {k: v for k, v in part.items() if k not in ("type", "refusal")}
    data: dict[str, Any] = {"refusal": "part"} | ({"wire": extra} if extra else {})
    return TextPart(required(part, "refusal", str, path), provider_data=ProviderData(NAME, data))


def decode_user_part(part: Any, path: str) -> TextPart | MediaPart | OpaquePart:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise invalid_request(f"{path}: must be a content part object with a type", path)
    match part["type"]:
        case "text":
            return decode_text_part(part, path)
        case "image_url":
            image = required(part, "image_url", dict, path)
            url = required(image, "url", str, f"{path}.image_url")
            cache = decode_prompt_cache_breakpoint(part)
            detail = optional(image, "detail", str, f"{path}.image_url")
            detail = None if detail == "auto" else detail  # "auto" is the default (canonical None)
            if parsed := parse_data_url(url):
                return MediaPart(
                    "image", media_type=parsed[0] or None, data=parsed[1], cache_control=cache, detail=detail
                )
            if url.startswith("data:"):
                # Only base64 data URLs carry bytes another vendor can take; anything else would
                # reach it as a meaningless "URL".
                raise invalid_request(
                    f"{path}.image_url.url: a data URL must be data:<mime>;base64,<data>", f"{path}.image_url.url"
                )
            return MediaPart("image", url=url, cache_control=cache, detail=detail)
        case "input_audio":
            audio = required(part, "input_audio", dict, path)
            fmt = required(audio, "format", str, f"{path}.input_audio")
            media_type = MEDIA_TYPE_FROM_AUDIO_FORMAT.get(fmt, f"audio/{fmt}")
            return MediaPart(
                "audio",
                media_type=media_type,
                data=required(audio, "data", str, f"{path}.input_audio"),
                cache_control=decode_prompt_cache_breakpoint(part),
            )
        case "file":
            file = required(part, "file", dict, path)
            for key in ("file_data", "file_id", "filename"):
                if key in file and not isinstance(file[key], str):
                    raise invalid_request(f"{path}.file.{key}: must be a string", f"{path}.file.{key}")
            if "file_data" not in file and "file_id" not in file:
                raise invalid_request(f"{path}.file: needs file_data or file_id", f"{path}.file")
            media_type, data = None, file.get("file_data")
            if data is not None and (parsed := parse_data_url(data)):
                media_type, data = parsed[0] or None, parsed[1]
            return MediaPart(
                _kind_of(media_type),
                media_type=media_type,
                data=data,
                file_id=file.get("file_id"),
                filename=file.get("filename"),
                cache_control=decode_prompt_cache_breakpoint(part),
            )
        case _:
            # A part type newer than this codec: kept verbatim for an OpenAI Chat upstream.
            return OpaquePart(NAME, part)


def _wire_data(part: TextPart) -> dict[str, Any]:
    pd = part.provider_data
    return pd.data if pd is not None and pd.protocol == NAME else {}


def encode_text_part(part: TextPart, *, in_assistant: bool = False) -> dict[str, Any]:
    """A text part (a refusal part in assistant content), with its own wire extras when it came
    from OpenAI Chat."""
    data = _wire_data(part)
    if in_assistant and data.get("refusal"):
        wire = {"type": "refusal", "refusal": part.text}
    else:
        wire = {"type": "text", "text": part.text}
    return wire | data.get("wire", {})


def has_own_breakpoint(part: TextPart | MediaPart, wire: dict[str, Any] | None = None) -> bool:
    """True when the part's breakpoint is an OpenAI Chat ``prompt_cache_breakpoint`` that travels
    with its own wire part (a text part's extras, or ``wire``: the media part as the caller sent it)."""
    if isinstance(part, TextPart):
        return "prompt_cache_breakpoint" in _wire_data(part).get("wire", {})
    return wire is not None and "prompt_cache_breakpoint" in wire


def is_plain_text(part: TextPart, *, in_assistant: bool = False) -> bool:
    """True when the part can be written as a bare string (no wire extras, not a refusal part)."""
    data = _wire_data(part)
    return "wire" not in data and not (in_assistant and data.get("refusal"))


def _sniff_image_type(data: str) -> str:
    return next((mime for magic, mime in _SNIFFED_IMAGE_TYPES if data.startswith(magic)), "image/png")


def _default_filename(part: MediaPart) -> str:
    subtype = (part.media_type or "application/pdf").split("/", 1)[-1].split(";", 1)[0]
    ext = {"plain": "txt", "markdown": "md"}.get(subtype, subtype)
    return f"{part.title or 'document'}.{ext}"


def _file_id_part(part: MediaPart, path: str) -> dict[str, Any]:
    if part.file_id is None or not OPENAI_FILE_ID.fullmatch(part.file_id):
        raise invalid_request(
            f"{path}: file id {part.file_id!r} was issued by another vendor; OpenAI cannot read it", path
        )
    file = {"file_id": part.file_id} | ({"filename": part.filename} if part.filename else {})
    return {"type": "file", "file": file}


def encode_media_part(part: MediaPart, path: str) -> dict[str, Any]:
    """An OpenAI Chat content part for ``part``, or a 400 naming ``path`` when Chat cannot carry it."""
    match part.kind:
        case "image":
            detail = {"detail": part.detail} if part.detail is not None else {}
            if part.data is not None:
                url = data_url(part.media_type or _sniff_image_type(part.data), part.data)
                return {"type": "image_url", "image_url": {"url": url, **detail}}
            if part.url is not None:
                if part.url.startswith("data:") and parse_data_url(part.url) is None:
                    # Another protocol's URL field holding a broken data URL: OpenAI would 400.
                    raise invalid_request(f"{path}: a data URL must be data:<mime>;base64,<data>", path)
                return {"type": "image_url", "image_url": {"url": part.url, **detail}}
            return _file_id_part(part, path)
        case "document":
            if part.data is not None:
                file_data = data_url(part.media_type or "application/pdf", part.data)
                return {
                    "type": "file",
                    "file": {"file_data": file_data, "filename": part.filename or _default_filename(part)},
                }
            if part.file_id is not None:
                return _file_id_part(part, path)
            # ChatCompletionContentPartParam.File has file_data/file_id only, no URL.
            raise invalid_request(f"{path}: OpenAI Chat cannot fetch a document by URL", path)
        case "audio":
            fmt = AUDIO_FORMAT_FROM_MEDIA_TYPE.get(part.media_type or "")
            if fmt is None and part.media_type and part.media_type.startswith("audio/"):
                fmt = part.media_type.removeprefix("audio/")
            if part.data is None or fmt is None:
                raise invalid_request(f"{path}: OpenAI Chat takes audio only inline, as wav or mp3", path)
            return {"type": "input_audio", "input_audio": {"data": part.data, "format": fmt}}
        case _:
            raise invalid_request(f"{path}: OpenAI Chat cannot take {part.kind} input", path)


def text_of_document(part: MediaPart, path: str) -> str:
    """The text of an inline ``text/*`` document, for hosts that take text only (DeepSeek)."""
    if part.kind == "document" and part.data is not None and (part.media_type or "").startswith("text/"):
        try:
            return base64.b64decode(part.data, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            pass
    raise invalid_request(f"{path}: DeepSeek accepts only text content, not {part.kind} input", path)
