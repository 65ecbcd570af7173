"""Single parts: wire fields set aside and restored, MIME sniffing, client-mode defaults."""

from __future__ import annotations

from typing import Any

import pytest

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import MediaPart, ToolCallPart
from bytespike.protocols.gemini.parts import decode_part, encode_part, merge_extra, sniff_mime
from bytespike.protocols.gemini.requests import decode_request, encode_request


@pytest.mark.parametrize(
    ("role", "part"),
    [
        ("user", {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo=", "displayName": "a.png"}}),
        (
            "user",
            {"fileData": {"fileUri": "gs://bucket/a.pdf", "mimeType": "application/pdf", "displayName": "a"}},
        ),
        (
            "model",
            {"functionCall": {"name": "f", "args": {}, "willContinue": True}, "thoughtSignature": "AAAA"},
        ),
        ("user", {"text": "plain", "thought": False, "partMetadata": {"k": "v"}}),
    ],
)
def test_fields_without_a_canonical_slot_come_back(role: str, part: dict[str, Any]) -> None:
    canonical, extra = decode_part(part, "p")
    assert extra
    wire = encode_part(canonical, "p", None)
    assert wire is not None and merge_extra(wire, extra) == part
    body = {"contents": [{"role": role, "parts": [part]}]}
    assert encode_request(decode_request(body), model="m", deg=Degradations(strict=True)) == body


def test_gcs_uris_are_gemini_files() -> None:
    part, _ = decode_part({"fileData": {"fileUri": "gs://bucket/a.pdf"}}, "p")
    assert part == MediaPart("document", file_id="gs://bucket/a.pdf")


def test_call_without_args() -> None:
    part, extra = decode_part({"functionCall": {"name": "f"}}, "p")
    assert part == ToolCallPart("", "f", {}) and extra is None


def test_sniffing() -> None:
    assert sniff_mime("iVBORw0KGgoAAAANSUhEUg") == "image/png"
    assert sniff_mime("%%%% not base64 %%%%") is None
    assert sniff_mime("AAAAAAAA") is None


def test_client_mode_never_fails_on_media() -> None:
    assert encode_part(MediaPart("image", data="AAAA"), "p", None) == {
        "inlineData": {"mimeType": "application/octet-stream", "data": "AAAA"}
    }
    assert encode_part(MediaPart("image"), "p", None) is None
    assert encode_part(MediaPart("image", file_id="file-1"), "p", None) is None
    assert encode_part(MediaPart("image", url="data:nonsense"), "p", None) == {
        "fileData": {"fileUri": "data:nonsense"}
    }
