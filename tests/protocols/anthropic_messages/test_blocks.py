"""Media parts → image/document blocks: what Anthropic takes, what is a 400."""

from __future__ import annotations

import base64

import pytest

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import CacheControl, MediaPart, TextPart, ToolResultPart
from bytespike.errors import GatewayError
from bytespike.protocols.anthropic_messages.blocks import decode_block, decode_data_url, encode_media
from tests.protocols.anthropic_messages.canonical import assistant, encode, request, user

PNG = "iVBORw0KGgo="


def media(part: MediaPart) -> tuple[dict, list[str]]:
    deg = Degradations()
    return encode_media(part, "messages[0].content[0]", deg), [f for f, _ in deg.dropped]


def test_image_sources() -> None:
    assert media(MediaPart("image", media_type="image/png", data=PNG, cache_control=CacheControl("1h"))) == (
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        },
        [],
    )
    # An OpenAI data URL becomes a base64 source.
    assert media(MediaPart("image", url=f"data:image/jpeg;base64,{PNG}"))[0]["source"] == {
        "type": "base64",
        "media_type": "image/jpeg",
        "data": PNG,
    }
    assert media(MediaPart("image", url="https://x.test/a.png"))[0]["source"] == {
        "type": "url",
        "url": "https://x.test/a.png",
    }
    assert media(MediaPart("image", file_id="file_011C"))[0]["source"] == {
        "type": "file",
        "file_id": "file_011C",
    }
    _, dropped = media(MediaPart("image", url="https://x.test/a.png", title="t", filename="a.png"))
    assert dropped == ["messages[0].content[0].title", "messages[0].content[0].filename"]


def test_document_sources() -> None:
    pdf = media(MediaPart("document", media_type="application/pdf", data="JVBER", filename="paper.pdf"))
    assert pdf == (
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"},
            "title": "paper.pdf",
        },
        [],
    )
    text = base64.b64encode(b"# Title\nbody").decode()
    md, dropped = media(
        MediaPart("document", media_type="text/markdown", data=text, title="Notes", filename="n.md")
    )
    assert md == {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "# Title\nbody"},
        "title": "Notes",
    }
    assert dropped == ["messages[0].content[0].media_type", "messages[0].content[0].filename"]
    assert media(MediaPart("document", url="https://x.test/a.pdf"))[0]["source"] == {
        "type": "url",
        "url": "https://x.test/a.pdf",
    }


@pytest.mark.parametrize(
    "part",
    [
        MediaPart("audio", media_type="audio/wav", data="UklGR"),
        MediaPart("video", url="https://x.test/v.mp4"),
        MediaPart("image", media_type="image/heic", data="AAAA"),
        MediaPart("image", data="AAAA"),
        MediaPart("image", url="gs://bucket/a.png"),
        MediaPart("image", file_id="file-abc123"),
        MediaPart("document", file_id="files/abc"),
        MediaPart("image"),
        MediaPart("document", media_type="application/vnd.ms-excel", data="AAAA"),
        MediaPart("document", media_type="text/plain", data="not base64!"),
        MediaPart("document", media_type="text/plain", data=base64.b64encode(b"\xff\xfe").decode()),
    ],
)
def test_content_anthropic_cannot_take_is_a_400_naming_the_field(part: MediaPart) -> None:
    with pytest.raises(GatewayError) as info:
        media(part)
    assert info.value.status == 400 and info.value.param == "messages[0].content[0]"


def test_a_400_from_inside_a_tool_result_names_the_nested_path() -> None:
    req = request(
        user(ToolResultPart("c", (TextPart("see"), MediaPart("audio", data="UklGR", media_type="audio/wav"))))
    )
    with pytest.raises(GatewayError) as info:
        encode(req)
    assert info.value.param == "messages[0].content[0].content[1]"


def test_documents_in_assistant_turns_only_before_2026() -> None:
    doc = MediaPart("document", media_type="application/pdf", data="JVBER")
    old, _ = encode(request(user("q"), assistant(doc, "a"), user("q2")))
    assert old["messages"][1]["content"][0]["type"] == "document"
    new, dropped = encode(request(user("q"), assistant(doc, "a"), user("q2")), version="2026-10-21")
    assert new["messages"][1]["content"] == [{"type": "text", "text": "a"}]
    assert list(dropped) == ["messages[1].content[0]"]


def test_decode_unknown_sources_become_opaque() -> None:
    part, fields = decode_block({"type": "image", "source": {"type": "s3", "uri": "s3://x"}}, "p")
    assert part.__class__.__name__ == "OpaquePart" and fields == {}
    content_doc = {
        "type": "document",
        "source": {"type": "content", "content": [{"type": "text", "text": "x"}]},
    }
    assert decode_block(content_doc, "p")[0].__class__.__name__ == "OpaquePart"


def test_data_url() -> None:
    assert decode_data_url("data:image/png;base64,AAAA") == ("image/png", "AAAA")
    assert decode_data_url("data:text/plain;charset=utf-8;base64,QQ==") == ("text/plain", "QQ==")
    assert decode_data_url("https://x") is None
