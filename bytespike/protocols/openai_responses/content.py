"""Message content parts: ``input_text``/``output_text``/``refusal``/``input_image``/``input_file``.

Text fields the canonical model has no slot for (``annotations``, ``logprobs``,
``prompt_cache_breakpoint``) ride in the part's provider data; `MediaPart` has no provider data,
so an image's or file's other extra fields are kept in the request's extras under
``media_options``, keyed by what the media is (`media_key`); ``detail`` and
``prompt_cache_breakpoint`` also have canonical fields. Unknown part types are kept
verbatim as `OpaquePart`s.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import replace
from typing import Any, assert_never

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import MediaPart, OpaquePart, TextPart
from bytespike.errors import GatewayError, invalid_request
from bytespike.protocols.openai_chat.content import decode_prompt_cache_breakpoint
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.provider_data import own, tag

MediaOptions = dict[str, dict[str, Any]]
"""`media_key` → the wire fields of that image/file the canonical `MediaPart` cannot hold."""

OUTPUT_TEXT_DEFAULTS: dict[str, Any] = {"annotations": []}
"""What an ``output_text`` of another protocol's assistant text carries (``annotations`` is
required by the SDK type ``ResponseOutputTextParam``)."""
RESPONSE_TEXT_DEFAULTS: dict[str, Any] = {"annotations": [], "logprobs": []}
"""Fields every ``output_text`` of a response object carries; a decoded part keeps them in its
provider data only when they differ."""
OPENAI_FILE_ID_PREFIX = "file-"
"""OpenAI Files API ids look like ``file-AbC…``; Anthropic's are ``file_…``, Gemini's ``files/…``."""
_IMAGE_MAGIC = (
    ("iVBOR", "image/png"),
    ("/9j/", "image/jpeg"),
    ("R0lGOD", "image/gif"),
    ("UklGR", "image/webp"),
)
"""Base64 prefixes of PNG, JPEG, GIF and WebP, for images that arrive without a MIME type."""


def parse_data_url(url: str, path: str) -> tuple[str | None, str]:
    """(media type, base64 payload) of ``data:<type>;base64,<payload>``; 400 otherwise."""
    head, sep, data = url.partition(",")
    if not sep or not head.endswith(";base64"):
        raise invalid_request(f"{path}: a data URL must look like data:<type>;base64,<data>", path)
    return head[5:-7] or None, data


def data_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def media_key(part: MediaPart) -> str:
    """Stable identity of an image/file, so its wire-only fields find it again after decoding."""
    if part.file_id is not None:
        return "file:" + part.file_id
    if part.url is not None:
        return "url:" + part.url
    return "data:" + hashlib.blake2b((part.data or "").encode(), digest_size=12).hexdigest()


def _extras(part: dict[str, Any], consumed: tuple[str, ...], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in part.items() if k not in consumed and not (k in defaults and v == defaults[k])}


def _string(d: dict[str, Any], key: str, path: str) -> str:
    v = d.get(key)
    if not isinstance(v, str):
        raise invalid_request(f"{path}.{key}: field required (string)", f"{path}.{key}")
    return v


def decode_content(
    part: Any,
    path: str,
    media: MediaOptions,
    *,
    item: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
) -> TextPart | MediaPart | OpaquePart:
    """One wire content part; ``item`` is provider data to attach to text (its message's fields)."""
    if not isinstance(part, dict):
        raise invalid_request(f"{path}: must be an object", path)
    kind = part.get("type")
    if not isinstance(kind, str):
        raise invalid_request(f"{path}.type: field required (string)", f"{path}.type")
    pd: dict[str, Any] = dict(item or {})
    if kind in ("input_text", "output_text", "refusal"):
        key = "refusal" if kind == "refusal" else "text"
        text = _string(part, key, path)
        fields = _extras(part, ("type", key), (defaults or {}) if kind == "output_text" else {})
        if kind == "refusal":
            pd["refusal"] = True
        if fields:
            pd["part"] = fields
        return TextPart(text, cache_control=decode_prompt_cache_breakpoint(fields), provider_data=tag(pd))
    if kind == "input_image":
        url, file_id = part.get("image_url"), part.get("file_id")
        # ``detail`` "auto" is the default (canonical None); any other string is canonical.
        detail = part.get("detail") if isinstance(part.get("detail"), str) else None
        if isinstance(url, str) and url.startswith("data:"):
            media_type, data = parse_data_url(url, f"{path}.image_url")
            mp = MediaPart("image", media_type, data=data, detail=detail)
        elif isinstance(url, str):
            mp = MediaPart("image", url=url, detail=detail)
        elif isinstance(file_id, str):
            mp = MediaPart("image", file_id=file_id, detail=detail)
        else:
            raise invalid_request(f"{path}: input_image needs image_url or file_id", path)
        source = "image_url" if mp.file_id is None else "file_id"
        if detail == "auto":
            mp = replace(mp, detail=None)
        consumed = ("type", source) if detail is None else ("type", source, "detail")
        return _with_media_fields(mp, _extras(part, consumed, {}), media)
    if kind == "input_file":
        return _decode_file(part, path, media)
    # input_audio is not in the Responses content union (SDK ResponseInputContentParam): verbatim.
    return OpaquePart(NAME, {"content": part, "path": path})


def _decode_file(part: dict[str, Any], path: str, media: MediaOptions) -> MediaPart:
    file_data, file_url, file_id = part.get("file_data"), part.get("file_url"), part.get("file_id")
    filename = part.get("filename") if isinstance(part.get("filename"), str) else None
    if isinstance(file_data, str):
        if file_data.startswith("data:"):
            media_type, data = parse_data_url(file_data, f"{path}.file_data")
        else:  # bare base64 is accepted by some servers; re-emitted as a data URL
            media_type, data = (mimetypes.guess_type(filename)[0] if filename else None), file_data
        mp = MediaPart("document", media_type, data=data, filename=filename)
        consumed: tuple[str, ...] = ("type", "file_data", "filename")
    elif isinstance(file_url, str):
        mp = MediaPart("document", url=file_url, filename=filename)
        consumed = ("type", "file_url", "filename")
    elif isinstance(file_id, str):
        mp = MediaPart("document", file_id=file_id, filename=filename)
        consumed = ("type", "file_id", "filename")
    else:
        raise invalid_request(f"{path}: input_file needs file_data, file_url or file_id", path)
    if filename is None:
        consumed = consumed[:-1]
    return _with_media_fields(mp, _extras(part, consumed, {}), media)


def _with_media_fields(mp: MediaPart, fields: dict[str, Any], media: MediaOptions) -> MediaPart:
    if fields:
        media[media_key(mp)] = fields
        if (cache := decode_prompt_cache_breakpoint(fields)) is not None:
            return replace(mp, cache_control=cache)
    return mp


def encode_content(
    part: TextPart | MediaPart | OpaquePart,
    path: str,
    deg: Degradations,
    media: MediaOptions,
    *,
    assistant: bool,
) -> dict[str, Any] | None:
    """The wire content part for ``part`` in a message (None when it had to be dropped); an
    `OpaquePart` here is always this protocol's own verbatim content part."""
    match part:
        case TextPart():
            pd = own(part.provider_data)
            fields = pd.get("part", {})
            if assistant and pd.get("refusal"):
                out: dict[str, Any] = {"type": "refusal", "refusal": part.text}
            elif assistant:
                out = {"type": "output_text", "text": part.text, **OUTPUT_TEXT_DEFAULTS}
            else:
                out = {"type": "input_text", "text": part.text}
            out.update(fields)
            if part.cache_control is not None and "prompt_cache_breakpoint" not in fields:
                deg.drop(f"{path}.cache_control", "OpenAI Responses has no cache_control breakpoints")
            return out
        case MediaPart():
            if assistant:
                deg.drop(path, "OpenAI Responses assistant messages hold only text")
                return None
            return encode_media(part, path, deg, media)
        case OpaquePart():
            return part.data["content"]
        case _:
            assert_never(part)


def encode_media(part: MediaPart, path: str, deg: Degradations, media: MediaOptions) -> dict[str, Any]:
    """``input_image``/``input_file``; 400 for what Responses cannot take (its loss would change the
    meaning of the prompt): audio, video, another vendor's file id, a part with no payload."""
    fields = media.get(media_key(part), {})
    if part.cache_control is not None and "prompt_cache_breakpoint" not in fields:
        deg.drop(f"{path}.cache_control", "OpenAI Responses has no cache_control breakpoints")
    if part.title is not None:
        deg.drop(f"{path}.title", "OpenAI Responses files have no title")
    if part.kind == "image":
        out: dict[str, Any] = {"type": "input_image", "detail": part.detail or "auto"}
        if part.data is not None:
            out["image_url"] = data_url(part.media_type or _sniff_image(part.data), part.data)
        elif part.url is not None:
            if part.url.startswith("data:"):
                parse_data_url(part.url, path)  # another protocol's broken data URL: a 400 here
            out["image_url"] = part.url
        else:
            out["file_id"] = _openai_file_id(part, path)
        return {**out, **fields}
    if part.kind == "document":
        out = {"type": "input_file"}
        if part.data is not None:
            media_type = part.media_type or "application/pdf"
            out["file_data"] = data_url(media_type, part.data)
            # Inline files need a filename (laravel/ai PR #324: 400 "Missing required parameter").
            out["filename"] = part.filename or _filename_for(media_type)
        elif part.url is not None:
            out["file_url"] = part.url
        else:
            out["file_id"] = _openai_file_id(part, path)
        if part.filename is not None:
            out["filename"] = part.filename
        return {**out, **fields}
    raise invalid_request(f"{path}: OpenAI Responses cannot take {part.kind} input", path)


def _openai_file_id(part: MediaPart, path: str) -> str:
    if part.file_id is None:
        raise invalid_request(f"{path}: the {part.kind} has no data, url or file_id", path)
    if not part.file_id.startswith(OPENAI_FILE_ID_PREFIX):
        raise GatewayError(
            400,
            "invalid_param",
            f"{path}: file id {part.file_id!r} belongs to another vendor; send the file inline",
            path,
        )
    return part.file_id


def _sniff_image(data: str) -> str:
    return next((t for magic, t in _IMAGE_MAGIC if data.startswith(magic)), "image/png")


def _filename_for(media_type: str) -> str:
    return "document" + (mimetypes.guess_extension(media_type) or "")
